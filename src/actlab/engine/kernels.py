"""The NumPy engine's fast paths, kept apart from the backprop that :mod:`.layers` spells out.

A ``Dense`` layer computes the textbook's steps through a small set of operations (its
``ops``): the affine map ``z = x W + b``, the activation ``y = f(z)``, its vector-Jacobian
product ``dL/dz = dL/dy * f'(z)``, and the gradients ``x^T dL/dz``, ``sum_rows dL/dz`` and
``dL/dz W^T``. Two implementations give the same numbers:

* :class:`DenseOps` -- the reference: fresh arrays, the zoo's own function and VJP, ``np.sum``.
  Every call outside a training step takes it, and the tests hold the fast path to it.
* :class:`FastDenseOps` -- inside a training step (``Layer.reuse_buffers``): writes into arrays
  the layer keeps per batch size (``np.matmul(..., out=)``, nothing allocated from step to
  step), runs relu, tanh, sigmoid and softmax (with their default parameters) in place through
  :data:`ACTIVATION_KERNELS`, scales the incoming gradient array in place, and sums the bias
  gradient in the derivative's pass or by a column-sum kernel with numba (``np.sum``'s bits), else
  as a BLAS matrix-vector product with a vector of ones. Its products run in NumPy's
  BLAS, warmed up once per process (:data:`GEMM`); with ``ACTLAB_GEMM=torch``, PyTorch installed
  and one BLAS thread, the large float32 products ``x W`` and ``dL/dz W^T`` go to PyTorch's BLAS
  (MKL) instead (see :class:`Gemm`).

With numba installed (``pip install 'actlab[fast]'``), float32 steps run the bias add, relu's,
tanh's and sigmoid's derivative, the SGD update, the cross-entropy's value with its fused delta
and the accuracy's count as one-pass kernels with NumPy's bits (the loss value summed in float64),
and tanh and the softmax as float32 kernels within 1 ulp of float64's (not NumPy's bits)
(:data:`ELEMENTWISE`, :mod:`._numba_kernels`).

Each in-place pair computes the zoo's formulas and kink values from the kept output (relu'(0) = 0:
``y > 0`` exactly where ``z > 0``). float32 tanh comes from, in this order: the numba kernel when
numba is in use; else PyTorch on blocks of at least 64 x 64 values when :data:`GEMM` has PyTorch's
products (0.51 ulp at most, see :class:`Gemm`); else NumPy (1.36 ulp). The measurements behind every choice
are in ``docs/speed.md``.
"""
from __future__ import annotations

import os
import sys
import weakref
from collections.abc import Callable, Iterable
from typing import NamedTuple

import numpy as np

from .. import activations as _acts

_CONSTANTS: dict[tuple, np.ndarray] = {}


def constant(shape: tuple, dtype, value: float) -> np.ndarray:
    """A cached read-only array filled with ``value``.

    NumPy's ``maximum`` and ``greater`` run several times faster against an array of zeros than
    against the scalar 0, and a vector of ones turns a bias gradient's column sum into a BLAS
    matrix-vector product.
    """
    key = (shape, np.dtype(dtype), value)
    out = _CONSTANTS.get(key)
    if out is None:
        if len(_CONSTANTS) > 32:
            _CONSTANTS.clear()
        out = _CONSTANTS[key] = np.full(shape, value, dtype)
        out.flags.writeable = False
    return out


# -- in-place activations ---------------------------------------------------------------------
# ``forward(z, y, zeros)`` writes f(z) into y; ``backward(y, g, tmp, zeros)`` multiplies g in
# place by f'(z), computed from the output y (``tmp``: a scratch array of g's shape; ``zeros``: a
# read-only array of zeros of that shape, see ``constant``).

def _relu_forward(z, y, zeros):
    np.maximum(z, zeros, out=y)


def _relu_backward(y, g, tmp, zeros):
    fused = ELEMENTWISE.module
    if fused is not None and _fused(fused.relu_backward, y, g):
        return
    np.greater(y, zeros, out=tmp)   # relu'(z) = 1 where y > 0, else 0
    np.multiply(g, tmp, out=g)


