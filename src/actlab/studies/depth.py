"""``actlab depth``: the vanishing gradient, in the manner of Glorot & Bengio (2010).

For every activation, depth (number of hidden layers) and seed, one run trains an MLP of
``depth`` hidden layers of ``width`` units with plain SGD for a fixed budget, and records on a
fixed probe batch (the first ``probe`` training examples), at initialisation and after every
epoch: the norm of dL/dW for every layer, and the mean, standard deviation, saturated, dead and
inactive fractions of every hidden layer (see :mod:`actlab.studies.diagnostics`).

The headline number is the ratio of the first hidden layer's gradient norm to the last hidden
layer's at initialisation: in a 10-hidden-layer sigmoid net it is orders of magnitude below 1
(each sigmoid layer multiplies the backpropagated gradient by at most 1/4), in a tanh or ReLU
net it stays near 1.

Glorot, X. & Bengio, Y. (2010). Understanding the difficulty of training deep feedforward
neural networks. AISTATS.

>>> from actlab.studies.depth import DEPTH, depth_study
>>> params = DEPTH.params(activations=["sigmoid", "relu"], depths=[1, 10], seeds=[0], epochs=2)
>>> len(DEPTH.tasks(params, "example"))           # one run per (activation, depth, seed)
4
>>> res = depth_study(activations=["sigmoid", "relu"], depths=[1, 10], seeds=[0], epochs=2)  # doctest: +SKIP
>>> [r["activation"] for r in res.ratio_summary() if r["depth"] == 10 and r["ratio"] < 1e-2]  # doctest: +SKIP
['sigmoid']
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from .. import presets
from ..activations import label_of
from ..backends import DEFAULT_BACKEND
from ..engine.initializers import DEFAULT_INITIALIZER, INITIALIZERS
from ..store import Store
from .config import load_data, make_config
from .diagnostics import hidden_layers as hidden_layers_of
from .diagnostics import mean_ci, measure
from .runner import Task, build_model
from .shape import (Study, StudyCli, activation_configs, check_list, cli_default, cli_samples, data_dir_option,
                    parse_ints, parse_seeds, register_study, samples_option, study_name, study_params)

__all__ = ["DEFAULTS", "THEORY_TOLERANCE", "DepthResult", "DepthRun", "LayerTheory", "depth_report", "depth_result",
           "depth_sections", "depth_study", "depth_tasks", "depth_theory", "layers_diagnostic", "report_from_store",
           "run_theory", "study_name", "study_params", "theory_comparison", "theory_prediction", "DEPTH"]

_DATASET = "digits"
DEFAULTS: dict[str, Any] = {
    "activations": ("sigmoid", "tanh", "relu", "leaky_relu", "elu"),
    "depths": (1, 2, 4, 6, 8, 10),
    "seeds": (0, 1, 2),
    "dataset": _DATASET,
    "width": 64,
    "epochs": 8,
    "batch_size": 32,
    "learning_rate": 0.1,
    "optimizer": presets.get(_DATASET).optimizer,   # the dataset's preset's, as `actlab train` (plain SGD)
    "probe": 500,
    "init": DEFAULT_INITIALIZER,
}


def layers_diagnostic(model, data, epoch: int, probe: int = 500, gradients: bool = True) -> dict:
    """Per hidden layer on the first ``probe`` training examples: gradient norms (optional),
    mean, std, saturated, dead and inactive fractions (a ``forward`` in inference mode only)."""
    x = data.x_train[:probe]
    y = data.y_train[:probe] if gradients else None
    with np.errstate(all="ignore"):
        return measure(model, x, y)


@dataclass
class LayerTheory:
    """The mean-field prediction for one built net, or why there is none (``relative`` is None).

    ``relative`` holds the predicted ‖dL/dW‖ of every Dense layer (hidden layers, then the output
    layer) relative to the output layer's, for the gradient of the mean loss over the probe batch
    (``actlab.theory.layerwise_batch``); ``single`` the same for one input of the batch's mean
    squared entry (``actlab.theory.layerwise``: the chi_1 product); ``q`` and ``chi`` the
    per-layer q^l and chi(l) (means over the batch); ``reason`` is empty when it exists.
    """

    relative: np.ndarray | None
    reason: str = ""
    q: tuple[float, ...] = ()
    chi: tuple[float, ...] = ()
    single: np.ndarray | None = None     # the single-input prediction (no cross-example terms)


def theory_prediction(model: Any, x: Any, y: Any | None = None, *, seed: int = 0) -> LayerTheory:
    """What the mean-field theory predicts for ``model``'s gradient norms at initialisation on the
    probe batch ``x``.

    Every layer's effective ``sigma_w2`` is its kernel's variance times its fan-in (Glorot
    uniform: 2 fan_in / (fan_in + fan_out)), its ``sigma_b2`` the bias initializer's variance (0
    for zero biases), the widths are the net's own, and the forward kernel starts from the probe's
    own inputs (x_a . x_b / n_0; the single-input prediction from q0 = mean(x^2)). With labels
    ``y`` the prediction is for the mean loss's gradient over the batch, cross-example terms
    included (``seed`` seeds its Monte Carlo); without, the single-input one. The activation of
    each hidden layer must be elementwise
    with scalar parameters (a PReLU layer at initialisation, all slopes equal, is leaky ReLU with
    that slope); maxout and per-unit parameters are not covered, nor weights drawn with a non-zero
    mean (the reason says which).
    """
    from .. import activations as _acts
    from .. import theory
    from ..engine import layers as L

    dense = [layer for layer in model.layers if isinstance(layer, L.Dense)]
    acts: list[Any] = []
    for h in hidden_layers_of(model):
        layer = model.layers[h.dense]
        act = layer.activation
        for j in h.parts:
            part = model.layers[j]
            if act.name != "linear":
                return LayerTheory(None, f"hidden layer {h.number + 1} stacks two activations")
            if isinstance(part, L.PReLU):
                alpha = np.asarray(part.params["alpha"], dtype=np.float64)
                if alpha.size and np.ptp(alpha) > 0:
                    return LayerTheory(None, "prelu with per-unit slopes that differ (the theory needs one slope)")
                act = _acts.get("leaky_relu", alpha=float(alpha.ravel()[0]) if alpha.size else 0.0)
            else:
                act = part.activation
        if not act.elementwise:
            return LayerTheory(None, f"{act.name} is not elementwise (the mean-field theory needs phi applied unit by unit)")
        if any(np.ndim(v) != 0 for v in act.params.values()):
            return LayerTheory(None, f"{act.name} has per-unit parameters (the theory needs scalars)")
        acts.append(act)
    sw, sb = [], []
    for layer in dense:
        init = layer.kernel_initializer
        if not hasattr(init, "variance") or getattr(init, "mean", 0.0) != 0.0 or getattr(init, "distribution", "") == "ones":
            return LayerTheory(None, f"the initializer {getattr(init, 'name', init)!r} does not draw centred weights "
                                     "of known variance")
        shape = layer.params["kernel"].shape
        sw.append(init.variance(shape) * shape[0])
        binit = layer.bias_initializer if layer.use_bias else None
        if binit is not None and (not hasattr(binit, "variance") or getattr(binit, "mean", 0.0) != 0.0
                                  or getattr(binit, "distribution", "") == "ones"):
            return LayerTheory(None, f"the bias initializer {getattr(binit, 'name', binit)!r} is not centred")
        sb.append(0.0 if binit is None else binit.variance((layer.units,)))
    if not all(s > 0 for s in sw):
        return LayerTheory(None, "a layer's weights have variance 0")
    x = np.asarray(x, dtype=np.float64)
    widths = [x.shape[1]] + [layer.params["kernel"].shape[1] for layer in dense]
    try:
        single = theory.layerwise(acts, widths, sw, sb, q0=float(np.mean(x * x)))
        pred = single if y is None else theory.layerwise_batch(
            acts, widths, sw, sb, x, y, seed=seed)
    except ValueError as exc:
        return LayerTheory(None, str(exc))
    return LayerTheory(np.asarray(pred.grad_norm), "", pred.q, pred.chi, np.asarray(single.grad_norm))


def depth_tasks(activations: Sequence[Any] = DEFAULTS["activations"], depths: Sequence[int] = DEFAULTS["depths"],
                seeds: Sequence[int] = DEFAULTS["seeds"], *, dataset: str = DEFAULTS["dataset"],
                n_samples: int | None = None, width: int = DEFAULTS["width"], epochs: int = DEFAULTS["epochs"],
                batch_size: int = DEFAULTS["batch_size"], learning_rate: float = DEFAULTS["learning_rate"],
                optimizer: Any = DEFAULTS["optimizer"], probe: int = DEFAULTS["probe"],
                init: str = DEFAULTS["init"], data_dir: str | None = None, study: str = "depth",
                engine: str = DEFAULT_BACKEND) -> list[Task]:
    """One task per (activation, depth, seed); each a full run configuration (see the runner).

    ``init`` is the weights' initializer (``actlab.engine.initializers``): Glorot & Bengio's
    normalized initialisation by default, which keeps sigmoid units out of saturation at the
    start; a scaled-up ``random_normal`` shows their saturation too.
    """
    depths = check_list("depths", depths, int, 1)
    seeds = check_list("seeds", seeds, int, 0)
    activations = list(activations)
    if not activations:
        raise ValueError("activations must not be empty")
    if not isinstance(width, int) or width < 1:
        raise ValueError(f"width must be a positive integer, got {width!r}")
    if not isinstance(probe, int) or probe < 1:
        raise ValueError(f"probe must be a positive integer, got {probe!r}")
    from ..engine import initializers

    initializers.get(init)  # an unknown name is one clear error here, not a failed run each
    tasks = []
    for act in activations:
        for depth in depths:
            for seed in seeds:
                cfg = make_config(study=study, seed=seed, dataset=dataset, n_samples=n_samples,
                                  hidden=f"{width}x{depth}", activation=act, optimizer=optimizer, init=init,
                                  learning_rate=learning_rate, epochs=epochs, batch_size=batch_size,
                                  engine=engine, data_dir=data_dir,
                                  diagnostics={"layers": {"probe": probe, "gradients": True}})
                tasks.append(Task(cfg, study))
    return tasks


@dataclass
class DepthRun:
    """One run's numbers: per epoch (0 = initialisation) and per hidden layer."""

    activation: str
    depth: int
    seed: int
    status: str
    key: str = ""
    diverged_epoch: int | None = None
    accuracy: float = math.nan            # final test accuracy (nan if diverged or failed)
    accuracy_curve: list[float] = field(default_factory=list)
    epochs: list[int] = field(default_factory=list)
    grad_norm: list[list[float]] = field(default_factory=list)    # [epoch][layer]
    grad_norm_output: list[float] = field(default_factory=list)   # [epoch], the output layer
    saturated: list[list[float]] = field(default_factory=list)
    mean: list[list[float]] = field(default_factory=list)
    std: list[list[float]] = field(default_factory=list)
    dead: list[list[float]] = field(default_factory=list)
    config: dict = field(default_factory=dict, repr=False)   # the run's configuration, as stored

    def ratio(self, epoch_index: int = 0) -> float:
        """First / last hidden layer gradient norm at the ``epoch_index``-th measurement (0: init)."""
        if not self.grad_norm or epoch_index >= len(self.grad_norm):
            return math.nan
        g = self.grad_norm[epoch_index]
        return g[0] / g[-1] if g and g[-1] > 0 else math.nan


