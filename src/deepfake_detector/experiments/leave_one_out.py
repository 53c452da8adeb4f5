"""Leave-one-generator-out: how well a recipe catches a generator it was never trained on.

``deepfake-detector leave-one-out --config X.yaml --out DIR`` trains the recipe once on every source (the
reference, ``DIR/all-sources``) and once per left-out generator (``DIR/without-<name>``): that source's fakes
are removed from training and validation (a fakes-only source leaves ``data.sources``; a source with reals
keeps its reals, ``classes: [real]``), every real photo stays; a recipe starting from a saved model
(``model.init``) takes its encoder but not its head, which may have seen the left-out generator. Each fold's
model, at its own stored threshold (chosen on its own validation split), is tested on the left-out fakes of the
test split plus every real photo of the test split: recall on the left-out generator, ROC-AUC against the reals
and the reals' false-positive rate, each with its bootstrap 95% interval, beside the reference model's recall and
ROC-AUC on the same images.

Outputs under DIR: the fold runs (each a normal model folder with its resolved ``config.yaml``, ``splits.csv``
and an ``eval-left-out/`` report), ``leave_one_out.csv``, ``leave_one_out.json`` and ``leave_one_out.md``. A
fold whose run folder holds a finished model trained with the same recipe is reused (an interrupted one is
resumed), so the experiment can be stopped and run again. With ``train.finetune: frozen`` and the feature cache
(``models/feature_store.py``) every fold reads the same cached encoder features: only the heads are trained,
and the test images are encoded once for all folds (``inference/feature_cache.py``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from pydantic import ValidationError

from deepfake_detector.config import RunConfig, load_config
from deepfake_detector.data.samples import FAKE, REAL, Sample
from deepfake_detector.data.sources import make_source_splits, source_name
from deepfake_detector.errors import ConfigError
from deepfake_detector.evaluation.evaluate import evaluate_samples
from deepfake_detector.evaluation.per_source import per_source_rows
from deepfake_detector.evaluation.scoring import Scored
from deepfake_detector.evaluation.summary import summarize
from deepfake_detector.inference.detector import Detector
from deepfake_detector.models.artifacts import read_meta
from deepfake_detector.training import train
from deepfake_detector.utils.atomic import write_csv, write_json, write_text
from deepfake_detector.utils.owned import is_empty, is_owned, mark, replaced_folder

EVAL_FOLDER = "eval-left-out"
CI_METRICS = ("recall", "recall_when_trained", "roc_auc", "roc_auc_when_trained", "real_fpr", "worst_real_fpr")
COLUMNS = ["left_out", "sources", "n_fake", "n_real", "threshold", "n_train", "n_valid",
           *(c for m in CI_METRICS for c in (m, f"{m}_ci_low", f"{m}_ci_high")), "worst_real_source", "run"]


@dataclass(frozen=True)
class Fold:
    """One training run: ``sources`` whose fakes it never sees (none: the reference run on everything)."""

    label: str
    sources: tuple[str, ...] = ()

    @property
    def folder(self) -> str:
        return f"without-{self.label}" if self.sources else "all-sources"


REFERENCE = Fold("none")


def parse_folds(specs: list[str] | None, classes: dict[str, set[int]]) -> list[Fold]:
    """Folds from ``--leave-out`` specs (``NAME``, or ``LABEL:NAME+NAME`` to leave several sources out together);
    ``None``: one fold per fakes-only source. ``classes``: the labels each source holds."""
    if specs is None:
        return [Fold(name, (name,)) for name, held in classes.items() if held == {FAKE}]
    folds = []
    for spec in specs:
        label, sep, names = spec.partition(":")
        sources = tuple(names.split("+")) if sep else (label,)
        for name in sources:
            if name not in classes:
                hint = "; put key=value overrides before --leave-out" if "=" in spec else ""
                raise ConfigError(f"--leave-out {spec}: no source named '{name}' in data.sources "
                                  f"({', '.join(classes)}){hint}")
            if FAKE not in classes[name]:
                raise ConfigError(f"--leave-out {spec}: source '{name}' has no fake images to leave out")
        folds.append(Fold(label, sources))
    return folds


def fold_config(cfg: RunConfig, fold: Fold, classes: dict[str, set[int]]) -> RunConfig:
    """The recipe without the fold's fakes: fakes-only sources dropped, the others kept for their reals. A recipe
    that starts from a saved model (``model.init``) takes its encoder but not its head, which may have seen the
    left-out generator (the reference run too, so that every row starts alike)."""
    data = cfg.model_dump(mode="json")
    data["model"]["init_head"] = False
    kept = []
    for source, raw in zip(cfg.data.sources, data["data"]["sources"], strict=True):
        name = source_name(source)
        if name not in fold.sources:
            kept.append(raw)
        elif REAL in classes[name]:
            kept.append({**raw, "classes": ["real"]})
    data["data"]["sources"] = kept
    if fold.sources:
        data["name"] = f"{cfg.name}-without-{fold.label}"
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(f"fold {fold.label}: {'.'.join(map(str, err['loc']))}: {err['msg']}") from None


def fold_test_set(test: list[Sample], fold: Fold) -> list[Sample]:
    """What a fold is tested on: the left-out sources' fakes and every real photo (the reference: everything)."""
    return [s for s in test if not fold.sources or s.label == REAL or s.source in fold.sources]


