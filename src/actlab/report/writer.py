"""The report writer: sections of Markdown text, tables and matplotlib figures -> a directory."""
from __future__ import annotations

import base64
import csv
import datetime as _dt
import html
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

__all__ = ["Section", "Table", "write_report", "default_out_dir", "markdown_to_html", "format_cell"]


@dataclass
class Table:
    """A table: column ``headers`` and ``rows`` of cells (numbers, strings, None)."""

    headers: Sequence[str]
    rows: Sequence[Sequence[Any]]
    title: str = ""
    name: str = ""  # file name stem; derived from the title (or the section) when empty

    def __post_init__(self):
        self.headers = [str(h) for h in self.headers]
        self.rows = [list(r) for r in self.rows]
        for i, r in enumerate(self.rows):
            if len(r) != len(self.headers):
                raise ValueError(f"table {self.title or self.name or ''!r}: row {i} has {len(r)} cells, "
                                 f"the header has {len(self.headers)}")


@dataclass
class Section:
    """One part of a report: a title, Markdown text, figures and tables.

    ``figures``: matplotlib Figures, or ``(name, figure)`` pairs to choose the file names.
    ``tables``: :class:`Table` objects or ``(headers, rows)`` pairs.
    """

    title: str
    text_markdown: str = ""
    figures: list = field(default_factory=list)
    tables: list = field(default_factory=list)


def default_out_dir(study: str, base: str | Path = "actlab-reports") -> Path:
    """``./actlab-reports/<study>-<UTC timestamp>``."""
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    return Path(base) / f"{_slug(study)}-{stamp}"


def _slug(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", str(text)).strip("-._").lower()
    return s[:60] or "item"


def format_cell(value: Any) -> str:
    """Cells as text: floats with 4 significant digits, None and NaN as empty/'nan'."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e6):
            return f"{value:.3e}"
        return f"{value:.4g}"
    return str(value)


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return value


# -- Markdown ------------------------------------------------------------------------------------
_INLINE = [
    (re.compile(r"`([^`]+)`"), r"<code>\1</code>"),
    (re.compile(r"\*\*([^*]+)\*\*"), r"<strong>\1</strong>"),
    (re.compile(r"(?<![*\w])\*([^*\s][^*]*)\*(?!\*)"), r"<em>\1</em>"),
    (re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)"), r'<a href="\2">\1</a>'),
]


def _inline(text: str) -> str:
    out = html.escape(text, quote=False)
    for pattern, repl in _INLINE:
        out = pattern.sub(repl, out)
    return out


def markdown_to_html(text: str) -> str:
    """A small Markdown subset: paragraphs, ``#`` headings, ``-``/``1.`` lists, pipe tables,
    fenced code, and inline code, bold, italic and links. Everything else is escaped."""
    lines = (text or "").splitlines()
    out: list[str] = []
    para: list[str] = []
    i = 0

    def flush():
        if para:
            out.append("<p>" + _inline(" ".join(para)) + "</p>")
            para.clear()

    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("```"):
            flush()
            body = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                body.append(lines[i])
                i += 1
            out.append("<pre><code>" + html.escape("\n".join(body)) + "</code></pre>")
            i += 1
            continue
        if not stripped:
            flush()
            i += 1
            continue
        m = re.match(r"(#{1,6})\s+(.*)", stripped)
        if m:
            flush()
            level = min(len(m.group(1)) + 2, 6)  # sections are h2: text headings start below
            out.append(f"<h{level}>{_inline(m.group(2))}</h{level}>")
            i += 1
            continue
        if re.match(r"([-*]|\d+\.)\s+", stripped):
            flush()
            ordered = bool(re.match(r"\d+\.", stripped))
            tag = "ol" if ordered else "ul"
            items = []
            while i < len(lines) and re.match(r"\s*([-*]|\d+\.)\s+", lines[i]):
                items.append(re.sub(r"^\s*([-*]|\d+\.)\s+", "", lines[i]))
                i += 1
                while i < len(lines) and lines[i].startswith("  ") and lines[i].strip() and \
                        not re.match(r"\s*([-*]|\d+\.)\s+", lines[i]):
                    items[-1] += " " + lines[i].strip()
                    i += 1
            out.append(f"<{tag}>" + "".join(f"<li>{_inline(t)}</li>" for t in items) + f"</{tag}>")
            continue
        if stripped.startswith("|") and i + 1 < len(lines) and re.match(r"\s*\|[\s:|-]+\|\s*$", lines[i + 1]):
            flush()
            header = [c.strip() for c in stripped.strip("|").split("|")]
            i += 2
            rows = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append([c.strip() for c in lines[i].strip().strip("|").split("|")])
                i += 1
            out.append(_html_table(header, rows, inline=True))
            continue
        para.append(stripped)
        i += 1
    flush()
    return "\n".join(out)


def _html_table(headers, rows, inline: bool = False) -> str:
    cell = _inline if inline else (lambda v: html.escape(format_cell(v)))
    head = "".join(f"<th>{cell(h) if inline else html.escape(str(h))}</th>" for h in headers)
    body = []
    for r in rows:
        tds = []
        for v in r:
            text = cell(v)
            cls = ' class="num"' if isinstance(v, (int, float)) and not isinstance(v, bool) else ""
            tds.append(f"<td{cls}>{text}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    return f'<table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _md_table(headers, rows) -> str:
    def esc(v):
        return format_cell(v).replace("|", "\\|").replace("\n", " ")
    lines = ["| " + " | ".join(esc(h) for h in headers) + " |",
             "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(esc(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


# -- writing -------------------------------------------------------------------------------------
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#1d1d1f;line-height:1.45}
h1{font-size:1.7em;margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:1em 0;font-size:.92em}th,td{border:1px solid #ccc;padding:.3em .6em}
th{background:#f3f3f3;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
tbody tr:nth-child(even){background:#fafafa}figure{margin:1em 0}img{max-width:100%;height:auto}
figcaption{font-size:.85em;color:#555}code{background:#f3f3f3;padding:0 .2em;border-radius:3px}
pre{background:#f6f6f6;padding:.8em;overflow-x:auto}.meta{color:#666;font-size:.9em}
.tabletitle{font-weight:600;margin-top:1.2em}
"""


def _as_table(item: Any) -> Table:
    if isinstance(item, Table):
        return item
    if isinstance(item, (tuple, list)) and len(item) == 2:
        return Table(item[0], item[1])
    raise ValueError(f"a report table must be a Table or a (headers, rows) pair, got {type(item).__name__}")


def _as_figure(item: Any) -> tuple[str, Any]:
    if isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str):
        return item[0], item[1]
    if hasattr(item, "savefig"):
        label = ""
        if getattr(item, "_suptitle", None) is not None:
            label = item._suptitle.get_text()
        elif item.axes and item.axes[0].get_title():
            label = item.axes[0].get_title()
        return label, item
    raise ValueError(f"a report figure must be a matplotlib Figure or a (name, Figure) pair, got {type(item).__name__}")


