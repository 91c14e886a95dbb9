"""Every model and key operator runs on every available device, and nothing assumes the CPU.

Three kinds of check:

- **on each device** (the ``device`` fixture of ``conftest.py``: the CPU, plus
  CUDA when present): every registered card runs forward and backward with its
  parameters and inputs on that device; outputs and gradients stay there and are
  finite.  The key operators (mesh geometry, the sparse solve, heat geodesics,
  diffusion, the weight-space metric product) likewise.
- **the CUDA code path on the CPU**: on CUDA the sparse solves of the meshes
  domain take conjugate gradients instead of SuperLU
  (``Factorization(method="auto")``); here every mesh operator that solves is
  run with conjugate gradients forced and compared with SuperLU, outputs and
  gradients (the heat method's heat solve names ``method="lu"`` and keeps it).
- **device-less factories**: a :class:`~torch.overrides.TorchFunctionMode`
  records every tensor factory (``torch.zeros``, ``arange``, ``tensor``, …)
  called from ``gdl_zoo`` code without ``device=`` during a card's forward and
  backward; such a tensor lands on the CPU whatever the inputs' device.  The
  ``meta`` device (shape-only tensors) runs the cards whose forward needs no
  values; the others read values (input validation, mesh topology, CSR
  construction), which a meta tensor does not have, as :data:`META_NEEDS_VALUES`
  records.
"""

from __future__ import annotations

import dataclasses
import traceback

import pytest
import torch
from torch.overrides import TorchFunctionMode

from gdl_zoo import zoo
from gdl_zoo.meshes import diffusion, geodesics, mesh_transformer, metric_learning
from gdl_zoo.meshes.generators import bumpy_icosphere
from gdl_zoo.meshes.geometry import (
    cotan_laplacian,
    divergence,
    edge_lengths,
    face_gradient,
    lumped_mass,
)
from gdl_zoo.meshes.operators import MeshOperators
from gdl_zoo.meshes.sparse import Factorization, SparsityPattern, sparse_solve
from gdl_zoo.symmetry.testing import equivariance_error
from gdl_zoo.weightspace.metric import OutputMetric
from gdl_zoo.weightspace.models import mlp

CARDS = zoo.list_models()

#: Cards whose forward reads tensor values, so it cannot run on ``meta``, and why.
META_NEEDS_VALUES = {
    "deepsets": "validates batch indices (item())",
    "gat": "validates edge_index (item())",
    "gcn": "validates edge_index (item())",
    "ggnn": "validates edge_index (item())",
    "gin": "validates edge_index (item())",
    "graph_transformer": "validates edge_index (item())",
    "mpnn": "validates edge_index (item())",
    "gated_rnn": "validates the time-warp input (item())",
    "egnn": "validates batch indices (item())",
    "se3_transformer": "validates batch indices (item())",
    "tfn": "validates batch indices (item())",
    "gauge_transformer": "builds the mesh topology from faces (numpy)",
    "gem_cnn": "builds the mesh topology from faces (numpy)",
    "mesh_diffusionnet": "builds the mesh topology from faces (numpy)",
    "mesh_transformer": "builds the mesh topology from faces (numpy)",
}


def to_device(obj, device):
    """``obj`` with every tensor inside it on ``device``.

    Maps over tuples, lists, dicts and dataclasses (rebuilt with
    :func:`dataclasses.replace`), and calls ``.to(device)`` on anything else
    that has it (a ``TriangleMesh``, a ``SparsityPattern``).
    """
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, (tuple, list)):
        return type(obj)(to_device(x, device) for x in obj)
    if isinstance(obj, dict):
        return {k: to_device(v, device) for k, v in obj.items()}
    if hasattr(obj, "to") and callable(obj.to):
        return obj.to(device)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields = {f.name: to_device(getattr(obj, f.name), device) for f in dataclasses.fields(obj)}
        return dataclasses.replace(obj, **{k: v for k, v in fields.items() if k in _init(obj)})
    return obj


def _init(obj) -> set[str]:
    return {f.name for f in dataclasses.fields(obj) if f.init}


def _floating_tensors(obj) -> list[torch.Tensor]:
    if isinstance(obj, torch.Tensor):
        return [obj] if obj.is_floating_point() else []
    if isinstance(obj, (tuple, list)):
        return [t for x in obj for t in _floating_tensors(x)]
    return []


