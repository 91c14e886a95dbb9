"""Steerable CNN (escnn): exact grid symmetries, approximate rotations, export, basis cache.

The escnn tests request the ``escnn`` fixture and are skipped when the optional
extra is missing; the image-rotation action and the missing-extra message are
tested without it.
"""

import math
import sys

import pytest
import torch
import torch.nn.functional as F

from gdl_zoo.groups.steerable import ESCNN_INSTALL, require_escnn
from gdl_zoo.groups.steerable_actions import ImageRotation, RotationGroup2D, rotate_image
from gdl_zoo.symmetry import (
    assert_equivariant,
    assert_invariant,
    check_action,
    equivariance_error,
)

#: the default model's declared relative error under interpolated rotations (measured ≈ 0.07)
CONTINUOUS_TOLERANCE = 0.15


@pytest.fixture(scope="module")
def escnn():
    return pytest.importorskip("escnn", reason=f"escnn is an optional extra: {ESCNN_INSTALL}")


def _small(**overrides):
    from gdl_zoo.groups.steerable import SteerableCNN

    return SteerableCNN(**{"n": 8, "channels": (2, 4), "kernel_size": 3, **overrides})


def _images(batch=2, size=12, dtype=torch.float64, seed=0):
    return torch.randn(
        batch, 1, size, size, dtype=dtype, generator=torch.Generator().manual_seed(seed)
    )


# ---------------------------------------------------------------------------- without escnn


def test_missing_extra_names_the_pip_command(monkeypatch):
    from gdl_zoo.groups.steerable import SteerableCNN

    monkeypatch.setitem(sys.modules, "escnn", None)  # `import escnn` now raises ImportError
    with pytest.raises(ImportError, match=r'pip install "gdl-zoo\[escnn\]"'):
        require_escnn()
    with pytest.raises(ImportError, match=r'pip install "gdl-zoo\[escnn\]"'):
        SteerableCNN()


@pytest.mark.parametrize("order", [1, 2, 4])
@pytest.mark.parametrize("flips", [False, True])
def test_image_rotation_is_an_exact_action(order, flips):
    check_action(ImageRotation(order, flips), _images(size=7))
    check_action(ImageRotation(order, flips), torch.randn(2, 3, 4, 6))  # non-square


def test_image_rotation_conventions():
    x = torch.arange(6.0).reshape(1, 1, 2, 3)
    assert torch.equal(ImageRotation(4).act(1, x), torch.rot90(x, 1, (-2, -1)))
    assert torch.equal(ImageRotation(2).act(1, x), torch.rot90(x, 2, (-2, -1)))
    flip_then_turn = torch.rot90(torch.flip(x, (-1,)), 1, (-2, -1))
    assert torch.equal(ImageRotation(4, flips=True).act((1, 1), x), flip_then_turn)
    assert torch.equal(ImageRotation(None).act(math.pi / 2, x), torch.rot90(x, 1, (-2, -1)))


def test_interpolated_rotation_agrees_with_rot90_and_composes_approximately():
    x = _images(size=9)
    assert (rotate_image(x, math.pi / 2 + 1e-9) - torch.rot90(x, 1, (-2, -1))).abs().max() < 1e-6
    smooth = F.interpolate(x[:, :, :5, :5], size=(33, 33), mode="bicubic", align_corners=True)
    two_steps = rotate_image(rotate_image(smooth, 0.4), 0.5)
    inside = torch.arange(33.0).sub(16).pow(2)
    disk = (inside[:, None] + inside[None, :]) < 12**2
    error = ((two_steps - rotate_image(smooth, 0.9)) * disk).abs().max() / smooth.abs().max()
    assert 1e-4 < error < 0.05  # resampling is not exact
    with pytest.raises(ValueError, match="expected square images"):
        rotate_image(torch.zeros(1, 4, 5), 0.3)


def test_rotation_group_laws():
    generator = torch.Generator().manual_seed(0)
    rotations, rotoreflections = RotationGroup2D(), RotationGroup2D(flips=True)
    g = rotations.sample(generator)
    assert math.sin(rotations.compose(g, rotations.inverse(g))) == pytest.approx(0, abs=1e-12)
    f, angle = rotoreflections.compose((1, 0.3), (1, 0.5))
    assert f == 0 and angle == pytest.approx(0.3 - 0.5 + 2 * math.pi)
    assert rotoreflections.inverse((1, 0.3)) == (1, 0.3)
    check_action(ImageRotation(None, flips=True), _images(size=6), n_random=0)  # generators exact
    assert rotoreflections.name == "O(2)" and rotations.name == "SO(2)"


