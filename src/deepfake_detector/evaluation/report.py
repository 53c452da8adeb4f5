"""Self-contained HTML reports (plots embedded), readable offline in any browser."""

from __future__ import annotations

import html
from pathlib import Path

from deepfake_detector.evaluation.metrics import CALIBRATION_KEYS, RANKING_KEYS, THRESHOLD_KEYS
from deepfake_detector.evaluation.summary import reals_flagged
from deepfake_detector.utils.html_page import Html, fmt, plots_html, table, write_page

_COUNTS = ("tp", "tn", "fp", "fn")

# What the metric keys of metrics.json and the CSVs are called on a page; the key itself is the tooltip.
METRIC_LABELS = {
    "n": "n", "threshold": "threshold", "tp": "TP (fakes caught)", "tn": "TN (reals passed)",
    "fp": "FP (reals flagged)", "fn": "FN (fakes missed)", "roc_auc": "ROC-AUC", "average_precision":
    "average precision", "eer": "equal error rate", "tpr_at_fpr_1pct": "fakes caught at 1% reals flagged",
    "tpr_at_fpr_5pct": "fakes caught at 5% reals flagged", "accuracy": "accuracy", "precision": "precision",
    "recall": "fakes caught (recall)", "f1": "F1", "specificity": "reals passed (specificity)",
    "false_positive_rate": "reals flagged (FPR)", "balanced_accuracy": "balanced accuracy", "log_loss": "log loss",
    "brier": "Brier score", "ece": "calibration error (ECE)", "uncertain_share": "uncertain",
    "confident_accuracy": "confident verdicts right", "accuracy_at_0.5": "accuracy at 0.5",
    "balanced_accuracy_at_0.5": "balanced accuracy at 0.5", "recall_at_0.5": "fakes caught at 0.5",
    "specificity_at_0.5": "reals passed at 0.5",
}


def metric_label(key: str) -> Html:
    """A metric's name for people, with its key (the column in the CSVs and metrics.json) as the tooltip."""
    return Html(f'<span title="{html.escape(key)}">{html.escape(METRIC_LABELS.get(key, key))}</span>')


def _with_ci(value, ci) -> str:
    """A value with its 95% interval, pre-rendered as HTML."""
    return fmt(value) + (f' <span class="ci">[{ci[0]:.3f}, {ci[1]:.3f}]</span>' if ci else "")


def _at_column(at: dict, key: str) -> Html:
    return Html(_with_ci(at.get(key), at.get("ci95", {}).get(key)))


def _threshold_section(m: dict) -> str:
    sel, default = m["at_selected"], m["at_default"]
    policy = m.get("threshold_policy") or "fixed"
    rows = [[metric_label(k), Html(fmt(default[k])), Html(fmt(sel[k]))] for k in ("threshold", *_COUNTS)]
    rows += [[metric_label(k), _at_column(default, k), _at_column(sel, k)] for k in THRESHOLD_KEYS]
    return ("<h2>Threshold metrics (fake = positive class)</h2>"
            "<p>At the conventional 0.5 and at the model's stored threshold "
            f"(policy <b>{html.escape(policy)}</b>, chosen on validation data only). "
            "95% bootstrap intervals in brackets.</p>"
            + table(["metric", "at 0.5", f"at stored threshold {sel['threshold']:.4f}"], rows))


def _free_section(m: dict) -> str:
    ci = m.get("ci95", {})
    rows = [[metric_label(k), Html(_with_ci(m.get(k), ci.get(k)))] for k in (*RANKING_KEYS, *CALIBRATION_KEYS)]
    temp = m.get("temperature")
    note = (f"<p>Scores are temperature-scaled (T = {temp:.3f}, fitted on validation).</p>"
            if temp and temp != 1 else "")
    return ("<h2>Ranking and calibration (no threshold)</h2>"
            + table(["metric", "value [95% CI]"], rows) + note)


def _uncertain_section(m: dict) -> str:
    """The model's uncertain band on this set: how much it holds and how right the verdicts outside it are."""
    band = m.get("uncertain")
    if not band:
        return ""
    ci = band["ci95"]
    rows = [["uncertain (share of inputs)", Html(_with_ci(band["uncertain_share"], ci.get("uncertain_share")))],
            ["confident verdicts right", Html(_with_ci(band["confident_accuracy"], ci.get("confident_accuracy")))],
            ["inputs uncertain", band["n_uncertain"]]]
    return (f"<h2>Uncertain band</h2><p>P(fake) below {band['low']:.4f}: real; at or above {band['high']:.4f}: "
            f"fake; in between: uncertain (band policy <b>{html.escape(band['policy'])}</b>, chosen on validation "
            "data only). 95% bootstrap intervals in brackets.</p>" + table(["", "value"], rows))


