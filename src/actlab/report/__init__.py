"""Reports of studies: one self-contained HTML page, Markdown, CSV tables, PNG and SVG plots.

>>> from actlab.report import Section, Table, write_report
>>> import tempfile
>>> out = write_report(tempfile.mkdtemp(), "A study", [
...     Section("Results", "Two **activations**.", tables=[(["activation", "accuracy"], [["relu", 0.9]])])])
>>> out.name
'index.html'

A report directory holds::

    index.html            everything, plots embedded as base64 PNG (no network needed)
    report.md             the same text and tables in Markdown, plots linked
    figures/NAME.png      every plot, and NAME.svg
    tables/NAME.csv       every table, and NAME.md

``actlab report`` rebuilds a study's report from the store alone through :data:`REPORTERS`.
"""
from .writer import Section, Table, default_out_dir, markdown_to_html, write_report

__all__ = ["Section", "Table", "write_report", "default_out_dir", "markdown_to_html"]
