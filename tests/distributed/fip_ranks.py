"""One rank of the FIP-under-DDP check: metric products and a FIP step on this rank's shard.

Run by ``torchrun --nproc_per_node 2 fip_ranks.py OUT_DIR``; every rank saves
``OUT_DIR/rank{r}.pt`` for :mod:`test_fip_under_ddp` to compare with one
process holding the whole batch.  The global batch (7 samples) splits unevenly,
4 + 3, so a wrong normalisation cannot hide behind equal shards.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.distributed as dist

from gdl_zoo.training.distributed import sum_over_ranks
from gdl_zoo.weightspace.fip import fip_step, flat_gradient
from gdl_zoo.weightspace.metric import OutputMetric, ParameterLayout
from gdl_zoo.weightspace.models import mlp

#: The global batch size.
BATCH = 7


def problem() -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
    """The float64 3-5-4-3 tanh MLP, the global batch, its labels and three weight-space vectors."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = mlp((3, 5, 4, 3), activation="tanh").double()
    generator = torch.Generator().manual_seed(1)
    inputs = torch.randn(BATCH, 3, generator=generator, dtype=torch.float64)
    labels = torch.randint(3, (BATCH,), generator=generator)
    size = ParameterLayout.of(model).size
    vectors = {k: torch.randn(size, generator=generator, dtype=torch.float64) for k in "vab"}
    return model, inputs, labels, vectors


def global_gradient(model, inputs, labels, group) -> torch.Tensor:
    """``∇ (1/B) Σ_b CE_b``: this rank's sum over its samples, divided by B, all-reduced."""
    layout = ParameterLayout.of(model)
    loss = torch.nn.functional.cross_entropy(model(inputs), labels, reduction="sum") / BATCH
    return sum_over_ranks(flat_gradient(model, loss, layout), group)


def main(out_dir: Path) -> None:
    """Compute this rank's results and save them."""
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    group = dist.group.WORLD
    model, inputs, labels, vectors = problem()
    shard, shard_labels = inputs[rank::world], labels[rank::world]
    results: dict[str, object] = {"shard_size": len(shard)}
    for kind in ("euclidean", "fisher"):
        metric = OutputMetric(model, shard, kind=kind, process_group=group)
        alone = OutputMetric(model, shard, kind=kind)  # this rank's shard only: no reduction
        gradient = global_gradient(model, shard, shard_labels, group)
        step = fip_step(metric, gradient, 0.1, beta=2.0, max_iter=6)
        results[kind] = {
            "batch_size": metric.batch_size,
            "product": metric(vectors["v"]),
            "inner_product": metric.inner_product(vectors["a"], vectors["b"]),
            "local_product": alone(vectors["v"]),
            "gradient": gradient,
            "step": step.tangent_vec,
            "mu": step.mu,
        }
    torch.save(results, out_dir / f"rank{rank}.pt")
    dist.barrier()  # as gdl_zoo.training does: no rank leaves while another still talks to it
    dist.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
