"""numba kernels for the NumPy engine's element-wise passes (``pip install 'actlab[fast]'``).

Imported only through :data:`actlab.engine.kernels.ELEMENTWISE` (at the first training step,
when numba is installed). Each kernel is one pass over memory where NumPy takes two or three,
and computes the same float32 operations in the same order, so the results are the same bits
(no ``fastmath``: nothing is reassociated or fused into a multiply-add). The exception is
:func:`tanh_forward`, which replaces NumPy's (or PyTorch's) float32 ``tanh`` by a vectorised
evaluation in float64: within 0.5 ulp of float64's ``tanh`` but for rare ties (NumPy's: 1.36 ulp),
so not the same bits as ``np.tanh``. They take float32
C-contiguous arrays only (their signatures are declared: other arrays raise ``TypeError``, on
which the callers take NumPy's path) and check their shapes (``ValueError``).

The compiled code is cached on disk (numba's ``cache=True``: the package's ``__pycache__``, else
numba's user-wide cache directory, or ``NUMBA_CACHE_DIR``); where no cache directory is writable
they are compiled in memory when this module is imported (at the first training step).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

ONE = np.float32(1.0)
MATRIX, VECTOR = "float32[:, ::1]", "float32[::1]"


def _jit(signature, **options):
    def decorate(fn):
        try:
            return njit(signature, cache=True, **options)(fn)
        except RuntimeError:   # numba: "cannot cache function ...: no locator available" (read-only)
            return njit(signature, cache=False, **options)(fn)
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


# expm1(s) = s (1 + s/2! + s^2/3! + ... + s^6/7!) + O(s^8/8!): Taylor, 7 terms
_E2, _E3, _E4, _E5, _E6, _E7 = (1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040)


# error_model="numpy": no zero-division check on m / (m + 2), which kept LLVM from vectorising
@_jit(f"void({MATRIX}, {MATRIX})", error_model="numpy")
def tanh_forward(z, y):
    """``y = tanh(z)`` for float32 ``z``, evaluated in float64 and rounded once to float32.

    For ``a = |z|`` clamped to 10 (float32's ``tanh`` is 1 from 9.02 on; NaN stays NaN, an
    infinity gives 1): ``s = a / 16``, ``m = expm1(s)`` by its Taylor polynomial of degree 7
    (Estrin's scheme), then five doublings ``expm1(2t) = expm1(t) (2 + expm1(t))`` give
    ``m = expm1(2a)`` without losing relative precision near 0, and ``tanh(a) = m / (m + 2)``;
    the sign of ``z`` is copied onto the result (``tanh(-0) = -0``). Only branch-free float64
    arithmetic, so LLVM vectorises the loop (4 values per AVX2 instruction). Measured: at most
    6.6e-12 relative error before the rounding to float32 (on 2.1 million points of [1e-30, 10]),
    so the float32 result is the correctly rounded ``tanh`` except where the exact value lies that
    close to a rounding tie. Over every float32 in [0, 10] (1.09e9 values; negative ones by the
    kernel's symmetry, larger ones give 1): at
    most 0.50011 ulp from float64's ``tanh`` (at 3.9522567), 1,165 values not the correctly
    rounded float32 (NumPy's float32 ``tanh``: 1.36 ulp, PyTorch's 0.51). Time, 100 x 200 block,
    one thread: about 0.8x PyTorch's and 0.55x NumPy's (``docs/speed.md``).
    """
    if z.shape != y.shape:
        raise ValueError("tanh_forward: shapes differ")
    zf, yf = z.reshape(-1), y.reshape(-1)
    for i in range(zf.size):
        x = np.float64(zf[i])
        a = abs(x)
        a = 10.0 if a > 10.0 else a         # a comparison with NaN is false: NaN stays NaN
        s = a * 0.0625                      # 2a = 32 s, s <= 0.625
        s2 = s * s
        m = s * (((1.0 + s * _E2) + s2 * (_E3 + s * _E4)) + (s2 * s2) * ((_E5 + s * _E6) + s2 * _E7))
        m = m * (2.0 + m)                   # expm1(2s)
        m = m * (2.0 + m)
        m = m * (2.0 + m)
        m = m * (2.0 + m)
        m = m * (2.0 + m)                   # expm1(32 s) = expm1(2a)
        yf[i] = np.float32(math.copysign(m / (m + 2.0), x))
