"""``Sequential``: the NumPy engine's model, with a Keras-compatible training API.

Randomness (all from ``seed``): the ``j``-th ``Dense`` layer's initial weights come from
``default_rng([seed, j])`` (other layers' from ``default_rng([seed, j, 2])``, ``j`` = Dense layers
before them), so two models of the same shapes and seed start identical whatever their
activations, also when one of them puts a PReLU/RReLU/Activation layer after each Dense; the batch order of epoch ``e``
from :func:`actlab.engine.batching.epoch_order`; stochastic layers (Dropout, RReLU) from ``default_rng([seed, i, 1])``.
"""
from __future__ import annotations

import json
import math
import time
from typing import Any, Iterable

import numpy as np

from . import callbacks as cbks
from . import kernels
from . import layers as L
from . import losses as _losses
from . import optimizers as _optim
from .batching import epoch_order


class DivergedError(FloatingPointError):
    """Training produced a non-finite loss. ``epoch`` and ``batch`` are 0-based."""

    def __init__(self, epoch: int, batch: int, loss: float):
        self.epoch, self.batch, self.loss = epoch, batch, loss
        super().__init__(
            f"training diverged at epoch {epoch + 1}, batch {batch + 1}: the loss is {loss} "
            "(try a lower learning rate or scaled inputs)")


_METRIC_NAMES = ("accuracy", "acc", "categorical_accuracy", "binary_accuracy")
#: the floating-point types a model computes in, the default first (``Sequential``, ``build_mlp``,
#: ``actlab train --dtype``, ``make_config``)
DTYPES = ("float32", "float64")
DEFAULT_DTYPE = DTYPES[0]


