"""The gem_cnn and gauge_transformer cards: declared tolerance shrinking with S; exact with norm."""

import pytest
import torch

from gdl_zoo import zoo
from gdl_zoo.gauges import models
from gdl_zoo.symmetry.testing import equivariance_error

NAMES = ["gem_cnn", "gauge_transformer"]


def _error(card, dtype=torch.float64, **overrides):
    torch.manual_seed(0)
    model = card.factory(**overrides).to(dtype)
    inputs = card.example_inputs(1, dtype, torch.Generator().manual_seed(0))
    report = equivariance_error(
        model, inputs, card.input_action, card.output_action, generator=0, tolerance=1.0
    )
    return report.max_error


@pytest.mark.parametrize("name", NAMES)
def test_regular_nonlinearity_error_shrinks_as_samples_grow_as_declared(name):
    card = zoo.get(name)
    recorded = models.MEASURED_REGULAR_ERRORS[name]
    errors = {s: _error(card, samples=s) for s in (7, 15, 31, 63)}
    assert errors[7] > errors[15] > errors[31] > errors[63]
    for s, error in errors.items():  # the figures stated on the card are reproduced
        assert error == pytest.approx(recorded[s], rel=0.05)
    default = _error(card)
    assert default == pytest.approx(recorded[models.EXAMPLE_SAMPLES], rel=0.05)
    assert not card.exact and default < card.tolerance == models.REGULAR_TOLERANCE


@pytest.mark.parametrize("name", NAMES)
def test_with_norm_nonlinearities_the_card_models_are_exact(name):
    card = zoo.get(name)
    assert _error(card, nonlinearity="norm") < 1e-10


def test_example_inputs_are_mesh_inputs_with_a_random_gauge():
    features, positions, faces, frame = models.example_gauge_mesh_inputs(
        2, torch.float32, torch.Generator().manual_seed(0)
    )
    assert features.shape == (42, models.EXAMPLE_IRREPS_IN.dim) and positions.shape == (42, 3)
    assert faces.shape == (80, 3) and frame.shape == (42,) and frame.dtype == torch.float32
    assert float(frame.std()) > 0.5


@pytest.mark.parametrize("name", NAMES)
def test_only_the_gauge_part_is_approximate(name):
    """Rigid motions and relabellings stay exact with the regular nonlinearity."""
    card = zoo.get(name)
    torch.manual_seed(0)
    model = card.build().double()
    inputs = card.example_inputs(1, torch.float64, torch.Generator().manual_seed(0))
    group = card.input_action.group
    gen = torch.Generator().manual_seed(1)
    e_gauge, _, _ = group.identity()
    elements = [(e_gauge, group.euclidean.sample(gen), group.symmetric.sample(gen))]
    elements += [(e_gauge, g[1], g[2]) for g in group.generators()]
    report = equivariance_error(
        model, inputs, card.input_action, card.output_action, elements=elements
    )
    assert report.max_error < 1e-10