def _tanh_forward(z, y, zeros):
    fused = ELEMENTWISE.module
    if fused is not None and _fused(fused.tanh_forward, z, y):
        return   # numba's float32 tanh: 0.98 ulp at most, 0.5x PyTorch's time, 0.34x NumPy's
    if GEMM.active and z.dtype == np.float32 and z.size >= TORCH_TANH_MIN_SIZE:
        GEMM.tanh(z, y)   # PyTorch's float32 tanh: 0.69x the time, 0.51 ulp at most (NumPy's 1.36)
    else:
        np.tanh(z, out=y)


def _tanh_backward(y, g, tmp, zeros):
    fused = ELEMENTWISE.module
    if fused is not None and _fused(fused.tanh_backward, y, g):
        return
    np.multiply(y, y, out=tmp)
    np.subtract(1.0, tmp, out=tmp)   # 1 - y**2, as zoo.d_tanh
    np.multiply(g, tmp, out=g)


def _sigmoid_forward(z, y, zeros):
    _acts.zoo.special.expit(z, out=y)


def _sigmoid_backward(y, g, tmp, zeros):
    fused = ELEMENTWISE.module
    if fused is not None and _fused(fused.sigmoid_backward, y, g):
        return
    np.subtract(1.0, y, out=tmp)
    np.multiply(tmp, y, out=tmp)     # s (1 - s), as zoo.d_sigmoid
    np.multiply(g, tmp, out=g)


def _softmax_forward(z, y, zeros):
    fused = ELEMENTWISE.module
    if fused is not None and _fused(fused.softmax_forward, z, y):
        return   # one call for the rows (NumPy: five, ~60 us on the notes' 100 x 10 output)
    # as zoo.softmax (last axis), into y
    np.subtract(z, np.maximum.reduce(z, axis=-1, keepdims=True), out=y)
    np.exp(y, out=y)
    np.divide(y, np.add.reduce(y, axis=-1, keepdims=True), out=y)


def _softmax_backward(y, g, tmp, zeros):
    # as zoo.vjp_softmax: s * (g - sum(g * s))
    np.multiply(g, y, out=tmp)
    np.subtract(g, np.add.reduce(tmp, axis=-1, keepdims=True), out=g)
    np.multiply(g, y, out=g)


def _backward_sum(name: str) -> Callable[[np.ndarray, np.ndarray, np.ndarray], bool]:
    """``backward_sum(y, g, sums)``: numba's ``backward_sum`` for the activation ``name``
    (``g *= f'(z)`` and the column sums of the result, the bias gradient, in one pass); False
    (nothing done) without numba or for arrays its kernel does not take."""
    def backward_sum(y, g, sums):
        fused = ELEMENTWISE.module
        return fused is not None and _fused(fused.backward_sum, y, g, sums, getattr(fused, name.upper()))
    return backward_sum


class ActivationKernel(NamedTuple):
    """An activation computed in place: ``forward(z, y, zeros)`` and ``backward(y, g, tmp, zeros)``;
    ``backward_sum(y, g, sums)``, where there is one, does ``backward`` and sums the result's
    columns into ``sums`` in one pass (False where it cannot: the caller then does both apart)."""

    forward: Callable[[np.ndarray, np.ndarray, np.ndarray], None]
    backward: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], None]
    backward_sum: Callable[[np.ndarray, np.ndarray, np.ndarray], bool] | None = None


# keyed by the zoo's function, so that a re-registered or parametrised activation takes the
# general path
ACTIVATION_KERNELS: dict[Callable, ActivationKernel] = {
    _acts.zoo.relu: ActivationKernel(_relu_forward, _relu_backward, _backward_sum("relu")),
    _acts.zoo.tanh: ActivationKernel(_tanh_forward, _tanh_backward, _backward_sum("tanh")),
    _acts.zoo.sigmoid: ActivationKernel(_sigmoid_forward, _sigmoid_backward, _backward_sum("sigmoid")),
    _acts.zoo.softmax: ActivationKernel(_softmax_forward, _softmax_backward),
}


def activation_kernel(act: _acts.Activation) -> ActivationKernel | None:
    """The in-place pair for ``act`` when it is the zoo's function with its default parameters."""
    pair = ACTIVATION_KERNELS.get(act.fn)
    if pair is None or act.params != _acts.get(act.name).params:
        return None
    return pair


