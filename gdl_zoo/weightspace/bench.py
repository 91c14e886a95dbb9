"""Benchmark suites of the weightspace domain: metric cost, sparsification, continual learning,
mode connectivity (Raghavan & Thomson, arXiv 2205.00334).

All accuracy suites use the MNIST test set from the data directory, shuffled
with ``context.seed`` and split into 8000 training and 2000 test images; a quick
run without data uses the 2500 embedded images (2000 / 500) and fewer steps.
Pixels are scaled to [0, 1].  Models are initialised and trained under
``context.seed`` (Adam, learning rate 1e-3, batch 128).  The FIP step sizes ε,
weights β and metrics were chosen by a small sweep on a validation split of the
training images (7000 / 1000), never on the test images.

Shapes: ``N`` images ``(N, 1, 28, 28)``, ``P`` parameters.
"""

from __future__ import annotations

import math
import time
import weakref
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from gdl_zoo.bench.datasets import mnist_digits
from gdl_zoo.bench.measure import peak_memory_mib, time_interleaved
from gdl_zoo.bench.suites import BenchContext, Record, Suite, ratio, register_suite
from gdl_zoo.weightspace.metric import OutputMetric, ParameterLayout
from gdl_zoo.weightspace.models import lenet_300_100, mlp
from gdl_zoo.weightspace.objectives import (
    QuadraticBezier,
    Sparsification,
    TaskLoss,
    TowardNetwork,
    apply_mask,
    global_magnitude_mask,
    loss_barrier,
    losses_along,
    train_bezier,
)
from gdl_zoo.weightspace.path import traverse

__all__ = [
    "COST_GOAL",
    "metric_cost",
    "metric_product_step",
    "sparsification_accuracy",
    "continual_learning",
    "mode_connectivity",
]

#: The goal for one metric-vector product over one forward+backward on the same batch.
COST_GOAL = 3.0
_LR, _BATCH = 1e-3, 128


def _storage_pointer(tensor: torch.Tensor) -> int:
    """The address of ``tensor``'s storage, 0 when it has none (wrappers, meta tensors)."""
    try:
        return tensor.untyped_storage().data_ptr()
    except (RuntimeError, NotImplementedError):
        return 0


class _LiveStorageBytes(TorchDispatchMode):
    """Peak bytes of the storages that operators under this mode allocate, alive at once.

    Each storage is counted once however many views share it, from the first
    operator that returns it until the last tensor on it dies; outputs that
    share a storage with an input not created under the mode (views of
    parameters, in-place results) are not new memory.  Tensors that existed
    before the mode (the parameters) are not counted.
    """

    def __init__(self):
        super().__init__()
        self.live = 0
        self.peak = 0
        self._storages: dict[int, list[int]] = {}  # address -> [bytes, live tensors on it]

    def _release(self, pointer: int) -> None:
        entry = self._storages[pointer]
        entry[1] -= 1
        if entry[1] == 0:
            self.live -= entry[0]
            del self._storages[pointer]

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        flat_inputs = tree_flatten((args, kwargs))[0]
        inputs = {_storage_pointer(t) for t in flat_inputs if isinstance(t, torch.Tensor)}
        for tensor in tree_flatten(out)[0]:
            pointer = _storage_pointer(tensor) if isinstance(tensor, torch.Tensor) else 0
            if pointer == 0:
                continue
            if pointer not in self._storages:
                if pointer in inputs:
                    continue
                nbytes = tensor.untyped_storage().nbytes()
                self._storages[pointer] = [nbytes, 0]
                self.live += nbytes
                self.peak = max(self.peak, self.live)
            self._storages[pointer][1] += 1
            weakref.finalize(tensor, self._release, pointer)
        return out


def _peak_bytes(fn: Callable[[], object], device: torch.device) -> int:
    """Peak bytes allocated while ``fn()`` runs, beyond what was allocated before."""
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        fn()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - before
    with _LiveStorageBytes() as tracker:
        fn()
    return tracker.peak


