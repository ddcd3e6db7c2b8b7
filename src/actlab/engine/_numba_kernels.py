"""numba kernels for the NumPy engine's element-wise passes (``pip install 'actlab[fast]'``).

Imported only through :data:`actlab.engine.kernels.ELEMENTWISE` (at the first training step,
when numba is installed). Each kernel is one pass over memory where NumPy takes two or three,
and computes the same float32 operations in the same order, so the results are the same bits
(no ``fastmath``: nothing is reassociated or fused into a multiply-add). The exceptions are
:func:`tanh_forward`, which replaces NumPy's (or PyTorch's) float32 ``tanh`` by its own vectorised
float32 evaluation (polynomials in explicit fused multiply-adds): within 1 ulp of float64's
``tanh`` (NumPy's: 1.36 ulp), so not the same bits as ``np.tanh``; :func:`softmax_forward`
(float64's exponential, sum and quotient, rounded: within 1 ulp, NumPy's float32 softmax up to
3); and the loss value of :func:`cce_value_and_delta`, summed in float64. They take float32
C-contiguous arrays only (their signatures are declared: other arrays raise ``TypeError``, on
which the callers take NumPy's path) and check their shapes (``ValueError``).

The compiled code is cached on disk (numba's ``cache=True``: the package's ``__pycache__``, else
numba's user-wide cache directory, or ``NUMBA_CACHE_DIR``); where no cache directory is writable
they are compiled in memory when this module is imported (at the first training step).
"""
from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

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


@_jit(f"void({MATRIX}, {VECTOR})")
def column_sum(g, s):
    """``s = np.sum(g, axis=0)`` with its bits (rows added in order): a dense layer's bias gradient
    summed as :func:`backward_sum` sums it, whatever the activation."""
    n, m = g.shape
    if s.size != m:
        raise ValueError("column_sum: shapes differ")
    for i in range(n):
        for j in range(m):
            s[j] = g[i, j] if i == 0 else s[j] + g[i, j]


RELU, TANH, SIGMOID = 0, 1, 2   # the activations backward_sum knows


@_jit(f"void({MATRIX}, {MATRIX}, {VECTOR}, int64)")
def backward_sum(y, g, s, kind):
    """``g *= f'(z)`` from the output ``y`` as :func:`relu_backward`, :func:`tanh_backward` or
    :func:`sigmoid_backward` (``kind``: :data:`RELU`, :data:`TANH`, :data:`SIGMOID`; their bits), and
    the column sums of the result into ``s`` (a dense layer's bias gradient) in the same pass, row
    after row as ``np.sum(g, axis=0)`` adds them (its bits). LLVM takes the test of ``kind`` out
    of the loop."""
    n, m = g.shape
    if y.shape != g.shape or s.size != m or not 0 <= kind <= 2:
        raise ValueError("backward_sum: shapes differ, or an unknown kind")
    for i in range(n):
        for j in range(m):
            if kind == RELU:
                v = g[i, j] * np.float32(y[i, j] > 0)
            elif kind == TANH:
                v = g[i, j] * (ONE - y[i, j] * y[i, j])
            else:
                v = g[i, j] * ((ONE - y[i, j]) * y[i, j])
            g[i, j] = v
            s[j] = v if i == 0 else s[j] + v


@_jit(f"void({VECTOR}, {VECTOR}, float32)")
def sgd_update(w, g, rate):
    """``w -= rate * g`` in one pass, as ``np.multiply(g, rate)``, ``np.subtract(w, .)`` (``rate``: a
    float32, as NumPy takes a Python float against float32 arrays)."""
    if w.size != g.size:
        raise ValueError("sgd_update: sizes differ")
    for i in range(w.size):
        w[i] = w[i] - g[i] * rate


@intrinsic
def _fma(typingctx, a, b, c):
    """``a * b + c`` rounded once (LLVM's ``llvm.fma.f32``: the FMA instruction, or libm's
    ``fmaf`` where the CPU has none; the same bits either way)."""
    if not a == b == c == types.float32:
        return None

    def codegen(context, builder, signature, args):
        f = ir.FloatType()
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(f, [f, f, f]), "llvm.fma.f32")
        return builder.call(fn, args)
    return types.float32(types.float32, types.float32, types.float32), codegen


@intrinsic
def _pow2(typingctx, k):
    """``2^k`` for a float32 holding an integer ``k`` in [-126, 127]: the float32 whose bits are
    ``(k + 127) << 23`` (numba has no bit cast of its own; this one vectorises)."""
    if k != types.float32:
        return None

    def codegen(context, builder, signature, args):
        f = ir.FloatType()
        biased = builder.fmul(builder.fadd(args[0], ir.Constant(f, 127.0)), ir.Constant(f, 8388608.0))
        return builder.bitcast(builder.fptosi(biased, ir.IntType(32)), f)
    return types.float32(types.float32), codegen