def _require_extras(card):
    missing = card.missing_extras()
    if missing:
        pytest.skip(f"{card.name} needs the optional extra {missing}")


def _run(card, device, dtype=torch.float32):
    torch.manual_seed(0)
    model = card.build().to(device=device, dtype=dtype)
    inputs = to_device(card.example_inputs(2, dtype), device)
    outputs = _floating_tensors(model(*inputs))
    return model, outputs


def test_to_device_maps_over_nested_structures_and_dataclasses():
    @dataclasses.dataclass(frozen=True)
    class Holder:
        x: torch.Tensor
        pairs: tuple
        label: str

    _, mesh = bumpy_icosphere(0, 0.1, torch.Generator().manual_seed(0))
    pattern = SparsityPattern.of_mesh(mesh)  # has .to(device), as a TriangleMesh has
    nested = {
        "a": [torch.ones(2), (torch.zeros(1), 3)],
        "h": Holder(torch.ones(1), (pattern,), "s"),
    }
    moved = to_device(nested, "meta")
    assert moved["a"][0].is_meta and moved["a"][1][0].is_meta and moved["a"][1][1] == 3
    assert moved["h"].x.is_meta and moved["h"].pairs[0].rows.is_meta
    assert moved["h"].label == "s" and not nested["a"][0].is_meta  # the original is untouched


@pytest.mark.parametrize("card", CARDS, ids=lambda c: c.name)
def test_every_card_runs_forward_and_backward_on_each_device(card, device):
    _require_extras(card)
    model, outputs = _run(card, device)
    assert outputs, f"{card.name}: no floating outputs"
    for out in outputs:
        assert out.device.type == device.type, f"{card.name}: output on {out.device}"
        assert torch.isfinite(out).all(), f"{card.name}: non-finite output on {device}"
    sum(out.square().mean() for out in outputs).backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad and p.grad is not None]
    assert grads, f"{card.name}: no parameter received a gradient"
    for grad in grads:
        assert grad.device.type == device.type and torch.isfinite(grad).all()


@pytest.mark.parametrize("card", CARDS, ids=lambda c: c.name)
def test_the_symmetry_harness_runs_on_each_accelerator(card, device):
    """``card.check`` with the model and inputs on an accelerator: the actions must move
    their (CPU-sampled) group elements to the inputs' device."""
    if device.type == "cpu":
        pytest.skip("the CPU run is tests/test_zoo.py::test_symmetry")
    _require_extras(card)
    torch.manual_seed(0)
    model = card.build().to(device=device, dtype=torch.float64)
    inputs = to_device(card.example_inputs(2, torch.float64), device)
    report = equivariance_error(
        model,
        inputs[0] if len(inputs) == 1 else inputs,
        card.input_action,
        card.output_action,
        generator=0,
        tolerance=card.tolerance_for(torch.float64),
    )
    assert report.passed, str(report)


class DevicelessFactories(TorchFunctionMode):
    """Records tensor factories called from ``gdl_zoo`` without ``device=``.

    Such a call makes a CPU tensor whatever device the model runs on: a device
    mismatch on CUDA, or a host-to-device copy per call.  ``torch.tensor`` /
    ``as_tensor`` of an existing tensor keep its device and are not recorded.
    """

    FACTORIES = frozenset(
        {
            torch.arange, torch.empty, torch.eye, torch.full, torch.linspace, torch.logspace,
            torch.ones, torch.rand, torch.randint, torch.randn, torch.randperm, torch.zeros,
            torch.tensor, torch.as_tensor, torch.scalar_tensor, torch.sparse_coo_tensor,
            torch.sparse_csr_tensor,
        }
    )  # fmt: skip
    FROM_DATA = frozenset(
        {torch.tensor, torch.as_tensor, torch.sparse_coo_tensor, torch.sparse_csr_tensor}
    )

    def __init__(self):
        super().__init__()
        self.calls: set[str] = set()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in self.FACTORIES and kwargs.get("device") is None:
            from_tensor = func in self.FROM_DATA and args and isinstance(args[0], torch.Tensor)
            frames = [f for f in traceback.extract_stack() if "/gdl_zoo/" in f.filename]
            if frames and not from_tensor:
                f = frames[-1]
                where = f.filename[f.filename.rindex("/gdl_zoo/") + 1 :]
                self.calls.add(f"{where}:{f.lineno}: {f.line}")
        return func(*args, **kwargs)