def _depth_run(rec: dict) -> DepthRun:
    cfg = rec["config"]
    from ..engine import parse_hidden

    run = DepthRun(activation=label_of(cfg["model"]["activation"]), depth=len(parse_hidden(cfg["model"]["hidden"])),
                   seed=int(cfg["seed"]), status=rec["status"], key=rec["key"],
                   diverged_epoch=rec.get("diverged_epoch"), config=cfg)
    hist = rec.get("history") or {}
    run.accuracy_curve = [float(a) for a in hist.get("val_accuracy", [])]
    if rec["status"] == "done" and run.accuracy_curve:
        run.accuracy = run.accuracy_curve[-1]
    for entry in (rec.get("diagnostics") or {}).get("layers", []):
        run.epochs.append(int(entry["epoch"]))
        run.grad_norm.append(list(entry.get("grad_norm", [])))
        run.grad_norm_output.append(float(entry.get("grad_norm_output", math.nan)))
        for name in ("saturated", "mean", "std", "dead"):
            getattr(run, name).append(list(entry.get(name, [])))
    return run


@dataclass
class DepthResult:
    """All runs of a depth study and the summaries the report shows."""

    runs: list[DepthRun]
    settings: dict = field(default_factory=dict)
    reuse: tuple[int, int] | None = None    # (runs reused from the store, runs in all)

    @property
    def activations(self) -> list[str]:
        return list(dict.fromkeys(r.activation for r in self.runs))

    @property
    def depths(self) -> list[int]:
        return sorted({r.depth for r in self.runs})

    def select(self, activation: str | None = None, depth: int | None = None, ok: bool = True) -> list[DepthRun]:
        return [r for r in self.runs if (activation is None or r.activation == activation)
                and (depth is None or r.depth == depth) and (not ok or r.status in ("done", "diverged"))]

    # -- summaries ----------------------------------------------------------------------------
    def ratio_summary(self, epoch_index: int = 0) -> list[dict]:
        """Per (activation, depth): the first/last hidden-layer gradient-norm ratio, geometric mean
        over seeds with a 95% interval (t on log10), at the ``epoch_index``-th measurement."""
        rows = []
        for act in self.activations:
            for depth in self.depths:
                ratios = [r.ratio(epoch_index) for r in self.select(act, depth)]
                logs = [math.log10(v) for v in ratios if v is not None and math.isfinite(v) and v > 0]
                m, lo, hi, n = mean_ci(logs)
                rows.append({"activation": act, "depth": depth, "ratio": 10 ** m if n else math.nan,
                             "ratio_low": 10 ** lo if n else math.nan, "ratio_high": 10 ** hi if n else math.nan,
                             "log10_ratio": m, "seeds": n})
        return rows

    def accuracy_summary(self) -> list[dict]:
        """Per (activation, depth): mean final test accuracy with a 95% t interval; diverged runs counted."""
        rows = []
        for act in self.activations:
            for depth in self.depths:
                runs = self.select(act, depth)
                m, lo, hi, n = mean_ci([r.accuracy for r in runs if r.status == "done"])
                lo, hi = (max(lo, 0.0), min(hi, 1.0)) if n else (lo, hi)   # an accuracy lies in [0, 1]
                rows.append({"activation": act, "depth": depth, "accuracy": m, "low": lo, "high": hi,
                             "runs": n, "diverged": sum(r.status == "diverged" for r in runs)})
        return rows

    def layer_profile(self, activation: str, depth: int, quantity: str = "grad_norm",
                      epoch_index: int = 0) -> np.ndarray:
        """Mean over seeds of ``quantity`` per hidden layer at one measurement (geometric mean for
        gradient norms); NaNs where nothing was measured."""
        rows = [getattr(r, quantity)[epoch_index] for r in self.select(activation, depth)
                if len(getattr(r, quantity)) > epoch_index and getattr(r, quantity)[epoch_index]]
        if not rows:
            return np.full(depth, np.nan)
        arr = np.asarray(rows, dtype=np.float64)
        if quantity == "grad_norm":
            with np.errstate(divide="ignore"):
                return 10 ** np.nanmean(np.log10(arr), axis=0)
        return np.nanmean(arr, axis=0)

    def over_epochs(self, activation: str, depth: int, quantity: str = "saturated") -> tuple[np.ndarray, np.ndarray]:
        """``(epochs, values[epoch, layer])``: ``quantity`` per hidden layer over training, mean over
        the seeds that reached each epoch."""
        runs = [r for r in self.select(activation, depth) if getattr(r, quantity)]
        if not runs:
            return np.zeros(0, dtype=int), np.zeros((0, depth))
        n = max(len(r.epochs) for r in runs)
        epochs = next(r.epochs for r in runs if len(r.epochs) == n)
        out = np.full((n, depth), np.nan)
        for e in range(n):
            rows = [getattr(r, quantity)[e] for r in runs if len(getattr(r, quantity)) > e]
            if rows:
                arr = np.asarray(rows, dtype=np.float64)
                out[e] = 10 ** np.mean(np.log10(arr), axis=0) if quantity == "grad_norm" else arr.mean(axis=0)
        return np.asarray(epochs), out

    def headline(self, depth: int | None = None) -> dict[str, float]:
        """Activation -> first/last hidden-layer gradient-norm ratio at initialisation, deepest net."""
        depth = max(self.depths) if depth is None else depth
        return {row["activation"]: row["ratio"] for row in self.ratio_summary(0) if row["depth"] == depth}


