"""Meshes (geodesics): triangle meshes as 2-manifolds with learnable edge-length metrics.

Topology (:class:`TriangleMesh`), metrics (:class:`EdgeLengthMetric`), intrinsic
geometry from edge lengths (areas, angles, cotan Laplacian, masses, curvature,
gradients, tangent frames, log maps), heat-method geodesics, variational metric
learning (:func:`fit_metric`), diffusion layers, :class:`MeshDiffusionNet` and
:class:`MeshTransformer`.  Names are imported on first access (PEP 562), so
``import gdl_zoo.meshes`` stays cheap.
"""

from __future__ import annotations

from gdl_zoo._lazy import lazy_exports

_MODULES: dict[str, tuple[str, ...]] = {
    "mesh": ("TriangleMesh", "VertexRings", "MeshError"),
    "generators": ("icosphere", "bumpy_icosphere", "torus", "grid"),
    "io": ("read_mesh",),
    "sparse": ("SparsityPattern", "Factorization", "sparse_solve"),
    "conjugate_gradient": ("BatchedCGResult", "batched_conjugate_gradient"),
    "geometry": (
        "edge_lengths", "face_side_lengths", "heron_area", "face_areas", "corner_angles",
        "corner_cotangents", "cotan_weights", "cotan_laplacian", "cotan_laplacian_and_mass",
        "lumped_mass",
        "galerkin_mass", "angle_sums", "angle_defect", "face_layout", "face_gradient",
        "divergence", "vertex_tangent_angles", "log_map_1ring", "transport_angles",
        "vertex_gradient", "vertex_gradient_weights", "vertex_gradient_from_weights",
    ),
    "metric": (
        "EdgeLengthMetric", "check_lengths", "triangle_slack", "triangle_violations",
        "triangle_barrier", "non_delaunay_edges", "intrinsic_delaunay",
    ),
    "geodesics": ("HeatGeodesics", "heat_geodesic_distance"),
    "operators": (
        "MeshOperators", "laplacian_eigenpairs", "check_vertex_features", "area_weighted_mean",
    ),
    "fixed_operators": ("FixedMeshOperators",),
    "metric_learning": (
        "regge_action", "curvature_squared", "calabi_energy", "total_area",
        "conformal_dirichlet", "COMPLEXITY_TERMS", "geodesic_distance_term",
        "heat_kernel_term", "spectrum_term", "FitResult", "fit_metric",
    ),
    "diffusion": (
        "implicit_diffusion", "spectral_diffusion", "heat_kernel_signature",
        "LearnedTimeDiffusion", "SpatialGradientFeatures", "DiffusionBlock",
    ),
    "diffusionnet": ("MeshDiffusionNet", "DiffusionNetOnMesh"),
    "mesh_transformer": (
        "intrinsic_distance_matrix", "heat_kernel_matrix", "BiasedAttentionLayer",
        "MeshTransformer", "MeshTransformerOnMesh",
    ),
    "actions": (
        "RigidMotion", "HingeGroup", "HingeFold", "VertexRelabel", "MeshSymmetryGroup",
        "MeshSymmetry", "VertexOutputs",
    ),
}  # fmt: skip
_EXPORTS: dict[str, str] = {name: module for module, names in _MODULES.items() for name in names}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
