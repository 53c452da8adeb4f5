"""Leave-one-generator-out on a small real run: folds really exclude their generator, resume reuses them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from deepfake_detector.cli import main
from deepfake_detector.config import load_config
from deepfake_detector.data.samples import FAKE, REAL
from deepfake_detector.errors import ConfigError
from deepfake_detector.experiments.leave_one_out import Fold, fold_config, leave_one_out, parse_folds

from .conftest import CROSS, DATA_140K

FOLDS = ["sdfd-sd21", "sfhq-t2i-sdxl"]


def _manifest(path: Path, rows: list[tuple[Path, str, str | None]]) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "label", "split"])
        writer.writerows((str(p), label, split or "") for p, label, split in rows)
    return path


@pytest.fixture(scope="module")
def recipe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny seed-CNN recipe on a handful of shared images: 140k reals (their own splits) and two fakes-only
    sources (split by the sources' fractions), listed in manifests (paths into ../shared, nothing copied)."""
    folder = tmp_path_factory.mktemp("logo-data")
    split_root = DATA_140K / "real_vs_fake" / "real-vs-fake"
    reals = [(p, "real", split) for split, n in (("train", 40), ("valid", 20), ("test", 20))
             for p in sorted((split_root / split / "real").glob("*.jpg"))[:n]]
    sources = [{"name": "140k-reals", "path": str(_manifest(folder / "reals.csv", reals))}]
    for name in FOLDS:
        fakes = [(p, "fake", None) for p in sorted((CROSS / name / "fake").glob("*.jpg"))[:40]]
        sources.append({"name": name, "path": str(_manifest(folder / f"{name}.csv", fakes))})
    config = {"name": "logo-tiny", "model": {"name": "seed_cnn", "args": {"input_size": 32, "channels": [4, 8],
                                                                          "dense": 8}},
              "data": {"sources": sources, "num_workers": 0, "balance": "sources"},
              "train": {"epochs": 2, "batch_size": 16, "keep": "last"}}
    path = folder / "logo.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def experiment(recipe: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("logo") / "out"
    leave_one_out(recipe, out, progress=False)
    return out


