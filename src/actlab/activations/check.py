"""Is an activation's derivative right?  Three independent oracles and a stability check.

``check(act)`` compares the analytic derivative of an activation (from the zoo or registered
by a user) with

1. **central differences** in float64 on a grid (2001 points in [-8, 8] plus a few large
   inputs), leaving out the points within ``kink_gap`` of the activation's kinks; vector
   functions (softmax, log_softmax, maxout) have their ``vjp`` checked against central
   differences of ``sum(g * f(x))`` on random batched inputs;
2. **PyTorch autograd** in float64, values and gradients, for every activation PyTorch has
   (the entry's ``torch_reference``, else the ``torch.nn`` module its ``torch_name`` names); at the kinks only where
   PyTorch's convention agrees with ours (it does not for selu at 0 or elu with alpha > 1 at
   0, and did not for hardswish at -3 and 3 before PyTorch 2.x: such points are listed in the
   notes, not failed); skipped when torch is not installed;
3. **the kinks**: at each kink the derivative must be the one-sided derivative of smaller
   magnitude (the minimum-norm convention of :mod:`actlab.activations.base`), estimated
   independently from one-sided differences ``(f(k+h) - f(k)) / h`` and
   ``(f(k) - f(k-h)) / h``;

and a **stability** check: float32 and float64 inputs over [-1e4, 1e4] give finite values and
derivatives with no overflow/invalid/divide-by-zero warnings, keeping dtype and shape (scalar,
1-D, 2-D).  Underflow to zero (``exp(-1e4)``) is the right answer and is allowed.

>>> from actlab.activations.check import check
>>> report = check("relu", use_torch=False)
>>> report.ok, [r.status for r in report.results]
(True, ['pass', 'skipped', 'pass', 'pass'])
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from .base import Activation, get, names

__all__ = ["OracleResult", "CheckReport", "check", "check_all", "DEFAULT_GRID"]

#: The default grid: 2001 points in [-8, 8] and a few large inputs on both sides.
DEFAULT_GRID = np.concatenate([np.linspace(-8.0, 8.0, 2001), [-30.0, -20.0, -12.0, 12.0, 20.0, 30.0]])

PASS, FAIL, SKIPPED = "pass", "fail", "skipped"


@dataclass
class OracleResult:
    """What one oracle found.  ``status`` is ``"pass"``, ``"fail"`` or ``"skipped"``.

    ``max_abs_err`` and ``max_rel_err`` are over the points compared (relative error where
    the reference is not tiny); ``worst_x`` is the input where the error was largest relative
    to its tolerance; ``reason`` says why it failed or was skipped, ``notes`` anything else
    worth knowing (points left out and why).
    """

    oracle: str
    status: str
    n_points: int = 0
    max_abs_err: float = 0.0
    max_rel_err: float = 0.0
    worst_x: Any = None
    reason: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status != FAIL

    def as_dict(self) -> dict[str, Any]:
        worst = self.worst_x
        if isinstance(worst, np.ndarray):
            worst = worst.tolist()
        elif isinstance(worst, np.generic):
            worst = worst.item()
        return {
            "oracle": self.oracle, "status": self.status, "n_points": self.n_points,
            "max_abs_err": float(self.max_abs_err), "max_rel_err": float(self.max_rel_err),
            "worst_x": worst, "reason": self.reason, "notes": list(self.notes),
        }


@dataclass
class CheckReport:
    """The results of :func:`check` for one activation; ``.ok`` is False if any oracle failed."""

    activation: str
    results: list[OracleResult]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def failures(self) -> list[OracleResult]:
        return [r for r in self.results if r.status == FAIL]

    def __getitem__(self, oracle: str) -> OracleResult:
        for r in self.results:
            if r.oracle == oracle:
                return r
        valid = ", ".join(r.oracle for r in self.results)
        raise KeyError(f"no oracle {oracle!r} in this report; valid: {valid}")

    def as_dict(self) -> dict[str, Any]:
        return {"activation": self.activation, "ok": self.ok, "results": [r.as_dict() for r in self.results]}

    def to_text(self) -> str:
        lines = [f"{self.activation}: {'OK' if self.ok else 'FAILED'}"]
        for r in self.results:
            line = f"  {r.oracle:<20} {r.status.upper():<8}"
            if r.status != SKIPPED:
                line += f" {r.n_points:>5} points"
                if r.oracle != "stability" and r.n_points:
                    line += f"  max abs err {r.max_abs_err:.2e}  max rel err {r.max_rel_err:.2e}"
            if r.status == FAIL and r.worst_x is not None:
                line += f"  worst at x={_fmt_x(r.worst_x)}"
            if r.reason:
                line += f"  ({r.reason})"
            lines.append(line)
            lines += [f"      note: {n}" for n in r.notes]
        return "\n".join(lines)

    __str__ = to_text

    def to_rich_table(self):
        """A ``rich.table.Table`` of the oracles (rich is a core dependency)."""
        from rich.table import Table

        title = f"{self.activation}: " + ("[green]OK[/green]" if self.ok else "[bold red]FAILED[/bold red]")
        table = Table(title=title, title_justify="left")
        for col in ("oracle", "status", "points", "max abs err", "max rel err", "worst x", "details"):
            table.add_column(col, justify="right" if col in ("points", "max abs err", "max rel err") else "left")
        style = {PASS: "green", FAIL: "bold red", SKIPPED: "yellow"}
        for r in self.results:
            skipped = r.status == SKIPPED or r.oracle == "stability" or not r.n_points
            details = "; ".join(([r.reason] if r.reason else []) + r.notes)
            table.add_row(
                r.oracle, f"[{style[r.status]}]{r.status}[/{style[r.status]}]",
                "" if r.status == SKIPPED else str(r.n_points),
                "" if skipped else f"{r.max_abs_err:.2e}",
                "" if skipped else f"{r.max_rel_err:.2e}",
                _fmt_x(r.worst_x) if r.worst_x is not None and r.status == FAIL else "",
                details,
            )
        return table


def _fmt_x(x: Any) -> str:
    if isinstance(x, (float, np.floating)):
        return f"{float(x):.6g}"
    return str(x)


# ----------------------------------------------------------------------------- helpers


def _param_shape(act: Activation) -> tuple[int, ...]:
    """The shape of an array parameter (prelu's per-unit alpha), () when all are scalars."""
    shape: tuple[int, ...] = ()
    for v in act.params.values():
        if isinstance(v, np.ndarray) and v.ndim > 0:
            shape = np.broadcast_shapes(shape, v.shape)
    return shape


def _on_grid(act: Activation, x: np.ndarray) -> np.ndarray:
    """``x`` (1-D) spread over the units of an array parameter: shape (len(x), *param_shape)."""
    shape = _param_shape(act)
    if not shape:
        return x
    return np.broadcast_to(x.reshape((-1,) + (1,) * len(shape)), x.shape + shape).copy()


def _fd_step(x: np.ndarray, dtype) -> np.ndarray:
    # h ~ cbrt(eps) balances the O(h^2) truncation and O(eps/h) rounding errors; 1e-6 in float64.
    rel = 1e-6 if np.dtype(dtype) == np.float64 else float(np.cbrt(np.finfo(dtype).eps))
    return rel * np.maximum(1.0, np.abs(x))


def _compare(num: np.ndarray, ana: np.ndarray, x: np.ndarray, allowed: np.ndarray, atol: float):
    """abs and rel error, worst point (by error / allowed) and whether every point passes."""
    num = np.asarray(num, dtype=np.float64)
    ana = np.asarray(ana, dtype=np.float64)
    both_nan = np.isnan(num) & np.isnan(ana)
    err = np.where(both_nan, 0.0, np.abs(num - ana))
    err = np.where(np.isnan(err), np.inf, err)  # one NaN, not the other: a failure
    ratio = err / allowed
    i = int(np.argmax(ratio)) if ratio.size else 0
    big = np.abs(num) > atol
    rel = float(np.max(err[big] / np.abs(num[big]))) if np.any(big) else 0.0
    ok = bool(np.all(err <= allowed))
    worst = x.reshape(-1)[i] if x.size == err.size else [int(j) for j in np.unravel_index(i, err.shape)]
    return float(np.max(err)) if err.size else 0.0, rel, worst, ok


class _Strict:
    """Floating-point trouble raises: overflow, invalid and divide by zero (not underflow)."""

    def __enter__(self):
        self._err = np.errstate(over="raise", invalid="raise", divide="raise", under="ignore")
        self._err.__enter__()
        self._warn = warnings.catch_warnings()
        self._warn.__enter__()
        warnings.simplefilter("error")
        return self

    def __exit__(self, *exc):
        self._warn.__exit__(*exc)
        self._err.__exit__(*exc)
        return False


# ----------------------------------------------------------------------------- oracle 1


def _central_differences(act: Activation, grid: np.ndarray, dtype, rtol: float, atol: float,
                         kink_gap: float, seed: int) -> OracleResult:
    oracle = "central differences"
    if not act.elementwise:
        return _vjp_central_differences(act, dtype, rtol, atol, seed)
    x = np.asarray(grid, dtype=np.float64).reshape(-1)
    kinks = np.asarray(act.kinks, dtype=np.float64)
    keep = np.ones(x.shape, bool)
    gap = np.maximum(kink_gap, 2.0 * _fd_step(x, dtype))  # the differences must not straddle a kink
    for k in kinks:
        keep &= np.abs(x - k) > gap
    x = x[keep].astype(dtype)
    notes = []
    if kinks.size:
        notes.append(f"{int((~keep).sum())} point(s) within {float(gap.max()):g} of the kinks "
                     f"{', '.join(f'{k + 0.0:g}' for k in kinks)} left out (see 'kinks')")
    if act.numerical_derivative:
        notes.append("this activation has no analytic derivative (central differences were used)")
    X = _on_grid(act, x)
    try:
        step = _fd_step(X, dtype).astype(dtype)
        xp, xm = X + step, X - step
        fp = np.asarray(act(xp), dtype=np.float64)
        fm = np.asarray(act(xm), dtype=np.float64)
        h = (xp.astype(np.float64) - xm.astype(np.float64)) / 2.0  # the step really taken
        num = (fp - fm) / (2.0 * h)
        ana = np.asarray(act.derivative(X), dtype=np.float64)
        # the difference quotient is the mean of f' over [x - h, x + h]: it may differ from f'(x)
        # by as much as f' varies there (an O(h) amount where f'' jumps, as for x|x| at 0)
        spread = (np.abs(np.asarray(act.derivative(xp), dtype=np.float64) - ana)
                  + np.abs(np.asarray(act.derivative(xm), dtype=np.float64) - ana))
    except Exception as exc:  # a user function that breaks is a failure to report, not a crash
        return OracleResult(oracle, FAIL, reason=f"raised {type(exc).__name__}: {exc}", notes=notes)
    if ana.shape != num.shape:
        return OracleResult(oracle, FAIL, n_points=int(num.size),
                            reason=f"derivative has shape {ana.shape}, expected {num.shape}", notes=notes)
    eps = np.finfo(dtype).eps
    # tolerance: relative, absolute, and the rounding error of the difference itself
    allowed = atol + rtol * np.abs(num) + 8 * eps * (np.abs(fp) + np.abs(fm)) / (2.0 * h)
    if ana.shape == spread.shape:
        # capped at |f''| <= 100 (1 + |f'|), so a jump of f' itself (an undeclared kink) still fails
        cap = 100.0 * h * (1.0 + np.abs(ana))
        allowed = allowed + np.minimum(np.where(np.isfinite(spread), spread, 0.0), cap)
    max_abs, max_rel, worst, ok = _compare(num, ana, X, allowed, atol)
    res = OracleResult(oracle, PASS if ok else FAIL, int(num.size), max_abs, max_rel, worst, notes=notes)
    if not ok:
        i = int(np.argmax(np.abs(num - ana) / allowed))
        res.reason = (f"at x={_fmt_x(X.reshape(-1)[i])}: derivative {ana.reshape(-1)[i]:.10g}, "
                      f"central difference {num.reshape(-1)[i]:.10g}")
    return res


def _batch_input(act: Activation, rng: np.random.Generator, rows: int = 4) -> np.ndarray:
    width = 5 * int(act.params.get("k", 1)) if "k" in act.params else 5
    x = rng.normal(scale=3.0, size=(rows, width))
    x[-1] *= 10.0  # one row of large inputs
    return x


def _vjp_central_differences(act: Activation, dtype, rtol: float, atol: float, seed: int) -> OracleResult:
    oracle = "central differences"
    rng = np.random.default_rng(seed)
    try:
        x = _batch_input(act, rng).astype(dtype)
        y = act(x)
        g = rng.normal(size=y.shape).astype(dtype)
        ana = np.asarray(act.vjp(x.copy(), y.copy(), g.copy()), dtype=np.float64)
        num = np.empty(x.shape, dtype=np.float64)
        scale = np.empty(x.shape, dtype=np.float64)
        h_all = _fd_step(x, dtype).astype(dtype)
        for idx in np.ndindex(*x.shape):
            xp, xm = x.copy(), x.copy()
            xp[idx] += h_all[idx]
            xm[idx] -= h_all[idx]
            sp = np.asarray(act(xp), dtype=np.float64) * g
            sm = np.asarray(act(xm), dtype=np.float64) * g
            h = (float(xp[idx]) - float(xm[idx])) / 2.0
            num[idx] = (sp.sum() - sm.sum()) / (2.0 * h)
            scale[idx] = (np.abs(sp).sum() + np.abs(sm).sum()) / (2.0 * h)
    except Exception as exc:
        return OracleResult(oracle, FAIL, reason=f"raised {type(exc).__name__}: {exc}")
    if ana.shape != num.shape:
        return OracleResult(oracle, FAIL, n_points=int(num.size),
                            reason=f"vjp has shape {ana.shape}, expected {num.shape}")
    eps = np.finfo(dtype).eps
    allowed = atol + rtol * np.abs(num) + 8 * eps * scale
    max_abs, max_rel, worst, ok = _compare(num, ana, np.zeros(0), allowed, atol)
    notes = [f"vjp on random {x.shape[0]}x{x.shape[1]} inputs (seed {seed}) against "
             "central differences of sum(g * f(x))"]
    res = OracleResult(oracle, PASS if ok else FAIL, int(num.size), max_abs, max_rel,
                       None if ok else f"x{worst}", notes=notes)
    # the full Jacobian, when ``derivative`` returns one (softmax, log_softmax): J[..., i, j] = dy_i/dx_j
    try:
        jac = np.asarray(act.derivative(x), dtype=np.float64)
    except Exception as exc:
        jac = None
        res.notes.append(f"derivative() raised {type(exc).__name__}: {exc}")
    if jac is not None and jac.shape == y.shape + x.shape[-1:]:
        jv = np.einsum("...i,...ij->...j", g.astype(np.float64), jac)
        j_abs, j_rel, j_worst, j_ok = _compare(num, jv, np.zeros(0), allowed, atol)
        res.notes.append(f"Jacobian from derivative(): max abs err {j_abs:.2e}")
        res.max_abs_err, res.max_rel_err = max(res.max_abs_err, j_abs), max(res.max_rel_err, j_rel)
        if not j_ok:
            res.status, res.worst_x = FAIL, f"x{j_worst}"
            res.reason = "the Jacobian returned by derivative() disagrees with central differences"
    if res.status == FAIL and not res.reason:
        res.reason = "vjp disagrees with central differences"
    return res


# ----------------------------------------------------------------------------- oracle 2

def _torch_callable(act: Activation, torch):
    """PyTorch's own implementation of ``act`` (a function of a float64 tensor), or None: the entry's
    ``torch_reference``, else the ``torch.nn`` module its ``torch_name`` names, with its parameters."""
    if act.torch_reference is not None:
        fn = act.torch_reference(torch, **act.params)
    elif act.torch_name is not None and hasattr(torch.nn, act.torch_name):
        fn = getattr(torch.nn, act.torch_name)(**act.params)
    else:
        return None
    if isinstance(fn, torch.nn.Module):
        fn = fn.double()
        fn.eval()  # RReLU: the fixed mean slope (lower + upper) / 2, as our inference function
    return fn


def _torch_desc(act: Activation, fn) -> str:
    if act.torch_name is not None:
        return f"torch.nn.{act.torch_name}"
    return f"torch.{getattr(fn, '__name__', type(fn).__name__)}"


def _pytorch(act: Activation, grid: np.ndarray, rtol: float, atol: float, kink_gap: float,
             seed: int, use_torch: bool) -> OracleResult:
    oracle = "pytorch float64"
    if not use_torch:
        return OracleResult(oracle, SKIPPED, reason="skipped: PyTorch comparison turned off")
    try:
        import torch
    except ImportError:
        return OracleResult(oracle, SKIPPED, reason="skipped: torch not installed")
    fn = _torch_callable(act, torch)
    if fn is None:
        return OracleResult(oracle, SKIPPED, reason=f"skipped: PyTorch has no counterpart of {act.name!r}")

    if act.elementwise:
        base = np.asarray(grid, dtype=np.float64).reshape(-1)
        extra = act.torch_kinks_fn(**act.params) if act.torch_kinks_fn is not None else ()
        kinks = np.unique(np.asarray(tuple(act.kinks) + tuple(extra), dtype=np.float64))
        x = np.unique(np.concatenate([base, kinks]))
        X = _on_grid(act, x)
        g = np.ones_like(X)
    else:
        rng = np.random.default_rng(seed)
        X = _batch_input(act, rng)
        g = rng.normal(size=act(X).shape)
        kinks = np.zeros(0)
    try:
        t = torch.tensor(X, dtype=torch.float64, requires_grad=True)
        out = fn(t)
        out.backward(torch.tensor(g, dtype=torch.float64))
        t_val = out.detach().numpy()
        t_grad = t.grad.numpy()
        val = np.asarray(act(X), dtype=np.float64)
        grad = np.asarray(act.vjp(X.copy(), None, g.copy()) if not act.elementwise else act.derivative(X),
                          dtype=np.float64)
    except Exception as exc:
        return OracleResult(oracle, FAIL, reason=f"raised {type(exc).__name__}: {exc}")
    if val.shape != t_val.shape or grad.shape != t_grad.shape:
        return OracleResult(oracle, FAIL, reason=f"shapes differ from PyTorch's: value {val.shape} vs "
                                                 f"{t_val.shape}, gradient {grad.shape} vs {t_grad.shape}")
    notes: list[str] = []
    compare = np.ones(grad.shape, bool)
    if kinks.size:  # at the kinks compare only where PyTorch's convention is ours
        xs = X.reshape(X.shape[0], -1)[:, 0]
        for k in kinks:
            rows = np.abs(xs - k) <= 0.0
            if not np.any(rows):
                continue
            ours, theirs = grad[rows], t_grad[rows]
            if not np.allclose(ours, theirs, rtol=rtol, atol=atol):
                compare[rows] = False
                notes.append(f"x={k + 0.0:g} skipped: PyTorch's subgradient is {float(theirs.reshape(-1)[0]):.6g}, "
                             f"ours {float(ours.reshape(-1)[0]):.6g} (minimum-norm convention)")
    X_flat = X if act.elementwise else np.zeros(0)
    # values: PyTorch's softplus is linear above 20 (error < 2e-9): atol covers it
    allowed_v = atol + rtol * np.abs(t_val)
    v_abs, v_rel, v_worst, v_ok = _compare(t_val, val, X_flat, allowed_v, atol)
    allowed_g = atol + rtol * np.abs(t_grad)
    sel = compare.reshape(-1)
    g_abs, g_rel, g_worst, g_ok = _compare(t_grad.reshape(-1)[sel], grad.reshape(-1)[sel],
                                           X_flat.reshape(-1)[sel] if act.elementwise else np.zeros(0),
                                           allowed_g.reshape(-1)[sel], atol)
    res = OracleResult(oracle, PASS if (v_ok and g_ok) else FAIL, int(sel.sum()),
                       max(v_abs, g_abs), max(v_rel, g_rel), notes=notes)
    res.notes.insert(0, f"against {_torch_desc(act, fn)}")
    if not v_ok:
        res.worst_x, res.reason = v_worst, "values differ from PyTorch's"
    elif not g_ok:
        res.worst_x, res.reason = g_worst, "gradients differ from PyTorch autograd"
    return res


# ----------------------------------------------------------------------------- oracle 3


def _one_sided(act: Activation, k: float, h: float) -> tuple[float, float]:
    x = np.array([k - h, k, k + h], dtype=np.float64)
    X = _on_grid(act, x)
    f = np.asarray(act(X), dtype=np.float64).reshape(3, -1)[:, 0]
    return float((f[1] - f[0]) / h), float((f[2] - f[1]) / h)


def _kinks(act: Activation, atol: float) -> OracleResult:
    oracle = "kinks"
    if not act.elementwise:
        return OracleResult(oracle, SKIPPED, reason="skipped: not an elementwise function")
    kinks = act.kinks
    if not kinks:
        return OracleResult(oracle, PASS, 0, notes=["no kinks declared"])
    worst, max_abs, max_rel, failures, notes = None, 0.0, 0.0, [], []
    for k in kinks:
        h = 1e-7 * max(1.0, abs(k))
        try:
            left, right = _one_sided(act, k, h)
            d = np.asarray(act.derivative(_on_grid(act, np.array([k], dtype=np.float64))), dtype=np.float64)
        except Exception as exc:
            return OracleResult(oracle, FAIL, reason=f"raised {type(exc).__name__}: {exc}")
        d = float(d.reshape(-1)[0])
        # one-sided differences are accurate to ~1e-7 here; the exact values are simple numbers
        left, right = round(left, 5), round(right, 5)
        if abs(left) < abs(right):
            candidates = [left]
        elif abs(right) < abs(left):
            candidates = [right]
        else:
            candidates = [left, right]
        if left * right < 0:  # the subdifferential [left, right] contains 0
            candidates.append(0.0)
        tol = 1e-5 * max(1.0, abs(candidates[0]))
        err = min(abs(d - c) for c in candidates)
        if err > max_abs:
            max_abs, worst = err, k
        max_rel = max(max_rel, err / max(abs(candidates[0]), 1e-300) if candidates[0] else err)
        notes.append(f"f'({k:g}) = {d:.10g}; one-sided {left:.6g} (left), {right:.6g} (right)")
        if err > tol or not math.isfinite(d):
            failures.append(f"f'({k:g}) = {d:.10g}, expected {candidates[0]:.6g} "
                            f"(one-sided: {left:.6g} left, {right:.6g} right)")
    res = OracleResult(oracle, FAIL if failures else PASS, len(kinks), max_abs, max_rel,
                       worst if failures else None, notes=notes)
    if failures:
        res.reason = "; ".join(failures) + " - the convention is the one-sided derivative of smaller magnitude"
    return res


# ----------------------------------------------------------------------------- stability


def _stability(act: Activation, seed: int) -> OracleResult:
    oracle = "stability"
    problems: list[str] = []
    n = 0
    rng = np.random.default_rng(seed)
    for dtype in (np.float32, np.float64):
        wide = np.concatenate([np.linspace(-1e4, 1e4, 2001), [-1e4, -88.8, -0.0, 88.8, 1e4]]).astype(dtype)
        if act.elementwise:
            shaped = {"scalar": dtype(-1e4), "scalar 0": dtype(0.0), "1-D": wide,
                      "2-D": wide[:2000].reshape(40, 50)}
            if _param_shape(act):
                shaped = {"2-D": _on_grid(act, wide)}
        else:
            width = 5 * int(act.params.get("k", 1)) if "k" in act.params else 5
            m = wide[: (wide.size // width) * width]
            shaped = {"1-D": rng.permutation(m)[:width], "2-D": rng.permutation(m).reshape(-1, width)}
        for label, x in shaped.items():
            x = np.asarray(x) if label.startswith("scalar") else x
            where = f"{np.dtype(dtype).name} {label}"
            try:
                with _Strict():
                    y = act(x)
                    if act.elementwise:
                        d = act.derivative(x)
                    else:
                        d = act.vjp(x.copy(), y.copy(), np.ones_like(y))
            except Exception as exc:
                problems.append(f"{where}: {type(exc).__name__}: {exc}")
                continue
            n += int(np.size(x))
            for what, arr in (("f", y), ("f'", d)):
                arr = np.asarray(arr)
                if arr.dtype != np.dtype(dtype):
                    problems.append(f"{where}: {what} has dtype {arr.dtype}")
                if act.elementwise and arr.shape != np.shape(x):
                    problems.append(f"{where}: {what} has shape {arr.shape}, input {np.shape(x)}")
                if not act.elementwise and what == "f'" and arr.shape != np.shape(x):
                    problems.append(f"{where}: vjp has shape {arr.shape}, input {np.shape(x)}")
                bad = ~np.isfinite(arr)
                if np.any(bad):
                    xi = np.broadcast_to(x, arr.shape)[bad].reshape(-1)[0] if arr.shape == np.shape(x) else "?"
                    problems.append(f"{where}: {what} not finite (e.g. at x={_fmt_x(xi)})")
    res = OracleResult(oracle, FAIL if problems else PASS, n,
                       notes=["float32 and float64 over [-1e4, 1e4]; scalar, 1-D and 2-D inputs"])
    if problems:
        res.reason = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
    return res


# ----------------------------------------------------------------------------- entry points


def check(activation_or_name: Any, *, dtype: Any = np.float64, grid: Iterable[float] | None = None,
          rtol: float | None = None, atol: float | None = None, use_torch: bool = True,
          kink_gap: float = 1e-3, seed: int = 0, **params: Any) -> CheckReport:
    """Verify an activation's derivative against the three oracles and its numeric stability.

    Args:
        activation_or_name: a registered name, an :class:`Activation` or a callable (as
            :func:`actlab.activations.get` takes); ``**params`` override its parameters.
        dtype: the floating type of the central differences (float64; float32 loosens the
            step and the tolerances).
        grid: the points of the elementwise checks (default :data:`DEFAULT_GRID`).
        rtol, atol: the tolerances (default 1e-6 and 1e-8 in float64, 1e-2 and 1e-3 in float32).
        use_torch: compare with PyTorch autograd when torch can be imported.
        kink_gap: central differences leave out the points this close to a kink.
        seed: the seed of the random inputs of vector functions.

    Returns:
        a :class:`CheckReport`; ``report.ok`` is False if any oracle failed.
    """
    act = get(activation_or_name, **params)
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
    if rtol is None:
        rtol = 1e-6 if dtype == np.float64 else 1e-2
    if atol is None:
        atol = 1e-8 if dtype == np.float64 else 1e-3
    g = DEFAULT_GRID if grid is None else np.asarray(list(grid), dtype=np.float64)
    results = [
        _central_differences(act, g, dtype.type, rtol, atol, kink_gap, seed),
        _pytorch(act, g, 1e-7, 1e-8, kink_gap, seed, use_torch),
        _kinks(act, atol),
        _stability(act, seed),
    ]
    return CheckReport(act.label(every=True), results)


def check_all(names_: Iterable[Any] | None = None, **kwargs: Any) -> list[CheckReport]:
    """:func:`check` for each name (default: every registered activation)."""
    return [check(n, **kwargs) for n in (names() if names_ is None else names_)]
