"""Coordinates for drawing a Feynman diagram: planar where the graph allows, labels off the lines.

The external points sit on a circle, in the cyclic order of the outer face of a planar embedding
(networkx's planarity test on the diagram plus a hub joined to every external point; the order
x_1, …, x_n is kept whenever it is planar). The internal vertices that lie between external
points are placed by Tutte's barycentric method (each at the mean of its neighbours), which draws
a planar graph with a convex outer face without crossings; dangling pieces (tadpoles) are placed
afterwards, pointing into the widest free sector of their anchor. A multiple line is drawn as
symmetric bends; :func:`line_paths` gives every line as a polyline so that crossings and the
clearance of labels can be measured (the tests do).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import combinations

import networkx as nx
import numpy as np

Point = tuple[float, float]
#: Bend angle (degrees) between neighbouring lines of a multiple line.
BEND_STEP = 50.0
#: Distance of a vertex label from its vertex, and of a point label from its point (cm).
LABEL_DISTANCE = 0.38


@dataclass(frozen=True)
class Layout:
    """Positions (cm) of the rows of a diagram's adjacency matrix and of their labels.

    ``planar`` says whether the diagram (with its external points on one face) is planar, in
    which case the drawing has no crossing lines.
    """

    pos: dict[int, Point]
    label_pos: dict[int, Point]
    planar: bool


def _skeleton(matrix: list[list[int]]) -> nx.Graph:
    g = nx.Graph()
    g.add_nodes_from(range(len(matrix)))
    g.add_edges_from(
        (i, j) for i in range(len(matrix)) for j in range(i + 1, len(matrix)) if matrix[i][j]
    )
    return g


def _outer_order(g: nx.Graph, n_ext: int) -> tuple[list[int], bool]:
    """External points in the cyclic order of one face of a planar embedding (or 0…n-1)."""
    natural = list(range(n_ext))
    if n_ext <= 2:
        return natural, nx.check_planarity(g)[0]
    hub = len(g)
    aug = g.copy()
    aug.add_edges_from((hub, a) for a in natural)
    ring = aug.copy()
    ring.add_edges_from((a, (a + 1) % n_ext) for a in natural)
    if nx.check_planarity(ring)[0]:
        return natural, True
    planar, embedding = nx.check_planarity(aug)
    if not planar:
        return natural, False
    order = list(embedding.neighbors_cw_order(hub))
    start = order.index(0)
    order = order[start:] + order[:start]
    if order[1] > order[-1]:  # read it in the direction that starts with the smaller label
        order = [order[0], *reversed(order[1:])]
    return order, True


def _dangling(g: nx.Graph, n_ext: int) -> set[int]:
    """Internal vertices cut off from every external point by removing one vertex (tadpoles)."""
    out: set[int] = set()
    for cut in nx.articulation_points(g):
        rest = g.subgraph(v for v in g if v != cut)
        for comp in nx.connected_components(rest):
            if all(v >= n_ext for v in comp):
                out |= comp
    return out


def _angles(n_ext: int) -> list[float]:
    if n_ext == 1:
        return [180.0]
    if n_ext == 2:
        return [180.0, 0.0]
    return [180.0 - 180.0 / n_ext - 360.0 * k / n_ext for k in range(n_ext)]


def _directions(pos: dict[int, Point], v: int, others: list[int]) -> list[float]:
    """Directions (radians) from v to each of ``others`` (coincident points skipped)."""
    x0, y0 = pos[v]
    return [
        math.atan2(pos[u][1] - y0, pos[u][0] - x0) % (2 * math.pi)
        for u in others
        if pos[u] != pos[v]
    ]


def _widest_gap(blocked: list[float]) -> tuple[float, float]:
    """(start, width) in radians of the widest sector free of the ``blocked`` directions."""
    if not blocked:
        return -math.pi, 2 * math.pi
    angles = sorted(a % (2 * math.pi) for a in blocked)
    gaps = [
        ((angles[(k + 1) % len(angles)] - angles[k]) % (2 * math.pi) or 2 * math.pi, angles[k])
        for k in range(len(angles))
    ]
    width, start = max(gaps)
    return start, width


def loop_directions(
    pos: dict[int, Point], v: int, neighbours: list[int], count: int
) -> list[float]:
    """Directions (radians) of ``count`` self-loops at v, spread over its widest free sector."""
    start, width = _widest_gap(_directions(pos, v, neighbours))
    return [start + width * (k + 1) / (count + 1) for k in range(count)]


def layout(matrix: list[list[int]], n_ext: int) -> Layout:
    """Coordinates of every row of ``matrix`` (externals first) and of their labels."""
    g = _skeleton(matrix)
    order, planar = _outer_order(g, n_ext)
    n_vert = len(matrix) - n_ext
    radius = 1.4 + 0.35 * max(n_vert - 1, 0)
    pos: dict[int, Point] = {}
    for a, angle in zip(order, _angles(n_ext), strict=True):
        t = math.radians(angle)
        pos[a] = (radius * math.cos(t), radius * math.sin(t))
    dangling = _dangling(g, n_ext)
    core = [v for v in range(n_ext, len(matrix)) if v not in dangling]
    best: tuple | None = None
    for start in _core_candidates(g, pos, core, dangling):
        full = _grow(g, {**pos, **start}, dangling)
        score = (_crossings(matrix, full, n_ext), -_separation(full))
        if best is None or score < best[0]:
            best = (score, full)
        if score[0] == 0 and -score[1] > 0.5:
            break
    assert best is not None
    pos = best[1]
    return Layout(pos=pos, label_pos=_labels(matrix, pos, n_ext), planar=planar)


def _labels(matrix: list[list[int]], pos: dict[int, Point], n_ext: int) -> dict[int, Point]:
    """Label positions: external points radially outwards; each internal vertex's label at the
    candidate point around it (24 directions × 3 radii) farthest from every drawn line, every
    vertex and the labels placed before it."""
    segments = np.concatenate(
        [np.stack([p[:-1], p[1:]], axis=1) for *_, p in line_paths(matrix, pos, n_ext)]
        or [np.zeros((0, 2, 2))]
    )
    out: dict[int, Point] = {}
    for a in range(n_ext):
        x, y = pos[a]
        norm = math.hypot(x, y) or 1.0
        out[a] = (x + LABEL_DISTANCE * x / norm, y + LABEL_DISTANCE * y / norm)
    theta = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    for v in range(n_ext, len(matrix)):
        cand = np.concatenate(
            [np.asarray(pos[v]) + r * np.stack([np.cos(theta), np.sin(theta)], 1)
             for r in (LABEL_DISTANCE, 0.5, 0.65)]
        )  # fmt: skip
        clear = _distance_to_segments(cand, segments)
        others = np.array([p for u, p in pos.items() if u != v] + list(out.values()))
        if len(others):
            clear = np.minimum(clear, np.min(np.hypot(*(cand[:, None] - others[None]).T), 0) - 0.1)
        best = int(np.argmax(np.minimum(clear, 0.35) - 0.05 * (np.arange(len(cand)) // 24)))
        out[v] = (float(cand[best, 0]), float(cand[best, 1]))
    return out


def _distance_to_segments(points: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """Distance from each point (k × 2) to the nearest segment (m × 2 × 2)."""
    if not len(segments):
        return np.full(len(points), np.inf)
    p, d = segments[:, 0], segments[:, 1] - segments[:, 0]
    rel = points[:, None, :] - p[None]
    t = np.clip(np.sum(rel * d, -1) / np.maximum(np.sum(d * d, -1), 1e-300), 0.0, 1.0)
    return np.min(np.hypot(*(rel - t[..., None] * d).transpose(2, 0, 1)), axis=1)


def _core_candidates(
    g: nx.Graph, fixed: dict[int, Point], core: list[int], dangling: set[int]
) -> Iterator[dict[int, Point]]:
    """Positions of the core vertices: Tutte's barycentric one first; then, for the cases where
    it is degenerate (fewer than three external points, collinear vertices), a straight-line
    planar drawing of the whole core (external points included) and spring relaxations of
    Tutte's with the external points fixed."""
    if not core:
        yield {}
        return
    index = {v: k for k, v in enumerate(core)}
    lap = np.zeros((len(core), len(core)))
    rhs = np.zeros((len(core), 2))
    for v in core:
        for u in g[v]:
            if u in dangling:
                continue
            lap[index[v], index[v]] += 1
            if u in index:
                lap[index[v], index[u]] -= 1
            else:
                rhs[index[v]] += fixed[u]
    xy = np.linalg.lstsq(lap, rhs, rcond=None)[0]
    tutte = {v: (float(xy[index[v], 0]), float(xy[index[v], 1])) for v in core}
    yield tutte
    sub = g.subgraph([*fixed, *core])
    if nx.check_planarity(sub)[0]:  # a straight-line planar drawing (Chrobak–Payne), rescaled
        grid = nx.planar_layout(sub)
        xy = np.array([grid[v] for v in sub])
        xy = (xy - xy.mean(0)) * (max(np.hypot(*p) for p in fixed.values()) / np.abs(xy).max())
        yield {v: (float(x), float(y)) for v, (x, y) in zip(sub, xy, strict=True)}
    rng = np.random.default_rng(0)
    for _ in range(8):
        init = {**fixed, **{v: tuple(np.add(p, rng.normal(0, 0.3, 2))) for v, p in tutte.items()}}
        relaxed = nx.spring_layout(sub, pos=init, fixed=list(fixed), k=1.0, iterations=60, seed=0)
        yield {v: (float(relaxed[v][0]), float(relaxed[v][1])) for v in core}


