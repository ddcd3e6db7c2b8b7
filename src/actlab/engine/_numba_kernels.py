"""numba kernels for the NumPy engine's element-wise passes (``pip install 'actlab[fast]'``).

Imported only through :data:`actlab.engine.kernels.ELEMENTWISE` (at the first training step,
when numba is installed). Each kernel is one pass over memory where NumPy takes two or three,
and computes the same float32 operations in the same order, so the results are the same bits
(no ``fastmath``: nothing is reassociated or fused into a multiply-add). They take float32
C-contiguous arrays only; the callers check that and take NumPy's path otherwise.

The compiled code is cached on disk (numba's ``cache=True``: the package's ``__pycache__``, else
numba's user-wide cache directory, or ``NUMBA_CACHE_DIR``); where no cache directory is writable
they are compiled in memory at each process's first step.
"""
from __future__ import annotations

import numpy as np
from numba import njit

ONE = np.float32(1.0)


def _jit(fn):
    try:
        return njit(cache=True)(fn)
    except RuntimeError:   # numba: "cannot cache function ...: no locator available" (read-only)
        return njit(cache=False)(fn)


@_jit
def _bias_add(z, b):
    # z += b, row by row (NumPy's broadcast add is ~2.5x slower on 100 x 200)
    n, m = z.shape
    for i in range(n):
        for j in range(m):
            z[i, j] += b[j]


@_jit
def _relu_backward(y, g):
    # g *= (y > 0): one pass instead of np.greater + np.multiply
    yf, gf = y.reshape(-1), g.reshape(-1)
    for i in range(gf.size):
        gf[i] = gf[i] * np.float32(yf[i] > 0)


@_jit
def _tanh_backward(y, g):
    # g *= 1 - y*y, as np.multiply(y, y), np.subtract(1, .), np.multiply(g, .)
    yf, gf = y.reshape(-1), g.reshape(-1)
    for i in range(gf.size):
        gf[i] = gf[i] * (ONE - yf[i] * yf[i])


@_jit
def _sigmoid_backward(y, g):
    # g *= (1 - y) * y, as np.subtract(1, y), np.multiply(., y), np.multiply(g, .)
    yf, gf = y.reshape(-1), g.reshape(-1)
    for i in range(gf.size):
        gf[i] = gf[i] * ((ONE - yf[i]) * yf[i])


@_jit
def _sgd(w, g, rate):
    # w -= rate * g, as np.multiply(g, rate), np.subtract(w, .): one pass instead of two
    for i in range(w.size):
        w[i] = w[i] - g[i] * rate


def _ok(*arrays) -> bool:
    return all(a.dtype == np.float32 and a.flags.c_contiguous for a in arrays)


def bias_add(z: np.ndarray, b: np.ndarray) -> bool:
    """``z += b`` (b broadcast over the rows); False (nothing done) unless float32 contiguous."""
    if z.ndim != 2 or not _ok(z, b):
        return False
    _bias_add(z, b)
    return True


def _backward(kernel):
    def backward(y: np.ndarray, g: np.ndarray) -> bool:
        if y.shape != g.shape or not _ok(y, g):
            return False
        kernel(y, g)
        return True
    return backward


relu_backward = _backward(_relu_backward)
tanh_backward = _backward(_tanh_backward)
sigmoid_backward = _backward(_sigmoid_backward)


def sgd_update(param: np.ndarray, grad: np.ndarray, rate: float) -> bool:
    """``param -= rate * grad`` in one pass, with the rounding of the two NumPy passes."""
    if param.shape != grad.shape or not _ok(param, grad):
        return False
    _sgd(param.reshape(-1), grad.reshape(-1), np.float32(rate))
    return True


def warm_up() -> None:
    """Compile (or load from the cache) every kernel for float32 arrays."""
    z = np.zeros((2, 3), np.float32)
    bias_add(z, np.zeros(3, np.float32))
    for k in (relu_backward, tanh_backward, sigmoid_backward):
        k(z, z.copy())
    sgd_update(z.copy(), z, 0.0)
