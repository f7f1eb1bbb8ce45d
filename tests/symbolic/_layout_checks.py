"""Numerical checks of a diagram drawing: crossings, label clearance, coincident vertices."""

from __future__ import annotations

from itertools import combinations

import numpy as np

from fieldnn.symbolic._tikz_layout import Layout, line_paths


def _segments(path: np.ndarray, trim: float, ends: list[np.ndarray]) -> np.ndarray:
    """Segments of a polyline, without the parts within ``trim`` of the given end points."""
    keep = np.ones(len(path), bool)
    for e in ends:
        keep &= np.hypot(*(path - e).T) > trim
    pts = path[keep]
    return np.stack([pts[:-1], pts[1:]], axis=1) if len(pts) > 1 else np.zeros((0, 2, 2))


def _cross(s: np.ndarray, t: np.ndarray) -> bool:
    """Whether any segment of s properly intersects any segment of t (orientation tests)."""
    if not len(s) or not len(t):
        return False
    p, q = s[:, None, 0], s[:, None, 1]
    r, u = t[None, :, 0], t[None, :, 1]

    def orient(a, b, c):
        return np.sign((b[..., 0] - a[..., 0]) * (c[..., 1] - a[..., 1])
                       - (b[..., 1] - a[..., 1]) * (c[..., 0] - a[..., 0]))  # fmt: skip

    return bool(
        np.any((orient(p, q, r) * orient(p, q, u) < 0) & (orient(r, u, p) * orient(r, u, q) < 0))
    )


def crossings(matrix: list[list[int]], lay: Layout, n_ext: int) -> int:
    """Number of pairs of drawn lines that cross away from their common vertices."""
    paths = line_paths(matrix, lay.pos, n_ext)
    count = 0
    for (i, j, a), (k, m, b) in combinations(paths, 2):
        shared = [np.asarray(lay.pos[v]) for v in {i, j} & {k, m}]
        if _cross(_segments(a, 0.12, shared), _segments(b, 0.12, shared)):
            count += 1
    return count


def _distance_to_path(point: np.ndarray, path: np.ndarray) -> float:
    p, q = path[:-1], path[1:]
    d = q - p
    t = np.clip(
        np.einsum("ij,ij->i", point - p, d) / np.maximum(np.einsum("ij,ij->i", d, d), 1e-300), 0, 1
    )
    return float(np.min(np.hypot(*(p + t[:, None] * d - point).T)))


def label_clearance(matrix: list[list[int]], lay: Layout, n_ext: int) -> float:
    """Smallest distance (cm) from the centre of a vertex label to any drawn line."""
    paths = [p for *_, p in line_paths(matrix, lay.pos, n_ext)]
    labels = [np.asarray(lay.label_pos[v]) for v in lay.label_pos if v >= n_ext]
    if not labels or not paths:
        return float("inf")
    return min(_distance_to_path(x, p) for x in labels for p in paths)


def vertex_separation(lay: Layout) -> float:
    pts = list(lay.pos.values())
    return min(
        (float(np.hypot(a[0] - b[0], a[1] - b[1])) for a, b in combinations(pts, 2)),
        default=float("inf"),
    )
