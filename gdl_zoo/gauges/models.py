"""The gauges domain's model cards: GEM-CNN and the gauge Transformer on a mesh.

Both cards take mesh inputs ``(features, positions, faces, frame)`` on a
randomly bumped icosphere (42 vertices): features ``2ρ_0 ⊕ ρ_1`` (two scalars
and a tangent vector per vertex) and a random gauge ``frame``; outputs are
``ρ_0 ⊕ ρ_1`` per vertex.  They are checked under gauge changes × rigid
motions × vertex relabellings (:class:`~gdl_zoo.gauges.actions.GaugeMeshSymmetry`).
They are exported as deployed, bound to the example mesh and gauge
(:func:`bound_to_example_mesh`, the cards' ``export_form``).

Tolerance of the regular nonlinearity.  Its ``S`` samples per circle make
the models equivariant only up to an error that shrinks as ``S`` grows; the
cards use ``S = EXAMPLE_SAMPLES`` and declare :data:`REGULAR_TOLERANCE`, a
little above what the harness measures on the example (largest relative
error over the tested gauge changes, float64, seed 0), recorded with its
neighbours in :data:`MEASURED_REGULAR_ERRORS` and re-measured by
``tests/gauges/test_models.py``.

Shapes:
    N: vertices (42 in the examples).
    F: faces (80 in the examples).
    C_in, C_out: irreps dimensions (4 and 3 in the examples).
"""

from __future__ import annotations

import math

import torch

from gdl_zoo.gauges.actions import GaugeMeshSymmetry, GaugeVertexOutputs
from gdl_zoo.gauges.gem_cnn import GEMCNN, GaugeTransformer
from gdl_zoo.gauges.mesh_network import GaugeNetworkOnMesh, MeshGaugeNetwork
from gdl_zoo.gauges.so2_irreps import SO2Irreps
from gdl_zoo.meshes.generators import bumpy_icosphere
from gdl_zoo.zoo import ModelCard, register

__all__ = [
    "EXAMPLE_IRREPS_IN",
    "EXAMPLE_IRREPS_OUT",
    "EXAMPLE_HIDDEN",
    "EXAMPLE_SAMPLES",
    "MEASURED_REGULAR_ERRORS",
    "REGULAR_TOLERANCE",
    "example_gauge_mesh_inputs",
    "gem_cnn",
    "gauge_transformer",
    "bound_to_example_mesh",
]

#: Input features of the examples: two scalars and one tangent vector per vertex.
EXAMPLE_IRREPS_IN = SO2Irreps((2, 1))
#: Outputs of the examples: one scalar and one tangent vector per vertex.
EXAMPLE_IRREPS_OUT = SO2Irreps((1, 1))
#: Hidden features of the card models: 4 × (ρ_0 ⊕ ρ_1 ⊕ ρ_2).
EXAMPLE_HIDDEN = SO2Irreps.regular(4, 2)
#: Samples S of the regular nonlinearity in the card models.
EXAMPLE_SAMPLES = 32
#: Harness error (float64, seed 0) of the card models on their example, per S: {model: {S: error}}.
MEASURED_REGULAR_ERRORS: dict[str, dict[int, float]] = {
    "gem_cnn": {7: 0.124, 15: 0.0269, 31: 0.0060, 32: 0.0065, 63: 0.0012},
    "gauge_transformer": {7: 0.365, 15: 0.0708, 31: 0.0156, 32: 0.0096, 63: 0.0031},
}
#: The relative equivariance error the cards declare at S = EXAMPLE_SAMPLES (2x the worst measured).
REGULAR_TOLERANCE = 0.02
_SUBDIVISIONS = 1
_NUM_VERTICES = 10 * 4**_SUBDIVISIONS + 2


