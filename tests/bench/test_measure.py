"""Shared measuring tools: thread count restored, interleaved rounds, subprocess peak memory."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gdl_zoo.bench.measure import LargestTensor, peak_memory_mib, time_interleaved, torch_threads

STEPS_MODULE = '''
import torch

def allocating(mib, device="cpu"):
    def step():
        x = torch.ones(mib * 2**18, device=device)  # float32: 4 bytes each
        return float(x[-1])
    return step
'''


def test_torch_threads_sets_and_restores_the_count():
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="positive int, got 0"):
        with torch_threads(0):
            pass


def test_time_interleaved_runs_one_call_of_each_per_round():
    calls: list[str] = []
    timings = time_interleaved(
        {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, repeat=3, warmup=1
    )
    assert calls == ["a", "b"] * 4
    assert set(timings) == {"a", "b"}
    assert all(0 <= t.min <= t.median <= t.max for t in timings.values())
    with pytest.raises(ValueError, match="repeat >= 1"):
        time_interleaved({"a": lambda: None}, repeat=0)


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
def test_peak_memory_counts_the_call_and_not_the_build(tmp_path, monkeypatch):
    (tmp_path / "memory_steps.py").write_text(STEPS_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    big = peak_memory_mib("memory_steps:allocating", [256])
    small = peak_memory_mib("memory_steps:allocating", [1])
    assert 200 < big < 400
    assert small < 50


def test_peak_memory_names_a_bad_factory():
    with pytest.raises(ValueError, match="'package.module:function', got 'nocolon'"):
        peak_memory_mib("nocolon")
    with pytest.raises(RuntimeError, match="failed"):
        peak_memory_mib("gdl_zoo.bench.measure:time_interleaved")  # takes no `device`


def test_largest_tensor_sees_the_biggest_result_of_the_block():
    v = torch.randn(100)
    with LargestTensor() as matrix_free:
        (v * 2).sum()
    with LargestTensor() as dense:
        torch.outer(v, v).sum()
    assert matrix_free.largest == 100
    assert dense.largest == 100 * 100
