"""Every activation of the zoo: the function, its derivative, formula, properties and paper.

Each function here is stateless NumPy, keeps the dtype and shape of its input, and is
finite with no warnings for inputs from -1e4 to 1e4 in float32 and float64. Derivatives are
with respect to the input; ``y`` is the already computed output when the caller has it.
Parameters are plain keywords whose defaults are the registry's defaults (and the layers').
"""
from __future__ import annotations

import functools
import math

import numpy as np
from scipy import special

from .base import Activation, Domain, Properties, add, document_function

INF = math.inf

# ----------------------------------------------------------------------------- helpers


def _props(lo, hi, monotonic, zero_centred, smooth, max_der):
    return lambda **p: Properties((lo, hi), monotonic, zero_centred, smooth, max_der)


def _sigmoid(x):
    # scipy's expit is the sign-split logistic: exp(-|x|) only, never overflows.
    return special.expit(x)


def _softplus(x):
    return np.logaddexp(x, 0.0)


def _where_neg(x):
    """x where x < 0 else 0: the argument for expm1/exp in ELU-like branches (cannot overflow)."""
    return np.minimum(x, 0.0)


def _one(x):
    return np.ones_like(x)


# ----------------------------------------------------------------------------- study notes


def linear(x):
    return x.copy()


def d_linear(x, y):
    return _one(x)


def sigmoid(x):
    return _sigmoid(x)


def d_sigmoid(x, y):
    s = _sigmoid(x) if y is None else y
    return s * (1.0 - s)


def tanh(x):
    return np.tanh(x)


def d_tanh(x, y):
    t = np.tanh(x) if y is None else y
    return 1.0 - t * t


def relu(x):
    return np.maximum(x, 0.0)


def d_relu(x, y):
    # ReLU'(0) = 0 on purpose (minimum-norm subgradient, as JAX and PyTorch).
    return (x > 0).astype(x.dtype)


def leaky_relu(x, alpha=0.01):
    return np.where(x > 0, x, x * alpha).astype(x.dtype, copy=False)


def _slope_at_zero(alpha):
    """The minimum-norm one-sided derivative at 0: alpha (left) unless |alpha| > 1 (right: 1)."""
    return np.where(np.abs(alpha) > 1.0, 1.0, alpha)


def d_leaky_relu(x, y, alpha=0.01):
    # at 0: alpha, or 1 when |alpha| > 1 (the one-sided derivative of smaller magnitude)
    return np.where(x > 0, 1.0, np.where(x < 0, alpha, _slope_at_zero(alpha))).astype(x.dtype)


def prelu(x, alpha=0.0):
    """Parametric ReLU; ``alpha`` is a scalar or an array broadcasting against ``x`` (per unit)."""
    return np.where(x > 0, x, x * alpha).astype(x.dtype, copy=False)


def d_prelu(x, y, alpha=0.0):
    return d_leaky_relu(x, y, alpha)


def d_prelu_alpha(x):
    """d prelu / d alpha, elementwise: x where x < 0 else 0 (sum over the batch for the gradient)."""
    return np.minimum(x, 0.0)


def elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(_where_neg(x))).astype(x.dtype, copy=False)


def d_elu(x, y, alpha=1.0):
    d = np.where(x > 0, 1.0, alpha * np.exp(_where_neg(x))).astype(x.dtype, copy=False)
    if abs(alpha) > 1.0:  # minimum-norm subgradient at the kink: alpha, or 1 when |alpha| > 1
        d[x == 0] = 1.0
    return d


def rrelu(x, lower=1.0 / 8.0, upper=1.0 / 3.0):
    """RReLU at inference: a leaky ReLU with the mean slope (lower + upper) / 2.

    In training (the ``RReLU`` layer) each unit draws its slope uniformly from
    [lower, upper] at every step; at test time the fixed mean slope is used.
    """
    return leaky_relu(x, alpha=(lower + upper) / 2.0)


def d_rrelu(x, y, lower=1.0 / 8.0, upper=1.0 / 3.0):
    return d_leaky_relu(x, y, alpha=(lower + upper) / 2.0)


def _check_rrelu(lower, upper):
    if not lower <= upper:
        raise ValueError(f"invalid values lower={lower!r}, upper={upper!r} for rrelu: expected lower <= upper")


def softmax(x, axis=-1):
    z = x - np.max(x, axis=axis, keepdims=True)
    np.exp(z, out=z)
    z /= np.sum(z, axis=axis, keepdims=True)
    return z


def d_softmax(x, y, axis=-1):
    """The full Jacobian dy_i/dx_j = y_i (delta_ij - y_j), shape (..., n, n). Engines use the VJP."""
    if axis not in (-1, x.ndim - 1):
        raise ValueError(f"softmax Jacobian is only available for the last axis, got axis={axis!r}")
    s = softmax(x) if y is None else y
    jac = -s[..., :, None] * s[..., None, :]
    idx = np.arange(s.shape[-1])
    jac[..., idx, idx] += s
    return jac


def vjp_softmax(x, y, g, axis=-1):
    s = softmax(x, axis) if y is None else y
    return s * (g - np.sum(g * s, axis=axis, keepdims=True))


def log_softmax(x, axis=-1):
    z = x - np.max(x, axis=axis, keepdims=True)
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def d_log_softmax(x, y, axis=-1):
    s = softmax(x, axis)
    n = s.shape[-1]
    return np.eye(n, dtype=x.dtype) - s[..., None, :]


def vjp_log_softmax(x, y, g, axis=-1):
    s = softmax(x, axis)
    return g - s * np.sum(g, axis=axis, keepdims=True)