#: measured and predicted gradient norms "agree" where |log10(measured / predicted)| <= this (a factor 1.26)
THEORY_TOLERANCE = 0.1


def run_theory(config: dict) -> LayerTheory:
    """The mean-field prediction for one run's net at initialisation, on its probe batch.

    The net is built again from the run's configuration (the same seed draws the same weights;
    only its layers' shapes and initializers are used) and the probe batch is the first
    ``probe`` training examples, as the ``layers`` diagnostic measured them.
    """
    from threadpoolctl import threadpool_limits

    try:
        data = load_data(config["data"], config.get("runtime"))
    except Exception as exc:  # noqa: BLE001 - a report without the data still renders, without theory
        return LayerTheory(None, f"the data set could not be loaded ({type(exc).__name__}: {exc})")
    model = build_model(config, data)
    probe = int(((config.get("diagnostics") or {}).get("layers") or {}).get("probe", DEFAULTS["probe"]))
    x, y = data.x_train[:probe], data.y_train[:probe]
    with threadpool_limits(1):   # small matrices: one BLAS thread is fastest, and never oversubscribes
        return theory_prediction(model, x, y, seed=int(config.get("seed", 0)))


def depth_theory(result: DepthResult) -> dict[str, dict[int, LayerTheory]]:
    """``[activation][depth]``: the prediction for the first run of each (the seeds differ only in
    their draws, which the theory averages over)."""
    out: dict[str, dict[int, LayerTheory]] = {}
    for act in result.activations:
        out[act] = {}
        for depth in result.depths:
            runs = [r for r in result.select(act, depth) if r.config]
            if runs:
                out[act][depth] = run_theory(runs[0].config)
    return out