# -- matrix products: NumPy's BLAS or PyTorch's -------------------------------------------------
GEMM_VARIABLE = "ACTLAB_GEMM"
GEMM_CHOICES = ("auto", "numpy", "torch")
TORCH_GEMM_MIN_DIM = 64   # smaller products stay in NumPy (MKL was 3x slower there: docs/speed.md)
WARM_UP_SIDE = 384   # the smallest square product that left OpenBLAS's small products fast (Gemm)
TORCH_TANH_MIN_SIZE = 64 * 64   # smaller blocks: NumPy's tanh (torch's call costs more than it saves)


def _parse_choice(variable: str, choices: tuple[str, ...], value: str | None) -> str:
    """``value`` (None or "" mean ``auto``) if it is one of ``choices``; else a ValueError naming
    the setting ``variable``, the value and the choices."""
    choice = (value or "auto").strip().lower()
    if choice not in choices:
        raise ValueError(f"{variable}={value!r}: expected one of {', '.join(choices)}")
    return choice


def parse_gemm_choice(value: str | None) -> str:
    """``auto`` (also for None or ""), ``numpy`` or ``torch``; anything else is a ValueError."""
    return _parse_choice(GEMM_VARIABLE, GEMM_CHOICES, value)


class Gemm:
    """Which BLAS computes a training step's large matrix products, and its one-time warm-up.

    **The warm-up.** NumPy's OpenBLAS (0.3.31, Haswell kernels, on the AMD EPYC of
    ``docs/speed.md``) runs small products up to 3x slower until the process has run one product
    with a side of at least 384: the notes' MLP's products took 0.53 s per epoch "cold" against
    0.33 s after such a product (``100 x 784 @ 784 x 200``: 2.4 ms cold, 0.87 ms warm), for the
    whole process. No system call or page fault differs between the two states (strace, rusage);
    the larger product writes the parts of OpenBLAS's work buffer that the small products then
    use. So the first training step of every process runs one ``384 x 384`` float32 product first
    (:meth:`warm_up`: about 5 ms, once).

    **The provider.** ``auto`` (the default) and ``numpy`` keep every product in NumPy's BLAS.
    ``torch`` hands the float32 products ``x W`` and ``dL/dz W^T`` whose dimensions are all at
    least :data:`TORCH_GEMM_MIN_DIM` to PyTorch's BLAS (MKL), as zero-copy ``torch.from_numpy``
    views, when PyTorch is installed (``pip install 'actlab[torch]'``); ``x^T dL/dz``, narrow
    products, float64, and everything outside a training step stay in NumPy, the reference.
    Likewise float32 ``tanh`` on blocks of at least :data:`TORCH_TANH_MIN_SIZE` values, unless
    numba's kernel takes it (:data:`ELEMENTWISE`): PyTorch's is at most 0.51 ulp from float64
    (NumPy's 1.36). ``auto`` took PyTorch's products until 2026-11-26, when the comparison was
    made against a cold OpenBLAS (0.53 s per epoch's products against MKL's 0.36 s); warm,
    OpenBLAS took 0.33 s and whole epochs were 1-3% faster than with MKL, without importing
    torch (~2.5 s and ~200 MB per process). On other CPUs MKL may win: ``ACTLAB_GEMM=torch``.
    torch is imported at the first such product, not before.

    PyTorch's products run only while every BLAS library that NumPy loaded runs **one thread**
    (a study worker, ``OPENBLAS_NUM_THREADS=1``, ``threadpool_limits(1)``): two libraries' thread
    pools spin-waiting side by side on the same cores made an epoch 10x slower. PyTorch then runs
    one thread too (``torch.set_num_threads(1)``; its previous count is restored when NumPy's BLAS
    gets more threads again). A process forked from one that had imported torch keeps NumPy's BLAS
    (PyTorch's thread pools do not survive a fork; ``spawn``-ed workers, as the study runner's,
    are not affected).

    The choice: :meth:`select` (``auto``, ``numpy`` or ``torch``), else the environment variable
    ``ACTLAB_GEMM``, else ``auto``; ``torch`` needs PyTorch (a ValueError without it). The two
    providers give the same numbers to float32 rounding, not bit for bit.
    """

    def __init__(self):
        self.choice: str | None = None   # None: read ACTLAB_GEMM at the first step
        self.active = False              # this step's eligible products go to torch
        self._blas: list | None = None   # threadpoolctl's controllers of the BLAS libraries
        self._torch = None
        self._torch_threads: int | None = None   # torch's thread count before we set it to 1
        self.forked_after_torch = False  # this process was forked from one that had imported torch
        self.warmed = False              # this process has run the warm-up product (warm_up)

    def _after_fork_in_child(self) -> None:
        # PyTorch's thread pools do not survive a fork: a child forked after the parent had used
        # them hung in torch.set_num_threads (a futex never released). Such a child keeps NumPy's.
        if "torch" in sys.modules:
            self.forked_after_torch, self.active, self._torch = True, False, None

    def select(self, choice: str | None = None, environ=None) -> str:
        """Set the provider from ``choice``, else ``$ACTLAB_GEMM``; returns the one in force
        (``auto`` is ``numpy``)."""
        import importlib.util

        environ = os.environ if environ is None else environ
        choice = parse_gemm_choice(environ.get(GEMM_VARIABLE) if choice is None else choice)
        if choice == "auto":
            choice = "numpy"   # warm OpenBLAS beat MKL here (the class's docstring)
        if choice == "torch" and self._torch is None and importlib.util.find_spec("torch") is None:
            raise ValueError(f"{GEMM_VARIABLE}=torch needs PyTorch (pip install 'actlab[torch]'); "
                             f"use one of auto, numpy")
        self.choice, self.active = choice, False
        return choice

    def refresh(self) -> bool:
        """At the start of each training step: whether its eligible products go to torch."""
        if not self.warmed:
            self.warm_up()
        if self.choice is None:
            self.select()
        if self.choice == "numpy" or self.forked_after_torch:
            self.active = False
            return False
        if self._blas is None:
            from threadpoolctl import ThreadpoolController

            self._blas = ThreadpoolController().select(user_api="blas").lib_controllers
        one = bool(self._blas) and all(c.get_num_threads() == 1 for c in self._blas)
        torch = self._torch
        if torch is not None:
            if one and torch.get_num_threads() != 1:
                self._torch_threads = torch.get_num_threads()
                torch.set_num_threads(1)
            elif not one and self._torch_threads is not None:
                torch.set_num_threads(self._torch_threads)
                self._torch_threads = None
        self.active = one
        return one

    def warm_up(self) -> None:
        """Run one ``384 x 384`` float32 product in NumPy's BLAS, once per process (see the class's
        docstring: OpenBLAS's small products ran up to 3x slower before one such product)."""
        self.warmed = True
        a = np.ones((WARM_UP_SIDE, WARM_UP_SIDE), np.float32)
        np.matmul(a, a, out=np.empty_like(a))

    def can_update(self) -> bool:
        """Whether this step's float32 kernels can be updated by :meth:`update`."""
        return not self.active and _numpy_sgemm() is not None

    def update(self, x: np.ndarray, gz: np.ndarray, kernel: np.ndarray, rate: float) -> bool:
        """``kernel -= rate * x^T gz`` as one product of NumPy's own BLAS (CBLAS ``sgemm`` with
        ``alpha = -rate``, ``beta = 1``): plain SGD's update of a dense kernel without writing its
        gradient and reading it back (on the notes' MLP, 3% of a one-thread epoch). False (nothing
        done) where it does not apply: not float32 or not C-contiguous arrays, PyTorch's products
        in use, or no CBLAS found in the BLAS NumPy loaded (:func:`_numpy_sgemm`)."""
        if self.active or x.dtype != np.float32:
            return False
        sgemm = _numpy_sgemm()
        if sgemm is None or not (x.flags.c_contiguous and gz.flags.c_contiguous and kernel.flags.c_contiguous
                                 and gz.dtype == kernel.dtype == np.float32 and kernel.flags.writeable):
            return False
        (n, fan_in), units = x.shape, gz.shape[1]
        if gz.shape[0] != n or kernel.shape != (fan_in, units):
            raise ValueError(f"update: x {x.shape}, gz {gz.shape} and kernel {kernel.shape} do not match")
        sgemm(_ROW_MAJOR, _TRANS, _NO_TRANS, fan_in, units, n, -rate, _address(x), fan_in,
              _address(gz), units, 1.0, _address(kernel), units)
        return True

    def _load_torch(self):
        import torch

        self._torch = torch
        if torch.get_num_threads() != 1:   # only active with one BLAS thread: so torch too
            self._torch_threads = torch.get_num_threads()
            torch.set_num_threads(1)
        return torch

    def matmul(self, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
        """``out = a @ b`` by PyTorch's BLAS on views of the same memory (``a`` and ``b`` may be
        transposed views); read-only operands (``torch.from_numpy`` warns on them) take NumPy's."""
        if not (a.flags.writeable and b.flags.writeable):
            np.matmul(a, b, out=out)
            return
        torch = self._torch or self._load_torch()
        view = torch.from_numpy
        torch.mm(view(a), view(b), out=view(out))

    def tanh(self, z: np.ndarray, out: np.ndarray) -> None:
        """``out = tanh(z)`` by PyTorch on views of the same memory (both writeable arrays)."""
        torch = self._torch or self._load_torch()
        torch.tanh(torch.from_numpy(z), out=torch.from_numpy(out))


_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112   # CBLAS's enumerations
_ADDRESSES: dict[tuple, tuple[weakref.ref, int]] = {}


def _address(a: np.ndarray) -> int:
    """``a.ctypes.data`` (1.3 us a call), remembered for the arrays a training step reuses: keyed
    by the array's identity and shape (an array keeps its memory while it lives, short of a
    resize, which changes its shape), with a weak reference that tells a living array from a
    new one given a dead one's identity (nothing is kept alive here)."""
    key = (id(a), a.shape)
    hit = _ADDRESSES.get(key)
    if hit is None or hit[0]() is not a:
        if len(_ADDRESSES) > 64:
            _ADDRESSES.clear()
        hit = _ADDRESSES[key] = (weakref.ref(a), a.ctypes.data)
    return hit[1]


_SGEMM: list = []   # [the CBLAS sgemm of NumPy's BLAS, or None], once looked up


def _numpy_sgemm():
    """``cblas_sgemm`` of the BLAS NumPy itself loaded (its pip wheels bundle OpenBLAS with the
    symbols ``scipy_cblas_sgemm64_``), through ctypes, or None: no such library or symbol, or a
    check product that did not equal NumPy's. Integers are passed as 64-bit, which a 32-bit-int
    CBLAS reads correctly too (the low half of each register or stack slot). Only NumPy's own
    library: another one (scipy's bundles a second OpenBLAS) would start a second thread pool."""
    if _SGEMM:
        return _SGEMM[0]
    _SGEMM.append(None)
    try:
        import ctypes

        from threadpoolctl import ThreadpoolController

        paths = [c.filepath for c in ThreadpoolController().select(user_api="blas").lib_controllers
                 if "numpy" in os.path.basename(os.path.dirname(c.filepath))]
        fn = None
        for path in paths:
            lib = ctypes.CDLL(path)
            for name in ("scipy_cblas_sgemm64_", "cblas_sgemm64_", "scipy_cblas_sgemm", "cblas_sgemm"):
                fn = getattr(lib, name, None)
                if fn is not None:
                    break
            if fn is not None:
                break
        if fn is None:
            return None
        i32, i64, f32, ptr = ctypes.c_int, ctypes.c_int64, ctypes.c_float, ctypes.c_void_p
        fn.restype = None
        fn.argtypes = [i32, i32, i32, i64, i64, i64, f32, ptr, i64, ptr, i64, f32, ptr, i64]
        rng = np.random.default_rng(0)
        x, g = rng.random((7, 5), dtype=np.float32), rng.random((7, 3), dtype=np.float32)
        w = rng.random((5, 3), dtype=np.float32)
        expected = w - np.float32(0.5) * np.matmul(x.T, g)
        fn(_ROW_MAJOR, _TRANS, _NO_TRANS, 5, 3, 7, -0.5, x.ctypes.data, 5, g.ctypes.data, 3, 1.0, w.ctypes.data, 3)
        if np.allclose(w, expected, rtol=1e-5, atol=1e-6):
            _SGEMM[0] = fn
    except (OSError, AttributeError, ImportError):
        pass
    return _SGEMM[0]


GEMM = Gemm()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=GEMM._after_fork_in_child)