def test_image_rotation_rejects_bad_arguments():
    with pytest.raises(ValueError, match="order: expected 1, 2 or 4"):
        ImageRotation(8)
    with pytest.raises(ValueError, match="dims: expected two integer axes"):
        ImageRotation(4, dims=(-1,))
    with pytest.raises(TypeError, match="floating-point"):
        ImageRotation(4).act(1, torch.zeros(2, 2, dtype=torch.long))


# ---------------------------------------------------------------------------- with escnn


def test_grid_exact_basis_is_escnn_basis_to_float32(escnn):
    from gdl_zoo.groups.steerable import steerable_conv

    gspace = escnn.gspaces.flipRot2dOnR2(4)
    in_type = escnn.nn.FieldType(gspace, [gspace.trivial_repr, gspace.regular_repr])
    out_type = escnn.nn.FieldType(gspace, [gspace.regular_repr] * 2)
    ours = steerable_conv(in_type, out_type, 3)
    reference = escnn.nn.R2Conv(in_type, out_type, 3, padding=1, recompute=True)
    pairs = list(zip(ours.basisexpansion.children(), reference.basisexpansion.children()))
    assert len(pairs) == 2
    for block, reference_block in pairs:
        change = (block.sampled_basis - reference_block.sampled_basis).abs().max()
        assert 0 < change < 1e-6 * reference_block.sampled_basis.abs().max()


def test_escnn_alone_is_exact_only_to_float32_even_in_float64(escnn):
    gspace = escnn.gspaces.rot2dOnR2(4)
    in_type = escnn.nn.FieldType(gspace, [gspace.trivial_repr])
    out_type = escnn.nn.FieldType(gspace, [gspace.regular_repr] * 2)
    conv = escnn.nn.R2Conv(in_type, out_type, 3, padding=1).double()

    def pooled(x):
        return conv(in_type(x)).tensor.unflatten(1, (2, 4)).amax(2)  # invariant maps

    report = equivariance_error(pooled, _images(), ImageRotation(4), ImageRotation(4))
    assert 1e-12 < report.max_error < 1e-5


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_cyclic_model_is_exactly_invariant_to_quarter_turns(escnn, dtype):
    torch.manual_seed(0)
    model = _small().to(dtype)
    assert model.grid_rotation_order == 4
    x = _images(dtype=dtype)
    assert model(x).shape == (2, 10)
    assert_invariant(model, x, ImageRotation(4))
    model.eval()
    assert model.features(x).shape == (2, 4, 6, 6)
    assert_equivariant(model.features, x, ImageRotation(4), ImageRotation(4))


def test_dihedral_model_is_exactly_invariant_to_quarter_turns_and_flips(escnn):
    torch.manual_seed(0)
    model = _small(n=4, dihedral=True).double()
    assert model.group_order == 8
    assert_invariant(model, _images(), ImageRotation(4, flips=True))


def test_other_rotations_are_approximate_within_the_declared_tolerance(escnn):
    from gdl_zoo.groups.steerable import SteerableCNN

    torch.manual_seed(0)
    model = SteerableCNN(channels=(4, 8)).double()
    low = _images(size=9)
    x = F.interpolate(low, size=(33, 33), mode="bicubic", align_corners=True)
    report = assert_invariant(
        model, x, ImageRotation(None), n_random=4, tolerance=CONTINUOUS_TOLERANCE
    )
    assert report.max_error > 1e-3  # interpolation and discretised filters: not exact


def test_eval_mode_filters_follow_the_dtype(escnn):
    torch.manual_seed(0)
    model = _small().eval().double()  # escnn caches float32 filters on eval(); they are redone
    assert_invariant(model, _images(), ImageRotation(4))


def test_export_gives_plain_torch_modules_with_the_same_outputs(escnn):
    torch.manual_seed(0)
    model = _small().double()
    model(_images(batch=8, seed=1))  # training step: non-trivial batch-norm statistics
    exported = model.export()
    assert model.training and not exported.training
    assert all(type(m).__module__.split(".")[0] in ("torch", "gdl_zoo") for m in exported.modules())
    x = _images(seed=2)
    model.eval()
    expected = model(x)
    # escnn's export copies the batch-norm statistics through float32; ours copies them again
    assert (exported(x) - expected).abs().max() < 1e-12 * expected.abs().max()
    assert_invariant(exported, x, ImageRotation(4))


def _field_norms(escnn, fields, seed=0):
    from gdl_zoo.groups.steerable import _field_batch_norm

    gspace = escnn.gspaces.rot2dOnR2(4)
    field_type = escnn.nn.FieldType(gspace, fields(gspace))
    ours, theirs = _field_batch_norm()(field_type), escnn.nn.InnerBatchNorm(field_type)
    torch.manual_seed(seed)
    for norm in (ours, theirs):
        norm.double()
    theirs.load_state_dict(ours.state_dict())
    return field_type, ours, theirs


