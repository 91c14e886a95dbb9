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

To deploy on one mesh, :meth:`MeshGaugeNetwork.bind` precomputes the gauge of
that mesh once and returns a :class:`GaugeNetworkOnMesh`: its ``forward`` takes
the features only, its spokes, log angles and transport are buffers, so it is
plain torch that ``torch.export`` exports (the NumPy topology and the metric
stay outside the exported program, as in DiffusionNet's per-shape precomputation).

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

__all__ = ["MeshGaugeNetwork", "GaugeNetworkOnMesh"]


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

    def bind(
        self, positions: torch.Tensor, faces: torch.Tensor, frame: torch.Tensor | None = None
    ) -> GaugeNetworkOnMesh:
        """This network on one embedded mesh, its gauge precomputed: ``bound(features)``.

        The returned module shares this network's parameters (training one trains
        the other) and equals ``self(features, positions, faces, frame)``.

        Shapes:
            positions: (N, 3); faces: (F, 3) long; frame: (N,) or ``None``.
        """
        if not isinstance(positions, torch.Tensor) or positions.dim() != 2:
            got = tuple(positions.shape) if isinstance(positions, torch.Tensor) else type(positions)
            raise ValueError(f"positions: expected shape (N, 3), got {got}")
        with torch.no_grad():
            gauge = _embedded_mesh_gauge(positions, faces, frame)
        return GaugeNetworkOnMesh(self, gauge)

    def extra_repr(self) -> str:
        return f"{self.irreps_in} -> {self.irreps_out}"


class GaugeNetworkOnMesh(nn.Module):
    """A :class:`MeshGaugeNetwork` bound to the precomputed gauge of one mesh.

    ``forward(features) = network.forward_gauge(features, gauge)``, with the
    gauge's ``edge_index``, ``log_angle`` and ``transport`` stored as buffers
    (detached: the metric is fixed), so that the module is plain torch:
    ``torch.export.export(bound, (features,))`` exports it, and ``.to(device)``
    moves the gauge with the weights.  Build it with :meth:`MeshGaugeNetwork.bind`.

    Args:
        network: the network (its parameters are shared, not copied).
        gauge: the :class:`~gdl_zoo.gauges.frames.MeshGauge` of the mesh.

    Shapes:
        features: (N, C_in); output: (N, C_out).
    """

    def __init__(self, network: MeshGaugeNetwork, gauge: MeshGauge):
        super().__init__()
        if not isinstance(network, MeshGaugeNetwork):
            raise TypeError(f"network: expected a MeshGaugeNetwork, got {type(network).__name__}")
        if not isinstance(gauge, MeshGauge):
            raise TypeError(f"gauge: expected a MeshGauge, got {type(gauge).__name__}")
        self.network = network
        self.num_vertices = gauge.num_vertices
        self.register_buffer("edge_index", gauge.edge_index.detach().clone())
        self.register_buffer("log_angle", gauge.log_angle.detach().clone())
        self.register_buffer("transport", gauge.transport.detach().clone())

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if (
            not isinstance(features, torch.Tensor)
            or features.dim() != 2
            or (features.shape[0] != self.num_vertices)
        ):
            got = tuple(features.shape) if isinstance(features, torch.Tensor) else type(features)
            raise ValueError(
                f"features: expected shape ({self.num_vertices}, "
                f"{self.network.irreps_in.dim}) for the bound mesh, got {got}"
            )
        return self.network.stack(features, self.edge_index, self.log_angle, self.transport)

    def extra_repr(self) -> str:
        return f"num_vertices={self.num_vertices}, spokes={self.edge_index.shape[1]}"


@eager_under_compile  # the topology is built in NumPy: outside torch.compile's graph
def _embedded_mesh_gauge(
    positions: torch.Tensor, faces: torch.Tensor, frame: torch.Tensor | None
) -> MeshGauge:
    """The gauge of the metric an embedding induces (differentiable in ``positions``)."""
    mesh = TriangleMesh(faces, num_vertices=positions.shape[0])
    return mesh_gauge(mesh, edge_lengths(mesh, positions), frame)