# -- element-wise passes: NumPy or numba ----------------------------------------------------------
ELEMENTWISE_VARIABLE = "ACTLAB_ELEMENTWISE"
ELEMENTWISE_CHOICES = ("auto", "numpy", "numba")


def parse_elementwise_choice(value: str | None) -> str:
    """``auto`` (also for None or ""), ``numpy`` or ``numba``; anything else is a ValueError."""
    return _parse_choice(ELEMENTWISE_VARIABLE, ELEMENTWISE_CHOICES, value)


class Elementwise:
    """Which code runs a training step's fused element-wise passes: NumPy's ufuncs or numba kernels.

    With numba installed (``pip install 'actlab[fast]'``), float32 steps take one-pass kernels
    (:mod:`._numba_kernels`) for the bias add, the derivative of relu, tanh and sigmoid
    (``g *= f'(z)``), the plain SGD update ``w -= lr * g``, the fused delta of softmax with
    cross-entropy (with the loss value, summed in float64) and the accuracy's count; they give
    the same bits as the NumPy passes they replace (the tests compare them bit for bit). tanh and
    the softmax take kernels of their own (in place of PyTorch's or NumPy's float32 functions):
    within 1 ulp of float64's, so a network's numbers differ from NumPy's by float32 rounding,
    not bit for bit.
    Everything else, float64 and every call outside a training step stay in NumPy, the reference.

    The choice: :meth:`select` (``auto``, ``numpy`` or ``numba``), else the environment variable
    ``ACTLAB_ELEMENTWISE``, else ``auto``, read at the first training step. ``auto`` takes numba
    when it imports; ``numba`` insists (a ValueError without it); ``numpy`` never takes it.
    numba is imported then, not at ``import actlab`` (the first step pays for the import and for
    loading the kernels from numba's on-disk cache, or compiling them once: ``docs/speed.md``).
    """

    def __init__(self):
        self.choice: str | None = None   # None: read ACTLAB_ELEMENTWISE at the first step
        self.module = None               # actlab.engine._numba_kernels when numba is in use

    def select(self, choice: str | None = None, environ=None) -> str:
        """Set the provider from ``choice``, else ``$ACTLAB_ELEMENTWISE``; returns the one in force
        (``auto`` becomes ``numpy`` when numba is not installed)."""
        environ = os.environ if environ is None else environ
        choice = parse_elementwise_choice(environ.get(ELEMENTWISE_VARIABLE) if choice is None else choice)
        module = None
        if choice != "numpy":
            try:
                from . import _numba_kernels as module
            except ImportError:
                if choice == "numba":
                    raise ValueError(f"{ELEMENTWISE_VARIABLE}=numba needs numba (pip install 'actlab[fast]'); "
                                     f"use one of auto, numpy") from None
                choice = "numpy"
        self.choice, self.module = ("numba" if module is not None else "numpy"), module
        return self.choice

    def refresh(self) -> None:
        """At the start of each training step: the first one reads the choice."""
        if self.choice is None:
            self.select()


