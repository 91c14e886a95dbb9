"""Benchmark suites of the grids domain: speed against torch's own layers, time-warp accuracy."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from gdl_zoo.bench.measure import time_interleaved
from gdl_zoo.bench.suites import (
    BenchContext,
    Record,
    Suite,
    ratio,
    register_suite,
)
from gdl_zoo.grids.bench_time_warp import time_warp_accuracy
from gdl_zoo.grids.cnn import CircularConv
from gdl_zoo.grids.gated_rnn import GatedRNN
from gdl_zoo.grids.seq_transformer import CircularRelativeBias, TransformerBlock

__all__ = ["speed"]


def _fwd_bwd(module: nn.Module, x: torch.Tensor) -> Callable[[], None]:
    def step() -> None:
        module.zero_grad(set_to_none=True)
        out = module(x)
        out = out[0] if isinstance(out, tuple) else out
        out.square().mean().backward()

    return step


def _compare(
    name: str,
    ours: nn.Module,
    reference: nn.Module,
    x: torch.Tensor,
    context: BenchContext,
    ref_name: str,
    shape: str,
) -> list[Record]:
    # one call of each per round, rounds interleaved: a change of load hits both alike
    timings = time_interleaved(
        {"ours": _fwd_bwd(ours, x), "reference": _fwd_bwd(reference, x)}, context.repeat
    )
    t_ours, t_ref = timings["ours"], timings["reference"]
    details = {"reference": ref_name, "input": shape, "device": context.device}
    return [
        Record(name, "fwd+bwd time", t_ours.median, "s", details={**details, **t_ours.as_dict()}),
        Record(ref_name, "fwd+bwd time", t_ref.median, "s", details={**details, **t_ref.as_dict()}),
        Record(
            name,
            f"time ratio vs {ref_name}",
            ratio(t_ours.median, t_ref.median),
            "ratio",
            details=details,
        ),
    ]


def speed(context: BenchContext) -> list[Record]:
    """Forward+backward time of grid layers beside torch's equivalents, in one run.

    * :class:`CircularConv` vs ``nn.Conv2d`` with zero padding (B=32, 16→16
      channels, k=3, 64×64; 32×32 when quick): the price of exact equivariance.
    * two pre-LN :class:`TransformerBlock` with circular relative biases vs
      ``nn.TransformerEncoder`` (norm_first, GELU) of the same width (B=32,
      T=128, d=64, 4 heads; T=64 when quick).
    * :class:`GatedRNN` (a Python loop over time) vs ``nn.GRU`` (fused kernel),
      B=32, T=100, 16→64 (T=50 when quick).
    """
    torch.manual_seed(context.seed)
    device = torch.device(context.device)
    gen = context.generator()
    records: list[Record] = []

    size = 32 if context.quick else 64
    x = torch.randn(32, 16, size, size, generator=gen).to(device)
    records += _compare(
        "CircularConv",
        CircularConv(16, 16, 3).to(device),
        nn.Conv2d(16, 16, 3, padding=1).to(device),
        x,
        context,
        "nn.Conv2d",
        f"32×16×{size}×{size}",
    )

    length, d_model, heads = (64 if context.quick else 128), 64, 4
    ours = nn.Sequential(
        *(
            TransformerBlock(d_model, heads, 128, CircularRelativeBias(heads, length))
            for _ in range(2)
        )
    ).to(device)
    layer = nn.TransformerEncoderLayer(
        d_model, heads, 128, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
    )
    reference = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False).to(device)
    x = torch.randn(32, length, d_model, generator=gen).to(device)
    records += _compare(
        "TransformerBlock×2 (circular bias)",
        ours,
        reference,
        x,
        context,
        "nn.TransformerEncoder",
        f"32×{length}×{d_model}",
    )

    steps = 50 if context.quick else 100
    x = torch.randn(32, steps, 16, generator=gen).to(device)
    records += _compare(
        "GatedRNN",
        GatedRNN(16, 64, chrono_tmax=steps).to(device),
        nn.GRU(16, 64, batch_first=True).to(device),
        x,
        context,
        "nn.GRU",
        f"32×{steps}×16",
    )
    return records


register_suite(
    Suite(
        name="grids.speed",
        domain="grids",
        kind="speed",
        run=speed,
        description="grid layers vs torch's plain equivalents: forward+backward time and ratio",
    )
)

register_suite(
    Suite(
        name="grids.time_warp",
        domain="grids",
        kind="accuracy",
        run=time_warp_accuracy,
        description="chrono-gated RNN vs plain RNN vs chrono LSTM on time-warped sequences",
    )
)