def _grow(g: nx.Graph, pos: dict[int, Point], dangling: set[int]) -> dict[int, Point]:
    """Place each dangling piece in the widest free sector of the vertex it hangs from: its
    vertices in layers by distance from that vertex, spread across the sector's direction."""
    pos = dict(pos)
    pieces = [set(c) for c in nx.connected_components(g.subgraph(dangling))]
    while pieces:
        piece = next(c for c in pieces if any(u in pos for v in c for u in g[v]))
        pieces.remove(piece)
        anchor = next(u for v in sorted(piece) for u in g[v] if u in pos)
        start, width = _widest_gap(_directions(pos, anchor, [u for u in g[anchor] if u in pos]))
        d = start + width / 2
        along, across = np.array([math.cos(d), math.sin(d)]), np.array([-math.sin(d), math.cos(d)])
        depth = nx.single_source_shortest_path_length(g.subgraph(piece | {anchor}), anchor)
        for k in range(1, max(depth.values()) + 1):
            layer = sorted(v for v, dist in depth.items() if dist == k)
            for m, v in enumerate(layer):
                offset = (m - (len(layer) - 1) / 2) * 1.1
                x, y = np.asarray(pos[anchor]) + 1.1 * k * along + offset * across
                pos[v] = (float(x), float(y))
    return pos