ELEMENTWISE = Elementwise()


def _fused(kernel, *arrays) -> bool:
    """Runs a numba kernel of :data:`ELEMENTWISE`; False (nothing done) where its signature does
    not take the arrays (not float32, not C-contiguous): the caller then takes NumPy's passes."""
    try:
        kernel(*arrays)
    except TypeError:
        return False
    return True


def _fused_value(name: str, *arrays):
    """What the numba kernel ``name`` of :data:`ELEMENTWISE` returns for ``arrays``; None (nothing
    done) without numba in use or where its signature does not take the arrays (as :func:`_fused`)."""
    fused = ELEMENTWISE.module
    if fused is None:
        return None
    try:
        return getattr(fused, name)(*arrays)
    except TypeError:
        return None


def cce_value_and_delta(y_true: np.ndarray, y_pred: np.ndarray, out: np.ndarray) -> float | None:
    """The categorical cross-entropy's value (as ``losses.categorical_crossentropy``, summed in
    float64) with its fused delta ``(p - y) / n`` written into ``out`` (the bits of
    ``Loss.fused_delta``), in one numba pass; None (nothing done) without numba in use or for
    arrays its kernel does not take (not float32, not C-contiguous)."""
    return _fused_value("cce_value_and_delta", y_true, y_pred, out)