def example_gauge_mesh_inputs(
    batch_size: int, dtype: torch.dtype, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(features, positions, faces, frame)`` on an icosphere with random radial bumps.

    ``batch_size`` is ignored: gauge features live on the vertices of one mesh.
    The bumps make the metric generic and the random ``frame`` a generic gauge.

    Shapes:
        features: (42, 4); positions: (42, 3); faces: (80, 3); frame: (42,).
    """
    positions, mesh = bumpy_icosphere(_SUBDIVISIONS, 0.15, generator)
    n = len(positions)
    features = torch.randn(n, EXAMPLE_IRREPS_IN.dim, generator=generator, dtype=torch.float64)
    frame = math.tau * torch.rand(n, generator=generator, dtype=torch.float64)
    return features.to(dtype), positions.to(dtype), mesh.faces, frame.to(dtype)


def gem_cnn(**overrides) -> MeshGaugeNetwork:
    """The card's default GEM-CNN (3 GEM convolutions, regular nonlinearities), on meshes."""
    kwargs = {"irreps_in": EXAMPLE_IRREPS_IN, "irreps_out": EXAMPLE_IRREPS_OUT,
              "hidden": EXAMPLE_HIDDEN, "num_layers": 3, "nonlinearity": "regular",
              "samples": EXAMPLE_SAMPLES}  # fmt: skip
    kwargs.update(overrides)
    return MeshGaugeNetwork(GEMCNN(**kwargs))


def gauge_transformer(**overrides) -> MeshGaugeNetwork:
    """The card's default gauge Transformer (3 attention layers, 2 heads), on meshes."""
    kwargs = {"irreps_in": EXAMPLE_IRREPS_IN, "irreps_out": EXAMPLE_IRREPS_OUT,
              "hidden": EXAMPLE_HIDDEN, "num_layers": 3, "nonlinearity": "regular",
              "samples": EXAMPLE_SAMPLES, "num_heads": 2, "key_dim": 8}  # fmt: skip
    kwargs.update(overrides)
    return MeshGaugeNetwork(GaugeTransformer(**kwargs))


def bound_to_example_mesh(
    model: MeshGaugeNetwork, inputs: tuple
) -> tuple[GaugeNetworkOnMesh, tuple[torch.Tensor]]:
    """The cards' ``export_form``: the model bound to the example mesh and gauge, on its features.

    Deployed on one mesh, a gauge network runs on that mesh's precomputed gauge
    (:meth:`MeshGaugeNetwork.bind`); ``torch.export`` exports that module, whose
    only input is the features.
    """
    features, positions, faces, frame = inputs
    return model.bind(positions, faces, frame), (features,)


_GROUP = "local SO(2) gauge changes x rigid motions x vertex relabelling"

register(
    ModelCard(
        name="gem_cnn",
        domain="gauges",
        group=_GROUP,
        flavour="CNN",
        paper="de Haan, Weiler, Cohen & Welling 2021, Gauge Equivariant Mesh CNNs (ICLR)",
        factory=gem_cnn,
        example_factory=example_gauge_mesh_inputs,
        input_action=GaugeMeshSymmetry(EXAMPLE_IRREPS_IN, _NUM_VERTICES),
        output_action=GaugeVertexOutputs(EXAMPLE_IRREPS_OUT, _NUM_VERTICES),
        exact=False,
        tolerance=REGULAR_TOLERANCE,
        export_form=bound_to_example_mesh,
        description="GEM convolutions on frames, log maps and transport from the edge lengths",
    )
)

register(
    ModelCard(
        name="gauge_transformer",
        domain="gauges",
        group=_GROUP,
        flavour="Transformer",
        paper="de Haan et al. 2021 (GEM messages) with gauge-invariant attention "
        "(He et al. 2021, Gauge Equivariant Transformer)",
        factory=gauge_transformer,
        example_factory=example_gauge_mesh_inputs,
        input_action=GaugeMeshSymmetry(EXAMPLE_IRREPS_IN, _NUM_VERTICES),
        output_action=GaugeVertexOutputs(EXAMPLE_IRREPS_OUT, _NUM_VERTICES),
        exact=False,
        tolerance=REGULAR_TOLERANCE,
        export_form=bound_to_example_mesh,
        description="attention on 1-rings: gauge-invariant weights, transported GEM values",
    )
)
