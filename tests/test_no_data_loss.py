"""Never lose a user's files: only folders this toolkit made are deleted or replaced, and a half-written
output is never mistaken for a whole one (issue: reliability, items 1-5)."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest
import yaml

from deepfake_detector import Detector
from deepfake_detector.cli import main
from deepfake_detector.config import load_config
from deepfake_detector.errors import ConfigError, ModelLoadError
from deepfake_detector.evaluation.evaluate import evaluate
from deepfake_detector.models import artifacts
from deepfake_detector.training import train
from deepfake_detector.utils.owned import MARKER

from .conftest import REPO

QUICK = ["model.args.input_size=32", "augment.hflip=false", "augment.rotation=0", "augment.zoom=0",
         "train.batch_size=8", "train.epochs=1"]


def _cfg(data: Path, *more: str):
    return load_config(REPO / "configs" / "seed-cnn.yaml", [*QUICK, f"data.path={data}", *more])


def test_overwrite_never_deletes_a_folder_the_toolkit_did_not_make(tmp_path: Path, tiny_dataset: Path,
                                                                    capsys) -> None:
    docs = tmp_path / "mydocs"
    docs.mkdir()
    (docs / "CANARY.txt").write_text("x")
    args = ["train", "--config", str(REPO / "configs" / "seed-cnn.yaml"), "--data", str(tiny_dataset),
            "--out", str(docs), "--overwrite", "--quiet", *QUICK]
    assert main(args) == 2
    assert "did not create it" in capsys.readouterr().err
    assert (docs / "CANARY.txt").read_text() == "x"


@pytest.mark.parametrize("place", ["cwd", "data"])
def test_overwrite_refuses_the_working_directory_and_the_data(tmp_path: Path, tiny_dataset: Path, monkeypatch,
                                                              place: str) -> None:
    target = tmp_path if place == "cwd" else tiny_dataset
    (target / MARKER).write_text("training run\n")  # even a marked folder: it holds the user's files
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="refusing to delete"):
        train(_cfg(tiny_dataset), target, overwrite=True, progress=False)
    assert any((tiny_dataset / "real").iterdir())


def test_overwrite_replaces_its_own_run(tmp_path: Path, tiny_dataset: Path) -> None:
    out = tmp_path / "run"
    train(_cfg(tiny_dataset), out, progress=False)
    (out / "stale.txt").write_text("from the old run")
    train(_cfg(tiny_dataset), out, overwrite=True, progress=False)
    assert not (out / "stale.txt").exists() and (out / "model.json").is_file()


@pytest.mark.parametrize("name", ["..", ".", "a/b", "/abs", ".hidden", ""])
def test_run_names_must_be_simple(name: str) -> None:
    with pytest.raises(ConfigError, match="name"):
        load_config(None, [f"name={name!r}"] if name else ["name="])


def test_compare_checks_the_data_before_training(tmp_path: Path, tiny_dataset: Path) -> None:
    from deepfake_detector.experiments.compare import compare

    out = tmp_path / "cmp"
    with pytest.raises(Exception, match="no 'test' split"):
        compare([REPO / "configs" / "seed-cnn.yaml"], str(tiny_dataset), out, overrides=QUICK, progress=False)
    assert not (out / "seed-cnn").exists()  # nothing was trained


def test_a_run_that_died_before_its_first_epoch_can_simply_be_rerun(tmp_path: Path, tiny_dataset: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / MARKER).write_text("training run\n")
    (out / "config.yaml").write_text("name: seed-cnn\n")  # what a run killed during decoding leaves
    train(_cfg(tiny_dataset), out, progress=False)
    assert (out / "model.json").is_file()


def test_resume_with_another_model_is_refused_before_anything_is_written(tmp_path: Path,
                                                                         tiny_dataset: Path) -> None:
    out = tmp_path / "run"
    train(_cfg(tiny_dataset), out, progress=False)
    before = (out / "config.yaml").read_text()
    with pytest.raises(ConfigError, match="different model.args"):
        train(_cfg(tiny_dataset, "model.args.input_size=24", "train.epochs=2"), out, resume=True, progress=False)
    assert (out / "config.yaml").read_text() == before
    assert yaml.safe_load(before)["model"]["args"]["input_size"] == 32


def test_evaluation_is_swapped_in_whole(tmp_path: Path, tiny_dataset: Path, tiny_model: Path) -> None:
    out = tmp_path / "eval"
    evaluate(tiny_model, tiny_dataset, split="all", out_dir=out, progress=False)
    (out / "leftover.txt").write_text("old")
    evaluate(tiny_model, tiny_dataset, split="all", out_dir=out, progress=False)
    assert not (out / "leftover.txt").exists() and (out / "report.html").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".eval.")]  # no temporary folders left
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    with pytest.raises(ConfigError, match="did not create it"):
        evaluate(tiny_model, tiny_dataset, split="all", out_dir=mine, progress=False)
    assert (mine / "notes.txt").read_text() == "keep"


def test_an_interrupted_evaluation_leaves_the_old_outputs(tmp_path: Path, tiny_dataset: Path, tiny_model: Path,
                                                          monkeypatch) -> None:
    out = tmp_path / "eval"
    evaluate(tiny_model, tiny_dataset, split="all", out_dir=out, progress=False)
    old = (out / "metrics.json").read_text()
    evaluate_module = importlib.import_module("deepfake_detector.evaluation.evaluate")

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(evaluate_module, "write_report", crash)
    with pytest.raises(KeyboardInterrupt):
        evaluate(tiny_model, tiny_dataset, split="all", out_dir=out, progress=False)
    assert (out / "metrics.json").read_text() == old and (out / "report.html").is_file()


def test_a_mismatched_weights_and_metadata_pair_is_detected(tmp_path: Path, tiny_model: Path) -> None:
    other = artifacts.save_model(Detector.load(tiny_model).model, tmp_path / "other", name="seed_cnn",
                                 args={"input_size": 32, "channels": [4, 8], "dense": 8}, threshold=0.5)
    # a crash between the two writes: new weights beside the old model.json
    os.replace(other / artifacts.WEIGHTS_FILE, tiny_model / artifacts.WEIGHTS_FILE)
    (tiny_model / artifacts.WEIGHTS_FILE).write_bytes((tiny_model / artifacts.WEIGHTS_FILE).read_bytes() + b" ")
    with pytest.raises(ModelLoadError, match="do not match model.json"):
        Detector.load(tiny_model)


def test_set_threshold_rewrites_only_model_json(tmp_path: Path, tiny_dataset: Path, tiny_model: Path) -> None:
    half = tmp_path / "half"
    assert main(["export", str(tiny_model), "--fp16", str(half)]) == 0
    weights = (half / artifacts.WEIGHTS_FILE).read_bytes()
    evaluate(half, tiny_dataset, split="all", out_dir=tmp_path / "ev", progress=False, set_threshold="youden")
    assert (half / artifacts.WEIGHTS_FILE).read_bytes() == weights  # still the fp16 file, untouched
    assert Detector.load(half).meta.threshold_policy == "youden"
