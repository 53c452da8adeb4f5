"""Self-contained HTML reports (plots embedded), readable offline in any browser."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from deepfake_detector.evaluation.metrics import CALIBRATION_KEYS, RANKING_KEYS, THRESHOLD_KEYS
from deepfake_detector.utils.atomic import write_text

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1080px;margin:2em auto;color:#222;
padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em} .sub{color:#666;margin-top:0} .ci{color:#777;font-size:.85em}
table{border-collapse:collapse;margin:1em 0} td,th{border:1px solid #ddd;padding:.35em .7em;text-align:right}
th{background:#f4f6f8} td:first-child,th:first-child{text-align:left}
.cards{display:flex;gap:1em;flex-wrap:wrap} .card{background:#f4f6f8;border-radius:8px;padding:.8em 1.2em}
.card b{display:block;font-size:1.6em} .plots img{max-width:100%;margin:.5em 0} .warn{color:#a04000}
"""
_COUNTS = ("tp", "tn", "fp", "fn")


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return html.escape("—" if value is None else str(value))


def _with_ci(value, ci) -> str:
    """A value with its 95% interval, pre-rendered as HTML."""
    return _fmt(value) + (f' <span class="ci">[{ci[0]:.3f}, {ci[1]:.3f}]</span>' if ci else "")


class Html(str):
    """A table cell already rendered as HTML (not escaped again)."""


def _cell(value) -> str:
    return value if isinstance(value, Html) else _fmt(value)


def table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _at_column(at: dict, key: str) -> Html:
    return Html(_with_ci(at.get(key), at.get("ci95", {}).get(key)))


def _threshold_section(m: dict) -> str:
    sel, default = m["at_selected"], m["at_default"]
    policy = m.get("threshold_policy") or "fixed"
    rows = [[k, Html(_fmt(default[k])), Html(_fmt(sel[k]))] for k in ("threshold", *_COUNTS)]
    rows += [[k, _at_column(default, k), _at_column(sel, k)] for k in THRESHOLD_KEYS]
    return ("<h2>Threshold metrics (fake = positive class)</h2>"
            "<p>At the conventional 0.5 and at the model's stored threshold "
            f"(policy <b>{html.escape(policy)}</b>, chosen on validation data only). "
            "95% bootstrap intervals in brackets.</p>"
            + table(["metric", "at 0.5", f"at stored threshold {sel['threshold']:.4f}"], rows))


def _free_section(m: dict) -> str:
    ci = m.get("ci95", {})
    rows = [[k, Html(_with_ci(m.get(k), ci.get(k)))] for k in (*RANKING_KEYS, *CALIBRATION_KEYS)]
    temp = m.get("temperature")
    note = (f"<p>Scores are temperature-scaled (T = {temp:.3f}, fitted on validation).</p>" if temp else "")
    return ("<h2>Ranking and calibration (no threshold)</h2>"
            + table(["metric", "value [95% CI]"], rows) + note)


def _per_class(m: dict) -> str:
    pc = m["per_class"]
    return ("<h2>Classification report (stored threshold)</h2>"
            + table(["class", "precision", "recall", "f1", "support"],
                    [[c, *(pc[c][k] for k in ("precision", "recall", "f1", "support"))]
                     for c in ("real", "fake")]))


def _paper_section(m: dict, paper: dict) -> str:
    computed, paper_ci = paper.get("computed"), paper.get("ci95", {})
    rows = [[k, Html(_fmt(m["at_default"][k])), Html(_fmt(m["at_selected"][k])),
             Html(_fmt(computed[k])) if computed else None] for k in _COUNTS]
    rows += [[k, _at_column(m["at_default"], k), _at_column(m["at_selected"], k),
              Html(_with_ci(computed[k], paper_ci.get(k))) if computed else None] for k in THRESHOLD_KEYS]
    stated = table(["figure the paper states", "value"], [[k, v] for k, v in paper["stated"].items()])
    note = ("<p>The paper's column is recomputed from its own confusion matrix, exactly as ours is, with the"
            " same class-stratified bootstrap for its interval.</p>" if computed else
            "<p>The paper gives no confusion-matrix counts; its stated figures are below.</p>")
    return (f"<h2>Beside the paper</h2><p>{html.escape(paper['title'])}</p>"
            + table(["metric", "this run at 0.5", "this run at stored threshold", "paper"], rows)
            + note + stated)


def rows_table(rows: list[dict], key: str, metrics: tuple[str, ...]) -> str:
    """A robustness or cross-dataset table: one row per entry, each metric with its interval."""
    header = [key, "n", *metrics]
    def cell(r: dict, k: str) -> Html:
        low, high = r.get(f"{k}_ci_low"), r.get(f"{k}_ci_high")
        return Html(_with_ci(r[k], (low, high) if low is not None else None))

    body = [[r[key], r["n"], *(cell(r, k) for k in metrics)] for r in rows]
    return table(header, body)


def bad_files_section(bad_files: list) -> str:
    if not bad_files:
        return ""
    return (f'<h2 class="warn">Skipped files ({len(bad_files)})</h2>'
            + table(["file", "reason"], [[b.path, b.reason] for b in bad_files[:50]]))


def plots_html(plots: list[Path]) -> str:
    return "<div class='plots'>" + "".join(_img(Path(p)) for p in plots if p and Path(p).is_file()) + "</div>"


def write_page(path: str | Path, title: str, subtitle: str, body: str) -> Path:
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"
            f"<p class='sub'>{html.escape(subtitle)}</p>{body}</body></html>")
    write_text(path, page)
    return Path(path)


def write_report(path: str | Path, *, title: str, subtitle: str, metrics: dict, plots: list[Path],
                 paper: dict | None = None, bad_files: list | None = None,
                 sections: tuple[str, ...] = ()) -> Path:
    """The evaluation report of one set; ``metrics`` is a ``summary.summarize`` dict."""
    m = metrics
    cards = "".join(f'<div class="card">{name}<b>{_fmt(m.get(key))}</b></div>'
                    for name, key in (("ROC-AUC", "roc_auc"), ("accuracy (stored threshold)", "accuracy"),
                                      ("EER", "eer"), ("images", "n")))
    body = (f"<div class='cards'>{cards}</div>" + _threshold_section(m) + _free_section(m) + _per_class(m)
            + "<h2>Plots</h2>" + plots_html(plots) + "".join(sections)
            + (_paper_section(m, paper) if paper else "") + bad_files_section(bad_files or []))
    return write_page(path, title, subtitle, body)
