"""The ``Activation`` object and the one registry of the zoo.

An activation is a pair, as in TensorFlow Playground's ``nn.ts``: the function and its
derivative with respect to its *input* (the pre-activation). Both are stateless NumPy
functions ``fn(x, **params)`` and ``der(x, y, **params)`` where ``y`` is ``fn(x)`` when the
caller already has it (the engine does) and ``None`` otherwise, so a derivative may reuse
the forward output (``tanh' = 1 - y**2``) without forcing callers to compute it.

Kinks: where a function is not differentiable actlab takes the one-sided derivative of
smaller magnitude (the minimum-norm subgradient): ReLU'(0) = 0, relu6'(6) = 0,
hard_tanh'(+-1) = 0, leaky_relu'(0) = alpha. The tests check these values exactly.
"""
from __future__ import annotations

import difflib
import inspect
import math
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping

import numpy as np

__all__ = ["Activation", "Domain", "Properties", "get", "register", "names", "aliases", "as_float_array", "label_of",
           "keras_names"]


@dataclass(frozen=True)
class Properties:
    """What a learner wants to know about an activation at given parameters.

    ``zero_centred`` means f(0) = 0 and f takes both signs. ``monotonic`` means
    non-decreasing; ``None`` for vector-valued functions (softmax, maxout) where it does not
    apply. ``smooth`` means continuously differentiable everywhere. ``max_abs_derivative`` is
    the supremum of |f'| over the real line (possibly approached only at infinity or at a kink).
    """

    output_range: tuple[float, float]
    monotonic: bool | None
    zero_centred: bool
    smooth: bool
    max_abs_derivative: float

    @property
    def bounded(self) -> bool:
        lo, hi = self.output_range
        return math.isfinite(lo) and math.isfinite(hi)

    def as_dict(self) -> dict[str, Any]:
        return {
            "output_range": list(self.output_range),
            "monotonic": self.monotonic,
            "zero_centred": self.zero_centred,
            "smooth": self.smooth,
            "bounded": self.bounded,
            "max_abs_derivative": self.max_abs_derivative,
        }


@dataclass(frozen=True)
class Domain:
    """The values one parameter of an activation may take.

    ``kind`` is ``'real'`` (a finite number, NaN and infinities refused), ``'integer'``,
    ``'axes'`` (an integer or a tuple of integers, as NumPy's ``axis``) or ``'bool'``; ``gt``/``ge``/``lt``/``le`` bound a
    number; ``per_unit`` also accepts an array of such numbers (one per unit: prelu's alpha); ``optional`` also accepts ``None``;
    ``reason`` says why the bounds are what they are (it ends the error message).

    >>> Domain(gt=0, reason="celu divides by alpha").describe()
    'a finite number > 0 (celu divides by alpha)'
    """

    kind: str = "real"
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    per_unit: bool = False
    optional: bool = False
    reason: str = ""

    def describe(self) -> str:
        text = {"real": "a finite number", "integer": "an integer", "axes": "an integer or a tuple of integers",
                "bool": "true or false"}[self.kind]
        bounds = [f"{op} {_g(v)}" for op, v in ((">", self.gt), (">=", self.ge), ("<", self.lt), ("<=", self.le))
                  if v is not None]
        if bounds:
            text += " " + " and ".join(bounds)
        if self.per_unit:
            text += " or an array of them, one per unit"
        if self.optional:
            text += ", or None"
        return text + (f" ({self.reason})" if self.reason else "")

    def contains(self, value: Any) -> bool:
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value.item()
        if value is None:
            return self.optional
        if self.kind == "bool":
            return isinstance(value, (bool, np.bool_))
        if isinstance(value, (bool, np.bool_, str, bytes)):
            return False
        if self.kind == "axes":
            items = value if isinstance(value, (tuple, list)) else (value,)
            return len(items) > 0 and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in items)
        if self.per_unit and isinstance(value, (np.ndarray, list, tuple)):
            try:
                arr = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                return False
            return arr.size > 0 and all(self.contains(float(v)) for v in arr.reshape(-1))
        if self.kind == "integer":
            if not isinstance(value, (int, np.integer)):
                return False
        elif not isinstance(value, (int, float, np.integer, np.floating)) or not math.isfinite(value):
            return False
        return ((self.gt is None or value > self.gt) and (self.ge is None or value >= self.ge)
                and (self.lt is None or value < self.lt) and (self.le is None or value <= self.le))

    @classmethod
    def of_default(cls, default: Any) -> "Domain | None":
        """What a parameter with no declared domain may take, judged by its default's type."""
        if isinstance(default, (bool, np.bool_)):
            return cls("bool")
        if isinstance(default, (int, float, np.integer, np.floating)):
            return cls("real")
        if isinstance(default, np.ndarray):
            return cls("real", per_unit=True)
        return None  # None or anything else: the activation's own ``validate`` decides