def metric_product_step(
    widths: list[int], batch: int, forward_mode: str, seed: int, device: str = "cpu"
) -> Callable[[], None]:
    """One build-and-apply of the euclidean metric of a seeded ReLU MLP, for peak-memory runs.

    The factory that :func:`~gdl_zoo.bench.measure.peak_memory_mib` calls in a
    fresh interpreter: the model, the batch and the tangent vector are built
    here (not measured), with a first product on a tiny MLP so that one-time
    initialisation is not counted; the returned step builds
    :class:`OutputMetric` and applies it once.

    Shapes:
        the batch ``(batch, widths[0])``; the tangent vector ``(P,)``.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = mlp(tuple(widths)).to(device)
    x = torch.randn(batch, widths[0], generator=generator).to(device)
    v = torch.randn(ParameterLayout.of(model).size, generator=generator).to(device)
    tiny = mlp((2, 3, 2)).to(device)  # first use of the transforms, outside the measurement
    OutputMetric(tiny, torch.zeros(1, 2, device=device), forward_mode=forward_mode)(
        torch.zeros(ParameterLayout.of(tiny).size, device=device)
    )

    def step():
        OutputMetric(model, x, forward_mode=forward_mode)(v)

    return step


def metric_cost(context: BenchContext) -> list[Record]:
    """Time one metric-vector product against one forward+backward, and its peak memory.

    Speed: LeNet-300-100 (266,610 parameters) on a batch of 256 random images:
    ``G v`` (euclidean and fisher, jvp and double-vjp modes; the linearisation
    built once, outside the timing) over one forward+backward of the
    cross-entropy, timed alternately, the minimum of ``max(20, repeat)`` rounds
    each; the goal ≤ :data:`COST_GOAL` is reported in ``details["meets_goal"]``
    (timing is a measurement, not a check).  Memory: the peak bytes allocated
    while one metric is built and applied (a storage-counting dispatch mode on
    CPU, ``max_memory_allocated`` on CUDA) over the bytes of the parameters, for two
    MLPs of growing size (the largest 784-2048-2048-2048-10, 10.0M parameters,
    batch 256, whose dense J would take B·K·P·4 bytes ≈ 103 GB; quick
    784-512-512-10 and 784-1024-1024-10 at batch 64); a constant ratio across
    sizes is O(P).  The forward+backward's peak is measured the same way.  Full
    runs cross-check with :func:`~gdl_zoo.bench.measure.peak_memory_mib` (the
    growth of the resident high-water mark in a fresh interpreter on CPU), in
    ``details["resident_peak_mib"]``.
    """
    device = torch.device(context.device)
    batch = 256
    rounds = max(20, context.repeat)
    records = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(context.seed)
        model = lenet_300_100().to(device)
        x = torch.randn(batch, 1, 28, 28, generator=context.generator()).to(device)
        y = torch.randint(0, 10, (batch,), generator=context.generator()).to(device)

    def forward_backward():
        model.zero_grad()
        F.cross_entropy(model(x), y).backward()

    layout = ParameterLayout.of(model)
    v = torch.randn(layout.size, generator=context.generator()).to(device)
    for kind in ("euclidean", "fisher"):
        for mode in ("jvp", "double_vjp"):
            metric = OutputMetric(model, x, kind=kind, forward_mode=mode)
            times = time_interleaved(
                {"ours": lambda m=metric: m(v), "reference": forward_backward}, repeat=rounds
            )
            value = ratio(times["ours"].min, times["reference"].min)
            records.append(
                Record(
                    f"lenet_300_100 {kind} G·v ({mode})",
                    "time / fwd+bwd",
                    value,
                    "ratio",
                    details={
                        "meets_goal": value <= COST_GOAL,
                        "product": times["ours"].as_dict(),
                        "forward_backward": times["reference"].as_dict(),
                        "batch": batch,
                        "params": layout.size,
                        "goal": COST_GOAL,
                        "timing": "alternating rounds, minimum of each",
                    },
                )
            )
    sizes = (
        [((784, 512, 512, 10), 64), ((784, 1024, 1024, 10), 64)]
        if context.quick
        else [((784, 1024, 1024, 10), 256), ((784, 2048, 2048, 2048, 10), 256)]
    )
    for widths, big_batch in sizes:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(context.seed)
            big = mlp(widths).to(device)
        big_x = torch.randn(big_batch, widths[0], generator=context.generator()).to(device)
        big_y = torch.randint(0, widths[-1], (big_batch,), generator=context.generator())
        big_y = big_y.to(device)
        big_layout = ParameterLayout.of(big)
        big_v = torch.randn(big_layout.size, generator=context.generator()).to(device)
        param_bytes = big_layout.size * big_v.element_size()

        def backward(big=big, big_x=big_x, big_y=big_y):
            F.cross_entropy(big(big_x), big_y).backward()

        reference = _peak_bytes(backward, device)
        big.zero_grad(set_to_none=True)
        for mode in ("jvp", "double_vjp"):
            peak = _peak_bytes(
                lambda m=mode, big=big, big_x=big_x, big_v=big_v: OutputMetric(
                    big, big_x, forward_mode=m
                )(big_v),
                device,
            )
            resident = (
                math.nan
                if context.quick
                else peak_memory_mib(
                    "gdl_zoo.weightspace.bench:metric_product_step",
                    (list(widths), big_batch, mode, context.seed),
                    device=context.device,
                )
            )
            records.append(
                Record(
                    f"mlp {'-'.join(map(str, widths))} G·v ({mode})",
                    "peak memory / parameter bytes",
                    peak / param_bytes,
                    "ratio",
                    details={
                        "peak_bytes": peak,
                        "parameter_bytes": param_bytes,
                        "forward_backward_peak_bytes": reference,
                        "resident_peak_mib": resident,
                        "params": big_layout.size,
                        "batch": big_batch,
                        "dense_jacobian_bytes": big_batch
                        * widths[-1]
                        * big_layout.size
                        * big_v.element_size(),
                        "dense_metric_bytes": big_layout.size**2 * big_v.element_size(),
                        "method": "CUDA max_memory_allocated"
                        if device.type == "cuda"
                        else "peak of the storages allocated while the metric is built and "
                        "applied once (dispatch-mode tracker)",
                    },
                )
            )
    return records


def _split(context: BenchContext):
    """``(x_train, y_train, x_test, y_test, source)`` or the reason there is no data."""
    digits = mnist_digits(context)
    if isinstance(digits, str):
        return digits
    images, labels, source = digits
    train = 8000 if len(labels) >= 10_000 else 2000
    order = torch.randperm(len(labels), generator=context.generator())
    device = torch.device(context.device)
    x = (images[order].unsqueeze(1).float() / 255.0).to(device)
    y = labels[order].to(device)
    return x[:train], y[:train], x[train:], y[train:], source


def _skipped(name: str, metric: str, reason: str) -> list[Record]:
    return [Record(name, metric, math.nan, "%", details={"skipped": reason})]


def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    was_training = model.training
    model.eval()
    with torch.no_grad():
        correct = sum(
            int((model(a).argmax(-1) == b).sum()) for a, b in zip(x.split(1000), y.split(1000))
        )
    model.train(was_training)
    return 100.0 * correct / len(y)


def _train(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    steps: int,
    seed: int,
    extra_loss: Callable[[], torch.Tensor] | None = None,
    mask: dict[str, torch.Tensor] | None = None,
) -> None:
    """Adam on minibatches of ``(x, y)`` seeded by ``seed``; optional penalty and fixed mask."""
    optimiser = torch.optim.Adam(model.parameters(), lr=_LR)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(steps):
        index = torch.randint(0, len(y), (_BATCH,), generator=generator).to(x.device)
        loss = F.cross_entropy(model(x[index]), y[index])
        if extra_loss is not None:
            loss = loss + extra_loss()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if mask is not None:
            apply_mask(model, mask)
    model.eval()


def _seeded(factory: Callable[[], nn.Module], seed: int, device: torch.device) -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return factory().to(device)


def sparsification_accuracy(context: BenchContext) -> list[Record]:
    """LeNet-300-100 pruned to 80/90/95/98 %: FIP vs one-shot magnitude vs magnitude + fine-tune.

    The trained network (600 Adam steps; quick 30) is pruned three ways with
    the same step budget (100 steps; quick 4): one-shot global magnitude
    pruning; the same mask then fine-tuned with Adam for the budget; and a FIP
    (ε = 1, β = 0.1, 10 Lanczos products, metric on minibatches of 256
    training images) toward the cubic magnitude schedule, ramped over 3/4 of the
    budget, ended by the hard mask.  Records: test accuracy per method and
    sparsity; the FIP records carry the accuracy along the path as a curve.
    """
    split = _split(context)
    if isinstance(split, str):
        return _skipped("lenet_300_100", "test accuracy after pruning", split)
    x_train, y_train, x_test, y_test, source = split
    device = torch.device(context.device)
    levels = (0.9,) if context.quick else (0.8, 0.9, 0.95, 0.98)
    pretrain, budget = (30, 4) if context.quick else (600, 100)
    dense = _seeded(lenet_300_100, context.seed, device)
    _train(dense, x_train, y_train, pretrain, context.seed)
    dense_acc = _accuracy(dense, x_test, y_test)
    state = {k: v.clone() for k, v in dense.state_dict().items()}
    common = {
        "data": source,
        "dense_accuracy": dense_acc,
        "budget_steps": budget,
        "pretrain_steps": pretrain,
        "train_size": len(y_train),
        "test_size": len(y_test),
    }
    records = []
    model = lenet_300_100().to(device)
    for sparsity in levels:
        model.load_state_dict(state)
        mask = global_magnitude_mask(model, sparsity)
        apply_mask(model, mask)
        one_shot = _accuracy(model, x_test, y_test)
        start = time.perf_counter()
        _train(model, x_train, y_train, budget, context.seed + 1, mask=mask)
        tune_seconds = time.perf_counter() - start
        tuned = _accuracy(model, x_test, y_test)
        model.load_state_dict(state)
        objective = Sparsification(sparsity, ramp_steps=max(1, 3 * budget // 4))
        evaluate_every = max(1, budget // 10)
        start = time.perf_counter()
        path = traverse(
            model,
            x_train,
            objective,
            budget,
            epsilon=1.0,
            beta=0.1,
            batch_size=256,
            krylov_dim=10,
            evaluate=lambda m: _accuracy(m, x_test, y_test),
            evaluate_every=evaluate_every,
            seed=context.seed,
        )
        seconds = time.perf_counter() - start
        objective.finalize(model)
        fip = _accuracy(model, x_test, y_test)
        steps = [t for t, a in enumerate(path.accuracy) if not math.isnan(a)]
        curve = {
            "x": steps + [budget + 1],
            "y": [path.accuracy[t] for t in steps] + [fip],
            "x_label": "FIP step (last point: after the hard mask)",
        }
        label = f"{round(100 * sparsity)}% sparse"
        for method, value, extra in (
            ("one-shot magnitude", one_shot, {}),
            ("magnitude + fine-tune", tuned, {"fine_tune_seconds": tune_seconds}),
        ):
            records.append(
                Record(
                    f"{label}: {method}",
                    "test accuracy after pruning",
                    value,
                    "%",
                    details=dict(common, sparsity=sparsity, **extra),
                )
            )
        records.append(
            Record(
                f"{label}: FIP",
                "test accuracy after pruning",
                fip,
                "%",
                details=dict(common, sparsity=sparsity, curve=curve, traverse_seconds=seconds),
            )
        )
    return records


def _fisher_diagonal(
    model: nn.Module, x: torch.Tensor, samples: int, seed: int
) -> list[torch.Tensor]:
    """Diagonal Fisher ``E_x E_{y~p(·|x)}[(∂ log p(y|x)/∂θ)²]``, one sampled y per image.

    The Monte Carlo estimate of EWC (Kirkpatrick et al. 2017) over ``samples``
    images: labels drawn from the model, not the data (that would be the
    empirical Fisher).
    """
    generator = torch.Generator().manual_seed(seed)
    index = torch.randperm(len(x), generator=generator)[:samples].to(x.device)
    fisher = [torch.zeros_like(p) for p in model.parameters()]
    for chunk in index.split(1):
        logits = model(x[chunk])
        sampled = torch.multinomial(logits.softmax(-1).detach().cpu(), 1, generator=generator)
        loss = F.cross_entropy(logits, sampled.view(-1).to(x.device))
        grads = torch.autograd.grad(loss, list(model.parameters()))
        for f, g in zip(fisher, grads):
            f += g.pow(2) / len(index)
    return fisher


def continual_learning(context: BenchContext) -> list[Record]:
    """Split MNIST (5 tasks of 2 digits, one 10-way head): FIP vs fine-tune vs EWC vs replay.

    Class-incremental: after each task the network is tested on every digit
    seen so far.  Every method gets the same steps per task (100; quick 3) on
    the new task's images, starting from the same network trained on task 1.
    Fine-tuning: Adam on the new task.  EWC (Kirkpatrick et al. 2017): plus
    ``(λ/2) Σ_i F_i (θ_i − θ*_i)²``, λ = 1000, the diagonal Fisher of each old
    task on 200 images (quick 10) accumulated.  Replay: plus the cross-entropy
    of a batch from a buffer of the first 100 training images of each old task.
    FIP: the new task's cross-entropy along a FIP (ε = 0.05, β = 0.001, Fisher
    metric, 10 Lanczos products) whose metric is measured on minibatches of the
    same buffer (its inputs only).  MLP 784-400-400-10 (quick 784-100-100-10).
    Records: the final average accuracy over the five tasks, with the average
    accuracy after each task as a curve.
    """
    split = _split(context)
    if isinstance(split, str):
        return _skipped("split_mnist", "final average accuracy", split)
    x_train, y_train, x_test, y_test, source = split
    device = torch.device(context.device)
    steps = 3 if context.quick else 100
    width = 100 if context.quick else 400
    fisher_samples = 10 if context.quick else 200
    buffer_per_task = 100
    tasks = [(2 * k, 2 * k + 1) for k in range(5)]

    def members(y, task):
        return (y == task[0]) | (y == task[1])

    def factory():
        return mlp((784, width, width, 10), flatten=True)

    first = _seeded(factory, context.seed, device)
    task0 = members(y_train, tasks[0])
    _train(first, x_train[task0], y_train[task0], steps, context.seed)
    first_state = {k: v.clone() for k, v in first.state_dict().items()}
    records = []
    for method in ("fine-tune", "EWC", "replay", "FIP"):
        model = factory().to(device)
        model.load_state_dict(first_state)
        anchors: list[tuple[list[torch.Tensor], list[torch.Tensor]]] = []
        buffer_x, buffer_y = [], []
        averages = []
        for k, task in enumerate(tasks):
            train_k = members(y_train, task)
            if k > 0:
                x_k, y_k = x_train[train_k], y_train[train_k]
                if method == "fine-tune":
                    _train(model, x_k, y_k, steps, context.seed + k)
                elif method == "EWC":

                    def ewc(anchors=anchors, model=model):
                        return 500.0 * sum(
                            (f * (p - a).pow(2)).sum()
                            for fisher, anchor in anchors
                            for f, p, a in zip(fisher, model.parameters(), anchor)
                        )

                    _train(model, x_k, y_k, steps, context.seed + k, extra_loss=ewc)
                elif method == "replay":
                    bx, by = torch.cat(buffer_x), torch.cat(buffer_y)
                    generator = torch.Generator().manual_seed(context.seed + k)

                    def replay(bx=bx, by=by, generator=generator, model=model):
                        index = torch.randint(0, len(by), (_BATCH,), generator=generator)
                        index = index.to(bx.device)
                        return F.cross_entropy(model(bx[index]), by[index])

                    _train(model, x_k, y_k, steps, context.seed + k, extra_loss=replay)
                else:
                    traverse(
                        model,
                        torch.cat(buffer_x),
                        TaskLoss(x_k, y_k, _BATCH, context.seed + k),
                        steps,
                        epsilon=0.05,
                        beta=0.001,
                        metric="fisher",
                        batch_size=_BATCH,
                        krylov_dim=10,
                        seed=context.seed + k,
                    )
            if method == "EWC":
                model.eval()
                fisher = _fisher_diagonal(model, x_train[train_k], fisher_samples, context.seed + k)
                anchors.append((fisher, [p.detach().clone() for p in model.parameters()]))
            pick = torch.nonzero(train_k).view(-1)[:buffer_per_task]
            buffer_x.append(x_train[pick])
            buffer_y.append(y_train[pick])
            seen = [
                _accuracy(model, x_test[members(y_test, t)], y_test[members(y_test, t)])
                for t in tasks[: k + 1]
            ]
            averages.append(sum(seen) / len(seen))
        final = [
            _accuracy(model, x_test[members(y_test, t)], y_test[members(y_test, t)]) for t in tasks
        ]
        records.append(
            Record(
                method,
                "final average accuracy",
                sum(final) / len(final),
                "%",
                details={
                    "curve": {
                        "x": list(range(1, 6)),
                        "y": averages,
                        "x_label": "tasks learnt (average accuracy on tasks seen)",
                    },
                    "per_task_final": final,
                    "steps_per_task": steps,
                    "buffer_per_task": buffer_per_task,
                    "data": source,
                    "train_size": len(y_train),
                    "test_size": len(y_test),
                },
            )
        )
    return records


def mode_connectivity(context: BenchContext) -> list[Record]:
    """Loss barrier between two independently trained MLPs: FIP vs linear vs Bézier.

    Two 784-100-10 ReLU MLPs trained from different seeds (600 Adam steps;
    quick 30).  Linear: ``θ(t) = (1−t)θ_A + tθ_B``.  Bézier: a quadratic
    Bézier curve trained for 600 steps (quick 30) (Garipov et al. 2018).  FIP:
    from θ_A toward θ_B (``L = ½‖θ − θ_B‖²``) for 400 steps (quick 6) of
    ε = ‖θ_A − θ_B‖/200 (β = 0.1, Fisher metric on minibatches of 256 training
    images, 10 Lanczos products), checkpoints every 20 steps, closed by the
    straight segment from its end to θ_B.  The lines are evaluated at 21 points,
    the FIP at its checkpoints plus 5 points of the closing segment; the
    barrier is ``max L − max(L(A), L(B))`` of the training loss; the curves hold
    the test loss and the test accuracy against the position along the path.
    """
    split = _split(context)
    if isinstance(split, str):
        return _skipped("mode_connectivity", "loss barrier", split)
    x_train, y_train, x_test, y_test, source = split
    device = torch.device(context.device)
    train_steps, fip_steps = (30, 6) if context.quick else (600, 400)

    def factory():
        return mlp((784, 100, 10), flatten=True)

    nets = []
    for k in range(2):
        net = _seeded(factory, context.seed + 100 * k, device)
        _train(net, x_train, y_train, train_steps, context.seed + 100 * k)
        nets.append(net)
    layout = ParameterLayout.of(nets[0])
    a, b = layout.parameters_of(nets[0]), layout.parameters_of(nets[1])
    distance = float(torch.linalg.vector_norm(a - b))
    model = factory().to(device)
    model.eval()

    def train_loss(m):
        with torch.no_grad():
            return float(F.cross_entropy(m(x_train), y_train))

    def test_loss(m):
        with torch.no_grad():
            return float(F.cross_entropy(m(x_test), y_test))

    def test_accuracy(m):
        return _accuracy(m, x_test, y_test)

    ts = [i / 20 for i in range(21)]
    paths = {"linear": [(1 - t) * a + t * b for t in ts]}
    layout.load_into(model, a)
    curve = train_bezier(model, a, b, x_train, y_train, steps=train_steps, seed=context.seed)
    paths["Bézier"] = [QuadraticBezier.point(curve, t) for t in ts]
    layout.load_into(model, a)
    path = traverse(
        model,
        x_train,
        TowardNetwork(nets[1]),
        fip_steps,
        epsilon=distance / 200,
        beta=0.1,
        metric="fisher",
        batch_size=256,
        krylov_dim=10,
        checkpoint_every=max(1, fip_steps // 20),
        seed=context.seed,
    )
    end = layout.parameters_of(model)
    fip_points = [path.point(i).to(device) for i in range(len(path.checkpoints))]
    paths["FIP"] = fip_points + [(1 - t) * end + t * b for t in (0.2, 0.4, 0.6, 0.8, 1.0)]
    records = []
    for name, points in paths.items():
        train_losses = losses_along(model, points, train_loss)
        test_losses = losses_along(model, points, test_loss)
        accuracies = losses_along(model, points, test_accuracy)
        lengths = [0.0] + [
            float(torch.linalg.vector_norm(q - p)) for p, q in zip(points, points[1:])
        ]
        position = [sum(lengths[: i + 1]) / sum(lengths) for i in range(len(points))]
        records.append(
            Record(
                name,
                "loss barrier",
                loss_barrier(train_losses),
                "nats",
                details={
                    "curve": {
                        "x": position,
                        "y": test_losses,
                        "x_label": "position along the path (arc length fraction)",
                        "y_label": "test loss along the path (nats)",
                    },
                    "train_losses": train_losses,
                    "test_barrier": loss_barrier(test_losses),
                    "endpoint_distance": distance,
                    "data": source,
                    "fip_end_distance_to_B": float(torch.linalg.vector_norm(end - b))
                    if name == "FIP"
                    else None,
                },
            )
        )
        records.append(
            Record(
                name,
                "lowest test accuracy along the path",
                min(accuracies),
                "%",
                details={
                    "curve": {
                        "x": position,
                        "y": accuracies,
                        "x_label": "position along the path (arc length fraction)",
                        "y_label": "test accuracy along the path (%)",
                    },
                    "end_point_accuracies": [accuracies[0], accuracies[-1]],
                },
            )
        )
    return records


register_suite(
    Suite(
        name="weightspace.metric_cost",
        domain="weightspace",
        kind="speed",
        run=metric_cost,
        description="one metric-vector product vs one forward+backward; peak memory without J",
    )
)
register_suite(
    Suite(
        name="weightspace.sparsification",
        domain="weightspace",
        kind="accuracy",
        run=sparsification_accuracy,
        description="LeNet-300-100 at 80-98% sparsity: FIP vs one-shot magnitude vs +fine-tune",
    )
)
register_suite(
    Suite(
        name="weightspace.continual",
        domain="weightspace",
        kind="accuracy",
        run=continual_learning,
        description="split MNIST, class-incremental: FIP vs fine-tune vs EWC vs experience replay",
    )
)
register_suite(
    Suite(
        name="weightspace.mode_connectivity",
        domain="weightspace",
        kind="accuracy",
        run=mode_connectivity,
        description="loss barrier between two trained MLPs: FIP vs linear vs quadratic Bézier",
    )
)