def _per_class(m: dict) -> str:
    pc = m["per_class"]
    return ("<h2>Classification report (stored threshold)</h2>"
            + table(["class", "precision", "recall", "f1", "support"],
                    [[c, *(pc[c][k] for k in ("precision", "recall", "f1", "support"))]
                     for c in ("real", "fake")]))


def beside_paper(columns: dict[str, dict], paper: dict) -> str:
    """Counts and threshold metrics of operating points (``at_*`` dicts of metrics.json, one column per heading)
    beside the paper's figures (``paper.paper_reference``), then the figures the paper states."""
    computed, paper_ci = paper.get("computed"), paper.get("ci95", {})
    rows = [[metric_label(k), *(Html(fmt(at[k])) for at in columns.values()),
             Html(fmt(computed[k])) if computed else None] for k in _COUNTS]
    rows += [[metric_label(k), *(_at_column(at, k) for at in columns.values()),
              Html(_with_ci(computed[k], paper_ci.get(k))) if computed else None] for k in THRESHOLD_KEYS]
    stated = table(["figure the paper states", "value"], [[k, v] for k, v in paper["stated"].items()])
    note = ("<p>The paper's column is recomputed from its own confusion matrix, exactly as ours is, with the"
            " same class-stratified bootstrap for its interval.</p>" if computed else
            "<p>The paper gives no confusion-matrix counts; its stated figures are below.</p>")
    return f"<p>{html.escape(paper['title'])}</p>" + table(["metric", *columns, "paper"], rows) + note + stated


def _paper_section(m: dict, paper: dict) -> str:
    columns = {"this run at 0.5": m["at_default"], "this run at stored threshold": m["at_selected"]}
    return "<h2>Beside the paper</h2>" + beside_paper(columns, paper)


def rows_table(rows: list[dict], key: str | tuple[str, ...], metrics: tuple[str, ...]) -> str:
    """A robustness, cross-dataset, per-source or per-group table: one row per entry (named by the ``key``
    column or columns), each metric with its interval; a metric a row lacks shows as a dash."""
    keys = (key,) if isinstance(key, str) else key
    header = [*keys, "n", *map(metric_label, metrics)]

    def with_interval(r: dict, k: str) -> Html:
        low, high = r.get(f"{k}_ci_low"), r.get(f"{k}_ci_high")
        return Html(_with_ci(r.get(k), (low, high) if low is not None else None))

    body = [[*(r[k] for k in keys), r["n"], *(with_interval(r, k) for k in metrics)] for r in rows]
    return table(header, body)


def bad_files_section(bad_files: list) -> str:
    if not bad_files:
        return ""
    return (f'<h2 class="warn">Skipped files ({len(bad_files)})</h2>'
            + table(["file", "reason"], [[b.path, b.reason] for b in bad_files[:50]]))


def _cards(m: dict, unit: str) -> str:
    """The headline in plain words: what share of the fakes is caught and of the reals flagged at the stored
    threshold (with intervals), the uncertain share, the ranking quality and the set's size."""
    ci = m.get("ci95", {})
    band = m.get("uncertain")
    cards = [("fakes caught", m["recall"] if m["n_fake"] else None, ci.get("recall"), True),
             ("reals flagged", *reals_flagged(m), True),
             ("uncertain", band and band["uncertain_share"], band and band["ci95"].get("uncertain_share"), True),
             ("ROC-AUC", m.get("roc_auc"), ci.get("roc_auc"), False),
             (unit, m["n"], None, False)]

    def value(v: float | int, share: bool) -> str:
        return f"{v:.1%}" if share else fmt(v)

    return "<div class='cards'>" + "".join(
        f'<div class="card">{html.escape(name)}<b>{value(v, share)}</b>'
        + (f'<span class="ci">[{value(c[0], share)}, {value(c[1], share)}]</span>' if c else "") + "</div>"
        for name, v, c, share in cards if v is not None) + "</div>"


def write_report(path: str | Path, *, title: str, subtitle: str, metrics: dict, plots: list[Path],
                 paper: dict | None = None, bad_files: list | None = None,
                 sections: tuple[str, ...] = (), unit: str = "images") -> Path:
    """The evaluation report of one set; ``metrics`` is a ``summary.summarize`` dict of ``unit`` (its count card)."""
    m = metrics
    body = (_cards(m, unit) + _threshold_section(m) + _uncertain_section(m) + _free_section(m)
            + _per_class(m)
            + "<h2>Plots</h2>" + plots_html(plots) + "".join(sections)
            + (_paper_section(m, paper) if paper else "") + bad_files_section(bad_files or []))
    return write_page(path, title, subtitle, body)
