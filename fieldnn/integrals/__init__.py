r"""Integrals over the cutoff box :math:`[-\Lambda, \Lambda]^{d_{in}}` of products of kernels.

These are the position-space integrals of the NN-QFT interaction vertices (seed 001,
arXiv:2008.08601, eqs. (3.18), (3.19) and the RG section): the λ vertex
:math:`\int K_{1y}K_{2y}K_{3y}K_{4y}`, the κ vertex with a self loop
:math:`\int K_{1z}\cdots K_{4z}K_{zz}`, the six-leg κ vertex, and the O(λ²) two-vertex diagrams
:math:`\int\int K_{1y}K_{2y}K_{yz}^2K_{3z}K_{4z}`.

Convention (docs/conventions.md): on every leg stands ``K − subtract``; ``subtract = 0`` gives the
full kernel, ``subtract = σ_b²`` the kernel without the output-bias part (the bias b1 only feeds
the 2-point function). Which one is used must be reported with every λ.

Public names: :class:`IntegralResult`, :func:`vertex_integral`, :func:`two_vertex_integral`.
"""

# ruff: noqa: I001  (the public names, in the order of the docstring)
from ._common import IntegralResult as IntegralResult
from ._vertex import vertex_integral as vertex_integral
from ._two_vertex import two_vertex_integral as two_vertex_integral

__all__ = ["IntegralResult", "two_vertex_integral", "vertex_integral"]