def _separation(pos: dict[int, Point]) -> float:
    pts = np.array(list(pos.values()))
    d = np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1))
    return float(np.min(d[np.triu_indices(len(pts), 1)])) if len(pts) > 1 else np.inf


def _crossings(matrix: list[list[int]], pos: dict[int, Point], n_ext: int) -> int:
    """Pairs of drawn lines that cross (segments of their polylines, away from shared ends)."""
    paths = line_paths(matrix, pos, n_ext)
    count = 0
    for (i, j, a), (k, m, b) in combinations(paths, 2):
        ends = [np.asarray(pos[v]) for v in {i, j} & {k, m}]
        a_, b_ = (p[np.all([np.hypot(*(p - e).T) > 0.1 for e in ends], axis=0)] if ends else p
                  for p in (a, b))  # fmt: skip
        if len(a_) > 1 and len(b_) > 1 and _polylines_cross(a_, b_):
            count += 1
    return count


def _polylines_cross(a: np.ndarray, b: np.ndarray) -> bool:
    p, r = a[:-1, None, :], a[1:, None, :] - a[:-1, None, :]
    q, s = b[None, :-1, :], b[None, 1:, :] - b[None, :-1, :]
    rxs = r[..., 0] * s[..., 1] - r[..., 1] * s[..., 0]
    qp = q - p
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (qp[..., 0] * s[..., 1] - qp[..., 1] * s[..., 0]) / rxs
        u = (qp[..., 0] * r[..., 1] - qp[..., 1] * r[..., 0]) / rxs
    return bool(np.any((rxs != 0) & (t > 0) & (t < 1) & (u > 0) & (u < 1)))


