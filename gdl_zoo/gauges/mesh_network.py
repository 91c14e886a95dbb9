"""Gauge networks on triangle meshes: the gauge computed from the metric, then the layers.

A :class:`MeshGaugeNetwork` wraps a stack of gauge layers
(:class:`~gdl_zoo.gauges.gem_cnn.GEMCNN`,
:class:`~gdl_zoo.gauges.gem_cnn.GaugeTransformer`) so that it takes a mesh::

    ℓ = |x_i − x_j|  (or a learned metric),   (θ, g) = mesh_gauge(mesh, ℓ, frame),
    y = stack(f, edge_index, θ, g)

Everything is intrinsic (a function of ``ℓ``), so the output is invariant
to rigid motions and isometric re-embeddings, equivariant to vertex
relabelling and, through ``frame``, to gauge changes
(:class:`~gdl_zoo.gauges.actions.GaugeMeshSymmetry`).  To train on one mesh,
compute the gauge once (:func:`~gdl_zoo.gauges.frames.mesh_gauge`) and call
:meth:`MeshGaugeNetwork.forward_gauge`.

Meshes with boundary are accepted: a boundary vertex sees its open fan of
neighbours at their true angles (no rescaling, :mod:`gdl_zoo.gauges.frames`),
mean aggregation divides by its smaller neighbour count, and every symmetry
above still holds exactly (tested on a folded open sheet).

Shapes:
    N: vertices.  F: faces.  E: edges.  C_in, C_out: irreps dimensions.
"""

from __future__ import annotations

import torch
from torch import nn

from gdl_zoo._eager_regions import eager_under_compile
from gdl_zoo._validation import check_device
from gdl_zoo.gauges.frames import MeshGauge, mesh_gauge
from gdl_zoo.meshes.geometry import edge_lengths
from gdl_zoo.meshes.mesh import TriangleMesh

__all__ = ["MeshGaugeNetwork"]


class MeshGaugeNetwork(nn.Module):
    """A gauge layer stack fed with the frames, log maps and transport of a mesh.

    Args:
        stack: a module called as ``stack(features, edge_index, log_angle,
            transport)`` with ``irreps_in`` and ``irreps_out`` attributes.

    Shapes:
        features: (N, C_in); positions: (N, 3); faces: (F, 3) long; frame: (N,)
        or ``None``; lengths: (E,).  output: (N, C_out).
    """

    def __init__(self, stack: nn.Module):
        super().__init__()
        for name in ("irreps_in", "irreps_out"):
            if not hasattr(stack, name):
                raise TypeError(f"stack: expected a gauge stack with {name}, got {type(stack)}")
        self.stack = stack
        self.irreps_in, self.irreps_out = stack.irreps_in, stack.irreps_out

    def forward_gauge(self, features: torch.Tensor, gauge: MeshGauge) -> torch.Tensor:
        """The stack on a precomputed :class:`~gdl_zoo.gauges.frames.MeshGauge`."""
        if not isinstance(gauge, MeshGauge):
            raise TypeError(f"gauge: expected a MeshGauge, got {type(gauge).__name__}")
        return self.stack(features, *gauge.layer_inputs())

    def forward_metric(
        self,
        features: torch.Tensor,
        mesh: TriangleMesh,
        lengths: torch.Tensor,
        frame: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The stack on a mesh with edge lengths ``lengths`` (differentiable in them)."""
        return self.forward_gauge(features, mesh_gauge(mesh, lengths, frame))

    def forward(
        self,
        features: torch.Tensor,
        positions: torch.Tensor,
        faces: torch.Tensor,
        frame: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if not isinstance(positions, torch.Tensor) or positions.dim() != 2:
            got = tuple(positions.shape) if isinstance(positions, torch.Tensor) else type(positions)
            raise ValueError(f"positions: expected shape (N, 3), got {got}")
        if isinstance(faces, torch.Tensor):
            check_device(faces, "faces", positions.device, "positions")
        return self.forward_gauge(features, _embedded_mesh_gauge(positions, faces, frame))

    def extra_repr(self) -> str:
        return f"{self.irreps_in} -> {self.irreps_out}"


@eager_under_compile  # the topology is built in NumPy: outside torch.compile's graph
def _embedded_mesh_gauge(
    positions: torch.Tensor, faces: torch.Tensor, frame: torch.Tensor | None
) -> MeshGauge:
    """The gauge of the metric an embedding induces (differentiable in ``positions``)."""
    mesh = TriangleMesh(faces, num_vertices=positions.shape[0])
    return mesh_gauge(mesh, edge_lengths(mesh, positions), frame)