def theory_comparison(result: DepthResult, theory: dict[str, dict[int, LayerTheory]],
                      tolerance: float = THEORY_TOLERANCE) -> list[dict]:
    """Per activation, at its deepest net: how far the measured gradient norms are from the prediction.

    The prediction is anchored at the output layer's measured norm (geometric mean over seeds),
    so every hidden layer's is a prediction. Keys: ``activation``, ``depth``, ``supported``,
    ``reason``, ``max_dev`` (max over hidden layers of |log10(measured / predicted)| at
    initialisation), ``worst_layer``, ``dev`` (the signed log10 per layer), ``spread`` (the seeds'
    own spread: the standard deviation over seeds of log10 ‖dL/dW‖ relative to the output
    layer's, mean over layers: the finite-width noise), ``disagree`` (layers beyond
    ``tolerance``), ``max_dev_end`` (the same deviation after the last epoch: training moves
    the weights), ``single_dev`` (max |log10| between the single-input prediction and this one:
    what the cross-example terms change).
    """
    rows = []
    last_index = max((len(r.grad_norm) for r in result.runs), default=1) - 1
    for act in result.activations:
        measured_depths = [d for d in result.depths if result.select(act, d)]
        depth = max(measured_depths or result.depths)
        th = theory.get(act, {}).get(depth)
        row = {"activation": act, "depth": depth, "supported": th is not None and th.relative is not None,
               "reason": "no run" if th is None else th.reason, "max_dev": math.nan, "worst_layer": None,
               "dev": [], "spread": math.nan, "disagree": [], "max_dev_end": math.nan, "single_dev": math.nan,
               "tolerance": tolerance}
        if row["supported"]:
            measured = result.layer_profile(act, depth, "grad_norm", 0)
            predicted = th.relative[:-1] * _output_norm(result, act, depth)
            with np.errstate(divide="ignore", invalid="ignore"):
                dev = np.log10(measured / predicted)
                end = np.log10(result.layer_profile(act, depth, "grad_norm", last_index) / predicted)
            if np.isfinite(dev).any():
                row["dev"] = [float(v) for v in dev]
                worst = int(np.nanargmax(np.abs(dev)))
                row["max_dev"], row["worst_layer"] = float(abs(dev[worst])), worst + 1
                row["disagree"] = [i + 1 for i, v in enumerate(dev) if not abs(v) <= tolerance]
            if last_index > 0 and np.isfinite(end).any():
                row["max_dev_end"] = float(np.nanmax(np.abs(end)))
            if th.single is not None:
                with np.errstate(divide="ignore", invalid="ignore"):
                    row["single_dev"] = float(np.nanmax(np.abs(np.log10(th.single[:-1] / th.relative[:-1]))))
            rel = []
            for r in result.select(act, depth):
                if r.grad_norm and r.grad_norm_output and r.grad_norm_output[0] > 0:
                    with np.errstate(divide="ignore", invalid="ignore"):
                        rel.append(np.log10(np.asarray(r.grad_norm[0], dtype=np.float64) / r.grad_norm_output[0]))
            if len(rel) > 1:
                row["spread"] = float(np.nanmean(np.std(np.asarray(rel), axis=0, ddof=1)))
        rows.append(row)
    return rows


