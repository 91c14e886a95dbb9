"""The benchmark runner behind ``gdl-zoo bench``: suites, records, reports."""

from gdl_zoo.bench.measure import LargestTensor, peak_memory_mib, time_interleaved, torch_threads
from gdl_zoo.bench.suites import (
    BenchContext,
    Record,
    Suite,
    Timing,
    get_suite,
    list_suites,
    ratio,
    register_suite,
    select_suites,
    time_callable,
)

__all__ = [
    "BenchContext",
    "Record",
    "Suite",
    "Timing",
    "get_suite",
    "list_suites",
    "ratio",
    "register_suite",
    "select_suites",
    "time_callable",
    "peak_memory_mib",
    "time_interleaved",
    "torch_threads",
    "LargestTensor",
]