def _g(v: float) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def as_float_array(x: Any) -> np.ndarray:
    """``x`` as a floating NumPy array: float arrays pass through, anything else is float64."""
    arr = np.asarray(x)
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    return arr


class _InstanceDoc:
    """``__doc__`` of a class whose instances describe themselves: the class's text on the
    class, ``instance.docstring()`` on an instance (so ``help(instance)`` shows it)."""

    def __init__(self, doc: str | None) -> None:
        self.doc = doc

    def __get__(self, obj: Any, cls: type | None = None) -> str | None:
        return self.doc if obj is None else obj.docstring()


@dataclass(frozen=True)
class Activation:
    """An activation function with its analytic derivative and what is known about it.

    Call it for the function, ``.derivative(x)`` for df/dx (elementwise functions) and
    ``.vjp(x, y, g)`` for the vector-Jacobian product the engine uses in backpropagation.

    >>> from actlab.activations import get
    >>> elu = get("elu")
    >>> float(elu(-1.0)), float(elu.derivative(-1.0))  # doctest: +ELLIPSIS
    (-0.632..., 0.367...)
    """

    name: str
    fn: Callable[..., np.ndarray]
    der: Callable[..., np.ndarray]
    params: Mapping[str, Any] = field(default_factory=dict)
    formula: str = ""
    derivative_formula: str = ""
    properties_fn: Callable[..., Properties] | None = None
    kinks_fn: Callable[..., tuple[float, ...]] = lambda **p: ()
    paper: str = ""
    description: str = ""
    elementwise: bool = True
    vjp_fn: Callable[..., np.ndarray] | None = None
    torch_name: str | None = None   # the torch.nn module of the same function (docs, ``actlab list``)
    # the PyTorch form, torch_fn(torch, x, **params) -> tensor: the function of a tensor whose autograd
    # derivative is the zoo's (kink values included); ``torch`` is passed in, so the zoo never imports it.
    # None: the torch engine runs fn/vjp on the host (actlab.torch_engine.activations)
    torch_fn: Callable[..., Any] | None = None
    # PyTorch's own implementation for ``actlab check``'s oracle: torch_reference(torch, **params) -> a
    # callable of a float64 tensor; None: ``torch.nn.<torch_name>(**params)`` (skipped without a torch_name)
    torch_reference: Callable[..., Any] | None = None
    # points where PyTorch's reference applies a subgradient convention though ours has no kink there
    # (compared as kinks by the oracle: listed, not failed)
    torch_kinks_fn: Callable[..., tuple[float, ...]] | None = None
    keras: str | None = None   # the name of this function in Keras (``activation='...'``, actlab.keras)
    # when a unit is saturated, judged on its output y (Glorot & Bengio's criteria for sigmoid and tanh);
    # None: where |f'| < 0.01 max|f'| (actlab.engine.inspect)
    saturated: Callable[[np.ndarray], np.ndarray] | None = None
    numerical_derivative: bool = False
    validate: Callable[..., None] | None = None   # checks across parameters (rrelu: lower <= upper)
    domains: Mapping[str, Domain] = field(default_factory=dict)   # per parameter; else judged by its default

    # -- evaluation -------------------------------------------------------------------------
    def __call__(self, x: Any) -> np.ndarray:
        return self.fn(as_float_array(x), **self.params)

    def derivative(self, x: Any, y: np.ndarray | None = None) -> np.ndarray:
        """df/dx at ``x`` (``y = f(x)`` may be passed to save work)."""
        return self.der(as_float_array(x), y, **self.params)

    def vjp(self, x: np.ndarray, y: np.ndarray | None, g: np.ndarray) -> np.ndarray:
        """The gradient with respect to ``x`` given the gradient ``g`` with respect to ``y``."""
        if self.vjp_fn is not None:
            return self.vjp_fn(x, y, g, **self.params)
        d = self.der(x, y, **self.params)
        d *= g  # der always returns a fresh array, so in-place is safe
        return d

    # -- description ------------------------------------------------------------------------
    @property
    def properties(self) -> Properties:
        if self.properties_fn is None:
            return Properties((-math.inf, math.inf), None, False, False, math.nan)
        return self.properties_fn(**self.params)

    @property
    def kinks(self) -> tuple[float, ...]:
        return tuple(self.kinks_fn(**self.params))

    def with_params(self, **params: Any) -> "Activation":
        """A copy with some parameters changed; unknown names raise ``ValueError``."""
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            valid = ", ".join(self.params) or "none"
            raise ValueError(
                f"activation {self.name!r} has no parameter {unknown[0]!r}; valid parameters: {valid}"
            )
        for k, v in params.items():
            self.check_param(k, v)
        merged = {**self.params, **params}
        if self.validate is not None:
            self.validate(**merged)
        return replace(self, params=merged)

    def domain(self, param: str) -> Domain | None:
        """The values ``param`` may take (declared, else judged by its default's type)."""
        return self.domains.get(param) or Domain.of_default(self.params.get(param))

    def check_param(self, param: str, value: Any) -> None:
        """``ValueError`` naming the value, the parameter and its domain if ``value`` is outside it."""
        domain = self.domain(param)
        if domain is not None and not domain.contains(value):
            raise ValueError(f"invalid value {_short(value)} for parameter {param} of {self.name}: "
                             f"expected {domain.describe()}")

    def config(self) -> dict[str, Any]:
        """A JSON-able description: the name and the parameters."""
        return {"name": self.name, **{k: _jsonable(v) for k, v in self.params.items()}}

    def __repr__(self) -> str:
        args = "".join(f", {k}={v!r}" for k, v in self.params.items())
        return f"Activation({self.name!r}{args})"

    def label(self, every: bool = False) -> str:
        """The one display name of this activation: ``relu``, ``leaky_relu(alpha=0.2)``.

        Parameters are shown where they differ from the registry's defaults (``every=True``:
        all of them, ``elu(alpha=1)``); floats as ``:g``, an array as ``array[shape]``. Plots,
        reports, studies, progress bars and the CLI all name activations with it (stored
        configurations through :func:`label_of`).

        >>> from actlab.activations import get
        >>> get("leaky_relu", alpha=0.2).label(), get("relu").label(), get("elu").label(every=True)
        ('leaky_relu(alpha=0.2)', 'relu', 'elu(alpha=1)')
        """
        defaults = _defaults_of(self)
        shown = {k: v for k, v in self.params.items() if every or k not in defaults or not _equal(v, defaults[k])}
        return _label(self.name, shown)

    def docstring(self, call: str | None = None) -> str:
        """The documentation ``help()`` shows for this activation, written from its own data.

        As PyTorch's activation modules: a one-line summary, the formula and its derivative,
        the parameters with their domains and defaults, the properties at these parameters,
        the shape, an example and the paper. ``call`` names the stateless function the example
        calls (the zoo's functions carry this text as their ``__doc__``); by default it uses
        the object from :func:`get`. The text a function had of its own ends it, under Notes.
        """
        return _docstring(self, call)

    # ``help(get("gelu"))`` and ``get("gelu").__doc__`` show :meth:`docstring`; the class keeps its own.
    __doc__ = _InstanceDoc(__doc__)


