"""Suite-wide fixtures: no network access during tests, and the devices to run on.

Every test runs with outgoing network access blocked: a socket ``connect`` to
an address that is not loopback, or a name lookup (``getaddrinfo``) of a host
that is not local, raises :class:`NetworkAccessBlocked` before any packet
leaves.  Loopback (``127.0.0.0/8``, ``::1``, ``localhost``), the unspecified
address and ``AF_UNIX`` sockets keep working, so ``torch.distributed`` over
``127.0.0.1`` and pytest's own subprocesses run as usual.

The ``device`` fixture parametrises a test over the available devices: the CPU,
plus ``cuda`` when ``torch.cuda.is_available()``.
"""

from __future__ import annotations

import ipaddress
import socket

import pytest
import torch

_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})

#: The devices the ``device`` fixture runs a test on.
DEVICES = ("cpu", "cuda") if torch.cuda.is_available() else ("cpu",)


class NetworkAccessBlocked(RuntimeError):
    """A test tried to reach a non-loopback address; the suite never uses the network."""


def _is_local_host(host) -> bool:
    """Whether ``host`` (a name, an address literal, ``None`` or bytes) stays on this machine."""
    if host is None or host in ("", b""):
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).split("%", 1)[0]  # drop an IPv6 zone index ("fe80::1%eth0")
    if host.lower() in _LOCAL_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def _check_address(family, address) -> None:
    if family == getattr(socket, "AF_UNIX", None) or not isinstance(address, tuple):
        return  # a Unix socket path (or an abstract-namespace name): local by construction
    if not _is_local_host(address[0]):
        raise NetworkAccessBlocked(
            f"network access is blocked during tests: expected a loopback or AF_UNIX address, "
            f"got a connection to {address!r}"
        )


@pytest.fixture(autouse=True)
def _block_network(monkeypatch):
    """Refuse non-loopback socket connections and name lookups for the length of a test."""
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex
    original_sendto = socket.socket.sendto
    original_getaddrinfo = socket.getaddrinfo

    def connect(self, address):
        _check_address(self.family, address)
        return original_connect(self, address)

    def connect_ex(self, address):
        _check_address(self.family, address)
        return original_connect_ex(self, address)

    def sendto(self, data, *args):
        _check_address(self.family, args[-1])  # sendto(data[, flags], address)
        return original_sendto(self, data, *args)

    def getaddrinfo(host, *args, **kwargs):
        if not _is_local_host(host):
            raise NetworkAccessBlocked(
                "network access is blocked during tests: expected a loopback host name or "
                f"address, got a lookup of {host!r}"
            )
        return original_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket.socket, "sendto", sendto)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture(params=DEVICES)
def device(request) -> torch.device:
    """Each available device in turn: ``cpu``, plus ``cuda`` when a GPU is present."""
    return torch.device(request.param)
