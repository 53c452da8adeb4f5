"""A self-contained HTML report (plots embedded), readable offline in any browser."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from deepfake_detector.utils.atomic import write_text

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:980px;margin:2em auto;color:#222;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em} .sub{color:#666;margin-top:0}
table{border-collapse:collapse;margin:1em 0} td,th{border:1px solid #ddd;padding:.35em .7em;text-align:right}
th{background:#f4f6f8} td:first-child,th:first-child{text-align:left}
.cards{display:flex;gap:1em;flex-wrap:wrap} .card{background:#f4f6f8;border-radius:8px;padding:.8em 1.2em}
.card b{display:block;font-size:1.6em} .plots img{max-width:100%;margin:.5em 0} .warn{color:#a04000}
"""


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return html.escape("—" if value is None else str(value))


def _table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _paper_section(metrics: dict, paper: dict) -> str:
    keys = ["tp", "tn", "fp", "fn", "accuracy", "precision", "recall", "f1"]
    computed = paper.get("computed")
    rows = [[k, metrics.get(k), computed.get(k) if computed else None] for k in keys]
    stated = _table(["figure the paper states", "value"], [[k, v] for k, v in paper["stated"].items()])
    note = ("<p>The paper's column is recomputed from its own confusion matrix, exactly as ours is.</p>"
            if computed else "<p>The paper gives no confusion-matrix counts; its stated figures are below.</p>")
    return (f"<h2>Beside the paper</h2><p>{html.escape(paper['title'])}</p>"
            + _table(["metric", "this run", "paper"], rows) + note + stated)


def write_report(path: str | Path, *, title: str, subtitle: str, metrics: dict, plots: list[Path],
                 paper: dict | None = None, bad_files: list | None = None) -> Path:
    m = metrics
    cards = "".join(f'<div class="card">{name}<b>{_fmt(m.get(key))}</b></div>'
                    for name, key in (("accuracy", "accuracy"), ("ROC-AUC", "roc_auc"), ("F1 (fake)", "f1"),
                                      ("images", "n")))
    headline = _table(["metric", "value"], [[k, m.get(k)] for k in
                                            ("threshold", "accuracy", "precision", "recall", "f1", "specificity",
                                             "roc_auc", "average_precision", "tp", "tn", "fp", "fn")])
    per_class = _table(["class", "precision", "recall", "f1", "support"],
                       [[c, *(m["per_class"][c][k] for k in ("precision", "recall", "f1", "support"))]
                        for c in ("real", "fake")])
    images = "".join(_img(p) for p in plots if Path(p).is_file())
    bad = ""
    if bad_files:
        shown = bad_files[:50]
        bad = (f'<h2 class="warn">Skipped files ({len(bad_files)})</h2>'
               + _table(["file", "reason"], [[b.path, b.reason] for b in shown]))
    body = (f"<h1>{html.escape(title)}</h1><p class='sub'>{html.escape(subtitle)}</p>"
            f"<div class='cards'>{cards}</div><h2>Metrics (fake = positive class)</h2>{headline}"
            f"<h2>Classification report</h2>{per_class}<h2>Plots</h2><div class='plots'>{images}</div>"
            + (_paper_section(m, paper) if paper else "") + bad)
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style></head><body>{body}</body></html>")
    write_text(path, page)
    return Path(path)
