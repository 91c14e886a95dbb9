"""The meshes cards: registered, reproducible example inputs, the cards' checks fail for an
extrinsic model (tests/test_zoo.py runs the passing checks in float64 and float32), and the card
models are unchanged by an isometric fold."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from gdl_zoo import zoo
from gdl_zoo.meshes import models
from gdl_zoo.meshes.actions import HingeFold
from gdl_zoo.meshes.diffusionnet import MeshDiffusionNet
from gdl_zoo.meshes.generators import grid
from gdl_zoo.meshes.mesh_transformer import MeshTransformer
from gdl_zoo.symmetry.testing import assert_invariant

CARDS = ["mesh_diffusionnet", "mesh_transformer"]
DTYPES = [torch.float64, torch.float32]


def test_cards_are_registered_in_the_meshes_domain():
    names = {card.name for card in zoo.list_models("meshes")}
    assert set(CARDS) <= names
    assert isinstance(zoo.get("mesh_diffusionnet").build(), MeshDiffusionNet)
    assert isinstance(zoo.get("mesh_transformer").build(), MeshTransformer)
    assert zoo.get("mesh_diffusionnet").flavour == "CNN"
    assert zoo.get("mesh_transformer").flavour == "Transformer"
    assert zoo.get("mesh_transformer").build(bias="heat").bias_kind == "heat"


@pytest.mark.parametrize("dtype", DTYPES)
def test_example_inputs_are_reproducible_and_bumpy(dtype):
    a = models.example_mesh_inputs(3, dtype, torch.Generator().manual_seed(5))
    b = models.example_mesh_inputs(3, dtype, torch.Generator().manual_seed(5))
    c = models.example_mesh_inputs(3, dtype, torch.Generator().manual_seed(6))
    x, positions, faces = a
    assert x.shape == (3, 42, models.EXAMPLE_CHANNELS) and x.dtype == dtype
    assert positions.shape == (42, 3) and positions.dtype == dtype and faces.shape == (80, 3)
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    assert not torch.equal(a[1], c[1])
    radii = positions.double().norm(dim=1)
    assert radii.min() >= 1.0 - 1e-6 and radii.max() - radii.min() > 0.05  # no round sphere


@pytest.mark.parametrize("name", CARDS)
def test_card_check_fails_for_an_extrinsic_model(name):
    card = zoo.get(name)

    class Extrinsic(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = card.factory(in_channels=models.EXAMPLE_CHANNELS + 3)

        def forward(self, x, positions, faces):
            xyz = positions.expand(x.shape[:-1] + (3,))
            return self.net(torch.cat([x, xyz], -1), positions, faces)

    broken = dataclasses.replace(card, name=f"{name}_xyz", factory=Extrinsic)
    report = broken.check(dtype=torch.float64)
    assert not report.passed and report.max_error > 1e-3


@pytest.mark.parametrize("name", CARDS)
def test_card_models_are_unchanged_by_an_isometric_fold(name):
    positions, mesh = grid(4, 4)
    x = torch.randn(2, 25, models.EXAMPLE_CHANNELS, generator=torch.Generator().manual_seed(0))
    fold = HingeFold(positions[:, 0] > 0.5, point=[0.5, 0.0, 0.0], direction=[0.0, 1.0, 0.0])
    torch.manual_seed(0)
    model = zoo.get(name).build().double()
    report = assert_invariant(model, (x.double(), positions, mesh.faces), fold)
    assert report.max_error < 1e-10
