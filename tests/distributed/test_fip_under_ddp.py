"""FIP under data parallelism: metric products over 2 ranks equal those of one process.

``fip_ranks.py`` runs on 2 gloo ranks, each holding a shard of an unevenly
split batch (4 + 3 samples); here one process holds the whole batch.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from gdl_zoo.weightspace.fip import fip_step, flat_gradient
from gdl_zoo.weightspace.metric import OutputMetric, ParameterLayout

WORKER = Path(__file__).with_name("fip_ranks.py")
KINDS = ("euclidean", "fisher")
TIGHT = {"rtol": 1e-11, "atol": 1e-13}


def _worker_module():
    spec = importlib.util.spec_from_file_location("fip_ranks", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


worker = _worker_module()


@pytest.fixture(scope="module")
def ranks(torchrun, tmp_path_factory) -> list[dict]:
    """What each of the 2 ranks of ``fip_ranks.py`` computed."""
    out = tmp_path_factory.mktemp("fip_ranks")
    torchrun([str(WORKER), str(out)])
    return [torch.load(out / f"rank{r}.pt", weights_only=True) for r in range(2)]


@pytest.fixture(scope="module")
def full_batch() -> dict:
    """The same quantities in one process holding the whole batch."""
    model, inputs, labels, vectors = worker.problem()
    layout = ParameterLayout.of(model)
    loss = torch.nn.functional.cross_entropy(model(inputs), labels)
    gradient = flat_gradient(model, loss, layout)
    results = {}
    for kind in KINDS:
        metric = OutputMetric(model, inputs, kind=kind)
        step = fip_step(metric, gradient, 0.1, beta=2.0, max_iter=6)
        results[kind] = {
            "batch_size": metric.batch_size,
            "product": metric(vectors["v"]),
            "inner_product": metric.inner_product(vectors["a"], vectors["b"]),
            "gradient": gradient,
            "step": step.tangent_vec,
            "mu": step.mu,
        }
    return results


def test_the_batch_is_split_unevenly(ranks):
    assert [r["shard_size"] for r in ranks] == [4, 3]
    assert sum(r["shard_size"] for r in ranks) == worker.BATCH


@pytest.mark.parametrize("kind", KINDS)
def test_metric_products_under_ddp_equal_the_full_batch_product(ranks, full_batch, kind):
    expected = full_batch[kind]
    for rank in ranks:
        got = rank[kind]
        assert got["batch_size"] == expected["batch_size"] == worker.BATCH
        torch.testing.assert_close(got["product"], expected["product"], **TIGHT)
        assert got["inner_product"] == pytest.approx(expected["inner_product"], rel=1e-11)
        torch.testing.assert_close(got["gradient"], expected["gradient"], **TIGHT)


@pytest.mark.parametrize("kind", KINDS)
def test_the_fip_step_under_ddp_is_the_one_process_step(ranks, full_batch, kind):
    expected = full_batch[kind]
    for rank in ranks:
        torch.testing.assert_close(rank[kind]["step"], expected["step"], rtol=1e-9, atol=1e-11)
        assert rank[kind]["mu"] == pytest.approx(expected["mu"], rel=1e-8)
    assert float(torch.linalg.vector_norm(expected["step"])) == pytest.approx(0.1)


@pytest.mark.parametrize("kind", KINDS)
def test_without_the_reduction_or_with_averaged_means_the_products_differ(ranks, full_batch, kind):
    """Negative controls: a rank's own product, and the mean of the ranks' products."""
    expected = full_batch[kind]["product"]
    local = [rank[kind]["local_product"] for rank in ranks]

    def far(product):
        return float((product - expected).norm() / expected.norm()) > 1e-3

    assert all(far(product) for product in local)  # no all_reduce: the shard's metric only
    # DDP-style averaging of per-rank means weights the 3-sample shard like the 4-sample one
    assert far(sum(local) / len(local))
    # the right normalisation of the same local products recovers the full batch
    sizes = [rank["shard_size"] for rank in ranks]
    weighted = sum(n * product for n, product in zip(sizes, local)) / sum(sizes)
    torch.testing.assert_close(weighted, expected, **TIGHT)
