"""Launch a small job of 2 ranks with ``torchrun`` (gloo over loopback) and collect its files."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence

import pytest

#: The ranks every multi-process test launches.
WORLD_SIZE = 2


@pytest.fixture(scope="session")
def torchrun() -> Callable[[Sequence[str]], subprocess.CompletedProcess]:
    """``torchrun(args)`` runs ``torchrun --standalone --nproc_per_node 2 *args`` and checks it.

    The ranks are child processes: one thread each (two cores, two ranks), no
    GPU, a rendezvous on localhost.  A failing job fails the test with its output.
    """

    def launch(args: Sequence[str]) -> subprocess.CompletedProcess:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
        command = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            str(WORLD_SIZE),
            *args,
        ]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"torchrun failed ({done.returncode}):\n{done.stderr[-4000:]}"
        return done

    return launch
