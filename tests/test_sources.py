"""Training on several sources (one-class ones included) and per-source results, on real shared images."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from deepfake_detector.config import load_config
from deepfake_detector.data.discovery import discover
from deepfake_detector.data.samples import Sample
from deepfake_detector.data.sources import make_source_splits
from deepfake_detector.data.splits import read_splits, write_splits
from deepfake_detector.errors import ConfigError, DatasetError
from deepfake_detector.evaluation.evaluate import evaluate
from deepfake_detector.evaluation.per_source import per_source_rows
from deepfake_detector.evaluation.scoring import Scored
from deepfake_detector.training import train

from .conftest import CROSS, DATA_140K, REPO

SD = CROSS / "sdfd-sd21"


def _sources():
    return load_config(None, [f"data.sources=[{{name: 140k, path: '{DATA_140K}'}}, {{name: sd, path: '{SD}'}}]"]).data


def test_a_fakes_only_folder_is_a_source() -> None:
    with pytest.raises(DatasetError, match="missing class folder"):
        discover(SD)
    found = discover(SD, one_class=True)
    assert {s.label for s in found.splits["all"]} == {1} and len(found.splits["all"]) == 700


def test_per_source_splits_keep_names_and_fractions(tmp_path: Path) -> None:
    data = _sources()
    splits, skipped = make_source_splits(data.sources, val_fraction=0.2, seed=42)
    by = {(part, src): sum(s.source == src for s in samples)
          for part, samples in (("train", splits.train), ("valid", splits.valid), ("test", splits.test))
          for src in ("140k", "sd")}
    assert by[("train", "140k")] == 967 and by[("valid", "140k")] == 310 and by[("test", "140k")] == 323
    assert by[("test", "sd")] == 140 and by[("valid", "sd")] == 112 and by[("train", "sd")] == 448
    paths = [s.path for part in (splits.train, splits.valid, splits.test) for s in part]
    assert len(set(paths)) == len(paths)  # no image in two splits
    again, _ = make_source_splits(data.sources, val_fraction=0.2, seed=42)
    assert [s.path for s in again.test] == [s.path for s in splits.test]  # seeded
    write_splits(tmp_path / "splits.csv", splits)
    back = read_splits(tmp_path / "splits.csv")
    assert back["test"] == splits.test and back["train"] == splits.train


def test_a_runs_split_lists_name_the_same_images_from_any_folder(tmp_path: Path, monkeypatch) -> None:
    """A config's data paths are relative to where training ran; splits.csv stores them absolute, so the run can
    be evaluated from elsewhere, and the file read as a manifest (``evaluate --data run/splits.csv``)."""
    import os

    from deepfake_detector.data.splits import Splits

    monkeypatch.chdir(REPO)
    files = {label: sorted((DATA_140K / "real_vs_fake" / "real-vs-fake" / "test" / label).glob("*.jpg"))[:2]
             for label in ("real", "fake")}
    relative = [Sample(Path(os.path.relpath(f, REPO)), label, "140k") for label, name in ((0, "real"), (1, "fake"))
                for f in files[name]]
    assert not relative[0].path.is_absolute()
    write_splits(tmp_path / "run" / "splits.csv", Splits([], [], relative, True))
    monkeypatch.chdir(tmp_path)
    listed = discover(tmp_path / "run" / "splits.csv").splits["test"]
    assert [s.path for s in listed] == [*files["real"], *files["fake"]] and all(s.path.is_file() for s in listed)
    assert [s.path for s in read_splits(tmp_path / "run" / "splits.csv")["test"]] == [s.path for s in listed]


def test_a_mix_without_reals_is_refused() -> None:
    only_sd = load_config(None, [f"data.sources=[{{path: '{SD}'}}]"]).data.sources
    with pytest.raises(DatasetError, match="no real images"):
        make_source_splits(only_sd)


def test_path_and_sources_together_are_refused() -> None:
    with pytest.raises(ConfigError, match="either data.path"):
        load_config(None, [f"data.path={DATA_140K}", f"data.sources=[{{path: '{SD}'}}]"])


def test_per_source_rows_report_recall_and_false_positives() -> None:
    from deepfake_detector.data.samples import Sample

    samples = ([Sample(Path(f"r{i}"), 0, "reals") for i in range(10)]
               + [Sample(Path(f"f{i}"), 1, "gan") for i in range(8)])
    p = np.array([0.1] * 9 + [0.9] + [0.8] * 6 + [0.2] * 2)
    rows = {r["source"]: r for r in per_source_rows(Scored(samples, np.array([s.label for s in samples]), p, []),
                                                     threshold=0.5)}
    assert rows["gan"]["recall"] == pytest.approx(0.75) and rows["gan"]["specificity"] is None
    assert rows["reals"]["false_positive_rate"] == pytest.approx(0.1) and rows["reals"]["recall"] is None
    low, high = rows["gan"]["recall_ci_low"], rows["gan"]["recall_ci_high"]
    assert low < 0.75 < high


def test_train_on_a_mix_then_evaluate_its_own_test_split_per_source(tmp_path: Path) -> None:
    overrides = ["model.args.input_size=32", "train.epochs=1", "augment.hflip=false", "augment.rotation=0",
                 "augment.zoom=0", "data.limit=120", "augment.recompress=[75]", "data.balance=sources",
                 f"data.sources=[{{name: 140k, path: '{DATA_140K}'}}, {{name: sd, path: '{SD}'}}]"]
    out = tmp_path / "run"
    train(load_config(REPO / "configs" / "seed-cnn.yaml", overrides), out, progress=False)
    with (out / "splits.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert {r["source"] for r in rows} == {"140k", "sd"} and {r["split"] for r in rows} == {"train", "valid", "test"}
    result = evaluate(out, None, progress=False)
    per_source = json.loads((out / "eval-test" / "metrics.json").read_text())["per_source"]
    assert per_source["sd"]["n"] == 140 and per_source["sd"]["n_real"] == 0
    assert per_source["140k"]["n"] == 323 and result.metrics["n"] == 463
    assert "Per source" in (out / "eval-test" / "report.html").read_text()
    # the run's lists read as a manifest (how a model folder without them, e.g. the bundled one, is evaluated on
    # a run's split) keep their sources: the same per-source table
    again = evaluate(out, out / "splits.csv", split="test", out_dir=tmp_path / "by-manifest", progress=False)
    assert {name: row["n"] for name, row in again.metrics["per_source"].items()} == {"140k": 323, "sd": 140}
    assert again.metrics["per_source"]["140k"]["roc_auc"] == per_source["140k"]["roc_auc"]


def test_balanced_sampling_follows_groups_and_source_weights() -> None:
    import torch

    from deepfake_detector.training.finetune import FeatureDataset, _train_loader

    overrides = ["data.balance=sources", "train.batch_size=4000",
                 f"data.sources=[{{name: a, path: '{DATA_140K}', weight: 3}}, {{name: b, path: '{SD}'}}]"]
    cfg = load_config(None, overrides)
    # 900 fakes of source a, 100 of b: balanced and weighted 3:1, a is drawn ~3x as often as b
    labels, sources = [1] * 1000, ["a"] * 900 + ["b"] * 100
    data = FeatureDataset(torch.zeros(1000, 2), torch.ones(1000), torch.arange(1000))
    (batch,) = list(_train_loader(data, labels, sources, cfg))
    drawn_a = int((batch["index"] < 900).sum())
    assert 2.5 < drawn_a / (1000 - drawn_a) < 3.5
