"""SteerableCNN deployed with torch.export: escnn's plain-torch conversion, in full precision."""

import pytest
import torch
from torch.export import Dim

from gdl_zoo import zoo
from gdl_zoo.groups.steerable import ESCNN_INSTALL
from gdl_zoo.groups.steerable_actions import ImageRotation
from gdl_zoo.symmetry import assert_invariant


@pytest.fixture(scope="module")
def trained():
    """A small C8 model with non-trivial batch-norm statistics and affine parameters, in eval."""
    pytest.importorskip("escnn", reason=f"escnn is an optional extra: {ESCNN_INSTALL}")
    from gdl_zoo.groups.steerable import SteerableCNN

    torch.manual_seed(0)
    model = SteerableCNN(n=8, channels=(2, 4), kernel_size=3).double()
    gen = torch.Generator().manual_seed(1)
    for _ in range(3):  # training steps: running statistics away from (0, 1)
        model(2 * torch.randn(8, 1, 12, 12, generator=gen, dtype=torch.float64) + 0.5)
    with torch.no_grad():
        for name, p in model.body.named_parameters():
            if "batch_norm" in name:
                p.add_(0.1 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    return model.eval()


def _images(batch, height, width, seed):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 1, height, width, generator=gen, dtype=torch.float64)


def _relative(a, b):
    return float((a - b).abs().max() / b.abs().max())


def test_the_exported_program_equals_the_escnn_model_on_other_images_and_sizes(trained):
    x = _images(2, 12, 12, 2)
    plain = trained.export()
    batch, height, width = Dim("B"), Dim("H", min=4, max=256), Dim("W", min=4, max=256)
    program = torch.export.export(plain, (x,), dynamic_shapes=({0: batch, 2: height, 3: width},))
    assert _relative(program.module()(x), trained(x)) < 1e-12
    for other in (_images(3, 12, 12, 3), _images(5, 20, 16, 4)):
        assert _relative(program.module()(other), trained(other)) < 1e-12
    assert _relative(program.module()(_images(2, 12, 12, 3)), program.module()(x)) > 1e-3
    deployed = program.module()
    assert_invariant(lambda images: deployed(images), x, ImageRotation(4))


def test_the_statistics_are_copied_in_full_precision_not_through_float32(trained):
    """Negative control: escnn's own conversion rounds the batch norms to float32."""
    x = _images(2, 12, 12, 2)
    raw = trained.body.export()  # escnn's conversion alone (float32 BatchNorm2d)
    trained.eval()
    mask = trained.mask
    escnn_only = trained.head(trained.group_pool(raw.double()(mask(x))).mean((-2, -1)))
    assert _relative(escnn_only, trained(x)) > 1e-10
    assert _relative(trained.export()(x), trained(x)) < 1e-12


def test_the_card_exports_the_plain_torch_form():
    pytest.importorskip("escnn", reason=f"escnn is an optional extra: {ESCNN_INSTALL}")
    card = zoo.get("steerable_cnn")
    torch.manual_seed(0)
    model = card.build().double().eval()
    inputs = card.example_inputs(2, torch.float64, torch.Generator().manual_seed(0))
    module, module_inputs = card.export_form(model, inputs)
    assert module_inputs == inputs
    assert all(type(m).__module__.split(".")[0] in ("torch", "gdl_zoo") for m in module.modules())
    program = torch.export.export(module, module_inputs)
    assert _relative(program.module()(*inputs), model(*inputs)) < 1e-12