class Sequential:
    """A stack of layers trained by explicit backpropagation.

    Args:
        layers: optional list of layers (more can be ``add``-ed).
        seed: seeds every random draw (weights, batch order, dropout, RReLU). ``None`` draws
            a seed from the OS and records it in ``self.seed``, so a run can be repeated.
        dtype: ``'float32'`` (default) or ``'float64'``.
    """

    def __init__(self, layers: Iterable[L.Layer] | None = None, name: str | None = None,
                 seed: int | None = None, dtype: Any = DEFAULT_DTYPE):
        self.name = name if name is not None else L.default_name("sequential")   # sequential_1, as Keras 2
        self.dtype = np.dtype(dtype)
        if self.dtype.name not in DTYPES:
            raise ValueError(f"dtype must be {' or '.join(map(repr, DTYPES))}, got {dtype!r}")
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % (2**31))
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self.seed = int(seed)
        self.layers: list[L.Layer] = []
        self.built = False
        self.optimizer: _optim.Optimizer | None = None
        self.loss: _losses.Loss | None = None
        self.metrics: list[str] = []
        self.stop_training = False
        self._sparse = False
        self._flat: tuple | None = None   # see _flat_parameters
        self._delta_buffer: np.ndarray | None = None   # see _fast_loss_and_delta
        self._update_plan: tuple | None = None   # see _fused_update_rate
        self.history: cbks.History | None = None
        for layer in layers or []:
            self.add(layer)

    # -- construction -----------------------------------------------------------------------
    def add(self, layer: L.Layer) -> None:
        if not isinstance(layer, L.Layer):
            raise ValueError(f"Sequential.add expects a layer, got {layer!r}")
        if self.built:
            raise ValueError("cannot add layers to a model that is already built")
        self.layers.append(layer)

    def build(self, input_dim: int | None = None) -> None:
        if input_dim is None:
            input_dim = self.layers[0].input_dim if self.layers else None
        if input_dim is None:
            raise ValueError("the model does not know its input width: give the first layer "
                             "input_dim=/input_shape= or call fit/predict with data")
        if not self.layers:
            raise ValueError("the model has no layers")
        dim = int(input_dim)
        j = 0  # Dense layers so far: layers in between (PReLU, Activation, Dropout) shift no seed
        for i, layer in enumerate(self.layers):
            if layer.input_dim is not None and layer.input_dim != dim and not isinstance(layer, L.InputLayer):
                raise ValueError(f"layer {i} ({type(layer).__name__}) expects input_dim={layer.input_dim}, gets {dim}")
            key = [self.seed, j] if isinstance(layer, L.Dense) else [self.seed, j, 2]
            dim = layer.build(dim, np.random.default_rng(key), self.dtype)
            j += isinstance(layer, L.Dense)
            if layer.stochastic:
                layer.rng = np.random.default_rng([self.seed, i, 1])
        self.input_dim = int(input_dim)
        self.output_dim = dim
        self.built = True

    @property
    def trainable_layers(self) -> list[L.Layer]:
        return [layer for layer in self.layers if layer.params]

    def _param_lists(self):
        params, grads = [], []
        for layer in self.layers:
            for k in layer.params:
                params.append(layer.params[k])
                grads.append(layer.grads[k])
        return params, grads

    def _flat_parameters(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Every parameter in one flat array and every gradient in another, for the optimizer.

        The layers' ``params`` and ``grads`` become views into the two arrays, so that an update
        is a few passes over one array instead of a few NumPy calls per parameter (20 arrays for
        the notes' MLP). The optimizers' rules are element-wise: the numbers are the same. Made
        again when a layer's array is no longer the view (a copied model, an array replaced);
        with parameters of mixed dtypes the lists of arrays are returned as they are.
        """
        flat = self._flat
        if flat is not None:
            for d, k, owner in flat[2]:
                if d[k].base is not owner:
                    flat = None
                    break
        if flat is None:
            slots = [(layer, k) for layer in self.layers for k in layer.params]
            if any(layer.params[k].dtype != self.dtype for layer, k in slots):
                return self._param_lists()
            size = sum(layer.params[k].size for layer, k in slots)
            params, grads = np.empty(size, self.dtype), np.zeros(size, self.dtype)
            views, start = [], 0
            for layer, k in slots:
                shape, end = layer.params[k].shape, start + layer.params[k].size
                p, g = params[start:end].reshape(shape), grads[start:end].reshape(shape)
                p[...], g[...] = layer.params[k], layer.grads[k]
                layer.params[k], layer.grads[k] = p, g
                views += [(layer.params, k, params), (layer.grads, k, grads)]
                start = end
            flat = self._flat = ([params], [grads], views)
        return flat[0], flat[1]

    def compile(self, optimizer: Any = "sgd", loss: Any = "categorical_crossentropy",
                metrics: list[str] | None = None, **unused: Any) -> None:
        """Choose the optimizer, the loss and the metrics (only accuracy is computed)."""
        if unused:
            raise ValueError(f"compile got unsupported argument(s): {', '.join(sorted(unused))}")
        self.optimizer = _optim.get(optimizer)
        self._sparse = loss == "sparse_categorical_crossentropy"
        self.loss = _losses.get(loss)
        self.metrics = []
        for m in metrics or []:
            if m not in _METRIC_NAMES:
                raise ValueError(f"unsupported metric {m!r}; valid: {', '.join(_METRIC_NAMES)}")
            self.metrics.append(m)

    def uses_fused_delta(self) -> bool:
        """True when the backward pass starts from the loss's fused delta dL/dz (softmax with
        categorical cross-entropy, sigmoid with binary cross-entropy; see :mod:`.losses`)
        instead of chaining the loss gradient through the output activation's VJP."""
        last = self.layers[-1]
        act = getattr(last, "activation", None)
        return (self.loss is not None and act is not None and self.loss.fused_activation == act.name
                and isinstance(last, (L.Dense, L.Activation)) and not isinstance(last, L.Maxout))

    # -- checks -----------------------------------------------------------------------------
    def _prepare_x(self, x: Any, what: str = "x", allow_empty: bool = False) -> np.ndarray:
        arr = np.asarray(x)
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise ValueError(f"{what} must be numeric, got an array of dtype {arr.dtype}")
        if arr.ndim <= 1:
            raise ValueError(f"{what} must be 2-D (samples, features), got shape {arr.shape}; "
                             "reshape a single example with x.reshape(1, -1)")
        if len(arr) == 0 and not allow_empty:
            raise ValueError(f"{what} is empty (shape {arr.shape}): training and evaluation need at least one sample")
        if arr.ndim > 2 and not any(isinstance(layer, L.Flatten) for layer in self.layers[:1]):
            raise ValueError(f"{what} has shape {arr.shape}: flatten it to (samples, features) first "
                             f"(x.reshape(len(x), -1)) or start the model with Flatten()")
        arr = np.ascontiguousarray(arr, dtype=self.dtype)
        if not np.isfinite(arr).all():
            bad = np.argwhere(~np.isfinite(arr))[0]
            raise ValueError(f"{what} contains a non-finite value ({arr[tuple(bad)]}) at index {tuple(int(i) for i in bad)}")
        if not self.built:  # a width the first layer declares wins over the data's (checked below)
            declared = self.layers[0].input_dim if self.layers else None
            self.build(declared if declared is not None else int(np.prod(arr.shape[1:])))
        width = int(np.prod(arr.shape[1:]))
        if width != self.input_dim:
            raise ValueError(f"{what} has {width} features per sample but the model expects {self.input_dim}")
        return arr

    def _prepare_y(self, y: Any, n: int, what: str = "y") -> np.ndarray:
        arr = np.asarray(y)
        if len(arr) != n:
            raise ValueError(f"{what} has {len(arr)} samples but x has {n}")
        if self._sparse or (arr.ndim == 1 and self.output_dim > 1):
            if not self._sparse:
                raise ValueError(
                    f"{what} holds class labels of shape {arr.shape} but the model outputs {self.output_dim} "
                    "values: one-hot encode them (actlab.keras.utils.to_categorical) or use "
                    "loss='sparse_categorical_crossentropy'")
            labels = arr.reshape(-1)
            if not np.issubdtype(labels.dtype, np.integer):
                if not np.all(labels == np.round(labels)):
                    raise ValueError(f"{what}: sparse labels must be integers")
                labels = labels.astype(np.int64)
            if labels.min() < 0 or labels.max() >= self.output_dim:
                raise ValueError(f"{what}: label {int(labels.max() if labels.max() >= self.output_dim else labels.min())} "
                                 f"is outside 0..{self.output_dim - 1}")
            out = np.zeros((n, self.output_dim), dtype=self.dtype)
            out[np.arange(n), labels] = 1.0
            return out
        if arr.ndim == 1:
            arr = arr.reshape(-1, 1)
        arr = np.ascontiguousarray(arr, dtype=self.dtype)
        if arr.shape[1] != self.output_dim:
            raise ValueError(f"{what} has {arr.shape[1]} columns but the model outputs {self.output_dim} "
                             f"(the last layer's width)")
        if not np.isfinite(arr).all():
            raise ValueError(f"{what} contains non-finite values")
        bounds = self.loss.target_range if self.loss is not None else None
        if bounds is not None and arr.size:
            lo, hi = bounds
            bad = np.argwhere((arr < lo) | (arr > hi))
            if len(bad):
                where = tuple(int(i) for i in bad[0])
                raise ValueError(f"{what} holds {arr[where]:g} at index {where}: targets of {self.loss.name} must "
                                 f"lie in [{lo:g}, {hi:g}] (one-hot rows or probabilities)")
        return arr

    def _require_compiled(self):
        if self.optimizer is None or self.loss is None:
            raise ValueError("compile the model first: model.compile(loss=..., optimizer=...)")

    # -- forward and backward ---------------------------------------------------------------
    def forward(self, x: np.ndarray, training: bool = False, keep: bool = False) -> np.ndarray:
        """Run the layers; with ``keep=True`` every layer's output is kept in ``self.outputs_``."""
        if keep:
            self.outputs_ = []
        for layer in self.layers:
            x = layer.forward(x, training)
            if keep:
                self.outputs_.append(x)
        return x

    def _backward(self, y_true: np.ndarray, y_pred: np.ndarray, delta: np.ndarray | None = None,
                  update_rate: float | None = None) -> None:
        """Fill every layer's ``grads`` with the gradient of the loss (penalties included).
        ``delta``: the fused delta dL/dz of the output layer when already computed.
        ``update_rate``: each layer applies plain SGD at this rate itself (see :meth:`train_step`)."""
        if delta is not None:
            g, skip = delta, True
        elif self.uses_fused_delta():
            g = self.loss.fused_delta(y_true, y_pred)     # dL/dz of the output layer
            skip = True
        else:
            g = self.loss.gradient(y_true, y_pred).astype(self.dtype, copy=False)   # dL/dy
            skip = False
        last = len(self.layers) - 1
        for i in range(last, -1, -1):
            layer = self.layers[i]
            need = i > 0
            if update_rate is not None and layer.params:   # Dense (see _fused_update_rate)
                g = layer.backward(g, need, skip_activation=skip and i == last, update_rate=update_rate)
            elif i == last:
                g = layer.backward(g, need, skip_activation=skip)
            else:
                g = layer.backward(g, need)

    def _loss_value(self, y_true, y_pred) -> float:
        return self.loss.value(y_true, y_pred) + self._penalty()

    def _penalty(self) -> float:
        return sum(layer.penalty() for layer in self.layers)

    def _fast_loss_and_delta(self, y_true, y_pred) -> tuple[float, np.ndarray] | None:
        """Inside a training step: the loss value and the fused delta in one pass
        (:func:`.kernels.cce_value_and_delta`, softmax with categorical cross-entropy), the delta
        in an array the model reuses from step to step; None where that path does not apply."""
        if self.loss.name != "categorical_crossentropy" or not self.uses_fused_delta():
            return None
        out = self._delta_buffer
        if out is None or out.shape != y_pred.shape or out.dtype != y_pred.dtype:
            out = self._delta_buffer = np.empty_like(y_pred)
        value = kernels.cce_value_and_delta(y_true, y_pred, out)
        return None if value is None else (value + self._penalty(), out)

    def count_correct(self, y_true: np.ndarray, y_pred: np.ndarray) -> int:
        """How many rows ``y_pred`` classifies as ``y_true`` does (argmax; one output: > 0.5)."""
        if y_pred.shape[1] == 1:
            return int(np.sum((y_pred[:, 0] > 0.5) == (y_true[:, 0] > 0.5)))
        fast = kernels.count_correct(y_true, y_pred)
        if fast is not None:
            return fast
        return int(np.count_nonzero(y_pred.argmax(axis=1) == y_true.argmax(axis=1)))

    def train_step(self, xb: np.ndarray, yb: np.ndarray) -> tuple[float, np.ndarray]:
        """One optimizer step on one batch: forward, loss, backward, update.

        ``xb`` and ``yb`` are arrays of the model's dtype (``fit`` and ``train_on_batch`` prepare
        them). Returns the loss before the step and the prediction, which lives in a layer's
        reused array: it is valid until the next step. Afterwards every layer's ``grads`` holds
        the batch loss's gradient, except in the one case the update is fused: plain SGD (no
        momentum) on a float32 stack of dense layers without penalties, with NumPy's BLAS
        (:meth:`.kernels.Gemm.update`). Each layer then updates its kernel in its weight-gradient
        product, ``W -= r x^T dL/dz`` (its kernel's ``grads`` are not written), and its bias.
        Unchecked: for training loops of their own (``fit``'s, the playground's);
        ``train_on_batch`` is the checked, Keras-style form.
        """
        with kernels.reusing_buffers(self.layers):   # the layers may reuse their arrays
            y_pred = self.forward(xb, training=True)
            fast = self._fast_loss_and_delta(yb, y_pred)
            if fast is None:
                loss, delta = self._loss_value(yb, y_pred), None
            else:
                loss, delta = fast
            rate = self._fused_update_rate()
            self._backward(yb, y_pred, delta, update_rate=rate)
        if rate is not None:
            self.optimizer.count_step()
            return loss, y_pred
        params, grads = self._flat_parameters()
        self.optimizer.apply(params, grads)
        return loss, y_pred

    def _fused_update_rate(self) -> float | None:
        """Inside a training step: plain SGD's rate when every layer with weights is a float32
        ``Dense`` that may update itself and NumPy's BLAS can update kernels; else None."""
        rate = self.optimizer.plain_rate()
        if rate is None or self.dtype != np.float32 or not kernels.GEMM.can_update():
            return None
        layers = self._update_plan
        if layers is None or layers[0] is not self.optimizer or layers[1] != self.layers:
            ok = all(type(layer) is L.Dense and layer.can_update_itself()
                     for layer in self.layers if layer.params)
            layers = self._update_plan = (self.optimizer, list(self.layers), ok)
        return rate if layers[2] else None

    def gradients(self, x: Any, y: Any, training: bool = False) -> list[dict[str, np.ndarray]]:
        """The gradient of the loss w.r.t. every parameter, per layer (copies), without updating."""
        self._require_compiled()
        x = self._prepare_x(x)
        y = self._prepare_y(y, len(x))
        y_pred = self.forward(x, training=training)
        self._backward(y, y_pred)
        return [{k: g.copy() for k, g in layer.grads.items()} for layer in self.layers]

    def loss_value(self, x: Any, y: Any) -> float:
        """The loss (penalties included) on ``x, y`` in inference mode."""
        self._require_compiled()
        x = self._prepare_x(x)
        y = self._prepare_y(y, len(x))
        return self._loss_value(y, self.forward(x, training=False))

    # -- Keras API ----------------------------------------------------------------------------
    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = None, epochs: int = 1,
            verbose: int = 1, callbacks: list[cbks.Callback] | None = None, validation_split: float = 0.0,
            validation_data: tuple | None = None, shuffle: bool = True, initial_epoch: int = 0,
            **unused: Any) -> cbks.History:
        """Train for ``epochs`` epochs of mini-batch steps; returns a ``History``.

        As Keras: ``validation_split`` takes the *last* fraction of the data before shuffling;
        training metrics are running means over the epoch's batches; validation metrics are
        computed at the end of each epoch. A non-finite loss raises ``DivergedError``.
        """
        if unused:
            raise ValueError(f"fit got unsupported argument(s): {', '.join(sorted(unused))}")
        self._require_compiled()
        batch_size = 32 if batch_size is None else batch_size
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
        if verbose not in (0, 1, 2, True, False, "auto"):
            raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
        verbose = 1 if verbose == "auto" else int(verbose)
        if not 0.0 <= validation_split < 1.0:
            raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}")
        x = self._prepare_x(x)
        y = self._prepare_y(y, len(x))
        if validation_data is not None:
            if len(validation_data) != 2:
                raise ValueError("validation_data must be a tuple (x_val, y_val)")
            xv = self._prepare_x(validation_data[0], "validation x")
            yv = self._prepare_y(validation_data[1], len(xv), "validation y")
        elif validation_split:
            cut = int(len(x) * (1.0 - validation_split))
            if cut == 0 or cut == len(x):
                raise ValueError(f"validation_split={validation_split} leaves an empty split of {len(x)} samples")
            x, xv, y, yv = x[:cut], x[cut:], y[:cut], y[cut:]
        else:
            xv = yv = None

        n = len(x)
        steps = math.ceil(n / batch_size)
        history = cbks.History()
        cb_list: list[cbks.Callback] = [history] + list(callbacks or [])
        if verbose:
            cb_list.append(cbks.ProgbarLogger(verbose))
        for cb in cb_list:
            cb.set_model(self)
            cb.set_params({"epochs": epochs, "steps": steps, "verbose": verbose})
        self.stop_training = False
        for cb in cb_list:
            cb.on_train_begin()
        metric = self.metrics[0] if self.metrics else None
        batch_bufs: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for epoch in range(initial_epoch, epochs):
            for cb in cb_list:
                cb.on_epoch_begin(epoch)
            t0 = time.perf_counter()
            perm = epoch_order(self.seed, epoch, n) if shuffle else None
            total_loss = 0.0
            total_correct = 0
            for b in range(steps):
                if perm is None:
                    xb = x[b * batch_size:(b + 1) * batch_size]
                    yb = y[b * batch_size:(b + 1) * batch_size]
                else:
                    # each batch is gathered into arrays reused from step to step (no per-step
                    # allocation, no shuffled copy of the whole set; the rows stay in cache)
                    idx = perm[b * batch_size:(b + 1) * batch_size]
                    if len(idx) not in batch_bufs:
                        batch_bufs[len(idx)] = (np.empty((len(idx),) + x.shape[1:], x.dtype),
                                                np.empty((len(idx),) + y.shape[1:], y.dtype))
                    xb, yb = batch_bufs[len(idx)]
                    x.take(idx, axis=0, out=xb, mode="clip")   # clip: unbuffered; idx is in range
                    y.take(idx, axis=0, out=yb, mode="clip")
                loss, y_pred = self.train_step(xb, yb)
                if not math.isfinite(loss):
                    raise DivergedError(epoch, b, loss)
                total_loss += loss * len(xb)
                seen = min((b + 1) * batch_size, n)
                logs = {"loss": total_loss / seen}
                if metric:
                    total_correct += self.count_correct(yb, y_pred)
                    logs[metric] = total_correct / seen
                for cb in cb_list:
                    cb.on_train_batch_end(b, logs)
            logs = {"loss": total_loss / n}
            if metric:
                logs[metric] = total_correct / n
            if xv is not None:
                val = self._evaluate_arrays(xv, yv, batch_size)
                logs["val_loss"] = val[0]
                if metric:
                    logs[f"val_{metric}"] = val[1]
            logs_time = time.perf_counter() - t0
            for cb in cb_list:
                cb.on_epoch_end(epoch, logs)
            self.last_epoch_seconds = logs_time
            if self.stop_training:
                break
        for cb in cb_list:
            cb.on_train_end()
        self.history = history
        return history

    def _evaluate_arrays(self, x, y, batch_size) -> list[float]:
        total, correct = 0.0, 0
        n = len(x)
        step = max(batch_size, 1024)
        for s in range(0, n, step):
            yp = self.forward(x[s:s + step], training=False)
            total += self.loss.value(y[s:s + step], yp) * len(yp)
            correct += self.count_correct(y[s:s + step], yp)
        penalty = sum(layer.penalty() for layer in self.layers)
        return [total / n + penalty, correct / n]

    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None, verbose: int = 1,
                 return_dict: bool = False, **unused: Any):
        """``[loss, accuracy]`` (or the loss alone when no metric was compiled)."""
        if unused:
            raise ValueError(f"evaluate got unsupported argument(s): {', '.join(sorted(unused))}")
        self._require_compiled()
        x = self._prepare_x(x)
        y = self._prepare_y(y, len(x))
        loss, acc = self._evaluate_arrays(x, y, batch_size or 32)
        if verbose:
            extra = f" - {self.metrics[0]}: {acc:.4f}" if self.metrics else ""
            print(f"{len(x)}/{len(x)} - loss: {loss:.4f}{extra}")
        if return_dict:
            return {"loss": loss, **({self.metrics[0]: acc} if self.metrics else {})}
        return [loss, acc] if self.metrics else loss

    def predict(self, x: Any, batch_size: int | None = None, verbose: int = 0, **unused: Any) -> np.ndarray:
        x = self._prepare_x(x, allow_empty=True)
        if len(x) == 0:  # as Keras: no samples, no predictions
            return np.zeros((0, self.output_dim), dtype=self.dtype)
        step = batch_size or 1024
        return np.concatenate([self.forward(x[s:s + step]) for s in range(0, len(x), step)], axis=0)

    def predict_classes(self, x: Any, **kw: Any) -> np.ndarray:
        p = self.predict(x, **kw)
        return (p[:, 0] > 0.5).astype(int) if p.shape[1] == 1 else np.argmax(p, axis=1)

    def train_on_batch(self, x: Any, y: Any, return_dict: bool = False):
        """One optimizer step on one batch; returns the loss and accuracy before the step."""
        self._require_compiled()
        x = self._prepare_x(x)
        y = self._prepare_y(y, len(x))
        loss, y_pred = self.train_step(x, y)
        if not math.isfinite(loss):
            raise DivergedError(0, 0, loss)
        acc = self.count_correct(y, y_pred) / len(x)
        if return_dict:
            return {"loss": loss, **({self.metrics[0]: acc} if self.metrics else {})}
        return [loss, acc] if self.metrics else loss

    def test_on_batch(self, x: Any, y: Any):
        return self.evaluate(x, y, verbose=0)

    # -- weights and description --------------------------------------------------------------
    def _build_if_declared(self) -> None:
        # as Keras: a model whose first layer declares its input width has weights at once
        if not self.built and self.layers and self.layers[0].input_dim is not None:
            self.build()

    def get_weights(self) -> list[np.ndarray]:
        self._build_if_declared()
        return [p.copy() for layer in self.layers for p in layer.params.values()]

    def set_weights(self, weights: list[np.ndarray]) -> None:
        self._build_if_declared()
        params, _ = self._param_lists()
        if len(weights) != len(params):
            raise ValueError(f"set_weights got {len(weights)} arrays, the model has {len(params)}")
        for i, (p, w) in enumerate(zip(params, weights)):
            w = np.asarray(w)
            if w.shape != p.shape:
                raise ValueError(f"weight {i} has shape {w.shape}, expected {p.shape}")
            p[...] = w

    def save_weights(self, path: str) -> None:
        """Save the weights as ``.npz`` (no pickle), in ``get_weights`` order."""
        path = str(path)
        if not path.endswith(".npz"):
            raise ValueError(f"weights are saved as .npz; got {path!r}")
        np.savez(path, **{f"w{i:03d}": w for i, w in enumerate(self.get_weights())},
                 config=np.array(json.dumps(self.get_config())))

    def load_weights(self, path: str) -> None:
        with np.load(str(path), allow_pickle=False) as data:
            keys = sorted(k for k in data.files if k.startswith("w"))
            if not self.built:
                cfg = json.loads(str(data["config"])) if "config" in data.files else None
                if cfg is None or cfg.get("input_dim") is None:
                    raise ValueError("build the model (or fit/predict once) before load_weights")
                self.build(cfg["input_dim"])
            self.set_weights([data[k] for k in keys])

    def get_config(self) -> dict[str, Any]:
        """The model description as JSON-able data; the torch engine builds from it too."""
        return {
            "name": self.name, "seed": self.seed, "dtype": self.dtype.name,
            "input_dim": getattr(self, "input_dim", self.layers[0].input_dim if self.layers else None),
            "layers": [{"class_name": type(layer).__name__, "config": layer.get_config()} for layer in self.layers],
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Sequential":
        model = cls([L.from_config(c) for c in config["layers"]], name=config.get("name"),
                    seed=config.get("seed", 0), dtype=config.get("dtype", DEFAULT_DTYPE))
        if config.get("input_dim"):
            model.build(config["input_dim"])
        return model

    def count_params(self) -> int:
        self._build_if_declared()
        return sum(layer.count_params() for layer in self.layers)

    def summary(self, print_fn=print) -> None:
        """The layers, their output shapes and parameter counts, laid out as Keras 2 prints them."""
        if not self.built and self.layers and self.layers[0].input_dim is not None:
            self.build()
        width, positions = 65, (29, 55, 65)   # Keras 2's line length and column ends for a Sequential

        def row(fields):
            line = ""
            for i, (field, end) in enumerate(zip(fields, positions)):
                if i > 0:
                    line = line[:-1] + " "
                line = (line + str(field))[:end]
                line += " " * (end - len(line))
            print_fn(line)

        layers = [layer for layer in self.layers if not isinstance(layer, L.InputLayer)]
        print_fn(f'Model: "{self.name}"')
        print_fn("_" * width)
        row(("Layer (type)", "Output Shape", "Param #"))
        print_fn("=" * width)
        for i, layer in enumerate(layers):
            shape = f"(None, {layer.output_dim})" if layer.output_dim else "(unbuilt)"
            row((f"{layer.name} ({type(layer).__name__})", shape, layer.count_params()))
            print_fn("=" * width if i == len(layers) - 1 else "_" * width)
        print_fn(f"Total params: {self.count_params():,}")
        print_fn(f"Trainable params: {self.count_params():,}")
        print_fn("Non-trainable params: 0")
        print_fn("_" * width)

    def __repr__(self) -> str:
        return f"Sequential({self.layers!r}, seed={self.seed})"