def count_correct(y_true: np.ndarray, y_pred: np.ndarray) -> int | None:
    """``np.count_nonzero(y_pred.argmax(1) == y_true.argmax(1))`` in one numba pass; None without
    numba in use or for arrays its kernel does not take."""
    hits = _fused_value("count_correct", y_true, y_pred)
    return None if hits is None else int(hits)


# -- the operations of a Dense layer ------------------------------------------------------------
class DenseOps:
    """The reference operations of ``Dense``: fresh arrays and the zoo's own function and VJP."""

    def __init__(self, activation: _acts.Activation):
        self.activation = activation

    def affine(self, x, kernel, bias):
        """``x W + b`` (``bias`` may be None)."""
        z = x @ kernel
        if bias is not None:
            z += bias
        return z

    def activate(self, z):
        """``f(z)``."""
        return self.activation.fn(z, **self.activation.params)

    def activation_vjp(self, z, y, g, bias_out=None):
        """``g * f'(z)`` (the full VJP for activations that mix units, e.g. softmax). ``bias_out``:
        where the bias gradient will go (:meth:`bias_grad`); the fast ops may fill it here."""
        return self.activation.vjp(z, y, g)

    def weight_grad(self, x, gz, out):
        """``x^T gz`` into ``out``."""
        np.matmul(x.T, gz, out=out)

    def bias_grad(self, gz, out):
        """The column sums of ``gz`` into ``out``."""
        np.sum(gz, axis=0, out=out)

    def input_grad(self, gz, kernel):
        """``gz W^T``."""
        return gz @ kernel.T

    def update_kernel(self, x, gz, kernel, rate) -> bool:
        """The reference computes the gradient and leaves the update to the optimizer: False."""
        return False