# -- labels -----------------------------------------------------------------------------------


def _label_value(v: Any) -> str:
    if isinstance(v, np.ndarray):
        return f"array{list(v.shape)}"
    if isinstance(v, (float, np.floating)):
        return f"{float(v):g}"
    return repr(v)


def _label(name: str, params: Mapping[str, Any]) -> str:
    if not params:
        return name
    return f"{name}(" + ", ".join(f"{k}={_label_value(v)}" for k, v in params.items()) + ")"


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(np.array_equal(np.asarray(a), np.asarray(b)))
    except (TypeError, ValueError):
        return a == b


def label_of(activation: Any) -> str:
    """:meth:`Activation.label` of an activation as runs store it, ``{"name": "elu", "alpha": 0.5}``
    (or a name, or an ``Activation``). A name this process has not registered (a plugin's that
    is not loaded) is shown with its parameters as stored."""
    if isinstance(activation, Activation):
        return activation.label()
    if isinstance(activation, str):
        activation = {"name": activation}
    if not isinstance(activation, Mapping):
        return str(activation)
    name = activation.get("name", "?")
    params = {k: v for k, v in activation.items() if k != "name"}
    try:
        return get(name, **params).label()
    except (ValueError, TypeError):
        return _label(str(name), params)


# -- the generated docstring ----------------------------------------------------------------
_TYPE_OF_KIND = {"real": "float", "integer": "int", "axes": "int or tuple of int", "bool": "bool"}
_NOTES_ATTR = "_actlab_notes"   # a function's own docstring, kept when a generated one replaces it


