r"""A Gaussian quadrature rule on the cones cut by the kink hyperplanes of relu-type σ.

:func:`conical_rule` gives nodes :math:`z_m` and weights :math:`w_m` with
:math:`\sum_m w_m f(z_m) = \mathbb E f(Lu)`, :math:`u\sim\mathcal N(0, I_r)`, for L of shape
(P, r) with independent columns (z = Lu ~ N(0, K), K = LLᵀ). It is exact in the radius and
spectrally convergent on the cross-section of each cone for every f that, on each cone of the
arrangement of the hyperplanes :math:`\{u : (Lu)_a = 0\}`, is a polynomial in u containing only
even degrees. That is what an even number of relu / leaky relu / linear factors σ(z_a) (each
linear on a cone) times Hermite polynomials H_α(z; K) of even order |α| (parity (−1)^{|α|}) give;
odd degrees are not integrated exactly in the radius.

Cones. The hyperplanes split :math:`\mathbb R^r` into cones; the rule needs them simplicial. They
are for r = 1 (the two half-lines), r = 2 (the wedges between consecutive kink rays, sorted by
angle) and r = P (the 2^P cones
:math:`\{u : s_a (Lu)_a \ge 0\}`, s ∈ {±1}^P, with edges :math:`v_a = s_a (L^{-1})_{:,a}`). At
r = 3 < P (e.g. four or more inputs in R² with a bias) the cells are convex spherical polygons:
the octant cones of three independent rows are clipped by each further plane in turn (a polygon
cut by a great circle splits at the arc points w ∝ d_iv_j − d_jv_i, d = n·v) and fanned into
triangles. For 4 ≤ r < P the cells are not simplicial and the rule is not built
(:class:`~fieldnn.errors.UnsupportedError`). A cone two of whose unit edges enclose an angle
above π/2 is bisected (the widest pair of edges gives its normalised mid-direction as a new edge
to each half) until none does: strongly correlated K (deep relu nets) have cones close to
half-spaces, on which the cross-section rule below converges slowly (with 2π/3 as the limit,
all correlations 0.95 at P = 3 left errors of 1e-2).

Cone integral. Let V = (v_1 … v_r) be the edges and w(x), x ∈ [0, 1]^{r−1}, any parametrisation
of a cross-section of the cone, u = ρ w(x). Then :math:`du = \rho^{r-1}
|\det[w, \partial_1 w, \ldots, \partial_{r-1} w]|\,d\rho\,dx` and, with r' = ρ|w|, t = r'²/2,

.. math:: \int_{\rm cone} F(u)\,\phi_r(u)\,du = \int dx\,
          \frac{|\det[w, \partial_1 w, \ldots, \partial_{r-1} w]|}{|w|^{r}}\,
          (2\pi)^{-r/2}\,2^{r/2-1}\int_0^\infty F\big(\sqrt{2t}\,\hat w\big)\,
          t^{r/2-1}e^{-t}\,dt,\qquad \hat w = w/|w| .

For the flat simplex w = Σ_a s_a v_a (s ≥ 0, Σ s = 1) the determinant is |det V| and the outer
integral is :math:`|\det V|\int_T ds\,|w|^{-r}(\ldots)`. The t integral is generalised
Gauss–Laguerre with α = r/2 − 1 (``radial_nodes`` nodes, ``scipy.special.roots_genlaguerre``),
exact when F is a polynomial of even degrees ≤ 4·radial_nodes − 2 (degree k in u is degree k/2
in t). What is left is :math:`\sum_k F_k(\hat w)` (F_k the degree-k part of F) times the area
element — analytic, since the edges are independent. On the flat simplex it carries the factor
:math:`|w|^{-r-k}`, which varies by r^{(r+k)/2} on an orthant; a collapsed Gauss–Jacobi rule
there converged far more slowly (in a trial at r = 3, 16² nodes per cone: 3e-9 on degree-8
moments against 1e-15 for the map below). The rule therefore
parametrises the cross-section on the unit sphere (|w| = 1) by geodesic collapse (a spherical
Duffy / Stroud conical-product map):

.. math:: q_r = v_r,\qquad q_j = \frac{\sin((1-x_j)\theta_j)\,v_j + \sin(x_j\theta_j)\,q_{j+1}}
          {\sin\theta_j},\quad \cos\theta_j = v_j\cdot q_{j+1},\qquad w = q_1,

with Gauss–Legendre in every x_j (``simplex_nodes`` nodes each) and the area element
:math:`|\det[w, \partial_1 w, \ldots]|` from complex-step derivatives (exact to rounding: the map
is analytic in x). At r = 2 this is Gauss–Legendre in the angle on each wedge, as the polar rule;
on an orthant it is hyperspherical coordinates.

Node counts (defaults radial_nodes = 8, simplex_nodes = 16 for r ≤ 3, 12 at r = 4, 10 for
r ≥ 5; the accuracy at r ≥ 5 has not been measured): 2·8 = 16 points at r = 1; wedges·8·16 at
r = 2 (768 at P = 2 for a moderate K); cones·8·n^{r−1} at r ≥ 3 — 49 152 at P = r = 3 and
1.6–2.9·10⁶ at P = r = 4 after the bisection. Measured in tests/kernels/test_conical.py against
closed forms, relative to their scale (Isserlis moments to degree 8 against their Hölder bound
(d − 1)!! Π√K_aa; orthant probabilities; arc-cosine kernels): moderate K (correlations ≤ 0.5)
≤ 1.4e-14 at r ≤ 3 and 1.1e-13 at r = 4; every pair at correlation 0.8–0.99 ≤ 1.6e-15 at
r = 3 and 2.1e-14 at r = 4; one correlation 0.99 (0.9999 at r = 3) ≤ 2e-15 at r = 3 and 3.2e-13
at r = 4 (without any bisection: errors above 1e-4 at r = 3). A product of six relu-type factors
times a degree-4 polynomial at P = 3 agrees with doubled node counts to 3e-15.

References
----------
A. H. Stroud, *Approximate Calculation of Multiple Integrals* (Prentice-Hall, 1971)
(conical product rules); M. G. Duffy, SIAM J. Numer. Anal. 19, 1260 (1982) (the collapsed
map); J. R. R. A. Martins, P. Sturdza, J. J. Alonso, ACM Trans. Math. Softw. 29, 245 (2003)
(complex-step derivative).
"""

