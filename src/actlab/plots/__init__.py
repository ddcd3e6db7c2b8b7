"""matplotlib figures of actlab.

Every function returns a :class:`matplotlib.figure.Figure` built directly (no ``pyplot``, so
no global figure state leaks into a user's session); :func:`save_figure` writes PNG, SVG or
PDF with the Agg renderer.
"""
from .curves import SAVE_FORMATS, plot_curves, save_figure

__all__ = ["plot_curves", "save_figure", "SAVE_FORMATS"]
