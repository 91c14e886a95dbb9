"""Gauges: meshes with tangent frames and local SO(2) gauge changes (GEM-CNN)."""

from gdl_zoo.gauges.actions import (
    EmbeddingChange,
    GaugeChange,
    GaugeMeshGroup,
    GaugeMeshSymmetry,
    GaugeVertexOutputs,
    LocalSO2,
)
from gdl_zoo.gauges.frames import (
    MeshGauge,
    face_ring_holonomy,
    link_curvature_share,
    mesh_gauge,
    ring_holonomy,
    spoke_index,
    wrap_angle,
)
from gdl_zoo.gauges.gauge_attention import GaugeAttention
from gdl_zoo.gauges.gem_cnn import GEMCNN, GaugeTransformer
from gdl_zoo.gauges.gem_conv import (
    GEMConv,
    IrrepsLinear,
    check_gauge_inputs,
    transported_messages,
)
from gdl_zoo.gauges.mesh_network import GaugeNetworkOnMesh, MeshGaugeNetwork
from gdl_zoo.gauges.nonlinearities import NormNonlinearity, RegularNonlinearity
from gdl_zoo.gauges.reference import gem_conv_reference, neighbour_kernel
from gdl_zoo.gauges.so2_irreps import SO2Irreps, check_so2_irreps

__all__ = [
    "GaugeChange",
    "LocalSO2",
    "GaugeMeshGroup",
    "GaugeMeshSymmetry",
    "GaugeVertexOutputs",
    "EmbeddingChange",
    "MeshGauge",
    "mesh_gauge",
    "wrap_angle",
    "spoke_index",
    "ring_holonomy",
    "link_curvature_share",
    "face_ring_holonomy",
    "MeshGaugeNetwork",
    "GaugeNetworkOnMesh",
    "GaugeAttention",
    "GEMCNN",
    "GaugeTransformer",
    "GEMConv",
    "IrrepsLinear",
    "check_gauge_inputs",
    "transported_messages",
    "NormNonlinearity",
    "RegularNonlinearity",
    "gem_conv_reference",
    "neighbour_kernel",
    "SO2Irreps",
    "check_so2_irreps",
]