from __future__ import annotations

import itertools
from numbers import Integral

import numpy as np
from scipy.special import roots_genlaguerre

from ..errors import ArgumentError, ArgumentTypeError, ShapeError, UnsupportedError

__all__ = ["conical_rule"]

#: largest angle between two unit edges of a cone before it is bisected
_MAX_EDGE_ANGLE = 0.5 * np.pi
#: default Gauss–Legendre nodes per direction x_j of the cross-section, by r (10 beyond)
_SIMPLEX_NODES = {1: 16, 2: 16, 3: 16, 4: 12}
_SIMPLEX_NODES_HIGH = 10
#: largest number of nodes built (memory: 8·(P + 1) bytes each)
_MAX_POINTS = 50_000_000
#: narrowest wedge kept at r = 2 (radians); closer kink rays are merged
_MIN_WEDGE = 1e-12
#: imaginary step of the complex-step derivatives of the geodesic map
_COMPLEX_STEP = 1e-30


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ArgumentTypeError(name, f"must be a positive integer, got {value!r}")
    if int(value) < 1:
        raise ArgumentError(name, f"must be a positive integer, got {value!r}")
    return int(value)


def _check_L(L: object) -> np.ndarray:
    A = np.asarray(L, dtype=float)
    if A.ndim != 2:
        raise ShapeError("L", f"must be a 2-D array of shape (P, r), got shape {A.shape}")
    P, r = A.shape
    if P == 0 or r == 0:
        raise ShapeError("L", f"must have at least one row and one column, got shape {A.shape}")
    if not np.all(np.isfinite(A)):
        raise ArgumentError("L", "contains non-finite entries")
    if r > P:
        raise ArgumentError("L", f"has r = {r} columns > P = {P} rows; its columns are dependent")
    sv = np.linalg.svd(A, compute_uv=False)
    if sv[-1] <= 1e-13 * sv[0]:
        raise ArgumentError(
            "L",
            f"columns are (numerically) dependent (singular values {sv[0]:.3g} … {sv[-1]:.3g}); "
            "pass a factor with r = rank K independent columns",
        )
    if 4 <= r < P:
        raise UnsupportedError(
            "L",
            f"the P = {P} inputs span only r = {r} < P = {P} dimensions (r >= 4); the cones cut "
            "by the kink hyperplanes are then not simplicial and this case is not built (r <= 3 "
            "and r = P are)",
        )
    return A