def _doc_num(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        return "inf" if v == math.inf else "-inf" if v == -math.inf else f"{float(v):.6g}"
    return str(v)


def _doc_flag(v: bool | None) -> str:
    return "n/a" if v is None else "yes" if v else "no"


def _defaults_of(act: Activation) -> Mapping[str, Any]:
    """The registry's defaults for ``act``'s parameters (its own values when it is not registered)."""
    entry = _REGISTRY.get(_key(act.name))
    return entry.params if entry is not None and entry.fn is act.fn else act.params


def _param_lines(act: Activation) -> list[str]:
    defaults = _defaults_of(act)
    lines = []
    for name, value in act.params.items():
        default = defaults.get(name, value)
        domain = act.domain(name)
        if domain is None:
            kind, what = type(default).__name__, "any value the activation accepts"
        else:
            kind = _TYPE_OF_KIND[domain.kind] + (" or array" if domain.per_unit else "")
            kind += ", optional" if domain.optional else ""
            what = domain.describe()
        here = "" if _same(value, default) else f" (here ``{_short(value)}``)"
        lines.append(f"    {name} ({kind}): {what}. Default: ``{_short(default)}``{here}")
    return lines


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(np.array_equal(np.asarray(a), np.asarray(b))) and type(a) is type(b)
    except (TypeError, ValueError):
        return a is b


def _docstring(act: Activation, call: str | None = None) -> str:
    """The text of :meth:`Activation.docstring` (see there)."""
    signature = ", ".join(f"{k}={_short(v)}" for k, v in act.params.items())
    head = f"{act.name}({signature})" if signature else act.name
    out = [f"{head}: {act.description}" if act.description else f"The activation {head}.", ""]
    out += [".. math::", "", f"    {act.formula or '(no formula given)'}", ""]
    out += ["The derivative with respect to the input:", "", ".. math::", "",
            f"    {act.derivative_formula or '(no derivative formula given)'}", ""]
    if act.numerical_derivative:
        out += ["(computed by central differences: the callable has no ``.derivative``)", ""]
    if act.params:
        out += ["Args:", *_param_lines(act), ""]
    props = act.properties
    lo, hi = props.output_range
    at = f" (at {signature})" if signature else ""
    out += [f"Properties{at}:",
            (f"    range ({_doc_num(lo)}, {_doc_num(hi)}); monotonic {_doc_flag(props.monotonic)}; "
             f"zero-centred {_doc_flag(props.zero_centred)}; smooth {_doc_flag(props.smooth)}; "
             f"bounded {_doc_flag(props.bounded)}; max |f'| {_doc_num(props.max_abs_derivative)}")]
    if act.kinks:
        out.append("    kinks at " + ", ".join(_doc_num(float(k)) for k in act.kinks)
                   + " (f' there: the one-sided derivative of smaller magnitude)")
    out.append("")
    if act.elementwise:
        out += ["Shape:", "    - Input: (*), any shape.", "    - Output: (*), the shape and dtype of the input.", ""]
    else:
        out += ["Shape:", ("    Not elementwise: an output depends on several inputs (see the formula); "
                           "backpropagation uses ``vjp``."), ""]
    width = 4 * int(act.params.get("k", 1)) if not act.elementwise else 5
    out += ["Examples::", "", "    >>> import numpy as np", f"    >>> x = np.linspace(-2.0, 2.0, {width})"]
    if call is None:
        args = "".join(f", {k}={_short(v)}" for k, v in act.params.items()
                       if not _same(v, _defaults_of(act).get(k)))
        out += ["    >>> from actlab.activations import get", f"    >>> f = get({act.name!r}{args})",
                "    >>> y, dy = f(x), f.derivative(x)"]
    else:
        out += [f"    >>> from actlab.activations import {call}", f"    >>> y = {call}(x)"]
    out.append("")
    if act.torch_name:
        out += [f"PyTorch: ``torch.nn.{act.torch_name}``", ""]
    if act.paper:
        out += ["Paper:", f"    {act.paper}", ""]
    notes = getattr(act.fn, _NOTES_ATTR, None)
    if notes is None:
        notes = inspect.getdoc(act.fn) or ""
    if notes:
        out += ["Notes:", *("    " + line if line else "" for line in notes.splitlines()), ""]
    return "\n".join(out).rstrip() + "\n"


def document_function(act: Activation) -> None:
    """Give ``act.fn`` (a zoo function, ``actlab.activations.gelu``) the generated docstring,
    keeping the text it had of its own under Notes."""
    fn = act.fn
    if not hasattr(fn, _NOTES_ATTR):
        setattr(fn, _NOTES_ATTR, inspect.getdoc(fn) or "")
    fn.__doc__ = act.docstring(call=fn.__name__)


def _short(v: Any) -> str:
    text = repr(v.tolist() if isinstance(v, np.ndarray) else v)
    return text if len(text) <= 60 else text[:57] + "..."


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    return v


# -- the registry ---------------------------------------------------------------------------
_REGISTRY: dict[str, Activation] = {}
_ALIASES: dict[str, tuple[str, dict[str, Any]]] = {}


def _key(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def names(include_aliases: bool = False) -> list[str]:
    """The registered activation names, in registration order (aliases last if asked)."""
    out = list(_REGISTRY)
    if include_aliases:
        out += list(_ALIASES)
    return out


def aliases() -> dict[str, tuple[str, dict[str, Any]]]:
    return dict(_ALIASES)


def keras_names() -> dict[str, str]:
    """Keras' name -> the registered name, for every activation Keras has (the entries' ``keras``):
    ``keras_names()["hard_sigmoid"]`` is ``'hard_sigmoid_keras'`` (Keras 2's)."""
    return {act.keras: name for name, act in _REGISTRY.items() if act.keras}


def add(activation: Activation, aliases: Mapping[str, Mapping[str, Any]] | None = None,
        overwrite: bool = False) -> Activation:
    """Put an ``Activation`` in the registry (with optional aliases to parameter variants)."""
    key = _key(activation.name)
    if not overwrite and (key in _REGISTRY or key in _ALIASES):
        raise ValueError(f"activation {activation.name!r} is already registered; pass overwrite=True")
    _REGISTRY[key] = activation
    for alias, params in (aliases or {}).items():
        _ALIASES[_key(alias)] = (key, dict(params))
    return activation


def register(name: str, fn: Callable[..., np.ndarray], derivative: Callable[..., np.ndarray], *,
             params: Mapping[str, Any] | None = None, formula: str = "", derivative_formula: str = "",
             properties: Properties | None = None, kinks: tuple[float, ...] = (), paper: str = "",
             description: str = "", domains: Mapping[str, Domain] | None = None,
             torch: Callable[..., Any] | None = None, keras: str | None = None,
             overwrite: bool = False) -> Activation:
    """Register an activation of your own: ``fn(x, **params)`` and ``derivative(x, **params)``.

    ``domains`` may say which values a parameter takes (a :class:`Domain` per name); a
    parameter without one must be of its default's type (a finite number, or a bool).
    ``torch`` is its PyTorch form, ``torch(torch_module, x, **params)`` on a tensor (the torch
    engine then runs it on the device, with autograd; without one it runs ``fn`` and
    ``derivative`` on the host); ``keras`` the name Keras gives the same function, if any.

    ``actlab check NAME`` (or :func:`actlab.activations.check.check`) then tells whether the
    derivative is right.

    >>> import numpy as np
    >>> from actlab.activations import register, get
    >>> sq = register("square_doc", lambda x: x * x, lambda x: 2 * x, overwrite=True)
    >>> float(get("square_doc").derivative(3.0))
    6.0
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"activation name must be a non-empty string, got {name!r}")

    def der(x, y, **p):
        return np.array(derivative(x, **p), dtype=x.dtype, copy=True)

    def call(x, **p):
        return np.asarray(fn(x, **p), dtype=x.dtype)

    setattr(call, _NOTES_ATTR, inspect.getdoc(fn) or "")   # the function's own text ends the docstring

    act = Activation(
        name=_key(name), fn=call, der=der,
        params=dict(params or {}), formula=formula, derivative_formula=derivative_formula,
        properties_fn=(lambda **p: properties) if properties is not None else None,
        kinks_fn=lambda **p: tuple(kinks), paper=paper, description=description, domains=dict(domains or {}),
        torch_fn=torch, keras=keras,
    )
    return add(act, overwrite=overwrite)


def _numerical_der(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[..., np.ndarray]:
    def der(x, y, **p):
        x64 = x.astype(np.float64)
        h = 1e-5 * np.maximum(1.0, np.abs(x64))
        d = (np.asarray(fn(x64 + h), dtype=np.float64) - np.asarray(fn(x64 - h), dtype=np.float64)) / (2 * h)
        return d.astype(x.dtype)
    return der


def get(identifier: Any = None, **params: Any) -> Activation:
    """The activation named by ``identifier``.

    ``None`` gives ``linear``; a string is looked up in the registry (case-insensitive,
    aliases included, ``**params`` override the defaults); an ``Activation`` is returned as is
    (with ``**params`` applied); any other callable is wrapped, using its ``.derivative``
    attribute when it has one and central differences otherwise. Anything else, or an unknown
    name, raises ``ValueError`` naming what was received and the valid names.
    """
    if identifier is None:
        identifier = "linear"
    if isinstance(identifier, Activation):
        return identifier.with_params(**params) if params else identifier
    if isinstance(identifier, str):
        key = _key(identifier)
        if key in _REGISTRY:
            act = _REGISTRY[key]
            return act.with_params(**params) if params else act
        if key in _ALIASES:
            target, alias_params = _ALIASES[key]
            return _REGISTRY[target].with_params(**{**alias_params, **params})
        valid = names(include_aliases=True)
        close = difflib.get_close_matches(key, valid, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"unknown activation {identifier!r}.{hint} Valid names: {', '.join(valid)}"
        )
    if callable(identifier):
        name = getattr(identifier, "__name__", type(identifier).__name__)
        derivative = getattr(identifier, "derivative", None)
        fn = lambda x, **p: np.asarray(identifier(x), dtype=x.dtype)  # noqa: E731
        if derivative is not None:
            der = lambda x, y, **p: np.array(derivative(x), dtype=x.dtype, copy=True)  # noqa: E731
        else:
            der = _numerical_der(identifier)
        return Activation(name=name, fn=fn, der=der, numerical_derivative=derivative is None,
                          description="user callable")
    raise ValueError(
        f"cannot interpret {identifier!r} (type {type(identifier).__name__}) as an activation; "
        "pass a name (see `actlab list`), an Activation, or a callable"
    )