_f32 = np.float32
# tanh(a) = a + a^3 P(a^2) on [0, 0.9]: minimax in relative error (Lawson's iteration on 4,000
# Chebyshev nodes, fitted in float64: 1.1e-9), coefficients rounded to float32
_P = tuple(_f32(c) for c in (-0.33333322405815125, 0.13332977890968323, -0.05392930284142494,
                             0.021663542836904526, -0.008264543488621712, 0.00258266762830317,
                             -0.00045545989996753633))
# expm1(r) = r + r^2 Q(r) on |r| <= ln(2)/2: the same fit (exp(r) within 3.1e-9)
_Q = tuple(_f32(c) for c in (0.4999999403953552, 0.1666652113199234, 0.04166838899254799,
                             0.00836874544620514, 0.0013814539415761828))
_TANH_SMALL = _f32(0.9)             # the polynomial below, 1 - 2 / (exp(2a) + 1) from here
_TANH_CLAMP = _f32(9.125)           # float32's tanh is 1 from 9.0109 on
_LOG2E = _f32(1.4426950408889634)
_MAGIC = _f32(12582912.0)           # 1.5 * 2^23: (v + _MAGIC) - _MAGIC rounds v to an integer
_LN2_HI = _f32(-0.693359375)        # -ln 2 in two parts (Cody and Waite): k * _LN2_HI is exact
_LN2_LO = _f32(0.693359375 - math.log(2))
_TWO = _f32(2.0)


@njit(inline="always", error_model="numpy")
def _tanh32(x):
    a = abs(x)
    # a + a^3 P(a^2); NaN stays NaN here, and this branch is taken for it (below)
    u = a * a
    p = _fma(_fma(_fma(_fma(_fma(_fma(_P[6], u, _P[5]), u, _P[4]), u, _P[3]), u, _P[2]), u, _P[1]), u, _P[0])
    small = _fma(a * u, p, a)
    # 1 - 2 / (exp(2a) + 1), exp(2a) + 1 = 2^k expm1(r) + (2^k + 1), 2a = k ln 2 + r, |r| <= ln(2)/2
    b = a if a < _TANH_CLAMP else _TANH_CLAMP     # NaN and inf too: every lane's k stays finite
    s = b + b
    k = _fma(s, _LOG2E, _MAGIC) - _MAGIC
    r = _fma(k, _LN2_LO, _fma(k, _LN2_HI, s))
    q = _fma(_fma(_fma(_fma(_Q[4], r, _Q[3]), r, _Q[2]), r, _Q[1]), r, _Q[0])
    two_k = _pow2(k)                              # 2^k + 1 is exact up to k = 23 (tanh is 1 above)
    large = ONE - _TWO / _fma(_fma(r * r, q, r), two_k, two_k + ONE)
    return math.copysign(large if a >= _TANH_SMALL else small, x)


# error_model="numpy": no zero-division check on the division, which kept LLVM from vectorising
@_jit(f"void({MATRIX}, {MATRIX})", error_model="numpy")
def tanh_forward(z, y):
    """``y = tanh(z)`` for float32 ``z``, in float32 arithmetic (8 values per AVX2 instruction).

    For ``a = |z|``: below 0.9, ``tanh(a) = a + a^3 P(a^2)`` with a minimax polynomial ``P`` of
    degree 6; from 0.9, ``tanh(a) = 1 - 2 / (exp(2a) + 1)`` with ``a`` clamped to 9.125 (float32's
    ``tanh`` is 1 from 9.0109 on; an infinity gives 1): ``2a = k ln 2 + r`` (``k`` the nearest
    integer, ``ln 2`` in two parts), ``expm1(r)`` by a minimax polynomial of degree 6, and
    ``exp(2a) + 1 = 2^k expm1(r) + (2^k + 1)`` in one fused multiply-add. The sign of ``z`` is
    copied onto the result (``tanh(-0) = -0``, NaN stays NaN). Both branches are computed and one
    selected, without branches (LLVM vectorises the loop); the polynomials by Horner's scheme in
    fused multiply-adds (``_fma``: rounded once, the same bits on every CPU; no ``fastmath``,
    nothing else is fused or reassociated). Over every float32 in [0, 9.2] (1.09e9 values; the
    kernel is odd bit for bit, larger values give 1, measured up to the largest float32): at most
    0.97937 ulp from float64's ``tanh`` (at 0.9027404), 0.18% of the values not the correctly
    rounded float32 (NumPy's float32 ``tanh``: 1.36 ulp, PyTorch's 0.51). Time, 100 x 200 block,
    one thread: about 0.6x the same function evaluated in float64 (the kernel before), 0.5x
    PyTorch's and 0.34x NumPy's (``docs/speed.md``).
    """
    if z.shape != y.shape:
        raise ValueError("tanh_forward: shapes differ")
    zf, yf = z.reshape(-1), y.reshape(-1)
    for i in range(zf.size):
        yf[i] = _tanh32(zf[i])