def _bezier(p0: np.ndarray, c1: np.ndarray, c2: np.ndarray, p3: np.ndarray, samples: int):
    """A cubic Bézier curve sampled at ``samples`` points (samples × 2)."""
    s = np.linspace(0.0, 1.0, samples)[:, None]
    return (1 - s) ** 3 * p0 + 3 * (1 - s) ** 2 * s * c1 + 3 * (1 - s) * s**2 * c2 + s**3 * p3


def bends(multiplicity: int) -> list[float]:
    """Bend angles (degrees, left positive) of the lines of a multiple line."""
    return [(k - (multiplicity - 1) / 2) * BEND_STEP for k in range(multiplicity)]


def curve(p: Point, q: Point, bend: float, samples: int = 24) -> np.ndarray:
    """The path TikZ draws for ``(p) to[bend left=bend] (q)``, as a polyline (samples × 2).

    TikZ's ``bend left=θ`` leaves p at θ to the left of the chord and enters q symmetrically,
    with control points at 0.3915 × the chord length (looseness 1).
    """
    p_, q_ = np.asarray(p, float), np.asarray(q, float)
    if bend == 0:
        return np.linspace(p_, q_, 2)
    d = q_ - p_
    length = float(np.hypot(*d))
    base = math.atan2(d[1], d[0])
    t = math.radians(bend)
    c1 = p_ + 0.3915 * length * np.array([math.cos(base + t), math.sin(base + t)])
    c2 = q_ + 0.3915 * length * np.array(
        [math.cos(base + math.pi - t), math.sin(base + math.pi - t)]
    )
    return _bezier(p_, c1, c2, q_, samples)


#: Opening (degrees) and size (cm) of a drawn self-loop (TikZ ``min distance``).
LOOP_OPENING, LOOP_SIZE = 25.0, 1.2


def loop_curve(p: Point, direction: float, samples: int = 24) -> np.ndarray:
    """The path of a self-loop at p pointing in ``direction`` (radians), as a polyline."""
    p_ = np.asarray(p, float)
    out_, in_ = direction + math.radians(LOOP_OPENING), direction - math.radians(LOOP_OPENING)
    c1 = p_ + LOOP_SIZE * np.array([math.cos(out_), math.sin(out_)])
    c2 = p_ + LOOP_SIZE * np.array([math.cos(in_), math.sin(in_)])
    return _bezier(p_, c1, c2, p_, samples)


def line_paths(
    matrix: list[list[int]], pos: dict[int, Point], n_ext: int
) -> list[tuple[int, int, np.ndarray]]:
    """(i, j, polyline) of every line as drawn: bends of multiple lines and self-loops."""
    g = _skeleton(matrix)
    out = []
    for i, j in combinations(range(len(matrix)), 2):
        for bend in bends(matrix[i][j]) if matrix[i][j] else []:
            out.append((i, j, curve(pos[i], pos[j], bend)))
    for v in range(n_ext, len(matrix)):
        for direction in loop_directions(pos, v, list(g[v]), matrix[v][v]):
            out.append((v, v, loop_curve(pos[v], direction)))
    return out
