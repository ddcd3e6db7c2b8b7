"""One browser tab's training state, driven by actlab's NumPy engine (no web imports here).

A :class:`Session` holds a validated configuration, the data, one model (two in side-by-side
mode, ``compare``) and the training position. ``step(n)`` takes ``n`` optimizer steps;
``frame()`` is what the page draws: losses, accuracy, the output over a 50x50 grid, every
neuron's output over a 20x20 grid, the weights, the gradient norm per layer and the dead
units. ``network()`` describes the structure (inputs, layers, the activation curves and
derivatives) and ``export()`` writes the network as a Keras-compatible actlab script plus its
weights.

Definitions shown on the page:

* gradient norm of a layer: the Frobenius norm of dL/dW (the data loss only, without the
  L1/L2 term) over the whole training set, in inference mode;
* a dead unit: :data:`actlab.engine.inspect.DEAD_UNIT` with the training points as the probe
  set — f'(z) exactly 0 on every training point and, for PReLU, the slope's gradient too (a
  ReLU whose pre-activation is <= 0 everywhere; never a maxout unit).

Both come from :mod:`actlab.engine.inspect`, the definitions the studies use.
"""
from __future__ import annotations

import base64
import io
import json
import math
from typing import Any

import numpy as np

from .. import activations as _acts
from .. import plan as _plan
from ..engine import inspect as _inspect
from ..engine import layers as L
from ..engine import optimizers as _optim
from ..engine.batching import epoch_order
from ..engine.mlp import build_mlp
from ..engine.model import DivergedError, Sequential
from ..engine.regularizers import L1L2
from . import data as _data
from .protocol import DEFAULT_CONFIG, ProtocolError

BOUNDARY_RES = 50
NEURON_RES = 20
CURVE_X = np.linspace(-5.0, 5.0, 101)
DTYPE = np.float64
FRAME_BUDGET_S = 0.05            # the most time ``advance`` trains for between two frames


def kernel_initializer(cfg: dict[str, Any]) -> Any:
    """The engine's ``kernel_initializer`` for a configuration: its name, or for ``"critical"``
    the edge of chaos of each layer's activation with biases N(0, ``sigma_b2``)."""
    if cfg["initializer"] == "critical":
        return {"name": "critical", "sigma_b2": cfg["sigma_b2"]}
    return cfg["initializer"]


def grid(res: int) -> np.ndarray:
    """Cell centres of a res x res grid over the square; row 0 is the top (x2 = +6)."""
    step = 2 * _data.DOMAIN / res
    c = -_data.DOMAIN + step * (np.arange(res) + 0.5)
    xx, yy = np.meshgrid(c, c[::-1])
    return np.stack([xx.ravel(), yy.ravel()], axis=1)


def b64_u8(values: np.ndarray) -> str:
    """Values in [0, 1] as base64 of uint8 (0..255): a compact frame."""
    q = np.clip(np.nan_to_num(values, nan=0.5), 0.0, 1.0) * 255.0
    return base64.b64encode(np.round(q).astype(np.uint8).tobytes()).decode("ascii")


def _columns_b64(values: np.ndarray) -> list[str]:
    """One base64 uint8 string per column of ``values`` (already in [0, 1])."""
    q = np.round(np.clip(np.nan_to_num(values, nan=0.5), 0.0, 1.0) * 255.0).astype(np.uint8)
    q = np.ascontiguousarray(q.T)
    return [base64.b64encode(row.tobytes()).decode("ascii") for row in q]


def _signed(values: np.ndarray, scale: float) -> np.ndarray:
    """[-scale, scale] -> [0, 1] for the heatmaps (0.5 is zero)."""
    return 0.5 + 0.5 * np.clip(values / (scale if scale > 0 else 1.0), -1.0, 1.0)