def test_the_factory_recorder_catches_a_device_less_tensor():
    """Negative control: a forward that adds a CPU-only constant is caught; the fix is not."""
    from gdl_zoo.meshes.geometry import lumped_mass as from_gdl_zoo  # a gdl_zoo frame to record

    _, mesh = bumpy_icosphere(0, 0.1, torch.Generator().manual_seed(0))
    lengths = torch.ones(mesh.num_edges, dtype=torch.float64)
    with DevicelessFactories() as bad:
        from_gdl_zoo(mesh, lengths)
        torch.zeros(3)  # not from gdl_zoo code: not recorded
    assert bad.calls == set()
    code = compile("def f(x):\n    return x + torch.ones(3)\n", "/x/gdl_zoo/fake.py", "exec")
    namespace = {"torch": torch}
    exec(code, namespace)
    with DevicelessFactories() as recorder:
        namespace["f"](torch.zeros(3))
    assert len(recorder.calls) == 1 and "gdl_zoo/fake.py:2" in next(iter(recorder.calls))


@pytest.mark.parametrize("card", CARDS, ids=lambda c: c.name)
def test_no_card_creates_tensors_without_a_device_in_forward_or_backward(card):
    _require_extras(card)
    torch.manual_seed(0)
    model = card.build()
    inputs = card.example_inputs(2)
    with DevicelessFactories() as recorder:
        outputs = _floating_tensors(model(*inputs))
        sum(out.square().mean() for out in outputs).backward()
    assert recorder.calls == set(), "\n".join(sorted(recorder.calls))


def test_meta_inputs_reveal_a_hard_coded_cpu_tensor():
    """Negative control of the meta runs: a CPU constant cannot meet meta inputs."""

    def bad(x):
        return x + torch.ones(3, 3)

    def good(x):
        return x + torch.ones(3, 3, device=x.device)

    x = torch.zeros(3, 3, device="meta")
    with pytest.raises(RuntimeError, match="meta"):
        bad(x)
    assert good(x).is_meta


@pytest.mark.parametrize("card", CARDS, ids=lambda c: c.name)
def test_cards_run_on_meta_unless_their_forward_needs_values(card):
    """Shape-only execution: no hard-coded CPU tensor meets the meta inputs.  A card that
    needs values must still fail on meta (else it belongs off :data:`META_NEEDS_VALUES`)."""
    _require_extras(card)
    if card.name in META_NEEDS_VALUES:
        with pytest.raises((RuntimeError, NotImplementedError), match="meta"):
            _run(card, "meta")
        return
    try:
        _, outputs = _run(card, "meta")
    except (RuntimeError, NotImplementedError) as err:
        pytest.fail(
            f"{card.name} no longer runs on meta ({str(err).splitlines()[0]}): a CPU tensor met "
            "the meta inputs, or its forward now reads values (then list it in META_NEEDS_VALUES)"
        )
    assert outputs and all(out.is_meta for out in outputs)
    reference = _floating_tensors(card.build()(*card.example_inputs(2)))
    assert [out.shape for out in outputs] == [ref.shape for ref in reference]


def _mesh_on(device, subdivisions=2):
    x, mesh = bumpy_icosphere(subdivisions, 0.3, torch.Generator().manual_seed(0))
    return x.to(device), mesh.to(device)


def test_mesh_geometry_and_sparse_solve_run_on_each_device(device):
    x, mesh = _mesh_on(device)
    x.requires_grad_()
    lengths = edge_lengths(mesh, x)
    pattern = SparsityPattern.of_mesh(mesh)
    lap = cotan_laplacian(mesh, lengths, pattern)
    mass = lumped_mass(mesh, lengths)
    values = pattern.symmetric_values(mass, mass.new_zeros(mesh.num_edges)) + 0.1 * lap
    rhs = torch.randn(mesh.num_vertices, 2, dtype=torch.float64, device=device)
    solution = sparse_solve(pattern, values, rhs)
    grad = face_gradient(mesh, lengths, solution)
    div = divergence(mesh, lengths, grad[..., 0, :])
    expected = "lu" if device.type == "cpu" else "cg"
    assert Factorization(pattern, values).method == expected
    for out in (lengths, lap, mass, solution, grad, div):
        assert out.device.type == device.type and torch.isfinite(out).all()
    residual = (pattern.matvec(values, solution) - rhs).detach()
    assert float(residual.abs().max()) < 1e-9 * float(rhs.abs().max())
    (solution.square().sum() + div.square().sum()).backward()
    assert x.grad.device.type == device.type and torch.isfinite(x.grad).all()


