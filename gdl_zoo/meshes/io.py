"""Reading triangle meshes (OBJ, OFF, PLY, STL, …) with trimesh.

Reference: trimesh (https://trimesh.org), the maintained reader used here.

Shapes:
    N: vertices.
    F: faces.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from gdl_zoo.data.checksums import verify_file
from gdl_zoo.meshes.mesh import TriangleMesh

__all__ = ["read_mesh"]


def read_mesh(
    path: str | Path,
    dtype: torch.dtype = torch.float64,
    remove_unreferenced: bool = True,
    merge_vertices: bool | None = None,
) -> tuple[torch.Tensor, TriangleMesh]:
    """Read a triangle mesh file into ``(positions, mesh)``, keeping the file's vertex order.

    Polygons are triangulated by trimesh.  Vertices are neither reordered nor
    split at texture seams (``process=False, maintain_order=True``), so an OBJ's
    ``v`` lines are the vertices.

    Args:
        path: an ``.obj``, ``.off``, ``.ply``, ``.stl`` … file.
        dtype: floating dtype of the positions.
        remove_unreferenced: drop vertices used by no face (renumbering the rest
            in order); otherwise such vertices make :class:`TriangleMesh` raise.
        merge_vertices: merge vertices at equal positions (trimesh's
            ``merge_vertices``); default only for STL, whose triangles share no
            vertices.

    Raises:
        FileNotFoundError: no such file.
        ChecksumError: the nearest ``SHA256SUMS`` above the file lists another digest
            (:func:`~gdl_zoo.data.checksums.verify_file`).
        ValueError: the file holds no triangles, or the mesh is invalid
            (:class:`~gdl_zoo.meshes.mesh.MeshError` naming faces or edges).

    Shapes:
        positions: (N, 3); mesh.faces: (F, 3).
    """
    import trimesh

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no mesh file at {path}")
    loaded = trimesh.load(verify_file(path), process=False, force="mesh", maintain_order=True)
    if merge_vertices or (merge_vertices is None and path.suffix.lower() == ".stl"):
        loaded.merge_vertices()
    faces = np.asarray(loaded.faces, dtype=np.int64)
    verts = np.asarray(loaded.vertices, dtype=np.float64)
    if faces.ndim != 2 or faces.shape[0] == 0:
        raise ValueError(f"{path}: expected triangles, found none")
    if remove_unreferenced:
        used = np.zeros(len(verts), dtype=bool)
        used[faces.reshape(-1)] = True
        new_index = np.cumsum(used) - 1
        faces, verts = new_index[faces], verts[used]
    return torch.as_tensor(verts, dtype=dtype), TriangleMesh(torch.as_tensor(faces), len(verts))