def _clipped_triangles(L: np.ndarray) -> np.ndarray:
    """Unit edges (C, 3, 3) of spherical triangles tiling the cells of P > 3 planes
    {u : (Lu)_a = 0} in R³: the eight octant cones of three independent rows, each convex
    spherical polygon clipped by the other planes in turn (a polygon on both sides of a great
    circle splits in two at the arc points w ∝ d_i v_j − d_j v_i, d = n·v), then fanned."""
    normals = L / np.linalg.norm(L, axis=1, keepdims=True)
    first = [0]
    for a in range(1, normals.shape[0]):
        if len(first) < 3 and np.linalg.matrix_rank(normals[[*first, a]], tol=1e-10) > len(first):
            first.append(a)
    polygons = [list(V.T) for V in _cones(normals[first])]
    for a in (a for a in range(normals.shape[0]) if a not in first):
        n = normals[a]
        clipped = []
        for poly in polygons:
            d = np.array([n @ v for v in poly])
            d[np.abs(d) <= 1e-13] = 0.0
            if np.all(d >= 0.0) or np.all(d <= 0.0):
                clipped.append(poly)
                continue
            sides: tuple[list, list] = ([], [])
            for i, v in enumerate(poly):
                j = (i + 1) % len(poly)
                if d[i] >= 0.0:
                    sides[0].append(v)
                if d[i] <= 0.0:
                    sides[1].append(v)
                if d[i] * d[j] < 0.0:  # the arc from v_i to v_j crosses the plane
                    cut = d[i] * poly[j] - d[j] * poly[i]
                    cut = cut / np.linalg.norm(cut) * np.sign(d[i])
                    sides[0].append(cut)
                    sides[1].append(cut)
            clipped += [side for side in sides if len(side) >= 3]
        polygons = clipped
    triangles = [
        np.stack([poly[0], poly[k], poly[k + 1]], axis=1)
        for poly in polygons
        for k in range(1, len(poly) - 1)
    ]
    return np.array([T for T in triangles if abs(np.linalg.det(T)) > 1e-14])


def _cones(L: np.ndarray) -> np.ndarray:
    """Unit edges (C, r, r), as columns, of the simplicial cones of the arrangement."""
    P, r = L.shape
    if r == 1:
        return np.array([[[1.0]], [[-1.0]]])
    if r == 2:
        rows = L[np.linalg.norm(L, axis=1) > 0.0]
        kinks = np.arctan2(rows[:, 0], -rows[:, 1]) % np.pi  # (Lu)_a = 0 on u ∝ (−L_a1, L_a0)
        edges = np.sort(np.concatenate([kinks, kinks + np.pi]))
        # rays closer than _MIN_WEDGE are one ray (rows parallel up to rounding)
        edges = edges[np.append(True, np.diff(edges) > _MIN_WEDGE)]
        if edges[-1] > edges[0] + 2.0 * np.pi - _MIN_WEDGE:
            edges = edges[:-1]
        edges = np.append(edges, edges[0] + 2.0 * np.pi)
        cones = []
        for lo, hi in itertools.pairwise(edges):
            v = np.array([[np.cos(lo), np.cos(hi)], [np.sin(lo), np.sin(hi)]])
            cones.append(v)
        return np.array(cones)
    if r < P:  # r = 3
        return _clipped_triangles(L)
    Linv = np.linalg.inv(L)
    base = Linv / np.linalg.norm(Linv, axis=0)
    signs = np.array(list(itertools.product((1.0, -1.0), repeat=P)))
    return base[None] * signs[:, None, :]


