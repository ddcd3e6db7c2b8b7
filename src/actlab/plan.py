"""The one model description: ``hidden="200x4", activation=...`` -> a plan of hidden blocks.

Every backend builds its layers from this plan, so what an activation implies about the layers
is known here only: activations that hold parameters or randomness get their own layer after a
linear Dense (``prelu`` -> a PReLU layer, ``rrelu`` -> an RReLU layer), ``maxout`` widens the
Dense to ``units * k`` and a Maxout layer reduces it back to ``units``; every other (elementwise)
activation is applied by the Dense itself.

>>> [(b.units, b.width, b.layer) for b in layer_plan("8x2", "maxout")]
[(8, 16, 'maxout'), (8, 16, 'maxout')]
>>> layer_plan("4", {"name": "prelu", "alpha": 0.1})[0].structure
'prelu'
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

from . import activations as _acts

__all__ = ["OWN_LAYER", "Block", "OwnLayer", "as_activation", "layer_plan", "parse_hidden", "pieces",
           "structure", "widens"]


@dataclass(frozen=True)
class OwnLayer:
    """What it implies that an activation becomes a layer of its own after a linear Dense."""

    #: its parameters learned per unit (the activation's values are their initial values)
    learned: tuple[str, ...] = ()
    #: the parameter that widens the Dense before it (``units * params[widen]`` outputs, which the
    #: layer reduces back to ``units``), or None
    widen: str | None = None


#: the activations that become a layer of their own after a linear Dense (the one place that
#: knows it): prelu learns its slope per unit, rrelu draws its slopes at random in training,
#: maxout widens the Dense to ``units * k`` pieces. Every backend reads this through the plan
#: (:attr:`Block.layer`, :attr:`Block.width`, :attr:`Block.k`, :attr:`Block.learned`, :func:`pieces`).
OWN_LAYER: dict[str, OwnLayer] = {
    "prelu": OwnLayer(learned=("alpha",)),
    "rrelu": OwnLayer(),
    "maxout": OwnLayer(widen="k"),
}


def parse_hidden(spec: Any) -> list[int]:
    """Hidden sizes from ``"200x4"``, ``"200,100"``, ``"64x2,32"``, an int or a list; ``""``/``"0"`` is none."""
    if isinstance(spec, (int,)) and not isinstance(spec, bool):
        spec = [spec]
    if isinstance(spec, (list, tuple)):
        sizes = [int(s) for s in spec]
    elif isinstance(spec, str):
        sizes = []
        text = spec.replace(" ", "")
        if text in ("", "0", "none"):
            return []
        for part in text.split(","):
            m = re.fullmatch(r"(\d+)(?:[x*](\d+))?", part)
            if not m:
                raise ValueError(f"cannot parse hidden sizes {spec!r}: use e.g. '200x4' or '128,64'")
            sizes += [int(m.group(1))] * int(m.group(2) or 1)
    else:
        raise ValueError(f"cannot parse hidden sizes {spec!r}: use e.g. '200x4' or '128,64'")
    if any(s < 1 for s in sizes):
        raise ValueError(f"hidden sizes must be positive, got {spec!r}")
    return sizes


def as_activation(activation: Any) -> _acts.Activation:
    """An activation from a name, an ``Activation`` or a config dict ``{"name": ..., **params}``."""
    if isinstance(activation, dict):
        return _acts.get(activation["name"], **{k: v for k, v in activation.items() if k != "name"})
    return _acts.get(activation)


@dataclass(frozen=True)
class Block:
    """One hidden layer of ``units`` outputs: a Dense of ``width`` outputs, then ``layer`` (or none)."""

    units: int
    activation: _acts.Activation

    @property
    def layer(self) -> str | None:
        """The layer the activation becomes (``'prelu'``, ``'rrelu'``, ``'maxout'``), or None
        when the Dense applies it."""
        return self.activation.name if self.activation.name in OWN_LAYER else None

    @property
    def k(self) -> int:
        """Pieces per unit (maxout's ``k``), else 1."""
        return pieces(self.activation)

    @property
    def learned(self) -> tuple[str, ...]:
        """The activation's parameters its layer learns per unit (prelu: ``('alpha',)``)."""
        own = OWN_LAYER.get(self.activation.name)
        return own.learned if own is not None else ()

    @property
    def width(self) -> int:
        """The Dense layer's outputs."""
        return self.units * self.k

    @property
    def structure(self) -> str:
        """What the activation implies for the layer shapes: ``plain``, ``prelu``, ``rrelu``, ``maxoutK``."""
        return structure(self.activation)


def widens(activation: Any) -> bool:
    """Whether the activation's layer reduces ``pieces`` inputs to each unit (maxout)."""
    own = OWN_LAYER.get(as_activation(activation).name)
    return own is not None and own.widen is not None


def pieces(activation: Any) -> int:
    """Inputs per unit of the activation's layer: maxout's ``k``; 1 for every other activation."""
    act = as_activation(activation)
    own = OWN_LAYER.get(act.name)
    return int(act.params[own.widen]) if own is not None and own.widen is not None else 1


def structure(activation: Any) -> str:
    """The layer structure an activation implies: ``plain``, ``prelu``, ``rrelu`` or ``maxout<k>``."""
    act = as_activation(activation)
    if widens(act):
        return f"{act.name}{pieces(act)}"
    return act.name if act.name in OWN_LAYER else "plain"


def layer_plan(hidden: Any, activation: Any = None,
               activations_per_layer: Sequence[Any] | None = None) -> list[Block]:
    """The hidden blocks of ``hidden`` sizes with ``activation`` (or one activation per layer)."""
    sizes = parse_hidden(hidden)
    acts = list(activations_per_layer) if activations_per_layer is not None else [activation] * len(sizes)
    if len(acts) != len(sizes):
        raise ValueError(f"{len(acts)} activations given for {len(sizes)} hidden layers")
    blocks = []
    for units, act in zip(sizes, acts):
        a = as_activation(act)
        if a.name not in OWN_LAYER and not a.elementwise:
            raise ValueError(f"{a.name!r} is not an elementwise activation and cannot be used in a hidden layer")
        blocks.append(Block(units, a))
    return blocks
