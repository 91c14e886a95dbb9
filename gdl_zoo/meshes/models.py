"""The meshes domain's model cards: DiffusionNet and the geodesic-biased mesh Transformer.

Both cards take ``(x, positions, faces)`` on a randomly bumped icosphere and
are checked under rigid motions × vertex relabellings
(:class:`~gdl_zoo.meshes.actions.MeshSymmetry`): per-vertex outputs are
permuted and otherwise unchanged.  They are exported as deployed, bound to the
example mesh's precomputed operators (:func:`bound_to_example_mesh`, the cards'
``export_form``).

Shapes:
    B: batch of signals on the mesh.
    N: vertices (42 in the examples).
    F: faces (80 in the examples).
"""

from __future__ import annotations

import torch

from gdl_zoo.meshes.actions import MeshSymmetry, VertexOutputs
from gdl_zoo.meshes.diffusionnet import MeshDiffusionNet
from gdl_zoo.meshes.generators import bumpy_icosphere
from gdl_zoo.meshes.mesh_transformer import MeshTransformer
from gdl_zoo.zoo import ModelCard, register

__all__ = ["EXAMPLE_SUBDIVISIONS", "EXAMPLE_CHANNELS", "example_mesh_inputs",
           "bound_to_example_mesh"]  # fmt: skip

#: Subdivisions of the example icosphere (42 vertices).
EXAMPLE_SUBDIVISIONS = 1
#: Input channels of the example features.
EXAMPLE_CHANNELS = 3
_NUM_VERTICES = 10 * 4**EXAMPLE_SUBDIVISIONS + 2


def example_mesh_inputs(
    batch_size: int, dtype: torch.dtype, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(x, positions, faces)``: random features on an icosphere with random radial bumps.

    The bumps make the metric generic (no intrinsic symmetry), so a model
    that ignored the geometry or the labels could not pass by accident.

    Shapes:
        x: (B, N, 3); positions: (N, 3); faces: (F, 3).
    """
    positions, mesh = bumpy_icosphere(EXAMPLE_SUBDIVISIONS, 0.15, generator)
    x = torch.randn(batch_size, len(positions), EXAMPLE_CHANNELS, generator=generator)
    return x.to(dtype), positions.to(dtype), mesh.faces


def bound_to_example_mesh(
    model: MeshDiffusionNet | MeshTransformer, inputs: tuple
) -> tuple[torch.nn.Module, tuple[torch.Tensor]]:
    """The cards' ``export_form``: the model bound to the example mesh, on its features.

    A mesh network is deployed on the precomputed operators of its mesh
    (``model.bind(positions, faces)``); ``torch.export`` exports that module,
    whose only input is ``x``.
    """
    x, positions, faces = inputs
    return model.bind(positions, faces), (x,)


def _diffusionnet(**overrides) -> MeshDiffusionNet:
    kwargs = {"in_channels": EXAMPLE_CHANNELS, "out_channels": 4, "width": 8, "num_blocks": 2,
              "init_time": 0.05}  # fmt: skip
    kwargs.update(overrides)
    return MeshDiffusionNet(**kwargs)


def _transformer(**overrides) -> MeshTransformer:
    kwargs = {"in_channels": EXAMPLE_CHANNELS, "out_channels": 4, "width": 8, "heads": 2,
              "num_layers": 2}  # fmt: skip
    kwargs.update(overrides)
    return MeshTransformer(**kwargs)


_GROUP = "isometries (rigid motions, isometric re-embeddings) x vertex relabelling"

register(
    ModelCard(
        name="mesh_diffusionnet",
        domain="meshes",
        group=_GROUP,
        flavour="CNN",
        paper="Sharp, Attaiki, Crane & Ovsjanikov 2022, DiffusionNet (ACM TOG 41(3))",
        factory=_diffusionnet,
        example_factory=example_mesh_inputs,
        input_action=MeshSymmetry(_NUM_VERTICES),
        output_action=VertexOutputs(_NUM_VERTICES),
        export_form=bound_to_example_mesh,
        description="intrinsic mesh CNN: learned implicit heat diffusion + gradient features",
    )
)

register(
    ModelCard(
        name="mesh_transformer",
        domain="meshes",
        group=_GROUP,
        flavour="Transformer",
        paper="Vaswani et al. 2017 with a geodesic attention bias (Crane et al. 2013 heat method)",
        factory=_transformer,
        example_factory=example_mesh_inputs,
        input_action=MeshSymmetry(_NUM_VERTICES),
        output_action=VertexOutputs(_NUM_VERTICES),
        export_form=bound_to_example_mesh,
        description="vertex Transformer whose attention is biased by heat-method geodesics",
    )
)