class Trainer:
    """One model under training, with the engine layers grouped per network layer."""

    def __init__(self, model: Sequential, loss: str, hidden: list[dict[str, Any]]):
        self.model = model
        self.hidden = hidden
        self.diverged: str | None = None
        # a group starts at each Dense; the layers after it (PReLU, RReLU, Maxout) belong to it
        self.groups: list[list[int]] = []
        for i, layer in enumerate(model.layers):
            if isinstance(layer, L.Dense):
                self.groups.append([i])
            else:
                self.groups[-1].append(i)
        self.loss_name = loss

    def forward_groups(self, x: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
        """Per hidden group: the Dense output z and the group's output; and the network output."""
        self.model.forward(x, training=False, keep=True)
        outs = self.model.outputs_
        zs, ys = [], []
        for grp in self.groups[:-1]:
            dense = self.model.layers[grp[0]]
            zs.append(dense.z if len(grp) == 1 else outs[grp[0]])
            ys.append(outs[grp[-1]])
        return zs, ys, outs[-1]


class Session:
    """The state of one playground tab. ``Session(config)`` validates nothing: pass the
    output of :func:`protocol.validate_config` (``apply_config`` merges and rebuilds)."""

    def __init__(self, config: dict[str, Any] | None = None):
        self.config: dict[str, Any] = json.loads(json.dumps(DEFAULT_CONFIG))
        self.upload: _data.Points | None = None
        self.playing = False
        self._build(self.config, self.upload)
        if config:
            self.apply_config(config)

    # -- configuration --------------------------------------------------------------------
    def apply_config(self, partial: dict[str, Any]) -> None:
        """Merge a validated partial config and rebuild; on error nothing changes."""
        merged = {**self.config, **json.loads(json.dumps(partial))}
        self._build(merged, self.upload)

    def set_upload(self, points: _data.Points) -> None:
        """Use uploaded points (from :func:`data.parse_csv`); switches the data set to 'upload'."""
        self._build({**self.config, "dataset": "upload"}, points)

    def _build(self, cfg: dict[str, Any], upload: _data.Points | None) -> None:
        if cfg["dataset"] == "upload":
            if upload is None:
                raise ProtocolError("no CSV has been uploaded: upload one before choosing the 'upload' data set")
            pts = upload
        else:
            pts = _data.generate(cfg["dataset"], cfg["n_points"], cfg["noise"], cfg["seed"])
        tr, te = _data.split(len(pts.labels), cfg["train_ratio"], cfg["seed"])
        feats = _data.features(pts.points, cfg["features"])
        if pts.kind == "binary":
            y = pts.labels.reshape(-1, 1).astype(DTYPE)
            n_out, output, loss = 1, "sigmoid", "binary_crossentropy"
        elif pts.kind == "multiclass":
            y = np.eye(pts.num_classes, dtype=DTYPE)[pts.labels]
            n_out, output, loss = pts.num_classes, "softmax", "categorical_crossentropy"
        else:
            y = pts.labels.reshape(-1, 1).astype(DTYPE)
            n_out, output, loss = 1, "linear", "mean_squared_error"
        trainers = [self._make_trainer(cfg, cfg["layers"], len(cfg["features"]), n_out, output, loss)]
        if cfg["compare"] is not None:
            other = [{"units": layer["units"], **cfg["compare"]} for layer in cfg["layers"]]
            b = self._make_trainer(cfg, other, len(cfg["features"]), n_out, output, loss)
            if cfg["initializer"] != "critical":   # critical: the same draws, at B's own edge of chaos
                _copy_dense(trainers[0].model, b.model)
            trainers.append(b)
        # everything built: swap it in
        self.config = cfg
        self.upload = upload
        self.points = pts
        self.train_idx, self.test_idx = tr, te
        self.x_all = feats.astype(DTYPE)
        self.y_all = y
        self.x_train, self.y_train = self.x_all[tr], y[tr]
        self.x_test, self.y_test = self.x_all[te], y[te]
        self.trainers = trainers
        self.grid_boundary = _data.features(grid(BOUNDARY_RES), cfg["features"]).astype(DTYPE)
        self.grid_neuron = _data.features(grid(NEURON_RES), cfg["features"]).astype(DTYPE)
        self._x_points = np.concatenate([self.x_train, self.x_test])
        self._x_grids = np.concatenate([self.grid_boundary, self.grid_neuron])
        self.step_count = 0
        self.epoch = 0
        self._order = self._epoch_order()
        self._pos = 0
        self.playing = False

    def _make_trainer(self, cfg, layers, input_dim, n_out, output, loss) -> Trainer:
        reg = L1L2(l1=cfg["l1"], l2=cfg["l2"]) if (cfg["l1"] or cfg["l2"]) else None
        acts = [{"name": layer["activation"], **layer.get("params", {})} for layer in layers]
        try:
            model = build_mlp(input_dim, [layer["units"] for layer in layers], None, n_out,
                              seed=cfg["seed"], kernel_initializer=kernel_initializer(cfg), dtype=DTYPE,
                              output=output, kernel_regularizer=reg, activations_per_layer=acts)
        except ValueError as exc:
            if cfg["initializer"] != "critical":
                raise
            # no edge of chaos for this activation and sigma_b2 (relu with sigma_b2 > 0, maxout)
            raise ProtocolError(f"initializer critical refused: {exc}") from None
        model.compile(loss=loss, optimizer=_optim.OPTIMIZERS[cfg["optimizer"]](learning_rate=cfg["learning_rate"]),
                      metrics=["accuracy"] if loss != "mean_squared_error" else None)
        return Trainer(model, loss, layers)

    def reset(self) -> None:
        """Back to the initial weights (same seed), step 0, paused."""
        self._build(self.config, self.upload)

    # -- training -------------------------------------------------------------------------
    def _epoch_order(self) -> np.ndarray:
        return epoch_order(self.config["seed"], self.epoch, len(self.train_idx))

    def step(self, n: int = 1) -> None:
        """``n`` optimizer steps, on the same batches for every model."""
        bs = self.config["batch_size"]
        for _ in range(n):
            if all(t.diverged for t in self.trainers):
                self.playing = False
                return
            if self._pos >= len(self._order):
                self.epoch += 1
                self._order = self._epoch_order()
                self._pos = 0
            idx = self._order[self._pos:self._pos + bs]
            self._pos += bs
            xb, yb = self.x_train[idx], self.y_train[idx]
            for t in self.trainers:
                if t.diverged:
                    continue
                try:
                    with np.errstate(all="ignore"):
                        loss, _ = t.model.train_step(xb, yb)
                    if not math.isfinite(loss) or not all(np.isfinite(p).all() for p in t.model.get_weights()):
                        raise DivergedError(self.epoch, self.step_count, loss)
                except (DivergedError, FloatingPointError) as exc:
                    t.diverged = f"diverged at step {self.step_count + 1}: {exc}"
            self.step_count += 1

    def steps_per_frame(self) -> int:
        """One epoch per frame, as TF Playground (at most 100 steps)."""
        return max(1, min(100, math.ceil(len(self.train_idx) / self.config["batch_size"])))

    # -- what the page draws ----------------------------------------------------------------
    def network(self) -> dict[str, Any]:
        cfg = self.config
        layers = []
        for layer in cfg["layers"]:
            layers.append({"units": layer["units"], "activation": layer["activation"],
                           "params": layer.get("params", {}), "curve": _curve(layer)})
        compare = None
        if cfg["compare"] is not None:
            compare = {**cfg["compare"], "curve": _curve(cfg["compare"])}
        pts = self.points
        inputs = [{"name": f, "label": _data.FEATURE_LABELS[f],
                   "heatmap": b64_u8(_signed(self.grid_neuron[:, j], np.abs(self.grid_neuron[:, j]).max()))}
                  for j, f in enumerate(cfg["features"])]
        return {
            "type": "network", "config": cfg, "kind": pts.kind, "num_classes": pts.num_classes,
            "inputs": inputs, "layers": layers, "compare": compare,
            "points": {"x": np.round(pts.points, 3).tolist(),
                       "label": pts.labels.tolist() if pts.kind != "regression" else np.round(pts.labels, 3).tolist(),
                       "train": self.train_idx.tolist(), "test": self.test_idx.tolist()},
            "boundary_res": BOUNDARY_RES, "neuron_res": NEURON_RES, "domain": _data.DOMAIN,
            "curve_x": CURVE_X.tolist(),
        }

    def frame(self) -> dict[str, Any]:
        return {"type": "frame", "step": self.step_count, "epoch": self.epoch, "playing": self.playing,
                "models": [self._model_frame(t) for t in self.trainers]}

    def _model_frame(self, t: Trainer) -> dict[str, Any]:
        model = t.model
        kind = self.points.kind
        out: dict[str, Any] = {"diverged": t.diverged}
        n_tr = len(self.train_idx)
        with np.errstate(all="ignore"):
            # one pass over all the points (train rows first), one over both grids
            _, _, p = t.forward_groups(self._x_points)
            ptr, pte = p[:n_tr], p[n_tr:]
            out["loss"] = {"train": _finite(model.loss.value(self.y_train, ptr)),
                           "test": _finite(model.loss.value(self.y_test, pte))}
            if kind != "regression":
                out["accuracy"] = {"train": model.count_correct(self.y_train, ptr) / len(ptr),
                                   "test": model.count_correct(self.y_test, pte) / len(pte)}
            # dead units on the training points, as the studies define them
            out["dead"] = [mask.tolist() for mask in _inspect.dead_units(model, self.x_train)]
            nb = BOUNDARY_RES ** 2
            _, ys, pg = t.forward_groups(self._x_grids)
            yout = pg[nb:]
            pg = pg[:nb]
            if kind == "binary":
                out["boundary"] = b64_u8(pg[:, 0])
            elif kind == "multiclass":
                out["boundary"] = b64_u8(pg.T)           # class-major: K planes
            else:
                out["boundary"] = b64_u8(_signed(pg[:, 0], 1.0))
            # every neuron over the small grid, normalised per layer
            neurons = []
            for y in ys:
                y = y[nb:]
                scale = float(np.abs(y).max()) if y.size else 1.0
                neurons.append(_columns_b64(_signed(y, scale)))
            if kind == "regression":
                neurons.append(_columns_b64(_signed(yout, 1.0)))
            else:
                neurons.append(_columns_b64(yout))
            out["neurons"] = neurons
            out["weights"], out["biases"] = [], []
            for grp in t.groups:
                dense = model.layers[grp[0]]
                w = dense.params["kernel"]
                b = dense.params["bias"]
                units = model.layers[grp[-1]].output_dim
                if units != dense.units:       # a layer that widens (maxout): one link per unit,
                    k = dense.units // units   # the mean of its k pieces
                    w = w.reshape(w.shape[0], -1, k).mean(axis=2)
                    b = b.reshape(-1, k).mean(axis=1)
                out["weights"].append(_drawable(w))
                out["biases"].append(_drawable(b))
            out["grad_norms"] = self.grad_norms(t) if not t.diverged else [None] * len(t.groups)
        return out

    def grad_norms(self, t: Trainer) -> list[float | None]:
        """||dL/dW|| per Dense layer (hidden layers then the output), data loss only."""
        return [_finite(v) for v in _inspect.gradient_norms(t.model, self.x_train, self.y_train)]

    # -- export ---------------------------------------------------------------------------
    def export(self) -> dict[str, Any]:
        """The first network as a Keras-compatible actlab script and its weights (.npz, base64)."""
        model = self.trainers[0].model
        buf = io.BytesIO()
        np.savez(buf, **{f"w{i:03d}": w for i, w in enumerate(model.get_weights())},
                 config=np.array(json.dumps(model.get_config())))
        return {"type": "export", "script": export_script(self), "script_name": "playground_model.py",
                "weights": base64.b64encode(buf.getvalue()).decode("ascii"),
                "weights_name": "playground_weights.npz"}


WEIGHT_LIMIT = 1e6               # weights are drawn as links; a diverged one is shown at this size


def _drawable(w: np.ndarray) -> list:
    """Weights rounded for drawing, always finite: NaN -> 0, +-inf and huge values -> +-WEIGHT_LIMIT
    (``nan_to_num`` alone gives +-1.8e308, which ``round`` turns back into inf)."""
    return np.round(np.clip(np.nan_to_num(w, nan=0.0), -WEIGHT_LIMIT, WEIGHT_LIMIT), 4).tolist()


def _finite(v: float) -> float | None:
    return float(v) if v is not None and math.isfinite(v) else None


def _curve(spec: dict[str, Any]) -> dict[str, Any]:
    """The activation and its derivative on CURVE_X (PReLU at its initial alpha, RReLU at its mean slope)."""
    act = _acts.get(spec["activation"], **spec.get("params", {}))
    if _plan.widens(act):
        # a unit of k pieces (maxout) is not a 1-D function: show it on the pieces (x, -x, ..., -x)
        # (maxout: |x|), its derivative by central differences (0 at the kink, between -1 and 1)
        k = _plan.pieces(act)
        y = act(np.column_stack([CURVE_X] + [-CURVE_X] * (k - 1))).reshape(len(CURVE_X))
        d = np.gradient(y, CURVE_X)
    else:
        y = act(CURVE_X)
        d = act.derivative(CURVE_X)
    return {"name": act.name, "formula": act.formula, "y": np.round(np.clip(y, -1e3, 1e3), 4).tolist(),
            "dy": np.round(np.clip(d, -1e3, 1e3), 4).tolist()}


def _copy_dense(src: Sequential, dst: Sequential) -> None:
    """Give ``dst`` the same initial Dense weights as ``src`` where the shapes agree (side by side)."""
    a = [layer for layer in src.layers if isinstance(layer, L.Dense)]
    b = [layer for layer in dst.layers if isinstance(layer, L.Dense)]
    for la, lb in zip(a, b):
        for k in la.params:
            if k in lb.params and lb.params[k].shape == la.params[k].shape:
                lb.params[k][...] = la.params[k]


# -- export as a script ------------------------------------------------------------------------
def _keras_spelling(act: _acts.Activation) -> str:
    """The name actlab.keras knows ``act`` by: Keras' own (the entry's ``keras``), else its zoo name,
    else (a zoo name Keras uses for another function: 'hard_sigmoid' is Keras 2's there) an alias."""
    if act.keras:
        return act.keras
    taken = _acts.keras_names()
    if taken.get(act.name, act.name) == act.name:
        return act.name
    return next((alias for alias, (target, params) in _acts.aliases().items()
                if target == act.name and not params and alias not in taken), act.name)


def _layer_lines(spec: dict[str, Any], units: int, first: str, dense_kw: str) -> tuple[list[str], set[str], set[str]]:
    """Lines of one hidden layer; the Keras layer names and actlab-only names it needs."""
    act, params = spec["activation"], spec.get("params", {})
    base = _acts.get(act)
    default = all(base.params.get(k) == v for k, v in params.items())
    block = _plan.layer_plan([units], {"name": act, **params})[0]     # what the engine builds
    if block.layer is not None:     # a linear Dense of the plan's width, then the activation's layer
        line, keras, extra = _own_layer_line(block)
        return [f"model.add(Dense({block.width}{first}{dense_kw}))", line], {"Dense"} | keras, extra
    if act == "leaky_relu":
        alpha = params.get("alpha", base.params["alpha"])
        return ([f"model.add(Dense({units}{first}{dense_kw}))", f"model.add(LeakyReLU(alpha={alpha!r}))"],
                {"Dense", "LeakyReLU"}, set())
    if act == "elu" and not default:
        return ([f"model.add(Dense({units}{first}{dense_kw}))", f"model.add(ELU(alpha={params['alpha']!r}))"],
                {"Dense", "ELU"}, set())
    name = _keras_spelling(base)
    if base.keras and default and not params:
        return [f"model.add(Dense({units}{first}, activation={name!r}{dense_kw}))"], {"Dense"}, set()
    args = "".join(f", {k}={v!r}" for k, v in params.items())
    return ([f"model.add(Dense({units}{first}{dense_kw}))",
             f"model.add(Activation({name!r}{args}))  # from actlab's zoo"], {"Dense", "Activation"}, set())


def _own_layer_line(block: _plan.Block) -> tuple[str, set[str], set[str]]:
    """The script line of the layer an activation becomes (``block.layer``): the engine's class for
    it (``L.layer_for``) called with the activation's parameters; the Keras layer names and the
    actlab-only names it needs."""
    act = block.activation
    cls = L.LAYER_OF.get(act.name)
    if cls is None:                 # no class of its own: an Activation layer applies it
        args = "".join(f", {k}={v!r}" for k, v in act.params.items())
        return f"model.add(Activation({act.name!r}{args}))  # from actlab's zoo", {"Activation"}, set()
    if cls is L.PReLU:
        # PReLU's own constructor: the activation's alpha is its slopes' initial value, an initializer
        alpha = act.params["alpha"]
        init = f"alpha_initializer=Constant({alpha!r})" if alpha else ""
        return f"model.add(PReLU({init}))", {"PReLU"} | ({"Constant"} if alpha else set()), set()
    name = cls.__name__             # RReLU, Maxout: Keras 2 has PReLU only, the others are actlab's
    args = ", ".join(f"{k}={v!r}" for k, v in act.params.items())
    pieces = f": {block.units} units of {block.k} pieces" if block.k > 1 else ""
    return f"model.add({name}({args}))  # actlab only{pieces}", set(), {name}


def _initializer_kw(cfg: dict[str, Any], dense: L.Dense) -> str:
    """``, kernel_initializer=...`` of one exported ``Dense`` layer. The critical initializer is
    written as the engine bound it (to the activation whose outputs the layer's weights
    multiply), so the script draws every layer at the same variances as the playground."""
    if cfg["initializer"] != "critical":
        return f", kernel_initializer={cfg['initializer']!r}"
    init = dense.kernel_initializer.config()
    act = init["activation"]
    act = act["name"] if set(act) == {"name"} else act
    return f", kernel_initializer=Critical(activation={act!r}, sigma_b2={init['sigma_b2']!r})"


def _array_literal(a: np.ndarray, decimals: int = 6) -> str:
    return "np.array(" + json.dumps(np.round(a, decimals).tolist(), separators=(",", ":")) + ")"


def export_script(session: Session) -> str:
    cfg = session.config
    pts = session.points
    kind = pts.kind
    keras_names: set[str] = set()
    actlab_only: set[str] = set()
    body: list[str] = []
    needs_reg = bool(cfg["l1"] or cfg["l2"])
    reg_kw = f", kernel_regularizer=regularizers.l1_l2(l1={cfg['l1']!r}, l2={cfg['l2']!r})" if needs_reg else ""
    dense = [layer for layer in session.trainers[0].model.layers if isinstance(layer, L.Dense)]
    inits = [_initializer_kw(cfg, layer) for layer in dense]
    first = f", input_dim={len(cfg['features'])}"
    for layer, init_kw in zip(cfg["layers"], inits):
        lines, kn, ao = _layer_lines(layer, layer["units"], first, init_kw + reg_kw)
        body += lines
        keras_names |= kn
        actlab_only |= ao
        first = ""
    dense_kw = inits[-1] + reg_kw
    n_out = pts.num_classes if kind == "multiclass" else 1
    output = {"binary": "sigmoid", "multiclass": "softmax", "regression": "linear"}[kind]
    loss = {"binary": "binary_crossentropy", "multiclass": "categorical_crossentropy",
            "regression": "mean_squared_error"}[kind]
    body.append(f"model.add(Dense({n_out}{first}, activation={output!r}{dense_kw}))")
    keras_names.add("Dense")
    opt = _optim.OPTIMIZERS[cfg["optimizer"]].__name__   # actlab.keras.optimizers has the same classes
    layer_names = sorted(keras_names - {"Constant"})
    imports = ["import os", "import sys", "", "import numpy as np", "",
               "from actlab.keras.models import Sequential",
               f"from actlab.keras.layers import {', '.join(layer_names)}",
               f"from actlab.keras.optimizers import {opt}"]
    critical = cfg["initializer"] == "critical"
    init_names = sorted(({"Constant"} & keras_names) | ({"Critical"} if critical else set()))
    if init_names:
        imports.append(f"from actlab.keras.initializers import {', '.join(init_names)}"
                       + ("  # Critical: actlab only" if critical else ""))
    if needs_reg:
        imports.append("from actlab.keras import regularizers")
    if kind == "multiclass":
        imports.append("from actlab.keras.utils import to_categorical")
    if actlab_only:
        imports.append(f"from actlab.engine.layers import {', '.join(sorted(actlab_only))}  # no Keras equivalent")
    feats = cfg["features"]
    feature_code = {"x1": "p[:, 0]", "x2": "p[:, 1]", "x1sq": "p[:, 0] ** 2", "x2sq": "p[:, 1] ** 2",
                    "x1x2": "p[:, 0] * p[:, 1]", "sinx1": "np.sin(p[:, 0])", "sinx2": "np.sin(p[:, 1])"}
    tr, te = session.train_idx, session.test_idx
    if kind == "multiclass":
        ylines = [f"Y_TRAIN = to_categorical({_array_literal(pts.labels[tr])}, {pts.num_classes})",
                  f"Y_TEST = to_categorical({_array_literal(pts.labels[te])}, {pts.num_classes})"]
    else:
        ylines = [f"Y_TRAIN = {_array_literal(pts.labels[tr])}.reshape(-1, 1).astype('float32')",
                  f"Y_TEST = {_array_literal(pts.labels[te])}.reshape(-1, 1).astype('float32')"]
    desc = ", ".join(f"{layer['units']} {layer['activation']}" for layer in cfg["layers"]) or "no hidden layer"
    metrics = ", metrics=['accuracy']" if kind != "regression" else ""
    lines = [
        '"""Exported from the actlab playground.',
        "",
        f"Data: {cfg['dataset']} (noise {cfg['noise']}, seed {cfg['seed']}, {len(tr)} train / {len(te)} test points);",
        f"inputs: {', '.join(feats)}; hidden layers: {desc}; trained {session.step_count} steps.",
        "Keras-compatible: with `actlab.keras` replaced by `keras` it runs under Keras 2 too",
        "(except for actlab-only layers, zoo activations Keras lacks and the critical initializer).",
        "",
        "Run it beside playground_weights.npz to evaluate the exported weights;",
        "`python playground_model.py --train` trains from scratch instead.",
        '"""',
        *imports,
        "",
        "",
        "def features(p):",
        f'    """The network inputs {feats} of (n, 2) points."""',
        f"    return np.stack([{', '.join(feature_code[f] for f in feats)}], axis=1)",
        "",
        "",
        f"X_TRAIN = features({_array_literal(pts.points[tr])})",
        f"X_TEST = features({_array_literal(pts.points[te])})",
        *ylines,
        "",
        "model = Sequential()",
        *body,
        f"model.compile(loss={loss!r}, optimizer={opt}(learning_rate={cfg['learning_rate']!r}){metrics})",
        "",
        "weights = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'playground_weights.npz')",
        "if '--train' in sys.argv or not os.path.exists(weights):",
        f"    model.fit(X_TRAIN, Y_TRAIN, epochs=100, batch_size={cfg['batch_size']}, verbose=0)",
        "else:",
        "    model.load_weights(weights)",
        "print('test', model.evaluate(X_TEST, Y_TEST, verbose=0))",
        "",
    ]
    return "\n".join(lines)
