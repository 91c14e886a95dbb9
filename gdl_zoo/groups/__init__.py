"""Groups: G-CNNs on the square grid, steerable CNNs, E(3) point networks, spherical CNNs.

Names are imported on first access (PEP 562), so ``import gdl_zoo.groups`` stays
cheap and escnn (an optional extra) or e3nn are loaded only by the models that
use them.
"""

from __future__ import annotations

from gdl_zoo._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "Rot90Images": "planar_actions",
    "square_group": "planar_actions",
    "LiftingConv": "gconv",
    "GroupConv": "gconv",
    "GroupPool": "gconv",
    "GroupBatchNorm": "gconv",
    "P4CNN": "gcnn",
    "P4MResNet": "gcnn",
    "GroupResidualBlock": "gcnn",
    "P4ConvGRU": "convgru",
    "P4ConvGRUCell": "convgru",
    "ImageRotation": "steerable_actions",
    "SteerableCNN": "steerable",
    "steerable_conv": "steerable",
    "SO3Spherical": "sphere_actions",
    "S2Conv": "spherical",
    "SO3Conv": "spherical",
    "SphericalCNN": "spherical",
    "sphere_coefficients": "spherical",
    "E3PointCloud": "euclidean_actions",
    "E3Irreps": "euclidean_actions",
    "EnergyForces": "euclidean_actions",
    "radius_graph": "point_graphs",
    "PotentialEnergy": "point_graphs",
    "energy_and_forces": "point_graphs",
    "EGNN": "egnn",
    "EGNNEnergy": "egnn",
    "EGNNLayer": "egnn",
    "IrrepsGraphNetwork": "tfn",
    "ScalarHeadEnergy": "tfn",
    "TFN": "tfn",
    "TFNEnergy": "tfn",
    "SE3Transformer": "se3_transformer",
    "SE3TransformerEnergy": "se3_transformer",
    "exact_D_from_matrix": "irreps",
    "wigner_D_of_rotation": "irreps",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
