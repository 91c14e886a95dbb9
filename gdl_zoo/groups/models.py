"""The groups domain's model cards: G-CNNs, steerable and spherical CNNs, E(3) networks.

Factories import their modules when called, so listing the zoo imports neither
e3nn nor escnn.
"""

from __future__ import annotations

import torch

from gdl_zoo.groups.euclidean_actions import E3PointCloud, EnergyForces
from gdl_zoo.groups.planar_actions import Rot90Images
from gdl_zoo.groups.sphere_actions import SO3Spherical
from gdl_zoo.groups.steerable_actions import ImageRotation
from gdl_zoo.symmetry.actions import Invariant
from gdl_zoo.zoo import ModelCard, register

__all__: list[str] = []


def _images(batch_size: int, dtype: torch.dtype, generator: torch.Generator) -> tuple:
    return (torch.randn(batch_size, 1, 16, 16, generator=generator, dtype=dtype),)


def _image_sequences(batch_size: int, dtype: torch.dtype, generator: torch.Generator) -> tuple:
    return (torch.randn(batch_size, 4, 2, 9, 9, generator=generator, dtype=dtype),)


def _sphere_coefficients(batch_size: int, dtype: torch.dtype, generator: torch.Generator) -> tuple:
    return (torch.randn(batch_size, 1, 25, generator=generator, dtype=dtype),)  # lmax 4


def _point_clouds(batch_size: int, dtype: torch.dtype, generator: torch.Generator) -> tuple:
    from gdl_zoo.groups.point_graphs import random_point_clouds

    return random_point_clouds(batch_size, dtype, generator, num_features=4)


def _p4cnn(**overrides):
    from gdl_zoo.groups.gcnn import P4CNN

    return P4CNN(**{"channels": 4, "num_layers": 4, "padding": 1, **overrides})


def _p4m_resnet(**overrides):
    from gdl_zoo.groups.gcnn import P4MResNet

    return P4MResNet(**{"widths": (4, 8), **overrides})


def _p4_convgru(**overrides):
    from gdl_zoo.groups.convgru import P4ConvGRU

    return P4ConvGRU(**{"input_channels": 2, "hidden_channels": 4, **overrides})


register(
    ModelCard(
        name="p4cnn",
        domain="groups",
        group="p4 point group C4: quarter turns about the image centre",
        flavour="CNN",
        paper="Cohen & Welling 2016, Group equivariant convolutional networks",
        factory=_p4cnn,
        example_factory=_images,
        input_action=Rot90Images("C4"),
        output_action=Invariant(),
        description="lifting and p4 group convolutions, rotation pooling: rotation-invariant",
    )
)

register(
    ModelCard(
        name="p4m_resnet",
        domain="groups",
        group="p4m point group D4: quarter turns and reflections",
        flavour="CNN",
        paper="Cohen & Welling 2016; He et al. 2016",
        factory=_p4m_resnet,
        example_factory=_images,
        input_action=Rot90Images("D4"),
        output_action=Invariant(),
        description="residual network of p4m group convolutions: D4-invariant logits",
    )
)

register(
    ModelCard(
        name="p4_convgru",
        domain="groups",
        group="p4 point group C4, at every time step",
        flavour="RNN",
        paper="Ballas et al. 2016 (ConvGRU); Cohen & Welling 2016",
        factory=_p4_convgru,
        example_factory=_image_sequences,
        input_action=Rot90Images("C4", "scalar", channel_dim=2),
        output_action=Rot90Images("C4", "regular", channel_dim=2),
        description="convolutional GRU with p4 group convolutions: equivariant hidden states",
    )
)


def _steerable_cnn(**overrides):
    from gdl_zoo.groups.steerable import SteerableCNN

    defaults = {"n": 8, "dihedral": False, "channels": (4, 8), "kernel_size": 5}
    return SteerableCNN(**{**defaults, **overrides})