def test_heat_geodesics_and_diffusion_run_on_each_device(device):
    x, mesh = _mesh_on(device)
    lengths = edge_lengths(mesh, x).requires_grad_()
    distances = geodesics.HeatGeodesics(mesh, lengths)(torch.tensor([0, 5], device=device))
    ops = MeshOperators.from_lengths(mesh, lengths)
    signal = torch.randn(2, mesh.num_vertices, 3, dtype=torch.float64, device=device)
    diffused = diffusion.implicit_diffusion(ops, signal, torch.tensor([0.01, 0.1, 1.0]))
    for out in (distances, diffused):
        assert out.device.type == device.type and torch.isfinite(out).all()
    assert float(distances[0, 0]) == 0.0 and float(distances.max()) > 1.0
    (distances.sum() + diffused.square().sum()).backward()
    assert lengths.grad.device.type == device.type and torch.isfinite(lengths.grad).all()


def test_weightspace_metric_product_runs_on_each_device(device):
    torch.manual_seed(0)
    model = mlp((4, 8, 3), activation="tanh").to(device)
    inputs = torch.randn(5, 4, device=device)
    metric = OutputMetric(model, inputs, kind="fisher")
    v = torch.randn(metric.layout.size, device=device)
    product = metric(v)
    assert product.device.type == device.type and torch.isfinite(product).all()
    assert float(v @ product) >= -1e-6  # G is positive semi-definite


def _with_cg(monkeypatch, module) -> list[str]:
    """Make ``module`` build its solves with conjugate gradients (unless a call names its
    method); returns the list the methods of the solves it builds are appended to."""
    methods = []

    def factorization(*args, **kwargs):
        fac = Factorization(*args, **{"method": "cg", **kwargs})
        methods.append(fac.method)
        return fac

    monkeypatch.setattr(module, "Factorization", factorization)
    return methods


def _heat_geodesics(mesh, lengths):
    return geodesics.HeatGeodesics(mesh, lengths)(torch.tensor([0, 17]))


def _implicit_diffusion(mesh, lengths):
    ops = MeshOperators.from_lengths(mesh, lengths)
    signal = torch.linspace(-1, 1, mesh.num_vertices, dtype=lengths.dtype)[:, None].expand(-1, 2)
    return diffusion.implicit_diffusion(ops, signal.sin(), torch.tensor([0.05, 0.5]))


def _heat_kernel_matrix(mesh, lengths):
    return mesh_transformer.heat_kernel_matrix(MeshOperators.from_lengths(mesh, lengths))


def _heat_kernel_term(mesh, lengths):
    pairs = torch.tensor([[0, 1], [0, 9], [4, 30]])
    targets = torch.tensor([0.1, 0.01, 0.001], dtype=lengths.dtype)
    return metric_learning.heat_kernel_term(mesh, pairs, targets, t=0.05)(lengths)


@pytest.mark.parametrize(
    ("module", "operator"),
    [
        (geodesics, _heat_geodesics),
        (diffusion, _implicit_diffusion),
        (mesh_transformer, _heat_kernel_matrix),
        (metric_learning, _heat_kernel_term),
    ],
    ids=["heat_geodesics", "implicit_diffusion", "heat_kernel_matrix", "heat_kernel_term"],
)
def test_the_cuda_solve_path_agrees_with_superlu(module, operator, monkeypatch):
    """Each mesh operator that solves, with the conjugate gradients CUDA would take."""
    x, mesh = _mesh_on("cpu", subdivisions=1)
    results, methods = [], []
    for method in ("lu", "cg"):
        if method == "cg":
            methods = _with_cg(monkeypatch, module)
        lengths = edge_lengths(mesh, x).requires_grad_()
        out = operator(mesh, lengths)
        (grad,) = torch.autograd.grad(
            (out * torch.cos(torch.arange(out.numel()).reshape(out.shape))).sum(), lengths
        )
        results.append((out.detach(), grad))
    assert "cg" in methods  # the operator really solved by conjugate gradients
    (lu_out, lu_grad), (cg_out, cg_grad) = results
    assert torch.allclose(cg_out, lu_out, rtol=0, atol=1e-8 * float(lu_out.abs().max()))
    assert torch.allclose(cg_grad, lu_grad, rtol=0, atol=1e-7 * float(lu_grad.abs().max()))