def maxout(x, k=2):
    """Maxout over consecutive groups of ``k`` inputs: (..., units*k) -> (..., units)."""
    n = x.shape[-1]
    if n % k:
        raise ValueError(f"maxout with k={k} needs an input width divisible by k, got {n}")
    return np.max(x.reshape(*x.shape[:-1], n // k, k), axis=-1)


def d_maxout(x, y, k=2):
    """d out / d in as a 0/1 mask of the input's shape: 1 at each group's (first) maximum."""
    n = x.shape[-1]
    g = x.reshape(*x.shape[:-1], n // k, k)
    mask = np.zeros_like(g)
    np.put_along_axis(mask, np.argmax(g, axis=-1)[..., None], 1.0, axis=-1)
    return mask.reshape(x.shape)


def vjp_maxout(x, y, g, k=2):
    mask = d_maxout(x, y, k)
    mask.reshape(*x.shape[:-1], -1, k)[...] *= g[..., None]
    return mask


# ----------------------------------------------------------------------------- modern set

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def selu(x):
    return SELU_SCALE * elu(x, SELU_ALPHA)


def d_selu(x, y):
    # kink at 0: left slope scale*alpha, right slope scale -> scale (minimum norm)
    return np.where(x >= 0, SELU_SCALE, SELU_SCALE * SELU_ALPHA * np.exp(_where_neg(x))).astype(x.dtype)


def celu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(_where_neg(x) / alpha)).astype(x.dtype, copy=False)


def d_celu(x, y, alpha=1.0):
    return np.where(x > 0, 1.0, np.exp(_where_neg(x) / alpha)).astype(x.dtype)


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_C = 0.044715


def gelu(x, approximate=False):
    if approximate:
        u = _SQRT_2_OVER_PI * (x + _GELU_C * x * x * x)
        return 0.5 * x * (1.0 + np.tanh(u))
    return 0.5 * x * (1.0 + special.erf(x * _INV_SQRT_2))


def d_gelu(x, y, approximate=False):
    if approximate:
        u = _SQRT_2_OVER_PI * (x + _GELU_C * x * x * x)
        t = np.tanh(u)
        return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _SQRT_2_OVER_PI * (1.0 + 3 * _GELU_C * x * x)
    cdf = 0.5 * (1.0 + special.erf(x * _INV_SQRT_2))
    pdf = _INV_SQRT_2PI * np.exp(-0.5 * np.minimum(x * x, 1e4))
    return cdf + x * pdf


def silu(x):
    return x * _sigmoid(x)


def d_silu(x, y):
    s = _sigmoid(x)
    return s * (1.0 + x * (1.0 - s))


def mish(x):
    return x * np.tanh(_softplus(x))


def d_mish(x, y):
    t = np.tanh(_softplus(x))
    return t + x * _sigmoid(x) * (1.0 - t * t)


def softplus(x):
    return _softplus(x)


def d_softplus(x, y):
    return _sigmoid(x)


def softsign(x):
    return x / (1.0 + np.abs(x))


def d_softsign(x, y):
    a = 1.0 + np.abs(x)
    return 1.0 / (a * a)


def relu6(x):
    return np.clip(x, 0.0, 6.0)


def d_relu6(x, y):
    return ((x > 0) & (x < 6)).astype(x.dtype)


def hard_sigmoid(x):
    """relu6(x + 3) / 6, as PyTorch and Keras 3 (Keras 2 used 0.2 x + 0.5)."""
    return np.clip(x / 6.0 + 0.5, 0.0, 1.0)


def d_hard_sigmoid(x, y):
    return np.where((x > -3) & (x < 3), 1.0 / 6.0, 0.0).astype(x.dtype)


def hard_sigmoid_keras(x):
    """clip(0.2 x + 0.5, 0, 1): Keras 2's (and Theano's) hard sigmoid, flat beyond +-2.5."""
    return np.clip(x * 0.2 + 0.5, 0.0, 1.0)


def d_hard_sigmoid_keras(x, y):
    return np.where((x > -2.5) & (x < 2.5), 0.2, 0.0).astype(x.dtype)


def relu_keras(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Keras' parametrised ReLU: ``min(x, max_value)`` above ``threshold``, else ``negative_slope (x - threshold)``.

    ``keras.activations.relu(x, alpha, max_value, threshold)`` and the ``ReLU`` layer;
    ``ThresholdedReLU(theta)`` is ``threshold=theta``. The defaults give ``relu``.
    """
    up = x if max_value is None else np.minimum(x, max_value)
    # + 0.0: +0 rather than -0 below the threshold when the slope is 0 (as relu)
    return np.where(x > threshold, up, negative_slope * (x - threshold) + 0.0).astype(x.dtype, copy=False)


def _relu_keras_slope_at_threshold(negative_slope, max_value, threshold):
    """f'(threshold), the one-sided derivative of smaller magnitude. Where f jumps there (from 0 to
    min(threshold, max_value) > 0) the right quotient is infinite: the left slope, negative_slope."""
    if threshold > 0 and (max_value is None or max_value > 0):
        return float(negative_slope)
    if max_value is not None and max_value <= threshold:   # flat above
        return 0.0
    return float(_slope_at_zero(negative_slope))


def d_relu_keras(x, y, negative_slope=0.0, max_value=None, threshold=0.0):
    above = 1.0 if max_value is None else np.where(x < max_value, 1.0, 0.0)   # f'(max_value) = 0
    d = np.where(x > threshold, above, negative_slope).astype(x.dtype)
    d[x == threshold] = _relu_keras_slope_at_threshold(negative_slope, max_value, threshold)
    return d


def _relu_keras_kinks(negative_slope=0.0, max_value=None, threshold=0.0):
    identity_at_threshold = threshold == 0 and negative_slope == 1.0 and (max_value is None or max_value > 0)
    kinks = () if identity_at_threshold else (float(threshold),)
    if max_value is not None and max_value > threshold:
        kinks += (float(max_value),)
    return kinks


def _relu_keras_props(negative_slope=0.0, max_value=None, threshold=0.0):
    lo = -INF if negative_slope > 0 else 0.0
    hi = INF if max_value is None else float(max_value)
    slope_above = 1.0 if max_value is None or max_value > threshold else 0.0
    return Properties((lo, hi), True, negative_slope > 0 and threshold == 0 and (max_value is None or max_value > 0),
                      not _relu_keras_kinks(negative_slope, max_value, threshold),
                      max(slope_above, float(negative_slope)))


def hard_tanh(x, min_val=-1.0, max_val=1.0):
    return np.clip(x, min_val, max_val)


def d_hard_tanh(x, y, min_val=-1.0, max_val=1.0):
    return ((x > min_val) & (x < max_val)).astype(x.dtype)


def _check_hard_tanh(min_val, max_val):
    if not min_val < max_val:
        raise ValueError(f"invalid values min_val={min_val!r}, max_val={max_val!r} for hard_tanh: "
                         "expected min_val < max_val")


def hard_swish(x):
    return x * hard_sigmoid(x)


def d_hard_swish(x, y):
    d = np.where(x <= -3, 0.0, np.where(x >= 3, 1.0, (2.0 * x + 3.0) / 6.0))
    return d.astype(x.dtype, copy=False)


def log_sigmoid(x):
    return -_softplus(-x)


def d_log_sigmoid(x, y):
    return _sigmoid(-x)


def tanhshrink(x):
    return x - np.tanh(x)


def d_tanhshrink(x, y):
    t = np.tanh(x)
    return t * t


def softshrink(x, lambd=0.5):
    return np.where(x > lambd, x - lambd, np.where(x < -lambd, x + lambd, 0.0)).astype(x.dtype, copy=False)


def d_shrink(x, y, lambd=0.5):
    if lambd == 0:  # both shrinks are the identity then: no kink at 0
        return np.ones_like(x)
    return (np.abs(x) > lambd).astype(x.dtype)


def hardshrink(x, lambd=0.5):
    return np.where(np.abs(x) > lambd, x, 0.0).astype(x.dtype, copy=False)


@functools.cache
def exp_limit(dtype) -> np.floating:
    """The largest x of ``dtype`` whose ``np.exp`` is finite (88.72284 in float32, 709.782712893384
    in float64), found with ``np.exp`` itself, on arrays and on scalars, so that ``exponential``
    equals ``np.exp`` at every x where that is finite, on this machine's NumPy."""
    dt = np.dtype(dtype)
    up, down = dt.type(np.inf), dt.type(-np.inf)

    def finite(v):
        return bool(np.isfinite(np.exp(v)) and np.all(np.isfinite(np.exp(np.full(64, v, dt)))))

    with np.errstate(over="ignore"):
        x = dt.type(np.log(np.finfo(dt).max))
        while not finite(x):
            x = np.nextafter(x, down)
        while finite(np.nextafter(x, up)):
            x = np.nextafter(x, up)
    return x


def exponential(x):
    """exp(x) wherever that is finite; above ``exp_limit(dtype)``, where exp overflows, it stays at
    the largest value exp reaches, exp(exp_limit), instead of becoming inf."""
    return np.exp(np.minimum(x, exp_limit(x.dtype)))


def d_exponential(x, y):
    # f' = f, saturated the same way: exp(x) where exp is finite, exp(exp_limit) beyond
    return exponential(x) if y is None else y.copy()


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def erf(x):
    """The Gauss error function: a sigmoid whose Gaussian expectations have closed forms."""
    return special.erf(x)


def d_erf(x, y):
    return _TWO_OVER_SQRT_PI * np.exp(-np.minimum(x * x, 1e4))


# ----------------------------------------------------------------------------- the PyTorch forms
# ``torch_fn(torch, x, **params)``: the same function of a tensor, written so that autograd lands on
# the zoo's derivative, kink values included (the minimum-norm one-sided derivative: ReLU'(0) = 0,
# hard_tanh'(+-1) = 0, hard_swish'(+-3) from x * hard_sigmoid(x), selu'(0) = scale). PyTorch's
# built-ins where they compute the zoo's function with the zoo's parameters and kink values; torch
# is passed in, so importing the zoo never imports it. PReLU and RReLU train as layers (their slopes
# are parameters or per-step draws); their forms here are the inference functions.


def _t_leaky(torch, x, alpha=0.01):
    if abs(alpha) <= 1.0:   # torch's slope at 0 is alpha, as the zoo's for |alpha| <= 1
        return torch.nn.functional.leaky_relu(x, float(alpha))
    return torch.where(x >= 0, x, alpha * x)   # at 0: slope 1, the smaller one


def _t_elu(torch, x, alpha=1.0):
    if abs(alpha) <= 1.0:   # torch's slope at 0 is alpha, the zoo's for |alpha| <= 1
        return torch.nn.functional.elu(x, float(alpha))
    return torch.where(x >= 0, x, alpha * torch.expm1(torch.clamp(x, max=0.0)))


def _t_selu(torch, x):
    return SELU_SCALE * torch.where(x >= 0, x, SELU_ALPHA * torch.expm1(torch.clamp(x, max=0.0)))


def _t_prelu(torch, x, alpha=0.0):
    return torch.where(x > 0, x, torch.as_tensor(np.asarray(alpha), dtype=x.dtype, device=x.device) * x)


def _t_maxout(torch, x, k=2):
    # torch.max(dim) sends the gradient to the index it returns (the first maximum), as the zoo
    n = x.shape[-1]
    return x.reshape(*x.shape[:-1], n // int(k), int(k)).max(dim=-1).values


def _t_softplus(torch, x):
    return torch.logaddexp(x, torch.zeros((), dtype=x.dtype, device=x.device))


def _t_hard_sigmoid_keras(torch, x):
    # where, not clamp: the gradient at +-2.5 is 0 as the zoo's (clamp's would be 0.2)
    return torch.where(x <= -2.5, 0.0, torch.where(x >= 2.5, 1.0, x * 0.2 + 0.5))


def _t_relu_keras(torch, x, negative_slope=0.0, max_value=None, threshold=0.0):
    at_threshold = _relu_keras_slope_at_threshold(negative_slope, max_value, threshold)
    up = x if max_value is None else torch.where(x < max_value, x, torch.full_like(x, float(max_value)))
    # the slope below, but the zoo's f'(threshold) at the threshold itself (where x - threshold = 0)
    slope = torch.where(x == threshold, torch.full_like(x, at_threshold), torch.full_like(x, float(negative_slope)))
    return torch.where(x > threshold, up, slope * (x - float(threshold)))


def _t_shrink(kind):
    def form(torch, x, lambd=0.5):
        if lambd == 0:   # the identity (torch's gradient at 0 would be 0)
            return x.clone() if kind == "hardshrink" else x * 1.0
        return getattr(torch.nn.functional, kind)(x, float(lambd))
    return form


def _t_exponential(torch, x):
    # exp where it is finite, saturating above the zoo's limit like the zoo; the clamp passes the
    # gradient through (zoo: f' = f, saturated too)
    limit = float(exp_limit(str(x.dtype).replace("torch.", "")))
    y = torch.exp(torch.clamp(x, max=limit)).detach()
    return y + y * (x - x.detach())   # the value y exactly, the gradient y


def _t_prelu_reference(torch, alpha):
    """torch's PReLU for ``actlab check``: the learnable slope is the module's weight, one per unit
    (the check's grids put the units on axis 1, PyTorch's channel axis)."""
    a = np.asarray(alpha, dtype=np.float64)
    weight = torch.tensor(a.reshape(-1) if a.ndim else a.reshape(1), dtype=torch.float64)
    return lambda t: torch.nn.functional.prelu(t, weight)


# ----------------------------------------------------------------------------- the registry

# The values each parameter may take (checked by ``Activation.with_params``, so by every command
# and the API); checks across parameters (rrelu's lower <= upper) are the entries' ``validate``.
_SLOPE = Domain(reason="the slope for x < 0")
_AXIS = Domain("axes", reason="the axis (or axes) the function normalises over")
_LAMBD = Domain(ge=0, reason="the threshold on |x|")


def _leaky_props(alpha=0.01, **_):
    """Properties of x -> x (x > 0), alpha x (x <= 0); ``alpha`` may be per unit (an array)."""
    a = np.asarray(alpha, dtype=np.float64)
    lo, hi = float(a.min()), float(a.max())
    # f < 0 for x < 0 needs alpha > 0; with alpha <= 0 the function is >= 0
    return Properties((-INF if hi > 0 else 0.0, INF), lo >= 0, hi > 0, lo == hi == 1.0,
                      max(1.0, float(np.abs(a).max())))


def _leaky_kinks(alpha=0.01, **_):
    """A kink at 0 unless every slope is 1 (then the function is the identity)."""
    return () if np.all(np.asarray(alpha) == 1.0) else (0.0,)


def _elu_props(alpha=1.0):
    # alpha <= 0 (Keras and PyTorch accept it): f >= 0, f(x) -> -alpha as x -> -inf
    return Properties((-alpha if alpha > 0 else 0.0, INF), alpha >= 0, alpha > 0, alpha == 1.0,
                      max(1.0, abs(alpha)))


_ZOO = [
    Activation(
        "linear", linear, d_linear, formula=r"f(x) = x", derivative_formula=r"f'(x) = 1",
        torch_fn=lambda torch, x: x, keras="linear",
        properties_fn=_props(-INF, INF, True, True, True, 1.0), torch_name="Identity",
        description="The identity: a network of linear layers stays a linear map.",
    ),
    Activation(
        "sigmoid", sigmoid, d_sigmoid, formula=r"f(x) = \frac{1}{1 + e^{-x}}",
        torch_fn=lambda torch, x: torch.sigmoid(x), keras="sigmoid",
        derivative_formula=r"f'(x) = f(x)\,(1 - f(x))",
        properties_fn=_props(0.0, 1.0, True, False, True, 0.25), torch_name="Sigmoid",
        saturated=lambda y: (y < 0.01) | (y > 0.99),   # Glorot & Bengio (2010): within 0.01 of 0 or 1
        paper="Rumelhart, Hinton & Williams (1986), Learning representations by back-propagating errors",
        description="Saturates on both sides; f' <= 1/4, so gradients shrink layer by layer.",
    ),
    Activation(
        "tanh", tanh, d_tanh, formula=r"f(x) = \tanh x = \frac{e^{x} - e^{-x}}{e^{x} + e^{-x}}",
        torch_fn=lambda torch, x: torch.tanh(x), keras="tanh",
        derivative_formula=r"f'(x) = 1 - \tanh^2 x",
        properties_fn=_props(-1.0, 1.0, True, True, True, 1.0), torch_name="Tanh",
        saturated=lambda y: np.abs(y) > 0.99,   # Glorot & Bengio (2010)
        paper="LeCun, Bottou, Orr & Mueller (1998), Efficient BackProp",
        description="A rescaled sigmoid, tanh(x) = 2 sigmoid(2x) - 1: zero-centred.",
    ),
    Activation(
        "relu", relu, d_relu, formula=r"f(x) = \max(0, x)",
        torch_fn=lambda torch, x: torch.relu(x), keras="relu",
        derivative_formula=r"f'(x) = \begin{cases}1 & x > 0\\ 0 & x \le 0\end{cases}",
        properties_fn=_props(0.0, INF, True, False, False, 1.0), kinks_fn=lambda: (0.0,),
        torch_name="ReLU",
        paper="Nair & Hinton (2010), Rectified Linear Units Improve Restricted Boltzmann Machines",
        description="No saturation for x > 0; a unit whose input stays negative is dead (gradient 0).",
    ),
    Activation(
        "leaky_relu", leaky_relu, d_leaky_relu, params={"alpha": 0.01}, domains={"alpha": _SLOPE},
        torch_fn=_t_leaky, keras="leaky_relu",
        torch_reference=lambda torch, alpha: torch.nn.LeakyReLU(negative_slope=alpha),
        formula=r"f(x) = \begin{cases}x & x > 0\\ \alpha x & x \le 0\end{cases}",
        derivative_formula=r"f'(x) = \begin{cases}1 & x > 0\\ \alpha & x \le 0\end{cases}",
        properties_fn=_leaky_props, kinks_fn=_leaky_kinks, torch_name="LeakyReLU",
        paper="Maas, Hannun & Ng (2013), Rectifier Nonlinearities Improve Neural Network Acoustic Models",
        description="ReLU with a small slope alpha for x < 0 (0.01 here, as PyTorch; Keras uses 0.2/0.3).",
    ),
    Activation(
        "prelu", prelu, d_prelu, params={"alpha": 0.0},
        torch_fn=_t_prelu, torch_reference=_t_prelu_reference,
        domains={"alpha": Domain(per_unit=True, reason="the initial slope for x < 0")},
        formula=r"f(x) = \begin{cases}x & x > 0\\ a_i x & x \le 0\end{cases}",
        derivative_formula=(r"\frac{\partial f}{\partial x} = \begin{cases}1 & x > 0\\ a_i & x \le 0\end{cases},\quad "
                            r"\frac{\partial f}{\partial a_i} = \min(0, x)"),
        properties_fn=_leaky_props, kinks_fn=_leaky_kinks,
        torch_name="PReLU",
        paper="He, Zhang, Ren & Sun (2015), Delving Deep into Rectifiers (arXiv:1502.01852)",
        description="Leaky ReLU whose slope a_i is learned per unit (initial value 0, as Keras).",
    ),
    Activation(
        "elu", elu, d_elu, params={"alpha": 1.0},
        torch_fn=_t_elu, keras="elu",
        formula=r"f(x) = \begin{cases}x & x > 0\\ \alpha (e^{x} - 1) & x \le 0\end{cases}",
        derivative_formula=r"f'(x) = \begin{cases}1 & x > 0\\ \alpha e^{x} & x \le 0\end{cases}",
        properties_fn=_elu_props, kinks_fn=lambda alpha: (0.0,) if alpha != 1.0 else (),
        torch_name="ELU", domains={"alpha": Domain(reason="the saturation level is -alpha; any sign, as Keras")},
        paper="Clevert, Unterthiner & Hochreiter (2015), Fast and Accurate Deep Network Learning by ELUs (arXiv:1511.07289)",
        description="Negative outputs push the mean activation towards zero; saturates at -alpha.",
    ),
    Activation(
        "maxout", maxout, d_maxout, params={"k": 2}, elementwise=False, vjp_fn=vjp_maxout,
        torch_fn=_t_maxout,
        formula=r"f(x)_i = \max_{j < k} x_{ik + j}",
        derivative_formula=r"\frac{\partial f_i}{\partial x_{ik+j}} = [\,j = \arg\max_{j'} x_{ik+j'}\,]",
        properties_fn=_props(-INF, INF, None, True, False, 1.0),
        domains={"k": Domain("integer", ge=1, reason="the number of linear pieces per unit")},
        paper="Goodfellow, Warde-Farley, Mirza, Courville & Bengio (2013), Maxout Networks (arXiv:1302.4389)",
        description="The max of k linear pieces per unit: a learned piecewise-linear convex activation.",
    ),
    Activation(
        "rrelu", rrelu, d_rrelu, params={"lower": 1.0 / 8.0, "upper": 1.0 / 3.0},
        torch_fn=lambda torch, x, lower, upper: _t_leaky(torch, x, (float(lower) + float(upper)) / 2.0),
        formula=(r"f(x) = \begin{cases}x & x > 0\\ a x & x \le 0\end{cases},\ a \sim U[l, u]\ \text{(train)},\ "
                 r"a = \frac{l + u}{2}\ \text{(test)}"),
        derivative_formula=r"f'(x) = \begin{cases}1 & x > 0\\ a & x \le 0\end{cases}",
        properties_fn=lambda lower, upper: _leaky_props((lower + upper) / 2.0),
        kinks_fn=lambda lower, upper: _leaky_kinks((lower + upper) / 2.0), torch_name="RReLU",
        validate=lambda lower, upper: _check_rrelu(lower, upper),
        domains={"lower": Domain(ge=0, reason="the smallest random slope"),
                 "upper": Domain(ge=0, reason="the largest random slope")},
        paper=("Xu, Wang, Chen & Li (2015), Empirical Evaluation of Rectified Activations in Convolutional Network "
               "(arXiv:1505.00853)"),
        description="Randomized leaky ReLU: a random slope per unit per step in training, the mean slope at test.",
    ),
    Activation(
        "softmax", softmax, d_softmax, params={"axis": -1}, elementwise=False, vjp_fn=vjp_softmax,
        torch_fn=lambda torch, x, axis: torch.softmax(x, dim=axis), keras="softmax",
        torch_reference=lambda torch, axis: torch.nn.Softmax(dim=axis),
        domains={"axis": _AXIS},
        formula=r"f(x)_i = \frac{e^{x_i}}{\sum_j e^{x_j}}",
        derivative_formula=r"\frac{\partial f_i}{\partial x_j} = f_i (\delta_{ij} - f_j)",
        properties_fn=_props(0.0, 1.0, None, False, True, 0.25), torch_name="Softmax",
        paper="Bridle (1990), Probabilistic interpretation of feedforward classification network outputs",
        description="Turns scores into probabilities; fused with cross-entropy its gradient is p - y.",
    ),
    Activation(
        "log_softmax", log_softmax, d_log_softmax, params={"axis": -1}, elementwise=False, domains={"axis": _AXIS},
        torch_fn=lambda torch, x, axis: torch.log_softmax(x, dim=axis), keras="log_softmax",
        torch_reference=lambda torch, axis: torch.nn.LogSoftmax(dim=axis),
        vjp_fn=vjp_log_softmax, formula=r"f(x)_i = x_i - \log \sum_j e^{x_j}",
        derivative_formula=r"\frac{\partial f_i}{\partial x_j} = \delta_{ij} - \mathrm{softmax}(x)_j",
        properties_fn=_props(-INF, 0.0, None, False, True, 1.0), torch_name="LogSoftmax",
        description="The log of softmax, computed without forming softmax.",
    ),
    Activation(
        "selu", selu, d_selu,
        torch_fn=_t_selu, keras="selu",
        formula=(r"f(x) = \lambda \begin{cases}x & x > 0\\ \alpha (e^{x} - 1) & x \le 0\end{cases},\ \lambda \approx 1.0507,\ "
                 r"\alpha \approx 1.6733"),
        derivative_formula=r"f'(x) = \lambda \begin{cases}1 & x > 0\\ \alpha e^{x} & x \le 0\end{cases}",
        properties_fn=_props(-SELU_SCALE * SELU_ALPHA, INF, True, True, False, SELU_SCALE * SELU_ALPHA),
        kinks_fn=lambda: (0.0,), torch_name="SELU",
        paper="Klambauer, Unterthiner, Mayr & Hochreiter (2017), Self-Normalizing Neural Networks (arXiv:1706.02515)",
        description="Scaled ELU whose fixed point keeps activations at mean 0, variance 1 (with lecun_normal).",
    ),
    Activation(
        "celu", celu, d_celu, params={"alpha": 1.0},
        torch_fn=lambda torch, x, alpha: torch.nn.functional.celu(x, float(alpha)),
        formula=r"f(x) = \max(0, x) + \min(0, \alpha (e^{x/\alpha} - 1))",
        derivative_formula=r"f'(x) = \begin{cases}1 & x > 0\\ e^{x/\alpha} & x \le 0\end{cases}",
        properties_fn=lambda alpha: Properties((-alpha, INF), True, True, True, 1.0),
        torch_name="CELU", domains={"alpha": Domain(gt=0, reason="celu divides by alpha")},
        paper="Barron (2017), Continuously Differentiable Exponential Linear Units (arXiv:1704.07483)",
        description="ELU reparametrised to be continuously differentiable for every alpha.",
    ),
    Activation(
        "gelu", gelu, d_gelu, params={"approximate": False},
        torch_fn=lambda torch, x, approximate: torch.nn.functional.gelu(x, approximate="tanh" if approximate else "none"),
        torch_reference=lambda torch, approximate: torch.nn.GELU(approximate="tanh" if approximate else "none"),
        keras="gelu",
        formula=(r"f(x) = x\,\Phi(x) = \frac{x}{2}\left(1 + \mathrm{erf}\frac{x}{\sqrt 2}\right)\ \text{or}\ "
                 r"\frac{x}{2}\left(1 + \tanh\left(\sqrt{2/\pi}(x + 0.044715 x^3)\right)\right)"),
        derivative_formula=r"f'(x) = \Phi(x) + x\,\varphi(x)",
        properties_fn=lambda approximate: Properties(
            # the minimum and the largest slope, rounded outwards (found with scipy's optimiser)
            (-0.1700407506 if approximate else -0.1699712075, INF), False, True, True,
            1.1289930687 if approximate else 1.1289041452),
        torch_name="GELU", domains={"approximate": Domain("bool", reason="the tanh approximation or the exact erf")},
        paper="Hendrycks & Gimpel (2016), Gaussian Error Linear Units (arXiv:1606.08415)",
        description="Weights the input by the probability a standard normal is below it.",
    ),
    Activation(
        "silu", silu, d_silu, formula=r"f(x) = x\,\sigma(x)",
        torch_fn=lambda torch, x: torch.nn.functional.silu(x), keras="silu",
        derivative_formula=r"f'(x) = \sigma(x)\,(1 + x (1 - \sigma(x)))",
        properties_fn=_props(-0.2784645428, INF, False, True, True, 1.0998393202), torch_name="SiLU",
        paper=("Elfwing, Uchibe & Doya (2017), Sigmoid-Weighted Linear Units (arXiv:1702.03118); Ramachandran, Zoph & Le (2017), "
               "Searching for Activation Functions (Swish)"),
        description="Swish with beta = 1: smooth, non-monotonic, self-gated.",
    ),
    Activation(
        "mish", mish, d_mish, formula=r"f(x) = x \tanh(\mathrm{softplus}(x))",
        torch_fn=lambda torch, x: torch.nn.functional.mish(x), keras="mish",
        derivative_formula=r"f'(x) = \tanh(\mathrm{sp}(x)) + x\,\sigma(x)\,(1 - \tanh^2(\mathrm{sp}(x)))",
        properties_fn=_props(-0.3088434131, INF, False, True, True, 1.0884981613), torch_name="Mish",
        paper="Misra (2019), Mish: A Self Regularized Non-Monotonic Activation Function (arXiv:1908.08681)",
        description="Smooth, non-monotonic, like Swish with a softplus gate.",
    ),
    Activation(
        "softplus", softplus, d_softplus, formula=r"f(x) = \log(1 + e^{x})",
        torch_fn=_t_softplus, keras="softplus",
        derivative_formula=r"f'(x) = \sigma(x)", properties_fn=_props(0.0, INF, True, False, True, 1.0),
        torch_name="Softplus",
        paper=("Dugas, Bengio, Belisle, Nadeau & Garcia (2001), Incorporating Second-Order Functional Knowledge for Better "
               "Option Pricing"),
        description="A smooth ReLU; computed as logaddexp(x, 0).",
    ),
    Activation(
        "softsign", softsign, d_softsign, formula=r"f(x) = \frac{x}{1 + |x|}",
        torch_fn=lambda torch, x: torch.nn.functional.softsign(x), keras="softsign",
        derivative_formula=r"f'(x) = \frac{1}{(1 + |x|)^2}",
        properties_fn=_props(-1.0, 1.0, True, True, True, 1.0), torch_name="Softsign",
        paper="Glorot & Bengio (2010), Understanding the difficulty of training deep feedforward neural networks",
        description="Like tanh but with polynomial tails: saturates more slowly.",
    ),
    Activation(
        "relu6", relu6, d_relu6, formula=r"f(x) = \min(\max(0, x), 6)",
        torch_fn=lambda torch, x: torch.nn.functional.relu6(x), keras="relu6",
        derivative_formula=r"f'(x) = [\,0 < x < 6\,]",
        properties_fn=_props(0.0, 6.0, True, False, False, 1.0), kinks_fn=lambda: (0.0, 6.0),
        torch_name="ReLU6",
        paper="Krizhevsky (2010), Convolutional Deep Belief Networks on CIFAR-10",
        description="ReLU capped at 6.",
    ),
    Activation(
        "relu_keras", relu_keras, d_relu_keras,
        torch_fn=_t_relu_keras,
        params={"negative_slope": 0.0, "max_value": None, "threshold": 0.0},
        formula=r"f(x) = \begin{cases}\min(x, m) & x > \theta\\ a (x - \theta) & x \le \theta\end{cases}",
        derivative_formula=r"f'(x) = \begin{cases}0 & x \ge m\\ 1 & \theta < x < m\\ a & x < \theta\end{cases}",
        properties_fn=_relu_keras_props, kinks_fn=_relu_keras_kinks,
        domains={"negative_slope": Domain(ge=0, reason="the slope below the threshold"),
                 "max_value": Domain(ge=0, optional=True, reason="the cap; None: no cap"),
                 "threshold": Domain(ge=0, reason="where the function leaves the line a (x - theta)")},
        paper="Konda, Memisevic & Krueger (2014), Zero-bias autoencoders and the benefits of co-adapting "
              "features (arXiv:1402.3337), the thresholded ReLU",
        description="Keras' relu(x, alpha, max_value, threshold) and its ReLU / ThresholdedReLU layers "
                    "(max_value=None: no cap); the defaults give relu.",
    ),
    Activation(
        "hard_sigmoid", hard_sigmoid, d_hard_sigmoid, formula=r"f(x) = \frac{\mathrm{relu6}(x + 3)}{6}",
        torch_fn=lambda torch, x: torch.nn.functional.hardsigmoid(x),
        derivative_formula=r"f'(x) = \tfrac16 [\,-3 < x < 3\,]",
        properties_fn=_props(0.0, 1.0, True, False, False, 1.0 / 6.0), kinks_fn=lambda: (-3.0, 3.0),
        torch_name="Hardsigmoid",
        paper="Howard et al. (2019), Searching for MobileNetV3 (arXiv:1905.02244)",
        description="Piecewise-linear sigmoid, relu6(x + 3) / 6 (PyTorch, Keras 3); Keras 2's is hard_sigmoid_keras.",
    ),
    Activation(
        "hard_sigmoid_keras", hard_sigmoid_keras, d_hard_sigmoid_keras,
        torch_fn=_t_hard_sigmoid_keras, keras="hard_sigmoid",
        formula=r"f(x) = \min(\max(0.2 x + 0.5, 0), 1)",
        derivative_formula=r"f'(x) = 0.2\,[\,-2.5 < x < 2.5\,]",
        properties_fn=_props(0.0, 1.0, True, False, False, 0.2), kinks_fn=lambda: (-2.5, 2.5),
        paper="Courbariaux, Bengio & David (2015), BinaryConnect (arXiv:1511.00363), a clipped-line sigmoid; "
              "slope 0.2 as Theano's T.nnet.hard_sigmoid and Keras 2's backend.hard_sigmoid",
        description="Keras 2's hard_sigmoid, clip(0.2 x + 0.5, 0, 1); up to 0.083 from hard_sigmoid (slope 1/6).",
    ),
    Activation(
        "hard_tanh", hard_tanh, d_hard_tanh, params={"min_val": -1.0, "max_val": 1.0},
        torch_fn=lambda torch, x, min_val, max_val: torch.nn.functional.hardtanh(x, float(min_val), float(max_val)),
        formula=r"f(x) = \min(\max(x, a), b)", derivative_formula=r"f'(x) = [\,a < x < b\,]",
        properties_fn=lambda min_val, max_val: Properties(
            (min_val, max_val), True, min_val < 0 < max_val, False, 1.0),
        kinks_fn=lambda min_val, max_val: (min_val, max_val), torch_name="Hardtanh",
        validate=lambda min_val, max_val: _check_hard_tanh(min_val, max_val),
        domains={"min_val": Domain(reason="the lower clip"), "max_val": Domain(reason="the upper clip")},
        paper="Collobert (2004), Large Scale Machine Learning (PhD thesis)",
        description="tanh replaced by a clip to [-1, 1].",
    ),
    Activation(
        "hard_swish", hard_swish, d_hard_swish, formula=r"f(x) = x\,\frac{\mathrm{relu6}(x + 3)}{6}",
        torch_fn=lambda torch, x: x * torch.nn.functional.hardsigmoid(x), keras="hard_swish",
        derivative_formula=r"f'(x) = \begin{cases}0 & x \le -3\\ (2x + 3)/6 & -3 < x < 3\\ 1 & x \ge 3\end{cases}",
        properties_fn=_props(-0.375, INF, False, True, False, 1.5), kinks_fn=lambda: (-3.0, 3.0),
        torch_name="Hardswish",
        paper="Howard et al. (2019), Searching for MobileNetV3 (arXiv:1905.02244)",
        description="A piecewise-quadratic Swish, cheap on mobile hardware.",
    ),
    Activation(
        "log_sigmoid", log_sigmoid, d_log_sigmoid, formula=r"f(x) = \log \sigma(x) = -\mathrm{softplus}(-x)",
        torch_fn=lambda torch, x: torch.nn.functional.logsigmoid(x),
        derivative_formula=r"f'(x) = \sigma(-x) = 1 - \sigma(x)",
        properties_fn=_props(-INF, 0.0, True, False, True, 1.0), torch_name="LogSigmoid",
        description="The log of the sigmoid, computed as -softplus(-x).",
    ),
    Activation(
        "tanhshrink", tanhshrink, d_tanhshrink, formula=r"f(x) = x - \tanh x",
        torch_fn=lambda torch, x: torch.nn.functional.tanhshrink(x),
        derivative_formula=r"f'(x) = \tanh^2 x", properties_fn=_props(-INF, INF, True, True, True, 1.0),
        torch_name="Tanhshrink", description="What tanh leaves out of x: flat near 0, linear far away.",
    ),
    Activation(
        "softshrink", softshrink, d_shrink, params={"lambd": 0.5},
        torch_fn=_t_shrink("softshrink"), torch_kinks_fn=lambda lambd: (-lambd, lambd),
        formula=r"f(x) = \begin{cases}x - \lambda & x > \lambda\\ x + \lambda & x < -\lambda\\ 0 & \text{otherwise}\end{cases}",
        derivative_formula=r"f'(x) = [\,|x| > \lambda\,]",
        properties_fn=lambda lambd: Properties((-INF, INF), True, True, lambd == 0, 1.0),
        kinks_fn=lambda lambd: (-lambd, lambd) if lambd else (), torch_name="Softshrink",
        domains={"lambd": _LAMBD},
        paper="Donoho (1995), De-noising by soft-thresholding",
        description="Soft thresholding: shrinks towards 0 by lambda.",
    ),
    Activation(
        "hardshrink", hardshrink, d_shrink, params={"lambd": 0.5},
        torch_fn=_t_shrink("hardshrink"), torch_kinks_fn=lambda lambd: (-lambd, lambd),
        formula=r"f(x) = \begin{cases}x & |x| > \lambda\\ 0 & \text{otherwise}\end{cases}",
        derivative_formula=r"f'(x) = [\,|x| > \lambda\,]",
        properties_fn=lambda lambd: Properties((-INF, INF), True, True, lambd == 0, 1.0),
        kinks_fn=lambda lambd: (-lambd, lambd) if lambd else (), torch_name="Hardshrink",
        domains={"lambd": _LAMBD},
        description="Hard thresholding: zero inside [-lambda, lambda] (discontinuous at the edges).",
    ),
    Activation(
        "exponential", exponential, d_exponential, formula=r"f(x) = e^{x}",
        torch_fn=_t_exponential, torch_reference=lambda torch: torch.exp, keras="exponential",
        derivative_formula=r"f'(x) = e^{x}", properties_fn=_props(0.0, INF, True, False, True, INF),
        description="exp(x) wherever that is finite; beyond exp_limit(dtype) (88.72 float32, 709.78 float64) "
                    "it stays at exp(exp_limit) instead of overflowing to inf.",
    ),
    Activation(
        "erf", erf, d_erf, formula=r"f(x) = \mathrm{erf}(x) = \frac{2}{\sqrt\pi}\int_0^x e^{-t^2}\,dt",
        torch_fn=lambda torch, x: torch.erf(x), torch_reference=lambda torch: torch.erf,
        derivative_formula=r"f'(x) = \frac{2}{\sqrt\pi} e^{-x^2}",
        properties_fn=_props(-1.0, 1.0, True, True, True, _TWO_OVER_SQRT_PI),
        paper="Williams (1997), Computing with Infinite Networks (NIPS 9)",
        description="A tanh-like sigmoid whose Gaussian averages are closed forms (the arcsine kernel).",
    ),
]

_ALIASES = {
    "linear": {"identity": {}},
    "silu": {"swish": {}},
    "gelu": {"gelu_tanh": {"approximate": True}},
    "hard_swish": {"hardswish": {}, "hard_silu": {}},
    "hard_sigmoid": {"hardsigmoid": {}},
    "relu_keras": {"thresholded_relu": {"threshold": 1.0}},
    "hard_tanh": {"hardtanh": {}},
    "leaky_relu": {"leakyrelu": {}, "lrelu": {}},
    "log_sigmoid": {"logsigmoid": {}},
    "log_softmax": {"logsoftmax": {}},
}

for _act in _ZOO:
    add(_act, aliases=_ALIASES.get(_act.name), overwrite=True)
    document_function(_act)   # help(actlab.activations.gelu): written from the entry above