class FastDenseOps(DenseOps):
    """The same operations inside a training step: no allocation, in-place activations.

    Arrays are kept per batch size (a few: the last batch of an epoch is often shorter);
    ``activation_vjp`` overwrites the gradient it is given (within a step that is the next
    layer's input-gradient array or the loss's delta, both the step's own).
    """

    def __init__(self, activation: _acts.Activation, units: int, input_dim: int, dtype):
        super().__init__(activation)
        self.kernel = activation_kernel(activation)
        self.units, self.input_dim, self.dtype = units, input_dim, np.dtype(dtype)
        self._buffers: dict[int, tuple[np.ndarray, ...]] = {}
        self._bias_done: np.ndarray | None = None   # a bias gradient activation_vjp filled

    def _arrays(self, n):
        """For a batch of ``n`` rows: z, y, a scratch array, the input gradient, two read-only
        arrays, zeros like z and a vector of n ones (kept here: no look-up per use), and whether
        this batch size's products ``x W`` and ``gz W^T`` are large enough for :data:`GEMM`'s torch."""
        bufs = self._buffers.get(n)
        if bufs is None:
            if len(self._buffers) > 3:
                self._buffers.clear()
            shape, dt = (n, self.units), self.dtype
            large = dt == np.float32 and min(n, self.units, self.input_dim) >= TORCH_GEMM_MIN_DIM
            bufs = self._buffers[n] = (np.empty(shape, dt), np.empty(shape, dt), np.empty(shape, dt),
                                       np.empty((n, self.input_dim), dt), constant(shape, dt, 0),
                                       constant((n,), dt, 1), large)
        return bufs

    def affine(self, x, kernel, bias):
        bufs = self._arrays(len(x))
        z = bufs[0]
        if bufs[6] and GEMM.active:
            GEMM.matmul(x, kernel, z)
        else:
            np.matmul(x, kernel, out=z)
        if bias is not None:
            fused = ELEMENTWISE.module
            if fused is None or not _fused(fused.bias_add, z, bias):
                np.add(z, bias, out=z)
        return z

    def activate(self, z):
        if self.kernel is None:
            return super().activate(z)
        bufs = self._buffers[len(z)]
        self.kernel.forward(z, bufs[1], bufs[4])
        return bufs[1]

    def activation_vjp(self, z, y, g, bias_out=None):
        if self.kernel is None or g.dtype != y.dtype:
            return super().activation_vjp(z, y, g)
        if (bias_out is not None and self.kernel.backward_sum is not None and bias_out.dtype == g.dtype
                and self.kernel.backward_sum(y, g, bias_out)):
            self._bias_done = bias_out   # bias_grad(g, bias_out) has nothing left to do
            return g
        bufs = self._buffers[len(z)]
        self.kernel.backward(y, g, bufs[2], bufs[4])
        return g

    def bias_grad(self, gz, out):
        if out is self._bias_done:   # summed by activation_vjp in its pass
            self._bias_done = None
            return
        fused = ELEMENTWISE.module   # the same sums as backward_sum's, for every activation
        if fused is not None and _fused(fused.column_sum, gz, out):
            return
        if gz.dtype == out.dtype and gz.flags.c_contiguous and len(gz) in self._buffers:
            np.dot(self._buffers[len(gz)][5], gz, out=out)   # ones^T gz, a BLAS GEMV: 3x faster than sum
        else:
            super().bias_grad(gz, out)

    def update_kernel(self, x, gz, kernel, rate) -> bool:
        """``kernel -= rate * x^T gz`` in one product where :meth:`Gemm.update` can; False otherwise."""
        return GEMM.update(x, gz, kernel, rate)

    def input_grad(self, gz, kernel):
        bufs = self._buffers[len(gz)]
        gin = bufs[3]
        if bufs[6] and GEMM.active:
            GEMM.matmul(gz, kernel.T, gin)
        else:
            np.matmul(gz, kernel.T, out=gin)
        return gin


