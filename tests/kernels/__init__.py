"""Tests of fieldnn.kernels."""