def _check_folds(folds: list[Fold], train: list[Sample], test: list[Sample]) -> None:
    """Every fold must still train on some fakes, and have left-out fakes to be tested on."""
    if not folds:
        raise ConfigError("data.sources has no fakes-only source to leave out; name sources with fakes with "
                          "--leave-out")
    labels = [f.label for f in folds]
    if len(set(labels)) != len(labels) or REFERENCE.label in labels:
        raise ConfigError(f"--leave-out: fold names must differ and not be '{REFERENCE.label}' (got {labels})")
    for fold in folds:
        if not any(s.label == FAKE and s.source not in fold.sources for s in train):
            raise ConfigError(f"leaving out {fold.label} leaves no fake images to train on")
        if not any(s.label == FAKE and s.source in fold.sources for s in test):
            raise ConfigError(f"{fold.label}: no fake images in the test split to measure it on")


def _train_or_reuse(cfg: RunConfig, run: Path, retrain: bool, progress: bool) -> bool:
    """Train the fold (resume it if interrupted); True when a finished run of the same recipe was reused."""
    stored = run / "config.yaml"
    if stored.is_file() and not retrain:
        if yaml.safe_load(stored.read_text()) != cfg.model_dump(mode="json"):
            raise ConfigError(f"{run}: this fold was trained with another recipe ({stored}); pass --retrain or "
                              "choose another --out")
        if (run / "model.json").is_file():
            return True
        resume = (run / "checkpoints" / "last.ckpt").is_file()
        train(cfg, run, resume=resume, overwrite=not resume, progress=progress)
        return False
    train(cfg, run, overwrite=True, progress=progress)
    return False


def _read_scores(folder: Path) -> dict[str, float]:
    with open(folder / "predictions.csv", newline="") as fh:
        return {row["path"]: float(row["p_fake"]) for row in csv.DictReader(fh)}


def _put(row: dict, name: str, value: float | None, ci: list[float] | tuple | None) -> None:
    row[name] = value
    row[f"{name}_ci_low"], row[f"{name}_ci_high"] = ci if ci else (None, None)


def _figures(samples: list[Sample], scores: dict[str, float], threshold: float, seed: int) -> dict:
    """Recall, ROC-AUC and the reals' false-positive rate (pooled and worst source) with 95% intervals."""
    scored = [s for s in samples if str(s.path) in scores]
    y = np.array([s.label for s in scored])
    p = np.array([scores[str(s.path)] for s in scored])
    m = summarize(y, p, threshold, seed=seed)
    row = {"n_fake": m["n_fake"], "n_real": m["n_real"], "threshold": threshold}
    _put(row, "recall", m["recall"], m["ci95"].get("recall"))
    _put(row, "roc_auc", m["roc_auc"], m["ci95"].get("roc_auc"))
    low, high = m["ci95"].get("specificity") or (None, None)
    _put(row, "real_fpr", 1 - m["specificity"], None if low is None else (1 - high, 1 - low))
    reals = y == REAL
    by_source = per_source_rows(Scored([s for s, r in zip(scored, reals, strict=True) if r], y[reals], p[reals], []),
                                threshold, seed)
    if by_source:
        worst = max(by_source, key=lambda r: r["false_positive_rate"])
        row["worst_real_source"] = worst["source"]
        _put(row, "worst_real_fpr", worst["false_positive_rate"],
             (worst["false_positive_rate_ci_low"], worst["false_positive_rate_ci_high"]))
    return row