class reusing_buffers:
    """``with reusing_buffers(layers):`` -- within the block the layers may write into arrays they
    reuse from step to step (``Layer.reuse_buffers``); outside it every call returns fresh arrays.
    (A class, not a generator: entered at every training step, it costs less.)"""

    __slots__ = ("layers",)

    def __init__(self, layers: Iterable):
        self.layers = layers

    def __enter__(self) -> None:
        GEMM.refresh()   # this step's large products: NumPy's BLAS or PyTorch's
        ELEMENTWISE.refresh()   # and its element-wise passes: NumPy or numba
        for layer in self.layers:
            layer.reuse_buffers = True

    def __exit__(self, *exc) -> None:
        for layer in self.layers:
            layer.reuse_buffers = False


# -- optimizer updates ----------------------------------------------------------------------------
def sgd_update(param: np.ndarray, grad: np.ndarray, rate: float, work: np.ndarray | None = None) -> None:
    """``param -= rate * grad`` in place, with ``work`` (an array like ``param``; made here if
    None) for the step, so that nothing is allocated: the same rounding as ``param -= rate * grad``.

    (Not scipy's BLAS axpy: scipy bundles a second OpenBLAS whose threads, spinning beside
    NumPy's, slowed a 2-thread epoch tenfold.) With numba in use (:data:`ELEMENTWISE`) a float32
    update of a Python-float rate is one pass, with the same rounding.
    """
    fused = ELEMENTWISE.module
    if fused is not None and type(rate) is float and _fused(fused.sgd_update, param, grad, np.float32(rate)):
        return
    if work is None:
        work = np.empty_like(param)
    np.multiply(grad, rate, out=work)
    np.subtract(param, work, out=param)


# -- threads on a busy machine --------------------------------------------------------------------
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def busy_machine_blas_threads(load: float | None = None, cores: int | None = None,
                              environ: dict | None = None) -> int | None:
    """1 (the BLAS threads to advise) when other work already occupies the cores, else None.

    A BLAS library starts one thread per core and its threads spin-wait for each other: when
    other processes hold the cores, a two-thread matrix product waits for a core that is not
    free. On the 2-core machine of docs/speed.md, at load 8 to 10, two OpenBLAS threads made an
    epoch 3 to 25 times slower than one. Busy means a 1-minute load average of at least the
    usable cores minus one half (taken before this process starts its own work). A thread count
    the user set (``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``) is kept.
    """
    environ = os.environ if environ is None else environ
    if any(environ.get(k) for k in THREAD_VARIABLES):
        return None
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if cores < 2:
        return None
    if load is None:
        try:
            load = os.getloadavg()[0]
        except OSError:
            return None
    return 1 if load >= cores - 0.5 else None