def _splits(run: Path) -> list[dict]:
    with open(run / "splits.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def _predictions(run: Path) -> dict[str, tuple[str, float]]:
    with open(run / "eval-left-out" / "predictions.csv", newline="") as fh:
        return {r["path"]: (r["label"], float(r["p_fake"])) for r in csv.DictReader(fh)}


def test_each_fold_trains_without_its_generator_and_is_tested_on_it(experiment: Path) -> None:
    reference = _splits(experiment / "all-sources")
    assert {r["source"] for r in reference if r["split"] == "train"} == {"140k-reals", *FOLDS}
    for left_out in FOLDS:
        run = experiment / f"without-{left_out}"
        rows = _splits(run)
        for part in ("train", "valid"):
            assert not [r for r in rows if r["split"] == part and r["source"] == left_out]
            # every real photo kept, the other generator still there
            assert ({r["path"] for r in rows if r["split"] == part and r["label"] == "real"}
                    == {r["path"] for r in reference if r["split"] == part and r["label"] == "real"})
            other = [r for r in rows if r["split"] == part and r["source"] not in (left_out, "140k-reals")]
            assert other and all(r["label"] == "fake" for r in other)
        config = yaml.safe_load((run / "config.yaml").read_text())
        assert [s["name"] for s in config["data"]["sources"]] == ["140k-reals", *(f for f in FOLDS if f != left_out)]
        # tested on exactly the left-out generator's test fakes and every test real
        tested = _predictions(run)
        expected = {r["path"] for r in reference if r["split"] == "test" and (r["label"] == "real"
                                                                              or r["source"] == left_out)}
        assert set(tested) == expected


def test_the_table_has_the_reference_and_one_row_per_fold(experiment: Path) -> None:
    with open(experiment / "leave_one_out.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["left_out"] for r in rows] == ["none", *FOLDS]
    assert json.loads((experiment / "leave_one_out.json").read_text())["folds"] == {f: [f] for f in FOLDS}
    reference = _splits(experiment / "all-sources")
    for row in rows[1:]:
        run = experiment / f"without-{row['left_out']}"
        threshold = json.loads((run / "model.json").read_text())["threshold"]
        scores = _predictions(run)
        fakes = [p for label, p in scores.values() if label == "fake"]
        reals = [p for label, p in scores.values() if label == "real"]
        n_test_fakes = sum(r["split"] == "test" and r["source"] == row["left_out"] for r in reference)
        assert int(row["n_fake"]) == len(fakes) == n_test_fakes and int(row["n_real"]) == len(reals) == 20
        assert float(row["recall"]) == pytest.approx(np.mean(np.array(fakes) >= threshold))
        assert float(row["real_fpr"]) == pytest.approx(np.mean(np.array(reals) >= threshold))
        for metric in ("recall", "roc_auc", "real_fpr", "recall_when_trained"):
            low, value, high = (float(row[k]) for k in (f"{metric}_ci_low", metric, f"{metric}_ci_high"))
            assert low <= value <= high
    assert rows[0]["recall_when_trained"] == ""  # the reference has no "when trained" counterpart
    table = (experiment / "leave_one_out.md").read_text().splitlines()
    assert len(table) == 2 + 3 and table[3].startswith(f"| {FOLDS[0]} |")


def test_a_rerun_reuses_finished_folds_and_retrains_a_missing_one(experiment: Path, recipe: Path,
                                                                  capsys: pytest.CaptureFixture) -> None:
    import shutil

    weights = {f: (experiment / f / "model.safetensors").stat().st_mtime_ns
               for f in ("all-sources", *(f"without-{n}" for n in FOLDS))}
    shutil.rmtree(experiment / f"without-{FOLDS[1]}")
    assert main(["leave-one-out", "--config", str(recipe), "--out", str(experiment), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert f"| {FOLDS[1]} |" in printed and "2 fold(s)" in printed
    for folder, mtime in weights.items():
        now = (experiment / folder / "model.safetensors").stat().st_mtime_ns
        assert (now == mtime) == (folder != f"without-{FOLDS[1]}")
    # A changed recipe is not silently mixed with the stored folds.
    with pytest.raises(ConfigError, match="another recipe"):
        leave_one_out(recipe, experiment, overrides=["train.epochs=3"], progress=False)


def test_shortcut_check_on_the_reference_run(experiment: Path, capsys: pytest.CaptureFixture) -> None:
    run = experiment / "all-sources"
    assert main(["evaluate", str(run), "--shortcuts", "sdxl-tile", "jpeg-q90", "--quiet"]) == 0
    assert "shortcut sdxl-tile: fpr" in capsys.readouterr().out
    out = run / "eval-valid"  # the check runs on the validation split by default
    check = json.loads((out / "metrics.json").read_text())["shortcuts"]
    n_valid_reals = sum(r["split"] == "valid" and r["label"] == "real" for r in _splits(run))
    assert check["n_reals"] == n_valid_reals == 20
    assert [(r["history"], r["reals"]) for r in check["rows"]] == [("sdxl-tile", "all"), ("jpeg-q90", "all")]
    with open(out / "shortcuts.csv", newline="") as fh:
        assert [r["history"] for r in csv.DictReader(fh)] == ["sdxl-tile", "jpeg-q90"]
    assert "Shortcut check" in (out / "report.html").read_text()


def test_frozen_folds_reuse_the_cached_encoder_features(recipe: Path, tmp_path: Path, monkeypatch) -> None:
    """With a frozen encoder that names its features, the first folds encode the images (training's views, then
    the pipeline's crops for calibration and tests); a fold added later encodes none: it trains and tests its
    head on cached features."""
    from deepfake_detector.models.transfer import PooledFeatures, TransferModel

    monkeypatch.setenv("DEEPFAKE_DETECTOR_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(TransferModel, "feature_key", lambda self: "test-mobilenet-v2-32px", raising=False)
    encoded = []
    forward = PooledFeatures.forward
    monkeypatch.setattr(PooledFeatures, "forward", lambda self, x: encoded.append(len(x)) or forward(self, x))
    overrides = ["model.name=mobilenet_v2", "model.args={input_size: 32}", "train.finetune=frozen"]
    leave_one_out(recipe, tmp_path / "out", leave_out=[FOLDS[0]], progress=False, overrides=overrides)
    assert sum(encoded) >= len(_splits(tmp_path / "out" / "all-sources"))
    encoded.clear()
    leave_one_out(recipe, tmp_path / "out", leave_out=FOLDS, progress=False, overrides=overrides)
    assert encoded == []
    assert (tmp_path / "out" / f"without-{FOLDS[1]}" / "eval-left-out" / "predictions.csv").is_file()


def test_fold_specs_and_recipes() -> None:
    classes = {"140k": {REAL, FAKE}, "sd": {FAKE}, "utk": {REAL}}
    assert parse_folds(None, classes) == [Fold("sd", ("sd",))]
    assert parse_folds(["gan:140k+sd", "140k"], classes) == [Fold("gan", ("140k", "sd")), Fold("140k", ("140k",))]
    with pytest.raises(ConfigError, match="no fake images"):
        parse_folds(["utk"], classes)
    with pytest.raises(ConfigError, match="overrides before --leave-out"):
        parse_folds(["train.epochs=3"], classes)
    cfg = load_config(None, ["data.sources=[{name: 140k, path: a}, {name: sd, path: b}, {name: utk, path: c}]"])
    fold = fold_config(cfg, Fold("gan", ("140k", "sd")), classes)
    assert [(s.name, s.classes) for s in fold.data.sources] == [("140k", ["real"]), ("utk", None)]
    # a saved model's head may have seen the left-out generator: every fold (and the reference) starts without it
    assert cfg.model.init_head and not fold.model.init_head
    assert not fold_config(cfg, Fold("all"), classes).model.init_head
