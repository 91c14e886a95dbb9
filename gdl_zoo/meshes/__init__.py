"""Triangle meshes as 2-manifolds: learnable edge-length metrics, intrinsic operators, mesh CNN and Transformer."""