def depth_result(records: Iterable[dict], settings: dict | None = None) -> DepthResult:
    """A :class:`DepthResult` from store records (``run_tasks``'s return or ``Store.runs('depth')``)."""
    runs = [_depth_run(rec) for rec in records if rec is not None and rec.get("config")]
    return DepthResult(runs=runs, settings=dict(settings or {}))


# -- report ---------------------------------------------------------------------------------------
def _fmt_ratio(row: dict) -> str:
    if not row["seeds"] or not math.isfinite(row["ratio"]):
        return "n/a"
    if row["seeds"] == 1:
        return f"{row['ratio']:.3g}"
    return f"{row['ratio']:.3g} [{row['ratio_low']:.3g}, {row['ratio_high']:.3g}]"


def _fmt_dev(v: float) -> str:
    return f"{v:.3f}" if v is not None and math.isfinite(v) else "n/a"


def _theory_text(rows: list[dict], last_index: int, width: Any = None) -> str:
    """The report's words on theory against measurement, one item per activation, from ``rows``
    (:func:`theory_comparison`); ``width`` is the hidden layers' width."""
    tol = rows[0]["tolerance"] if rows else THEORY_TOLERANCE
    lines = [(f"The dashed lines are the mean-field theory's prediction (docs/theory.md, \"The depth study\"): "
             "each layer's sigma_w^2 = Var(W) x fan-in from its initializer, sigma_b^2 from its bias initializer, "
             "the net's own widths, the length map started from the probe batch's mean squared input, the "
             "backpropagated error multiplied per layer by sigma_w^2 E[phi'(h)^2], with the cross-example terms of "
             "the probe batch's mean gradient. It is anchored at the output layer's measured norm, so every hidden "
             "layer is a prediction. They agree where |log10(measured / predicted)| <= "
             f"{tol:g} (a factor {10 ** tol:.2f}); the seeds' spread, the standard deviation over seeds of a "
             "layer's log10 norm, is the finite-width noise to set against it."), ""]
    for row in rows:
        act, depth = row["activation"], row["depth"]
        if not row["supported"]:
            lines.append(f"- **{act}**: no prediction: {row['reason']}.")
            continue
        if not row["dev"]:
            lines.append(f"- **{act}**: nothing measured at depth {depth}.")
            continue
        text = (f"- **{act}** ({depth} hidden layers): max |log10(measured / predicted)| = {row['max_dev']:.3f} "
                f"at layer {row['worst_layer']} (a factor {10 ** row['max_dev']:.2f}); ")
        bad = row["disagree"]
        if not bad:
            text += f"**agrees** at every hidden layer within {tol:g}"
        else:
            parts = []
            if 1 in bad:
                parts.append(f"layer 1, fed by the data (non-Gaussian, non-centred inputs), is off by "
                             f"{row['dev'][0]:+.3f}")
            if depth in bad and depth != 1:
                parts.append(f"layer {depth}, next to the softmax output layer, by {row['dev'][depth - 1]:+.3f}")
            inner = [i for i in bad if i not in (1, depth)]
            if inner:
                worst = max(abs(row["dev"][i - 1]) for i in inner)
                finite = math.isfinite(row["spread"]) and worst <= 2 * row["spread"]
                ratio = f"{depth} / {width}" if width else "depth / width"
                parts.append(f"layers {', '.join(map(str, inner))} by up to {worst:.3f}, "
                             + ("within twice the seeds' own spread: finite-width noise" if finite else
                                "beyond twice the seeds' spread" + (f" ({row['spread']:.3f})" if math.isfinite(
                                    row["spread"]) else "") + ": a systematic deviation, as finite width gives "
                                f"(its corrections grow with depth / width = {ratio} and no average over seeds "
                                "removes them)"))
            text += f"**disagrees** beyond {tol:g} at {len(bad)} of {depth} layers: " + "; ".join(parts)
        text += f"; seeds' spread {_fmt_dev(row['spread'])}"
        if math.isfinite(row["max_dev_end"]):
            text += (f". After training (measurement {last_index}) the measured norms are up to "
                     f"{row['max_dev_end']:.3f} decades from the prediction at initialisation"
                     + (": training has moved the weights away from the initial statistics"
                        if row["max_dev_end"] > tol else ""))
        if math.isfinite(row["single_dev"]) and row["single_dev"] > tol:
            text += (f". The single-input prediction (chi_1 per layer, no cross-example terms) differs from this one "
                     f"by up to {row['single_dev']:.3f} decades: the probe examples are correlated")
        lines.append(text + ".")
    return "\n".join(lines)


