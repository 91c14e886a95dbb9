"""The registry: every card builds, runs forward and backward, and keeps its symmetry promise."""

import subprocess
import sys

import pytest
import torch
from torch import nn

from gdl_zoo import zoo
from gdl_zoo.grids.actions import CyclicShift
from gdl_zoo.symmetry import Invariant

CARDS = zoo.list_models()
DTYPES = [torch.float64, torch.float32]


def test_registry_has_the_grid_models():
    names = {c.name for c in zoo.list_models("grids")}
    assert {"cnn", "resnet", "gated_rnn", "seq_transformer"} <= names


@pytest.mark.parametrize("card", CARDS, ids=lambda c: c.name)
def test_card_metadata(card):
    assert card.name == card.name.lower() and " " not in card.name
    for field in ("domain", "group", "flavour", "paper"):
        assert getattr(card, field), f"{card.name} has no {field}"
    assert card.exact or card.tolerance is not None


def _require_extras(card):
    missing = card.missing_extras()
    if missing:
        pytest.skip(f"{card.name} needs the optional extra {missing}")


@pytest.mark.parametrize("card", CARDS, ids=lambda c: c.name)
def test_forward_and_backward(card):
    _require_extras(card)
    torch.manual_seed(0)
    model = card.build()
    assert isinstance(model, nn.Module)
    inputs = card.example_inputs(batch_size=2)
    out = model(*inputs)
    outputs = out if isinstance(out, tuple) else (out,)
    sum(o.float().sum() for o in outputs).backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("card", CARDS, ids=lambda c: c.name)
def test_symmetry(card, dtype):
    _require_extras(card)
    report = card.check(dtype=dtype)
    assert report.passed, str(report)
    if card.exact and dtype == torch.float64:
        assert report.max_error < 1e-10


def test_example_inputs_are_reproducible_and_typed():
    card = zoo.get("cnn")
    a = card.example_inputs(3, torch.float64, torch.Generator().manual_seed(5))
    b = card.example_inputs(3, torch.float64, torch.Generator().manual_seed(5))
    assert a[0].dtype == torch.float64 and a[0].shape[0] == 3
    assert torch.equal(a[0], b[0])


def test_unknown_name_suggests_close_matches():
    with pytest.raises(KeyError, match="did you mean.*resnet"):
        zoo.get("resnt")


def _card(name, **kwargs):
    defaults = dict(
        name=name,
        domain="grids",
        group="cyclic shifts",
        flavour="CNN",
        paper="none",
        factory=lambda: nn.Conv2d(1, 1, 3, padding=1),
        example_factory=lambda b, dtype, gen: (
            torch.randn(b, 1, 6, 6, generator=gen, dtype=dtype),
        ),
        input_action=CyclicShift(),
        output_action=Invariant(),
    )
    return zoo.ModelCard(**{**defaults, **kwargs})


def test_register_validates_names_duplicates_and_tolerances():
    with pytest.raises(ValueError, match="snake_case"):
        _card("Bad Name")
    with pytest.raises(ValueError, match="declare its tolerance"):
        _card("approx_model", exact=False)
    with pytest.raises(ValueError, match="already registered"):
        zoo.register(_card("cnn"))
    with pytest.raises(TypeError, match="ModelCard"):
        zoo.register("cnn")


def test_a_broken_card_fails_its_check():
    card = _card("zero_padded_conv")
    zoo.register(card)
    try:
        assert zoo.get("zero_padded_conv") is card
        assert not card.check(torch.float64).passed
    finally:
        zoo.unregister("zero_padded_conv")
    with pytest.raises(KeyError):
        zoo.get("zero_padded_conv")


def test_tolerance_for_approximate_cards():
    card = _card("approx_model", exact=False, tolerance=0.01)
    assert card.tolerance_for(torch.float64) == 0.01
    assert _card("exact_model").tolerance_for(torch.float32) == 1e-4


def test_a_card_with_a_missing_extra_names_the_pip_extra(capsys):
    from gdl_zoo.cli import main

    card = _card("needs_missing_extra", requires=(("no_such_module_abc", "abc"),))
    assert card.missing_extras() == ["abc"]
    with pytest.raises(ImportError, match=r'pip install "gdl-zoo\[abc\]"'):
        card.build()
    zoo.register(card)
    try:
        assert main(["check", "needs_missing_extra", "cnn"]) == 0
    finally:
        zoo.unregister("needs_missing_extra")
    out = capsys.readouterr().out
    assert "skipped" in out and "gdl-zoo[abc]" in out


def test_registering_every_card_leaves_the_global_rng_alone():
    script = (
        "import torch\n"
        "state = torch.random.get_rng_state()\n"
        "from gdl_zoo import zoo\n"
        "zoo.list_models()\n"
        "assert torch.equal(state, torch.random.get_rng_state()), 'the global RNG moved'\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
