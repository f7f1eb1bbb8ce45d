"""fieldnn: ensembles of neural networks as Euclidean field theories."""

__version__ = "0.1.0"
