"""Evaluate a saved model on one or several datasets: metrics.json, plots, predictions and HTML reports.

One set: ``<out>/`` holds everything. Several sets: one sub-folder per set, plus a cross-dataset table
and ROC plot at the top (``cross.py``). ``perturbations`` adds the robustness suite per set, ``shortcuts``
the shortcut check on its real photos (``shortcuts.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from deepfake_detector.data.discovery import discover
from deepfake_detector.data.histories import History, parse_histories
from deepfake_detector.data.perturb import Perturbation, parse_perturbations
from deepfake_detector.data.samples import LABEL_NAMES, BadFile, Sample
from deepfake_detector.data.splits import SPLITS_FILE, read_splits, select_split
from deepfake_detector.errors import DatasetError
from deepfake_detector.evaluation.cross import dataset_names, write_cross_dataset
from deepfake_detector.evaluation.operating_point import calibrate_detector, stored_band_target
from deepfake_detector.evaluation.paper import paper_reference
from deepfake_detector.evaluation.per_group import per_group_rows, per_group_section
from deepfake_detector.evaluation.per_source import per_source_rows, per_source_section, worst_real_source
from deepfake_detector.evaluation.plots import (
    plot_confusion_matrix,
    plot_reliability,
    plot_roc,
    plot_score_histogram,
)
from deepfake_detector.evaluation.report import write_report
from deepfake_detector.evaluation.robustness import robustness_section, run_robustness
from deepfake_detector.evaluation.scoring import Scored, score_samples
from deepfake_detector.evaluation.shortcuts import run_shortcut_check, shortcuts_section
from deepfake_detector.evaluation.summary import summarize
from deepfake_detector.evaluation.uncertainty import stored_band
from deepfake_detector.inference.detector import Detector
from deepfake_detector.models.bundled import model_label, outputs_home
from deepfake_detector.utils.atomic import write_csv, write_json
from deepfake_detector.utils.owned import replaced_folder


@dataclass
class Evaluation:
    metrics: dict
    out_dir: Path
    bad_files: list[BadFile]
    scored: Scored | None = None
    robustness: list[dict] = field(default_factory=list)
    per_dataset: dict[str, Evaluation] = field(default_factory=dict)

    @property
    def report(self) -> Path:
        return self.out_dir / "report.html"


def _plots(detector: Detector, scored: Scored, metrics: dict, out: Path, name: str) -> list[Path]:
    at = metrics["at_selected"]
    plots = [plot_confusion_matrix(at["tp"], at["tn"], at["fp"], at["fn"], out / "confusion_matrix.png",
                                   title=f"Confusion matrix at threshold {at['threshold']:.3f}")]
    if detector.threshold != 0.5:
        d = metrics["at_default"]
        plots.append(plot_confusion_matrix(d["tp"], d["tn"], d["fp"], d["fn"],
                                           out / "confusion_matrix_0.5.png",
                                           title="Confusion matrix at threshold 0.5"))
    if metrics["roc_auc"] is not None:
        plots.append(plot_roc({name: (scored.labels, scored.p_fake)}, out / "roc.png"))
    plots.append(plot_score_histogram(scored.labels, scored.p_fake, detector.threshold, out / "scores.png"))
    plots.append(plot_reliability(metrics["reliability"], out / "reliability.png", metrics["ece"]))
    curves = Path(detector.meta.path or "") / "curves.png"
    return plots + ([curves] if curves.is_file() else [])


def evaluate_samples(detector: Detector, samples: list[Sample], out_dir: str | Path, *, title: str,
                     subtitle: str, skipped: list[BadFile] | None = None, batch_size: int = 64,
                     progress: bool = True, perturbations: list[Perturbation] | None = None,
                     info: dict | None = None, seed: int = 0, shortcuts: list[History] | None = None,
                     faces: str = "auto") -> Evaluation:
    """Score ``samples`` as ``predict`` does with ``faces``, then write metrics.json, predictions.csv,
    bad_files.csv, plots and report; per source (per_source.csv) and per group of people (per_group.csv) when the
    samples allow."""
    out = Path(out_dir)
    scored = score_samples(detector, samples, faces=faces, batch_size=batch_size, progress=progress)
    bad = list(skipped or []) + scored.bad
    extra = {"model": detector.meta.path, **(info or {}), "faces": faces,
             "inference_engine": detector.engine, "n_skipped": len(bad),
             "threshold_policy": detector.meta.threshold_policy, "temperature": detector.meta.temperature}
    band = stored_band(detector.meta)
    metrics = summarize(scored.labels, scored.p_fake, detector.threshold, seed=seed, extra=extra, band=band)
    sections = []
    by_source = per_source_rows(scored, detector.threshold, seed, band)
    if by_source:
        metrics["per_source"] = {r["source"]: r for r in by_source}
        write_csv(out / "per_source.csv", by_source)
        sections.append(per_source_section(by_source))
    metrics["worst_real_source"] = worst_real_source(by_source, metrics)
    by_group = per_group_rows(scored, detector.threshold, seed, band)
    if by_group:
        metrics["per_group"] = by_group
        write_csv(out / "per_group.csv", by_group)
        sections.append(per_group_section(by_group))
    if shortcuts:
        metrics["shortcuts"] = run_shortcut_check(detector, scored, shortcuts, out, faces=faces,
                                                  batch_size=batch_size, progress=progress, seed=seed)
        sections.append(shortcuts_section(metrics["shortcuts"]))
    write_json(out / "metrics.json", metrics)
    write_csv(out / "predictions.csv", [
        {"path": str(s.path), "label": LABEL_NAMES[s.label], "p_fake": f"{p:.6f}",
         "predicted": detector.label_for(p)}
        for s, p in zip(scored.samples, scored.p_fake, strict=True)])
    write_csv(out / "bad_files.csv", [{"path": b.path, "reason": b.reason} for b in bad], ["path", "reason"])
    plots = _plots(detector, scored, metrics, out, subtitle.split(" · ")[0] or "model")
    rows = []
    if perturbations:
        rows, by_source_rows, plot = run_robustness(detector, scored, perturbations, metrics, out, band=band,
                                                    faces=faces, batch_size=batch_size, progress=progress, seed=seed)
        plots.append(plot)
        sections.append(robustness_section(rows, by_source_rows))
    write_report(out / "report.html", title=title, subtitle=subtitle, metrics=metrics, plots=plots,
                 paper=paper_reference(detector.meta.paper), bad_files=bad, sections=tuple(sections))
    return Evaluation(metrics, out, bad, scored, rows)


def _split_of(detector: Detector, data: str | Path, split: str | None) -> tuple:
    dataset = discover(data)
    training = detector.meta.training
    val_fraction = training.val_fraction if training and training.val_fraction is not None else 0.2
    seed = training.seed if training and training.seed is not None else 42
    name, samples = select_split(dataset, split, val_fraction, seed)
    return dataset, name, samples


def evaluate(model: str | Path | Detector, data: str | Path | list[str | Path] | None, split: str | None = None,
             out_dir: str | Path | None = None, batch_size: int = 64, progress: bool = True,
             perturb: list[str] | None = None, set_threshold: str | None = None,
             temperature_scaling: bool = False, shortcuts: list[str] | None = None,
             faces: str = "auto") -> Evaluation:
    """Evaluate a saved model on one split of one or several datasets (``None``: the run's own splits), each
    image scored as ``predict`` scores it with the same ``faces`` mode ("auto": every face; "off": the whole image).

    ``perturb``: specs such as ``["jpeg:95,75", "blur:1"]`` (robustness suite). ``shortcuts``: names of
    processing histories (``shortcuts.HISTORIES``) to put the split's real photos through (shortcut check).
    ``set_threshold``: first choose the operating point (policy, optional temperature) on the *validation*
    split of the first dataset and store it in the model folder.
    """
    detector = model if isinstance(model, Detector) else Detector.load(model)
    def choose_threshold_on(valid: list[Sample]) -> None:
        # A band is chosen around the threshold: a model that has one gets it again, at its target.
        calibrate_detector(detector, valid, set_threshold, temperature_scaling=temperature_scaling,
                           uncertain=stored_band_target(detector.meta), faces=faces, batch_size=batch_size,
                           progress=progress)
        detector.save_meta()

    if data is None:  # the run's own saved split lists (e.g. a multi-source run's test part of every source)
        if set_threshold is not None:
            valid = read_splits(Path(detector.meta.path or ".") / SPLITS_FILE).get("valid") or []
            if not valid:
                raise DatasetError("the run saved no validation split to choose a threshold on; pass --data")
            choose_threshold_on(valid)
        return _evaluate_run_splits(detector, split or "test", out_dir, batch_size, progress, perturb, shortcuts,
                                    faces)
    sources = list(data) if isinstance(data, list | tuple) else [data]
    perturbations = parse_perturbations(perturb or [])
    histories = parse_histories(shortcuts or [])
    found = [_split_of(detector, source, split) for source in sources]  # every set checked before any work
    if set_threshold is not None:
        _, _, valid = _split_of(detector, sources[0], "valid")
        choose_threshold_on(valid)
        # Images that chose the threshold are never reported as test results (a set without its own
        # valid/ split calibrates on a seeded 20% that "all" would otherwise include).
        used = {s.path for s in valid}
        dataset, split_name, samples = found[0]
        kept = [s for s in samples if s.path not in used]
        if not kept:
            raise DatasetError(f"{dataset.root}: every '{split_name}' image was used to choose the threshold; "
                               "evaluate on another split or dataset")
        found[0] = (dataset, split_name, kept)
    name = model_label(detector.meta)
    names = dataset_names(sources)
    if out_dir is None:
        out_dir = outputs_home(detector.meta) / (f"eval-{found[0][1]}" if len(sources) == 1 else "eval-cross")
    final = Path(out_dir)
    # Written into a fresh folder, swapped in whole: a killed run never mixes old and new outputs.
    with replaced_folder(final, "evaluation", protect=sources) as tmp:
        runs: dict[str, Evaluation] = {}
        for set_name, (dataset, split_name, samples) in zip(names, found, strict=True):
            out = tmp if len(sources) == 1 else tmp / set_name
            runs[set_name] = evaluate_samples(
                detector, samples, out, title=f"Evaluation: {name} on {set_name}",
                subtitle=f"{name} · {dataset.root} · split '{split_name}'", skipped=dataset.skipped,
                batch_size=batch_size, progress=progress, perturbations=perturbations,
                info={"data": str(dataset.root), "split": split_name}, shortcuts=histories, faces=faces)
        if len(sources) > 1:
            results = {n: (str(src), r.metrics, (r.scored.labels, r.scored.p_fake))
                       for (n, r), src in zip(runs.items(), sources, strict=True)}
            rows, _ = write_cross_dataset(results, tmp, title=f"Cross-dataset evaluation: {name}",
                                          subtitle=f"{name} · {len(sources)} datasets",
                                          model=detector.meta.path)
    for set_name, run in runs.items():  # the outputs now live in the final folder
        run.out_dir = final if len(sources) == 1 else final / set_name
    if len(sources) == 1:
        return runs[names[0]]
    bad = [b for r in runs.values() for b in r.bad_files]
    return Evaluation({"datasets": {r["dataset"]: r for r in rows}}, final, bad, per_dataset=runs)


def _evaluate_run_splits(detector: Detector, split: str, out_dir: str | Path | None, batch_size: int,
                         progress: bool, perturb: list[str] | None, shortcuts: list[str] | None,
                         faces: str) -> Evaluation:
    """Evaluate on the split lists the run saved when it was trained (``splits.csv``), per source."""
    folder = Path(detector.meta.path or ".")
    parts = read_splits(folder / SPLITS_FILE)
    if not parts.get(split):
        raise DatasetError(f"{folder / SPLITS_FILE}: the run has no '{split}' images; pass --data")
    name = model_label(detector.meta)
    final = Path(out_dir) if out_dir is not None else outputs_home(detector.meta) / f"eval-{split}"
    with replaced_folder(final, "evaluation") as tmp:
        result = evaluate_samples(detector, parts[split], tmp, title=f"Evaluation: {name}, {split} split",
                                  subtitle=f"{name} · the run's own {split} split (per source)",
                                  batch_size=batch_size, progress=progress,
                                  perturbations=parse_perturbations(perturb or []),
                                  info={"data": str(folder / SPLITS_FILE), "split": split},
                                  shortcuts=parse_histories(shortcuts or []), faces=faces)
    result.out_dir = final
    return result
