"""The published NN-QFT experiment settings (seed 001; arXiv:2008.08601, Secs. 3–4)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ArgumentError, UnknownNameError

__all__ = ["NETS", "SEED_WIDTHS", "Setup", "default_cutoffs", "published_setup"]

#: the three seed-001 networks
NETS = ("erf", "gauss", "relu")
#: widths of the falloff experiment (seed slide "Specifications of experiments")
SEED_WIDTHS = (2, 3, 4, 5, 10, 20, 50, 100, 500, 1000)
#: (σ_W², σ_b²) of the published experiments
_HYPER = {"erf": (1.0, 1.0), "gauss": (1.0, 1.0), "relu": (1.0, 0.0)}

_D1 = {
    "gauss": [-0.01, -0.006, -0.002, 0.002, 0.006, 0.01],
    "erf": [-1.0, -0.6, -0.2, 0.2, 0.6, 1.0],
    "relu": [0.2, 0.4, 0.6, 0.8, 1.0, 1.2],
}
_SQUARE = [[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]]
_TETRAHEDRON = [[1.0, 1.0, 1.0], [1.0, -1.0, -1.0], [-1.0, 1.0, -1.0], [-1.0, -1.0, 1.0]]
_RELU_D2 = [[0.5, 0.5], [0.5, 1.0], [1.0, 0.5], [1.0, 1.0]]
_RELU_D3 = [[0.2, 0.2, 0.2], [1.0, 1.0, 0.2], [0.2, 1.0, 1.0], [1.0, 0.2, 1.0]]


@dataclass(frozen=True)
class Setup:
    """One published configuration: activation, inputs X (P, d_in), σ_W², σ_b²."""

    activation: str
    d_in: int
    X: np.ndarray
    sigma_w2: float
    sigma_b2: float

    def net(self, width: int, *, d_out: int = 1):
        """The :class:`~fieldnn.ensembles.SingleLayerNet` of this setup at ``width``."""
        from ..ensembles.architectures import SingleLayerNet

        return SingleLayerNet(
            self.activation,
            width,
            d_in=self.d_in,
            sigma_w2=self.sigma_w2,
            sigma_b2=self.sigma_b2,
            d_out=d_out,
        )


def published_setup(activation: str, d_in: int = 1) -> Setup:
    """The seed's inputs and (σ_W², σ_b²) for ``activation`` in ``d_in`` = 1, 2, 3.

    d_in = 1: the six inputs of the seed's table. d_in = 2: {−1, 1}² for Erf, 0.01× that for
    Gauss, {0.5, 1}² for ReLU. d_in = 3: the tetrahedron with vertices (±1, ±1, ±1) of even
    parity for Erf, 0.01× for Gauss, and (0.2,0.2,0.2), (1,1,0.2), (0.2,1,1), (1,0.2,1) for ReLU.
    (σ_W², σ_b²) = (1, 1) for Erf and Gauss, (1, 0) for ReLU.
    """
    if activation not in NETS:
        raise UnknownNameError("activation", activation, NETS)
    if d_in == 1:
        X = np.array(_D1[activation])[:, None]
    elif d_in == 2:
        X = np.array(_RELU_D2 if activation == "relu" else _SQUARE)
    elif d_in == 3:
        X = np.array(_RELU_D3 if activation == "relu" else _TETRAHEDRON)
    else:
        raise ArgumentError("d_in", f"published inputs exist for d_in = 1, 2, 3, got {d_in}")
    if activation == "gauss" and d_in > 1:
        X = 0.01 * X
    sw, sb = _HYPER[activation]
    return Setup(activation, d_in, X, sw, sb)


def default_cutoffs(activation: str, *, quick: bool = False) -> np.ndarray:
    """Cutoffs of the RG experiment: ReLU 7 … 10⁵ (as published); Erf and Gauss 10⁻² … 10⁴."""
    n = 9 if quick else 25
    if activation == "relu":
        return np.geomspace(7.0, 1.0e5, n)
    return np.geomspace(1.0e-2, 1.0e4, n)
