"""The activation zoo: every function with its derivative, formula, properties and paper.

>>> from actlab.activations import get
>>> relu = get("relu")
>>> relu([-1.0, 0.0, 2.0]).tolist(), relu.derivative([-1.0, 0.0, 2.0]).tolist()
([0.0, 0.0, 2.0], [0.0, 0.0, 1.0])

The stateless functions are importable by name (``actlab.activations.gelu(x)``);
``get(name)`` returns the registered :class:`Activation` object.
"""
from .base import Activation, Domain, Properties, aliases, as_float_array, get, keras_names, label_of, names, register
from .zoo import (  # noqa: F401  (the functions, importable by name)
    celu, elu, erf, exponential, gelu, hard_sigmoid, hard_sigmoid_keras, hard_swish, hard_tanh, hardshrink,
    leaky_relu, linear, log_sigmoid, log_softmax, maxout, mish, prelu, relu, relu6, relu_keras, rrelu,
    selu, sigmoid, silu, softmax, softplus, softshrink, softsign, tanh, tanhshrink,
)

swish = silu

__all__ = ["Activation", "Domain", "Properties", "aliases", "as_float_array", "get", "keras_names", "label_of", "names",
           "register"]