def test_field_batch_norm_equals_escnns_inner_batch_norm(escnn):
    field_type, ours, theirs = _field_norms(escnn, lambda g: [g.regular_repr] * 3)
    for step in range(3):  # training steps: statistics and running averages
        x = field_type(_images(batch=4, size=5, seed=step).repeat(1, 12, 1, 1) * (step + 1))
        assert torch.equal(ours(x).tensor, theirs(x).tensor)
    for name, buffer in theirs.state_dict().items():
        assert torch.equal(ours.state_dict()[name], buffer), name
    ours.eval(), theirs.eval()
    x = field_type(_images(batch=2, size=5, seed=9).repeat(1, 12, 1, 1))
    assert torch.equal(ours(x).tensor, theirs(x).tensor)
    assert not torch.equal(ours(x).tensor, x.tensor)  # control: the norm does something


def test_the_model_traces_in_one_graph_where_escnns_batch_norm_breaks(escnn, monkeypatch):
    from gdl_zoo.compilation import count_graph_breaks
    from gdl_zoo.groups import steerable

    x = _images(size=8)
    assert count_graph_breaks(_small().double().eval(), x) == (0, ())
    monkeypatch.setattr(steerable, "_field_batch_norm", lambda: escnn.nn.InnerBatchNorm)
    count, reasons = count_graph_breaks(_small().double().eval(), x)  # control: escnn's own
    assert count > 0 and any("batchnormalization/inner.py" in r for r in reasons), reasons


def test_field_batch_norm_rejects_other_inputs(escnn):
    from gdl_zoo.groups.steerable import _field_batch_norm

    field_type, ours, _ = _field_norms(escnn, lambda g: [g.regular_repr] * 2)
    other = escnn.nn.FieldType(field_type.gspace, [field_type.gspace.regular_repr] * 3)
    with pytest.raises(ValueError, match="expected features of the field type"):
        ours(other(torch.zeros(1, 12, 3, 3, dtype=torch.float64)))
    gspace = field_type.gspace
    mixed = escnn.nn.FieldType(gspace, [gspace.regular_repr, gspace.trivial_repr] * 2)
    with pytest.raises(ValueError, match="contiguous"):
        _field_batch_norm()(mixed)


def test_basis_cache_rebuilds_without_the_kernel_solver(escnn, tmp_path, monkeypatch):
    torch.manual_seed(0)
    built = _small(basis_cache=tmp_path)
    entries = sorted(tmp_path.glob("escnn-r2-basis-*.pt"))
    assert len(entries) == 2  # (trivial → regular) and (regular → regular)

    def no_solver(*args, **kwargs):
        raise AssertionError("the escnn kernel solver was called on a cache hit")

    monkeypatch.setattr(escnn.nn.R2Conv, "_build_kernel_basis", no_solver)
    torch.manual_seed(0)
    rebuilt = _small(basis_cache=tmp_path)
    for a, b in zip(built.state_dict().items(), rebuilt.state_dict().items()):
        assert a[0] == b[0] and torch.equal(a[1], b[1])
    assert_invariant(rebuilt.double(), _images(), ImageRotation(4))
    assert sorted(tmp_path.glob("escnn-r2-basis-*.pt")) == entries


def test_basis_cache_refuses_a_foreign_entry(escnn, tmp_path):
    _small(channels=(2,), basis_cache=tmp_path)
    (entry,) = tmp_path.glob("*.pt")
    content = torch.load(entry, weights_only=True)
    torch.save({**content, "key": "something else"}, entry)
    with pytest.raises(ValueError, match="basis cache entry .* holds 'something else'"):
        _small(channels=(2,), basis_cache=tmp_path)


def test_rejects_bad_arguments(escnn):
    from gdl_zoo.groups.steerable import steerable_conv

    with pytest.raises(ValueError, match="kernel_size: expected an odd positive integer, got 4"):
        _small(kernel_size=4)
    with pytest.raises(TypeError, match="basis_cache: expected a directory path or None, got int"):
        _small(basis_cache=3)
    with pytest.raises(ValueError, match="channels: expected at least one layer"):
        _small(channels=())
    with pytest.raises(ValueError, match="x: expected 1 channels"):
        _small()(torch.zeros(1, 2, 8, 8))
    gspace = escnn.gspaces.rot2dOnR2(4)
    irrep = escnn.nn.FieldType(gspace, [gspace.irrep(1)])
    regular = escnn.nn.FieldType(gspace, [gspace.regular_repr])
    with pytest.raises(ValueError, match="expected fields whose group acts by permuting channels"):
        steerable_conv(irrep, regular, 3)
    with pytest.raises(TypeError, match="in_type: expected an escnn FieldType, got str"):
        steerable_conv("regular", regular, 3)