def depth_sections(result: DepthResult, theory: dict[str, dict[int, LayerTheory]] | None = None) -> list:
    """The report's sections (``actlab.report.Section``) for a depth study; ``theory`` as
    :func:`depth_theory` returns it (computed when not given)."""
    from ..plots import diagnostics as P
    from ..report import Section, Table

    acts, depths = result.activations, result.depths
    deepest = max(depths)
    s = result.settings
    init_rows = result.ratio_summary(0)
    last_index = max((len(r.grad_norm) for r in result.runs), default=1) - 1
    end_rows = result.ratio_summary(last_index)
    head = result.headline()
    n_seeds = len({r.seed for r in result.runs})
    lines = [f"Every activation was trained at depths {', '.join(map(str, depths))} (hidden layers of "
             f"{s.get('width', '?')} units) on **{s.get('dataset', '?')}** with plain SGD "
             f"(learning rate {s.get('learning_rate', '?')}, batch {s.get('batch_size', '?')}, "
             f"{s.get('epochs', '?')} epochs), {n_seeds} seed(s) each. Gradients and activation "
             f"statistics are measured on the first {s.get('probe', '?')} training examples at "
             "initialisation (epoch 0) and after every epoch.", "",
             f"**Measured ratio ‖dL/dW‖ first / last hidden layer at initialisation, {deepest} hidden layers** "
             "(geometric mean over seeds, 95% interval):", ""]
    for row in init_rows:
        if row["depth"] == deepest:
            lines.append(f"- {row['activation']}: {_fmt_ratio(row)}")
    if "sigmoid" in head and math.isfinite(head["sigmoid"]) and head["sigmoid"] > 0:
        orders = -math.log10(head["sigmoid"])
        lines += ["", f"In the {deepest}-hidden-layer sigmoid net the first layer's gradient is "
                  f"{orders:.1f} orders of magnitude smaller than the last hidden layer's: the vanishing "
                  "gradient (each sigmoid layer multiplies the backpropagated signal by sigma' <= 1/4)."]
    summary = Section("Summary", "\n".join(lines), tables=[Table(
        ["activation"] + [f"depth {d}" for d in depths],
        [[a] + [_fmt_ratio(r) for r in init_rows if r["activation"] == a] for a in acts],
        title="Gradient-norm ratio first / last hidden layer at initialisation", name="ratio-init"),
        Table(["activation"] + [f"depth {d}" for d in depths],
              [[a] + [_fmt_ratio(r) for r in end_rows if r["activation"] == a] for a in acts],
              title=f"The same ratio after the last epoch (measurement {last_index})", name="ratio-end")])

    theory = depth_theory(result) if theory is None else theory
    predicted = {a: {d: (None if th.relative is None else th.relative[:-1] * _output_norm(result, a, d))
                     for d, th in theory.get(a, {}).items()} for a in acts}
    comparison = theory_comparison(result, theory)
    profiles = {a: {d: result.layer_profile(a, d, "grad_norm", 0) for d in depths} for a in acts}
    profiles_end = {a: {d: result.layer_profile(a, d, "grad_norm", last_index) for d in depths} for a in acts}
    per_layer = Table(["activation"] + [f"layer {i + 1}" for i in range(deepest)] + ["output layer"],
                      [[a] + [float(v) for v in profiles[a][deepest]] + [_output_norm(result, a, deepest)]
                       for a in acts],
                      title=f"‖dL/dW‖ per layer at initialisation, {deepest} hidden layers (geometric mean over seeds)",
                      name="grad-norm-per-layer")
    grads = Section("Gradient norm per layer", (
        "The norm of the gradient of the loss with respect to each hidden layer's weights, layer 1 "
        "nearest the input, for every depth. A line falling toward layer 1 means the early layers "
        "barely learn. At initialisation the dashed lines are the mean-field theory's prediction "
        "(see Theory beside measurement)."),
        figures=[("gradient-norm-per-layer-init", P.gradient_norms_figure(
                     profiles, predictions=predicted,
                     title="Gradient norm per hidden layer at initialisation (dashed: mean-field theory)")),
                 ("gradient-norm-per-layer-end", P.gradient_norms_figure(
                     profiles_end, title=f"Gradient norm per hidden layer after epoch {last_index}")),
                 ("gradient-ratio-vs-depth", P.ratio_figure(init_rows))],
        tables=[per_layer])

    pred_rows = [[a] + ([float(v) for v in predicted[a][deepest]] + [_output_norm(result, a, deepest)]
                        if predicted.get(a, {}).get(deepest) is not None else ["n/a"] * (deepest + 1)) for a in acts]
    theory_section = Section("Theory beside measurement", _theory_text(comparison, last_index, s.get("width")), tables=[
        Table(["activation", "depth", "max |log10 measured/predicted| at init", "worst layer",
               f"layers beyond {THEORY_TOLERANCE:g}", "seeds' spread (log10)",
               f"max |log10| after measurement {last_index}", "single-input theory off by (log10)", "prediction"],
              [[r["activation"], r["depth"], _fmt_dev(r["max_dev"]), r["worst_layer"] or "n/a",
                ", ".join(map(str, r["disagree"])) or "none", _fmt_dev(r["spread"]), _fmt_dev(r["max_dev_end"]),
                _fmt_dev(r["single_dev"]), "yes" if r["supported"] else f"none: {r['reason']}"] for r in comparison],
              title="Measured against predicted ‖dL/dW‖ per hidden layer, deepest nets", name="theory-vs-measured"),
        Table(["activation"] + [f"layer {i + 1}" for i in range(deepest)] + ["output layer"], pred_rows,
              title=f"Predicted ‖dL/dW‖ per layer at initialisation, {deepest} hidden layers (anchored at the "
                    "output layer's measured norm)", name="grad-norm-predicted")])

    sat_curves = {a: result.over_epochs(a, deepest, "saturated") for a in acts}
    grad_curves = {a: result.over_epochs(a, deepest, "grad_norm") for a in acts}
    stats_rows = []
    for a in acts:
        for q in ("saturated", "mean", "std", "dead"):
            stats_rows.append([a, q] + [float(v) for v in result.layer_profile(a, deepest, q, last_index)])
    sat = Section("Activation statistics and saturation", (
        f"Per hidden layer of the {deepest}-hidden-layer nets over training. Saturated: sigmoid output "
        "within 0.01 of 0 or 1, |tanh| > 0.99, otherwise |f'(z)| < 0.01 max|f'| (so a ReLU unit counts as "
        "saturated where z <= 0). Dead: derivative 0 on every probe example."),
        figures=[("saturation-over-epochs", P.layer_epochs_figure(
                     sat_curves, title=f"Fraction saturated per layer over training ({deepest} hidden layers)",
                     ylim=(-0.03, 1.03))),
                 ("gradient-norm-over-epochs", P.layer_epochs_figure(
                     grad_curves, ylabel="‖dL/dW‖", log=True,
                     title=f"Gradient norm per layer over training ({deepest} hidden layers)"))],
        tables=[Table(["activation", "quantity"] + [f"layer {i + 1}" for i in range(deepest)], stats_rows,
                      title=f"Per-layer statistics after the last epoch ({deepest} hidden layers, mean over seeds)",
                      name="layer-stats-end")])

    acc_rows = result.accuracy_summary()
    acc = Section("Accuracy after a fixed budget", (
        "Final test accuracy against depth (mean over seeds, 95% t interval; diverged runs are counted "
        "apart and left out of the mean)."),
        figures=[("accuracy-vs-depth", P.accuracy_depth_figure(acc_rows))],
        tables=[Table(["activation", "depth", "accuracy", "95% low", "95% high", "runs", "diverged"],
                      [[r["activation"], r["depth"], r["accuracy"], r["low"], r["high"], r["runs"], r["diverged"]]
                       for r in acc_rows], title="Test accuracy by depth", name="accuracy-by-depth")])

    runs = Section("Runs", "Every run of the study, as stored (key = hash of its configuration).", tables=[Table(
        ["key", "activation", "depth", "seed", "status", "diverged epoch", "test accuracy", "ratio at init"],
        [[r.key[:12], r.activation, r.depth, r.seed, r.status, r.diverged_epoch, r.accuracy, r.ratio(0)]
         for r in sorted(result.runs, key=lambda r: (r.activation, r.depth, r.seed))], name="runs")])
    return [summary, grads, theory_section, sat, acc, runs]


