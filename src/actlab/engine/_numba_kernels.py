"""numba kernels for the NumPy engine's element-wise passes (``pip install 'actlab[fast]'``).

Imported only through :data:`actlab.engine.kernels.ELEMENTWISE` (at the first training step,
when numba is installed). Each kernel is one pass over memory where NumPy takes two or three,
and computes the same float32 operations in the same order, so the results are the same bits
(no ``fastmath``: nothing is reassociated or fused into a multiply-add). They take float32
C-contiguous arrays only (their signatures are declared: other arrays raise ``TypeError``, on
which the callers take NumPy's path) and check their shapes (``ValueError``).

The compiled code is cached on disk (numba's ``cache=True``: the package's ``__pycache__``, else
numba's user-wide cache directory, or ``NUMBA_CACHE_DIR``); where no cache directory is writable
they are compiled in memory when this module is imported (at the first training step).
"""
from __future__ import annotations

import numpy as np
from numba import njit

ONE = np.float32(1.0)
MATRIX, VECTOR = "float32[:, ::1]", "float32[::1]"


def _jit(signature):
    def decorate(fn):
        try:
            return njit(signature, cache=True)(fn)
        except RuntimeError:   # numba: "cannot cache function ...: no locator available" (read-only)
            return njit(signature, cache=False)(fn)
    return decorate


@_jit(f"void({MATRIX}, {VECTOR})")
def bias_add(z, b):
    """``z += b`` row by row (NumPy's broadcast add took 2.5x the time on 100 x 200)."""
    n, m = z.shape
    if b.size != m:
        raise ValueError("bias_add: the bias does not match the columns")
    for i in range(n):
        for j in range(m):
            z[i, j] += b[j]


@_jit(f"void({MATRIX}, {MATRIX})")
def relu_backward(y, g):
    """``g *= (y > 0)``: one pass instead of ``np.greater`` and ``np.multiply``."""
    if y.shape != g.shape:
        raise ValueError("relu_backward: shapes differ")
    yf, gf = y.reshape(-1), g.reshape(-1)
    for i in range(gf.size):
        gf[i] = gf[i] * np.float32(yf[i] > 0)


@_jit(f"void({MATRIX}, {MATRIX})")
def tanh_backward(y, g):
    """``g *= 1 - y*y``, as ``np.multiply(y, y)``, ``np.subtract(1, .)``, ``np.multiply(g, .)``."""
    if y.shape != g.shape:
        raise ValueError("tanh_backward: shapes differ")
    yf, gf = y.reshape(-1), g.reshape(-1)
    for i in range(gf.size):
        gf[i] = gf[i] * (ONE - yf[i] * yf[i])


@_jit(f"void({MATRIX}, {MATRIX})")
def sigmoid_backward(y, g):
    """``g *= (1 - y) * y``, as ``np.subtract(1, y)``, ``np.multiply(., y)``, ``np.multiply(g, .)``."""
    if y.shape != g.shape:
        raise ValueError("sigmoid_backward: shapes differ")
    yf, gf = y.reshape(-1), g.reshape(-1)
    for i in range(gf.size):
        gf[i] = gf[i] * ((ONE - yf[i]) * yf[i])


@_jit(f"void({VECTOR}, {VECTOR}, float32)")
def sgd_update(w, g, rate):
    """``w -= rate * g`` in one pass, as ``np.multiply(g, rate)``, ``np.subtract(w, .)`` (``rate``: a
    float32, as NumPy takes a Python float against float32 arrays)."""
    if w.size != g.size:
        raise ValueError("sgd_update: sizes differ")
    for i in range(w.size):
        w[i] = w[i] - g[i] * rate
