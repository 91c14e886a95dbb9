"""Triangle meshes as 2-manifolds.

Learnable edge-length metrics, intrinsic operators, mesh CNN and Transformer.
"""
