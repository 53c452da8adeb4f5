"""A self-contained HTML page (inline CSS, plots embedded as PNG data): what every report is built on."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from deepfake_detector.utils.atomic import write_text

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1080px;margin:2em auto;color:#222;
padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em} .sub{color:#666;margin-top:0} .ci{color:#777;font-size:.85em}
table{border-collapse:collapse;margin:1em 0} td,th{border:1px solid #ddd;padding:.35em .7em;text-align:right}
th{background:#f4f6f8} td:first-child,th:first-child{text-align:left}
.cards{display:flex;gap:1em;flex-wrap:wrap} .card{background:#f4f6f8;border-radius:8px;padding:.8em 1.2em}
.card b{display:block;font-size:1.6em} .plots img{max-width:100%;margin:.5em 0} .warn{color:#a04000}
.scroll{overflow-x:auto} th span[title]{text-decoration:underline dotted;cursor:help}
"""

def embed_png(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'


def fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return html.escape("—" if value is None else str(value))


class Html(str):
    """A table cell already rendered as HTML (not escaped again)."""


def cell(value) -> str:
    return value if isinstance(value, Html) else fmt(value)


def table(header: list[str], rows: list[list]) -> str:
    """A table (header cells may be :class:`Html`) that scrolls sideways on its own when wider than the page."""
    head = "".join(f"<th>{cell(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<div class='scroll'><table><tr>{head}</tr>{body}</table></div>"


def plots_html(plots: list[Path]) -> str:
    return "<div class='plots'>" + "".join(embed_png(Path(p)) for p in plots if p and Path(p).is_file()) + "</div>"


def write_page(path: str | Path, title: str, subtitle: str, body: str) -> Path:
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>"
            f"<p class='sub'>{html.escape(subtitle)}</p>{body}</body></html>")
    write_text(path, page)
    return Path(path)