def _markdown(rows: list[dict]) -> str:
    def ci(r: dict, m: str) -> str:
        if r.get(m) is None:
            return "n/a"
        low, high = r[f"{m}_ci_low"], r[f"{m}_ci_high"]
        return f"{r[m]:.3f}" + ("" if low is None else f" [{low:.3f}, {high:.3f}]")

    header = ["left out", "fakes", "reals", "recall (left out)", "recall (trained on it)", "ROC-AUC (left out)",
              "ROC-AUC (trained on it)", "reals' FPR", "worst real source FPR", "threshold"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        worst = ci(r, "worst_real_fpr") + (f" ({r['worst_real_source']})" if r.get("worst_real_source") else "")
        cells = [r["left_out"], r["n_fake"], r["n_real"], ci(r, "recall"), ci(r, "recall_when_trained"),
                 ci(r, "roc_auc"), ci(r, "roc_auc_when_trained"), ci(r, "real_fpr"), worst, f"{r['threshold']:.4f}"]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    return "\n".join(lines) + "\n"


def leave_one_out(config: str | Path, out_dir: str | Path, *, overrides: list[str] | None = None,
                  leave_out: list[str] | None = None, retrain: bool = False, progress: bool = True,
                  seed: int = 0) -> list[dict]:
    """Train the reference and one fold per left-out generator, test each, write the table; returns its rows
    (the reference first). ``leave_out``: ``--leave-out`` specs (default: every fakes-only source)."""
    cfg = load_config(config, overrides)
    if not cfg.data.sources:
        raise ConfigError(f"{config}: leave-one-out needs data.sources (several sources, each generator its own)")
    splits, _ = make_source_splits(cfg.data.sources, cfg.data.val_fraction, cfg.train.seed)
    classes: dict[str, set[int]] = {source_name(s): set() for s in cfg.data.sources}
    for s in [*splits.train, *splits.valid, *(splits.test or [])]:
        classes[s.source].add(s.label)
    test = splits.test or []
    folds = parse_folds(leave_out, classes)
    _check_folds(folds, splits.train, test)
    out = Path(out_dir)
    if not is_empty(out) and not is_owned(out):
        raise ConfigError(f"{out}: not a folder this toolkit made; choose a new or empty --out")
    mark(out, "leave-one-out")

    scores, meta = {}, {}
    for fold in [REFERENCE, *folds]:
        run = out / fold.folder
        fold_cfg = fold_config(cfg, fold, classes)
        reused = _train_or_reuse(fold_cfg, run, retrain, progress)
        if not (reused and (run / EVAL_FOLDER / "predictions.csv").is_file()):
            detector = Detector.load(run)
            with replaced_folder(run / EVAL_FOLDER, "evaluation") as tmp:
                evaluate_samples(detector, fold_test_set(test, fold), tmp, title=f"Leave-one-out: {fold_cfg.name}",
                                 subtitle=f"{fold_cfg.name} · left out: {fold.label} · test split", progress=progress,
                                 info={"left_out": list(fold.sources), "split": "test"}, seed=seed)
        scores[fold], meta[fold] = _read_scores(run / EVAL_FOLDER), read_meta(run)

    rows = []
    for fold in [REFERENCE, *folds]:
        samples = fold_test_set(test, fold)
        row = {"left_out": fold.label, "sources": "+".join(fold.sources), "run": str(out / fold.folder),
               "n_train": meta[fold].training.n_train, "n_valid": meta[fold].training.n_valid,
               **_figures(samples, scores[fold], meta[fold].threshold, seed)}
        if fold.sources:  # the reference model on the same images: what training on the generator gave
            trained = _figures(samples, scores[REFERENCE], meta[REFERENCE].threshold, seed)
            for m in ("recall", "roc_auc"):
                _put(row, f"{m}_when_trained", trained[m], (trained[f"{m}_ci_low"], trained[f"{m}_ci_high"]))
        rows.append(row)
    write_csv(out / "leave_one_out.csv", rows, COLUMNS)
    write_json(out / "leave_one_out.json", {
        "config": str(config), "overrides": list(overrides or []), "split": "test", "bootstrap_seed": seed,
        "folds": {f.label: list(f.sources) for f in folds}, "rows": rows})
    write_text(out / "leave_one_out.md", _markdown(rows))
    return rows