def _output_norm(result: DepthResult, activation: str, depth: int, epoch_index: int = 0) -> float:
    """The output layer's gradient norm, geometric mean over seeds."""
    values = [r.grad_norm_output[epoch_index] for r in result.select(activation, depth)
              if len(r.grad_norm_output) > epoch_index]
    values = [v for v in values if math.isfinite(v) and v > 0]
    return float(10 ** np.mean(np.log10(values))) if values else math.nan


def _cli_options() -> list:
    import click

    from ..engine.optimizers import OPTIMIZERS

    def default(key):   # every default is DEFAULTS' (the Python API's), in its command-line form
        return cli_default(DEFAULTS, key)

    return [
        click.option("--dataset", default=default("dataset"), show_default=True, help="digits, mnist, fashion_mnist."),
        click.option("--activations", default=default("activations"), show_default=True,
                     help="Comma-separated, parameters in parentheses: 'relu,leaky_relu(alpha=0.2)'."),
        click.option("--depths", default=default("depths"), show_default=True, help="Numbers of hidden layers."),
        click.option("--seeds", default=default("seeds"), show_default=True,
                     help="N (seeds 0..N-1) or a list such as 0,5,7."),
        click.option("--width", type=click.IntRange(min=1), default=default("width"), show_default=True,
                     help="Units per hidden layer."),
        click.option("--epochs", type=click.IntRange(min=0), default=default("epochs"), show_default=True),
        click.option("--batch-size", type=click.IntRange(min=1), default=default("batch_size"), show_default=True),
        click.option("--optimizer", type=click.Choice(list(OPTIMIZERS)), default=default("optimizer"),
                     show_default=True),
        click.option("--lr", type=float, default=default("learning_rate"), show_default=True, help="Learning rate."),
        click.option("--probe", type=click.IntRange(min=1), default=default("probe"), show_default=True,
                     help="Training examples the gradients and statistics are measured on."),
        click.option("--init", default=default("init"), show_default=True,
                     help=f"Weight initializer ({', '.join(INITIALIZERS)}, or critical)."),
        samples_option(),
        data_dir_option(),
    ]


