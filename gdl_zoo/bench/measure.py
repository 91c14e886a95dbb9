"""Measuring tools shared by the suites: thread count, interleaved timing, peak memory.

- :func:`torch_threads` runs a block with a given number of intra-op threads
  (restoring the previous count), so ours and a single-threaded reference
  (libigl, PyG on a loaded machine) are timed alike.
- :func:`time_interleaved` times several steps in rounds, one call of each per
  round, so that a shared machine's load drifts over all of them alike.
- :func:`peak_memory_mib` measures the extra peak memory of one call of a
  step: on CUDA from the allocator's statistics, on a Linux CPU in a fresh
  interpreter whose resident high-water mark is reset right before the call
  (so neither other steps nor memory the allocator kept hide the footprint).
- :class:`LargestTensor` records the largest tensor any operation creates in
  a block: the guard that proves a product never formed a dense matrix.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import math
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from gdl_zoo.bench.suites import Timing

__all__ = ["torch_threads", "time_interleaved", "peak_memory_mib", "LargestTensor"]

_CLEAR_REFS = Path("/proc/self/clear_refs")


@contextlib.contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block with ``count`` intra-op threads, then restore the previous count."""
    if not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be a positive int, got {count!r}")
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def time_interleaved(
    steps: Mapping[str, Callable[[], Any]], repeat: int = 3, warmup: int = 1
) -> dict[str, Timing]:
    """Wall-clock timings of each step, called once per round in turn (CUDA synchronised).

    Args:
        steps: name -> a callable taking no argument (one measured call).
        repeat: timed rounds.
        warmup: untimed rounds before them.

    Returns:
        name -> :class:`~gdl_zoo.bench.suites.Timing` over the rounds.
    """
    if repeat < 1 or warmup < 0:
        raise ValueError(f"need repeat >= 1 and warmup >= 0, got {repeat} and {warmup}")
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    times: dict[str, list[float]] = {name: [] for name in steps}
    for round_ in range(warmup + repeat):
        for name, step in steps.items():
            sync()
            start = time.perf_counter()
            step()
            sync()
            if round_ >= warmup:
                times[name].append(time.perf_counter() - start)
    return {
        name: Timing(min(t), statistics.median(t), max(t)) for name, t in times.items()
    }


def _factory(path: str) -> Callable[..., Callable[[], Any]]:
    module, sep, name = path.partition(":")
    if not sep or not module or not name:
        raise ValueError(f"factory must be 'package.module:function', got {path!r}")
    return getattr(importlib.import_module(module), name)


def _status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return float(line.split()[1]) / 1024  # kB -> MiB
    raise RuntimeError(f"{field} not in /proc/self/status")


def _peak_in_this_process(factory: str, args: Sequence[Any]) -> float:
    """Extra peak resident MiB of one call of the step (Linux), after building it."""
    step = _factory(factory)(*args, device="cpu")
    gc.collect()
    before = _status_mib("VmRSS")
    _CLEAR_REFS.write_text("5")  # reset VmHWM to the current RSS
    step()
    return _status_mib("VmHWM") - before


def peak_memory_mib(
    factory: str, args: Sequence[Any] = (), device: str = "cpu", timeout: float = 900
) -> float:
    """Extra peak memory (MiB) of one call of the step built by ``factory(*args, device=device)``.

    The factory is named ``"package.module:function"`` and returns a callable
    taking no argument; building it (data, model, precomputation) is not
    counted, only the call.  On CUDA the step runs in this process and the
    figure is the allocator's peak above what was allocated before the call;
    on CPU it runs in a fresh interpreter (``args`` must be JSON values) and
    the figure is the growth of the resident high-water mark, or ``nan``
    where ``/proc/self/clear_refs`` does not exist (not Linux).

    Raises:
        RuntimeError: the subprocess failed; its standard error is quoted.
    """
    if device.startswith("cuda"):
        step = _factory(factory)(*args, device=device)
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        step()
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - base) / 2**20
    if not _CLEAR_REFS.exists():
        return math.nan
    _factory(factory)  # a bad name fails here, with its own error
    code = (
        "import json, sys; from gdl_zoo.bench.measure import _peak_in_this_process as p; "
        "print(json.dumps(p(sys.argv[1], json.loads(sys.argv[2]))))"
    )
    command = [sys.executable, "-c", code, factory, json.dumps(list(args))]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"peak memory of {factory}{tuple(args)} failed:\n{done.stderr[-2000:]}")
    return float(done.stdout.strip().splitlines()[-1])


class LargestTensor(TorchDispatchMode):
    """Records the most elements of any tensor an operation returns inside the block.

    Use as ``with LargestTensor() as guard: ...``, then read ``guard.largest``:
    a matrix-free product whose largest tensor stays at the size of a vector
    provably never formed the dense matrix.
    """

    def __init__(self):
        super().__init__()
        self.largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor):
                self.largest = max(self.largest, t.numel())
        return out