def _bisect(cones: np.ndarray) -> np.ndarray:
    """Split cones until no two unit edges enclose an angle above _MAX_EDGE_ANGLE."""
    r = cones.shape[1]
    limit = np.cos(_MAX_EDGE_ANGLE)
    done, todo = [], list(cones)
    while todo:
        V = todo.pop()
        G = V.T @ V
        i, j = np.unravel_index(np.argmin(G), G.shape)
        if r == 1 or G[i, j] >= limit:
            done.append(V)
            continue
        m = V[:, i] + V[:, j]
        m /= np.linalg.norm(m)
        for k in (i, j):
            W = V.copy()
            W[:, k] = m
            todo.append(W)
    return np.array(done)


def _geodesic_map(V: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Points w (C, q, r) on the unit sphere inside the cones with unit edges V (C, r, r):
    q_r = v_r, q_j = slerp(v_j, q_{j+1}; x_j) for j = r − 1, …, 1, w = q_1 (X of shape
    (q, r − 1), real or complex for the complex-step Jacobian)."""
    r = V.shape[1]
    q = V[:, None, :, r - 1] * np.ones((1, X.shape[0], 1), dtype=X.dtype)
    for j in range(r - 2, -1, -1):
        a = V[:, None, :, j]
        # θ = angle(v_j, q_{j+1}) = 2 asin(|v_j − q_{j+1}|/2): accurate for small angles, and
        # analytic in x (no complex conjugate) for the complex step; θ ≤ π/2 after bisection
        theta = 2.0 * np.arcsin(0.5 * np.sqrt(np.sum((a - q) ** 2, axis=-1)))  # (C, q)
        y = X[None, :, j]
        q = (np.sin((1.0 - y) * theta)[..., None] * a + np.sin(y * theta)[..., None] * q) / np.sin(
            theta
        )[..., None]
    return q


def _sphere_rule(V: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Directions ŵ (C, q, r) and weights (C, q) of ∫ dΩ g(ŵ) over the spherical simplices
    spanned by the unit edges V (C, r, r): Gauss–Legendre in each x_j of :func:`_geodesic_map`,
    times the area element |det[ŵ, ∂_1ŵ, …, ∂_{r−1}ŵ]| (derivatives by complex step, exact to
    rounding because the map is analytic)."""
    C, r, _ = V.shape
    if r == 1:
        return V[:, None, :, 0], np.ones((C, 1))
    x, wx = np.polynomial.legendre.leggauss(n)
    x, wx = 0.5 * (1.0 + x), 0.5 * wx
    X = np.array(list(itertools.product(x, repeat=r - 1)))
    WX = np.prod(np.array(list(itertools.product(wx, repeat=r - 1))), axis=1)
    w = _geodesic_map(V, X)
    columns = [w]
    for j in range(r - 1):
        Xc = X.astype(complex)
        Xc[:, j] += 1j * _COMPLEX_STEP
        columns.append(_geodesic_map(V, Xc).imag / _COMPLEX_STEP)
    area = np.abs(np.linalg.det(np.stack(columns, axis=-1)))
    return w, area * WX[None]


def conical_rule(
    L: np.ndarray, *, radial_nodes: int = 8, simplex_nodes: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    r"""Nodes and weights for :math:`\mathbb E f(Lu)`, u ~ N(0, I_r), f piecewise even polynomial.

    Parameters
    ----------
    L : ndarray, shape (P, r)
        A factor of K = LLᵀ with r independent columns; r ≤ 3 or r = P.
    radial_nodes : int
        Generalised Gauss–Laguerre nodes in t = |u|²/2; the rule is exact in the radius for
        even degrees ≤ 4·radial_nodes − 2.
    simplex_nodes : int or None
        Gauss–Legendre nodes per direction x_j of each cone's cross-section (the angle at
        r = 2; simplex_nodes^{r−1} per cone at r ≥ 3); ``None``: 16 at r ≤ 4, 10 at r ≥ 5.
        Ignored at r = 1.

    Returns
    -------
    z : ndarray, shape (m, P)
        The nodes z = Lu.
    w : ndarray, shape (m,)
        Positive weights; Σw = 1 to rounding for the default node counts (the sum is the
        cross-section rule applied to the solid angle, spectrally accurate, not exact).

    Raises
    ------
    ShapeError
        L is not 2-D or empty.
    ArgumentError
        L has non-finite entries or dependent columns (r > P included); the rule would have
        more than 5·10⁷ nodes.
    UnsupportedError
        4 ≤ r < P: the cones of the arrangement are not simplicial; not built.
    ArgumentTypeError
        radial_nodes or simplex_nodes is not an integer.

    Notes
    -----
    On a cone with unit edges V and cross-section w(x) on the unit sphere (u = ρw):

    .. math:: \int_{\rm cone} F(u)\phi_r(u)\,du = \int dx\,|\det[w, \partial_1 w, \ldots,
              \partial_{r-1}w]|\,(2\pi)^{-r/2}2^{r/2-1}\int_0^\infty F(\sqrt{2t}\,w)\,
              t^{r/2-1}e^{-t}\,dt ,

    the flat-simplex form :math:`|\det V|\int_T ds\,|w|^{-r}\ldots` reparametrised onto the
    sphere. Exact in t for F a polynomial of even degrees ≤ 4·radial_nodes − 2 on each cone of
    the arrangement of {u : (Lu)_a = 0}; spectral in x. The cones, their bisection, the map w(x)
    and the node counts are in the module docstring (:mod:`fieldnn.kernels._conical`).

    References
    ----------
    A. H. Stroud, *Approximate Calculation of Multiple Integrals* (1971) (conical product
    rules); M. G. Duffy, SIAM J. Numer. Anal. 19, 1260 (1982).

    Examples
    --------
    >>> import numpy as np
    >>> z, w = conical_rule(np.linalg.cholesky(np.array([[1.0, 0.5], [0.5, 1.0]])))
    >>> bool(np.isclose(w @ (np.maximum(z[:, 0], 0) * np.maximum(z[:, 1], 0)),
    ...                 (np.sqrt(3) / 2 + (np.pi - np.pi / 3) / 2) / (2 * np.pi)))
    True
    """
    n_t = _positive_int(radial_nodes, "radial_nodes")
    A = _check_L(L)
    r = A.shape[1]
    if simplex_nodes is None:
        n_s = _SIMPLEX_NODES.get(r, _SIMPLEX_NODES_HIGH)
    else:
        n_s = _positive_int(simplex_nodes, "simplex_nodes")
    if r >= 3 and 2**r * n_t * n_s ** (r - 1) > _MAX_POINTS:  # 2^r cones at r = P, or more
        raise ArgumentError(
            "simplex_nodes",
            f"the rule would have more than {_MAX_POINTS:.0e} nodes (r = {r}, "
            f"{n_s} nodes per direction, {n_t} radial); lower simplex_nodes or radial_nodes",
        )
    cones = _bisect(_cones(A))  # (C, r, r)
    if cones.shape[0] * n_t * n_s ** (r - 1) > _MAX_POINTS:
        raise ArgumentError(
            "simplex_nodes",
            f"the rule would have {cones.shape[0] * n_t * n_s ** (r - 1):.3g} > {_MAX_POINTS:.0e} "
            f"nodes ({cones.shape[0]} cones, {n_s}^{r - 1} directions, {n_t} radial); lower "
            "simplex_nodes or radial_nodes",
        )
    w, weight_s = _sphere_rule(cones, n_s)  # (C, q, r), (C, q)
    t, wt = roots_genlaguerre(n_t, 0.5 * r - 1.0)
    weight_s = weight_s * (2.0 * np.pi) ** (-0.5 * r) * 2.0 ** (0.5 * r - 1.0)
    u = np.sqrt(2.0 * t)[None, None, :, None] * w[:, :, None, :]
    weights = weight_s[:, :, None] * wt[None, None, :]
    z = u.reshape(-1, r) @ A.T
    return z, weights.reshape(-1)