def _from_cli(*, dataset, activations, depths, seeds, width, epochs, batch_size, optimizer, lr, probe, init, samples,
              data_dir) -> dict:
    from .compare import parse_activations

    samples = cli_samples(dataset, samples)   # MNIST: the notes' draw, not all 70,000 (documented there)
    return dict(activations=parse_activations(activations), depths=parse_ints(depths, "--depths", 1),
                seeds=parse_seeds(seeds), dataset=dataset, width=width, epochs=epochs, batch_size=batch_size,
                optimizer=optimizer, learning_rate=lr, probe=probe, init=init, n_samples=samples, data_dir=data_dir)


def _show(result: DepthResult, console) -> None:
    import click
    from rich.table import Table

    def fmt(x, digits=3):
        return "-" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.{digits}g}"

    rows = result.ratio_summary(0)
    t = Table(title=f"{result.settings['name']}: gradient norm first / last hidden layer at initialisation "
                    "(geometric mean over seeds [95% CI])")
    t.add_column("activation")
    for d in result.depths:
        t.add_column(f"depth {d}", justify="right")
    for act in result.activations:
        cells = []
        for r in rows:
            if r["activation"] != act:
                continue
            cells.append("-" if not r["seeds"] else fmt(r["ratio"]) + (
                f" [{fmt(r['ratio_low'], 2)}, {fmt(r['ratio_high'], 2)}]" if r["seeds"] > 1 else ""))
        t.add_row(act, *cells)
    acc = Table(title="test accuracy after the budget (mean over seeds; d = diverged runs)")
    acc.add_column("activation")
    for d in result.depths:
        acc.add_column(f"depth {d}", justify="right")
    for act in result.activations:
        acc.add_row(act, *[(fmt(r["accuracy"]) if r["runs"] else "-") + (f" {r['diverged']}d" if r["diverged"] else "")
                           for r in result.accuracy_summary() if r["activation"] == act])
    console.print(t)
    console.print(acc)
    failed = sum(r.status == "failed" for r in result.runs)
    if failed:
        click.echo(f"{failed} run(s) failed; `actlab runs list --status failed --store {result.settings.get('store')}` "
                   "shows them", err=True)


DEPTH = register_study(Study(
    kind="depth", title="actlab depth: the vanishing gradient", defaults=DEFAULTS,
    axes=("activations", "depths", "seeds"), grid=depth_tasks, summarize=depth_result, sections=depth_sections,
    diagnostics={"layers": layers_diagnostic},
    resolve=activation_configs,
    cli=StudyCli(help="""The vanishing gradient (Glorot & Bengio 2010): gradient norm per layer against depth.

    For every activation, depth and seed: the norm of dL/dW of every layer and the mean, std and
    saturated fraction of every hidden layer, at initialisation and after every epoch, and the
    test accuracy after the budget. Prints the ratio of the first to the last hidden layer's
    gradient norm at initialisation.
    """, options=_cli_options, from_cli=_from_cli, show=_show)))


def depth_study(activations: Sequence[Any] = DEFAULTS["activations"], depths: Sequence[int] = DEFAULTS["depths"],
                seeds: Sequence[int] = DEFAULTS["seeds"], *, store: Store | None = None, workers: int = 1,
                progress: bool = False, name: str | None = None, rerun: bool = False, executor=None,
                **options: Any) -> DepthResult:
    """Run (or reuse from ``store``; ``rerun=True`` trains again) every (activation, depth, seed) and summarise.

    ``options`` are :func:`depth_tasks`'s keywords (dataset, width, epochs, batch_size,
    learning_rate, optimizer, probe, n_samples, data_dir, engine). The study is recorded in
    the store under ``name`` (default derived from the settings) so that ``actlab report``
    can rebuild its report (:meth:`Study.run`).
    """
    return DEPTH.run(store=store, workers=workers, progress=progress, name=name, rerun=rerun, executor=executor,
                     activations=activations, depths=depths, seeds=seeds, **options)


def depth_report(result: DepthResult, out_dir: Any, *, meta: dict | None = None):
    """Write the depth study's report (HTML, Markdown, PNG/SVG, CSV) into ``out_dir``; returns index.html."""
    return DEPTH.report(result, out_dir, meta=meta)


report_from_store = DEPTH.rebuild   # ``actlab report``: the report from the store alone