def _unique(stem: str, used: set[str]) -> str:
    name, k = stem, 2
    while name in used:
        name, k = f"{stem}-{k}", k + 1
    used.add(name)
    return name


def write_report(out_dir: str | Path, title: str, sections: Sequence[Section], *,
                 meta: dict[str, Any] | None = None, dpi: int = 110, close_figures: bool = True) -> Path:
    """Write the report of ``sections`` into ``out_dir``; returns the path of ``index.html``.

    ``meta`` (e.g. the store path, the command line) is listed under the title.
    Figures are closed after writing unless ``close_figures=False``.
    """
    out = Path(out_dir)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    (out / "tables").mkdir(parents=True, exist_ok=True)
    generated = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    from .._version import __version__

    meta_items = {"generated": generated, "actlab": __version__, **(meta or {})}
    html_parts = [f"<h1>{html.escape(title)}</h1>",
                  '<p class="meta">' + " &middot; ".join(
                      f"{html.escape(str(k))}: {html.escape(str(v))}" for k, v in meta_items.items()) + "</p>"]
    md_parts = [f"# {title}", "", " · ".join(f"{k}: {v}" for k, v in meta_items.items()), ""]
    used_fig: set[str] = set()
    used_tab: set[str] = set()
    toc = []
    for si, section in enumerate(sections):
        if not isinstance(section, Section):
            raise ValueError(f"write_report expects Section objects, got {type(section).__name__}")
        anchor = f"s{si + 1}-{_slug(section.title)}"
        toc.append(f'<li><a href="#{anchor}">{html.escape(section.title)}</a></li>')
        html_parts.append(f'<h2 id="{anchor}">{html.escape(section.title)}</h2>')
        md_parts += [f"## {section.title}", ""]
        if section.text_markdown:
            html_parts.append(markdown_to_html(section.text_markdown))
            md_parts += [section.text_markdown.strip(), ""]
        for ti, item in enumerate(section.tables):
            table = _as_table(item)
            stem = _unique(_slug(table.name or table.title or f"{section.title}-{ti + 1}"), used_tab)
            with open(out / "tables" / f"{stem}.csv", "w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh)
                writer.writerow(table.headers)
                writer.writerows([[_csv_cell(v) for v in r] for r in table.rows])
            md = _md_table(table.headers, table.rows)
            (out / "tables" / f"{stem}.md").write_text((f"**{table.title}**\n\n" if table.title else "") + md + "\n",
                                                      encoding="utf-8")
            if table.title:
                html_parts.append(f'<div class="tabletitle">{_inline(table.title)}</div>')
                md_parts += [f"**{table.title}**", ""]
            html_parts.append(_html_table(table.headers, table.rows))
            html_parts.append(f'<p class="meta">CSV: <a href="tables/{stem}.csv">tables/{stem}.csv</a></p>')
            md_parts += [md, "", f"CSV: [tables/{stem}.csv](tables/{stem}.csv)", ""]
        for fi, item in enumerate(section.figures):
            label, fig = _as_figure(item)
            stem = _unique(_slug(label or f"{section.title}-{fi + 1}"), used_fig)
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
            png = buf.getvalue()
            (out / "figures" / f"{stem}.png").write_bytes(png)
            fig.savefig(out / "figures" / f"{stem}.svg", format="svg", bbox_inches="tight")
            b64 = base64.b64encode(png).decode("ascii")
            html_parts.append(
                f'<figure><img alt="{html.escape(label or stem)}" src="data:image/png;base64,{b64}">'
                f'<figcaption>{html.escape(label)} (<a href="figures/{stem}.svg">SVG</a>, '
                f'<a href="figures/{stem}.png">PNG</a>)</figcaption></figure>')
            md_parts += [f"![{label or stem}](figures/{stem}.png)", ""]
            if close_figures:
                _close(fig)
    if len(sections) > 2:
        html_parts.insert(2, "<nav><ul>" + "".join(toc) + "</ul></nav>")
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style></head><body>\n" + "\n".join(html_parts) + "\n</body></html>\n")
    (out / "index.html").write_text(page, encoding="utf-8")
    (out / "report.md").write_text("\n".join(md_parts).rstrip() + "\n", encoding="utf-8")
    return out / "index.html"


def _close(fig: Any) -> None:
    import sys

    plt = sys.modules.get("matplotlib.pyplot")  # figures made through pyplot are registered there
    if plt is not None and getattr(fig, "number", None) is not None:
        plt.close(fig)
