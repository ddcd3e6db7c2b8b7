"""One preset per dataset: the settings used wherever none are given.

``actlab train``, ``actlab compare`` (and :class:`actlab.studies.CompareSpec`),
:func:`actlab.studies.make_config` and the data protocol of :func:`actlab.datasets.load` all
read this one table, so that the same dataset gets the same network, optimizer, learning rate,
batch size and epochs from the command line and from Python. ``--help`` prints it.

>>> from actlab import presets
>>> p = presets.get("digits")
>>> p.hidden, p.optimizer, p.learning_rate, p.batch_size, p.epochs
('64x2', 'sgd', 0.05, 32, 30)
>>> presets.resolve("digits", optimizer="adam")["learning_rate"] is None   # adam's own default
True

Data protocol: MNIST and Fashion-MNIST use their official 60,000 / 10,000 split (what
``keras.datasets.mnist.load_data()`` and ``datasets.load("mnist")`` give); the study notes'
draw of :data:`NOTES_SAMPLES` images from all 70,000, split 80/20, is one option away
(``--samples 10000``, ``n_samples=10000``) and is what ``actlab reproduce notes`` uses.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["DEFAULT_ACTIVATION", "DEFAULT_DATASET", "DEFAULT_SEED", "NOTES_SAMPLES", "NOTES_TEST_FRACTION",
           "PRESETS", "TEST_FRACTION", "TOY_NOISE", "TOY_SAMPLES", "TOY_TEST_FRACTION", "Preset", "describe", "get",
           "help_for", "resolve"]

#: What a run uses where none is named: ``actlab train``'s defaults and :func:`actlab.studies.make_config`'s.
DEFAULT_DATASET = "digits"
DEFAULT_ACTIVATION = "relu"
DEFAULT_SEED = 0

#: The share held out for testing where none is given: digits' split, and any draw from the
#: 70,000 MNIST images (the notes' 80/20).
TEST_FRACTION = 0.2
#: The study notes' protocol draws this many of the 70,000 MNIST images (split 80/20).
NOTES_SAMPLES = 10000
#: ... and holds out this share of them for testing (8,000 / 2,000).
NOTES_TEST_FRACTION = TEST_FRACTION

#: The 2-D toy sets' data where none is given (TensorFlow Playground's): points in all, the noise
#: level and the share held out for testing; read by ``datasets.load``/``toy``, ``actlab train``'s
#: ``--help`` and the playground's start.
TOY_SAMPLES = 500
TOY_NOISE = 0.0
TOY_TEST_FRACTION = 0.5


@dataclass(frozen=True)
class Preset:
    """The defaults of one dataset (every field can be overridden per run)."""

    hidden: str            # hidden layer sizes, as engine.parse_hidden reads them
    optimizer: str         # sgd, adam or rmsprop
    learning_rate: float   # for ``optimizer``; another optimizer gets its own default
    batch_size: int
    epochs: int
    target: float          # the test accuracy ``compare`` measures the time to
    data: str              # the data protocol, in words

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def text(self) -> str:
        """``'64x2, sgd lr 0.05, batch 32, 30 epochs'``."""
        return (f"{self.hidden}, {self.optimizer} lr {self.learning_rate:g}, batch {self.batch_size}, "
                f"{self.epochs} epochs")


_IMAGES = Preset("200x4", "sgd", 0.01, 100, 20, 0.9, "the official 60,000 / 10,000 split")
_TOY = Preset("8x2", "adam", 0.01, 10, 100, 0.9,
              f"{TOY_SAMPLES} points (noise {TOY_NOISE:g}), {TOY_TEST_FRACTION:.0%} for testing")

#: dataset name -> its preset. digits: reaches ~97% in seconds; MNIST: the notes' network
#: (784-200-200-200-200-10, plain SGD 0.01, batch 100); toy sets: TensorFlow Playground-like.
PRESETS: dict[str, Preset] = {
    "digits": Preset("64x2", "sgd", 0.05, 32, 30, 0.9, "all 1,797 images, 80/20 split by the seed"),
    "mnist": _IMAGES,
    "fashion_mnist": Preset(**{**asdict(_IMAGES), "target": 0.8}),
    **{name: _TOY for name in ("circle", "xor", "gauss", "spiral", "moons")},
}

_FIELDS = ("hidden", "optimizer", "learning_rate", "batch_size", "epochs")


def get(dataset: str) -> Preset:
    """The preset of ``dataset`` (aliases such as ``'fashion'`` accepted); ``ValueError`` for
    an unknown name."""
    from . import datasets

    key = datasets.canonical_name(dataset)
    if key not in PRESETS:   # a dataset registered without a preset
        raise ValueError(f"dataset {dataset!r} has no preset; give every setting, or add one to "
                         f"actlab.presets.PRESETS (datasets with one: {', '.join(PRESETS)})")
    return PRESETS[key]


def resolve(dataset: str, *, hidden: Any = None, optimizer: str | None = None,
            learning_rate: float | None = None, batch_size: int | None = None,
            epochs: int | None = None) -> dict[str, Any]:
    """The settings a run uses: each one given, else the dataset's preset.

    The preset's learning rate belongs to the preset's optimizer: with another optimizer and no
    ``learning_rate``, the result's ``learning_rate`` is ``None`` (that optimizer's own default).
    """
    p = get(dataset)
    opt = p.optimizer if optimizer is None else str(optimizer).lower()
    if learning_rate is None and opt == p.optimizer:
        learning_rate = p.learning_rate
    return {"hidden": p.hidden if hidden is None else hidden, "optimizer": opt, "learning_rate": learning_rate,
            "batch_size": p.batch_size if batch_size is None else batch_size,
            "epochs": p.epochs if epochs is None else epochs}


def _grouped(field: str) -> str:
    groups: dict[str, list[str]] = {}
    for name, p in PRESETS.items():
        value = getattr(p, field)
        groups.setdefault(f"{value:g}" if isinstance(value, float) else str(value), []).append(name)
    return "; ".join(f"{', '.join(names)}: {value}" for value, names in groups.items())


def help_for(field: str) -> str:
    """``--help`` text of one setting: ``"default: the dataset's preset (digits: 64x2; ...)"``."""
    if field not in _FIELDS + ("target",):
        raise ValueError(f"presets have no field {field!r}; valid: {', '.join(_FIELDS + ('target',))}")
    extra = " (for the preset's optimizer; another optimizer: its own default)" if field == "learning_rate" else ""
    return f"default: the dataset's preset ({_grouped(field)}){extra}"


def describe() -> str:
    """Every preset, one line each (for ``--help`` epilogs and the docs)."""
    width = max(map(len, PRESETS))
    return "\n".join(f"{name:<{width}}  {p.text()}; {p.data}" for name, p in PRESETS.items())