# -- the output layer: softmax, the cross-entropy with its fused delta, the correct count ----------
# On the notes' 100 x 10 output NumPy spends most of its time in per-call overhead (five ufunc
# calls for the softmax, six for the loss and its delta, two argmax for the accuracy): ~150 us a
# step in a training epoch, 12 ms of one epoch. These do each in one call.

@_jit(f"void({MATRIX}, {MATRIX})", error_model="numpy")
def softmax_forward(z, p):
    """``p = softmax(z)`` row by row, as ``zoo.softmax``: ``e = exp(z - max(z))``, ``p = e / sum(e)``.

    ``z - max`` is rounded to float32 as NumPy's; the exponential is float64's rounded to float32,
    summed and divided in float64, the quotient rounded: within an ulp of the exact softmax of the
    float32 differences. Not NumPy's bits: NumPy's float32 ``exp`` is its own SIMD approximation,
    its sum and division float32."""
    if z.shape != p.shape:
        raise ValueError("softmax_forward: shapes differ")
    n, m = z.shape
    for i in range(n):
        top = z[i, 0]
        for j in range(1, m):
            if z[i, j] > top or z[i, j] != z[i, j]:   # a NaN propagates, as np.maximum.reduce
                top = z[i, j]
        total = 0.0
        for j in range(m):
            e = np.float32(math.exp(np.float64(z[i, j] - top)))
            p[i, j] = e
            total += np.float64(e)
        for j in range(m):
            p[i, j] = np.float32(np.float64(p[i, j]) / total)


_EPSILON = np.float32(1e-7)   # losses.EPSILON: the clip of probabilities before the log
_ONE_MINUS_EPSILON = np.float32(1.0 - 1e-7)


@_jit(f"float64({MATRIX}, {MATRIX}, {MATRIX})", error_model="numpy")
def cce_value_and_delta(y, p, delta):
    """The categorical cross-entropy of probabilities ``p`` against targets ``y``, mean over the
    rows (``losses.categorical_crossentropy``: ``p`` clipped to [1e-7, 1 - 1e-7], summed in
    float64 here), returned; and its fused delta ``(p - y) / n`` written into ``delta``, with the
    bits of ``losses.Loss.fused_delta`` (``p - y``, then times ``float32(1 / n)``)."""
    if y.shape != p.shape or delta.shape != p.shape:
        raise ValueError("cce_value_and_delta: shapes differ")
    n, m = p.shape
    scale = np.float32(1.0 / n)
    total = 0.0
    for i in range(n):
        for j in range(m):
            delta[i, j] = (p[i, j] - y[i, j]) * scale
        for j in range(m):
            if y[i, j] != 0:   # a log only where a term can be non-zero (one per row, one-hot)
                q = min(max(p[i, j], _EPSILON), _ONE_MINUS_EPSILON)
                total -= np.float64(y[i, j]) * math.log(np.float64(q))
            if p[i, j] != p[i, j] or y[i, j] != y[i, j]:
                total = math.nan   # a NaN makes the loss NaN, as NumPy's sum does (0 * log(NaN))
    return total / n


@_jit(f"int64({MATRIX}, {MATRIX})")
def count_correct(y, p):
    """How many rows of ``p`` have their largest value in the column where ``y`` has its largest,
    as ``np.count_nonzero(p.argmax(1) == y.argmax(1))`` (the first largest; a NaN counts as the
    largest, as in ``np.argmax``)."""
    if y.shape != p.shape:
        raise ValueError("count_correct: shapes differ")
    n, m = p.shape
    hits = 0
    for i in range(n):
        a = 0
        b = 0
        for j in range(1, m):
            if p[i, a] == p[i, a] and (p[i, j] > p[i, a] or p[i, j] != p[i, j]):
                a = j
            if y[i, b] == y[i, b] and (y[i, j] > y[i, b] or y[i, j] != y[i, j]):
                b = j
        if a == b:
            hits += 1
    return hits
