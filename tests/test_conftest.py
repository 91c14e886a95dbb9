"""The suite-wide fixtures of tests/conftest.py: the network guard and the device list."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading

import pytest
import torch

BLOCKED = "network access is blocked during tests"


@pytest.mark.parametrize(
    "address", [("93.184.216.34", 80), ("8.8.8.8", 53), ("2606:4700:4700::1111", 443)]
)
def test_connections_to_outside_addresses_are_refused_before_any_packet(address):
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        with pytest.raises(RuntimeError, match=BLOCKED):
            sock.connect(address)
        with pytest.raises(RuntimeError, match=BLOCKED):
            sock.connect_ex(address)


def test_datagrams_and_name_lookups_of_outside_hosts_are_refused():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        with pytest.raises(RuntimeError, match=BLOCKED):
            sock.sendto(b"x", ("1.1.1.1", 53))
    with pytest.raises(RuntimeError, match=r"lookup of 'example\.com'"):
        socket.getaddrinfo("example.com", 443)
    with pytest.raises(RuntimeError, match=BLOCKED):
        socket.create_connection(("pypi.org", 443), timeout=1)


def test_loopback_tcp_round_trip_still_works():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]

        def echo():
            conn, _ = server.accept()
            with conn:
                conn.sendall(conn.recv(16))

        thread = threading.Thread(target=echo)
        thread.start()
        with socket.create_connection(("localhost", port), timeout=5) as client:
            client.sendall(b"ping")
            assert client.recv(16) == b"ping"
        thread.join(5)
    assert socket.getaddrinfo("127.0.0.1", port)[0][4][0] == "127.0.0.1"


def test_unix_sockets_and_subprocesses_still_work():
    left, right = socket.socketpair(socket.AF_UNIX)
    with left, right:
        left.sendall(b"ok")
        assert right.recv(2) == b"ok"
    done = subprocess.run([sys.executable, "-c", "print(1 + 1)"], capture_output=True, text=True)
    assert done.stdout.strip() == "2"


def test_the_guard_is_installed_for_every_test():
    """Negative control of the fixture's scope: the patched functions are not socket's own."""
    import _socket

    assert socket.socket.connect is not _socket.socket.connect
    assert socket.getaddrinfo.__module__ != "socket"  # not socket.py's own wrapper


def test_device_fixture_yields_each_available_device(device):
    expected = {"cpu"} | ({"cuda"} if torch.cuda.is_available() else set())
    assert device.type in expected
    assert torch.zeros(1, device=device).device.type == device.type