def _spherical_cnn(**overrides):
    from gdl_zoo.groups.spherical import SphericalCNN

    defaults = {"in_channels": 1, "num_classes": 10, "channels": (4, 8), "lmax_in": 4}
    return SphericalCNN(**{**defaults, "lmax": (3, 2), **overrides})


def _plain_torch(model, inputs: tuple) -> tuple:
    """The steerable CNN as plain torch modules (:meth:`SteerableCNN.export`), what is deployed."""
    return model.export(), inputs


register(
    ModelCard(
        name="steerable_cnn",
        domain="groups",
        group="C8 regular fields: quarter turns C4 ⊂ C8 exact on the pixel grid",
        flavour="CNN",
        paper="Weiler & Cesa 2019, General E(2)-equivariant steerable CNNs",
        factory=_steerable_cnn,
        example_factory=_images,
        input_action=ImageRotation(order=4),
        output_action=Invariant(),
        description="escnn steerable convolutions with grid-symmetrised bases; exports to torch",
        requires=(("escnn", "escnn"),),
        export_form=_plain_torch,
    )
)

register(
    ModelCard(
        name="spherical_cnn",
        domain="groups",
        group="rotations SO(3) of the sphere",
        flavour="CNN",
        paper="Cohen, Geiger, Köhler & Welling 2018, Spherical CNNs",
        factory=_spherical_cnn,
        example_factory=_sphere_coefficients,
        input_action=SO3Spherical(4),
        output_action=Invariant(),
        exact=False,
        # measured: at most 1.15e-3 over 10 seeds (float32 and float64); the spectral
        # convolutions are exact (1.5e-16), the grid nonlinearity is not
        tolerance=5e-3,
        description="spectral S2 and SO(3) convolutions with a sampled-grid nonlinearity",
    )
)


def _egnn(**overrides):
    from gdl_zoo.groups.egnn import EGNNEnergy

    return EGNNEnergy(**{"in_features": 4, "channels": 16, "num_layers": 3, **overrides})


_SMALL_IRREPS = {
    "irreps_in": 4,
    "hidden_irreps": "8x0e + 4x1o + 2x2e",
    "num_layers": 2,
    "radial_hidden": 16,
    "cutoff": 4.0,
}


def _tfn(**overrides):
    from gdl_zoo.groups.tfn import TFNEnergy

    return TFNEnergy(**{**_SMALL_IRREPS, **overrides})


def _se3_transformer(**overrides):
    from gdl_zoo.groups.se3_transformer import SE3TransformerEnergy

    return SE3TransformerEnergy(**{**_SMALL_IRREPS, "irreps_key": "4x0e + 2x1o", **overrides})


def _energy_export_form(model, inputs):
    """A force field deploys as its exported energy, forces by autograd through the program."""
    from gdl_zoo.groups.point_graphs import PotentialEnergy, energy_and_forces

    return PotentialEnergy(model), inputs, energy_and_forces


for _name, _factory, _flavour, _paper, _description in (
    (
        "egnn",
        _egnn,
        "GNN",
        "Satorras, Hoogeboom & Welling 2021, E(n) equivariant graph neural networks",
        "E(n)-equivariant message passing on distances, in plain torch: energy and forces",
    ),
    (
        "tfn",
        _tfn,
        "GNN",
        "Thomas et al. 2018 (Tensor field networks); Batzner et al. 2022 (NequIP)",
        "e3nn interaction blocks: spherical harmonics, radial MLP, tensor products, gates",
    ),
    (
        "se3_transformer",
        _se3_transformer,
        "Transformer",
        "Fuchs, Worrall, Fischer & Welling 2020, SE(3)-Transformers",
        "attention with invariant weights and tensor-product values on e3nn irreps",
    ),
):
    register(
        ModelCard(
            name=_name,
            domain="groups",
            group="E(3): rotations, reflections, translations (and point permutations)",
            flavour=_flavour,
            paper=_paper,
            factory=_factory,
            example_factory=_point_clouds,
            input_action=E3PointCloud(None),
            output_action=EnergyForces(),
            description=_description,
            export_form=_energy_export_form,
        )
    )
