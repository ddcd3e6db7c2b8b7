"""``keras.datasets``: ``mnist.load_data()`` and ``fashion_mnist.load_data()`` through actlab.datasets.

The files are looked up as :func:`actlab.datasets.find_files` does (a folder you name,
``ACTLAB_DATA``, Keras' and torchvision's caches, ...) and verified by SHA-256.
"""
from . import fashion_mnist, mnist

__all__ = ["fashion_mnist", "mnist"]
