"""The seed-CNN recipe learns on real images, saves a self-contained model and resumes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from deepfake_detector import Detector
from deepfake_detector.config import load_config
from deepfake_detector.errors import ConfigError
from deepfake_detector.evaluation.evaluate import evaluate
from deepfake_detector.training import train
from deepfake_detector.training.train import _epochs_done

from .conftest import DATA_140K, REPO


def test_loss_falls_and_test_split_beats_chance(trained_run):
    losses = [row["train_loss"] for row in trained_run.history]
    assert len(losses) == 8 and losses[-1] < losses[0]
    result = evaluate(trained_run.out_dir, DATA_140K, split="test", progress=False)
    m = result.metrics
    assert m["n"] == 323 and m["tp"] + m["fn"] == 207
    # Ranking beats chance on held-out images (AUC 0.5 = chance); a from-scratch CNN on 967 images is weak.
    assert m["roc_auc"] > 0.55


def test_run_folder_is_self_contained(trained_run):
    out = trained_run.out_dir
    for name in ("model.safetensors", "model.json", "config.yaml", "history.csv", "curves.png",
                 "bad_files.csv", "checkpoints/last.ckpt", "checkpoints/best.ckpt",
                 "eval-valid/metrics.json", "eval-valid/report.html", "eval-valid/confusion_matrix.png"):
        assert (out / name).is_file(), name
    meta = json.loads((out / "model.json").read_text())
    assert meta["model"]["name"] == "seed_cnn" and meta["preprocess"]["input_size"] == [64, 64]
    assert 0 < meta["threshold"] < 1 and meta["labels"] == {"0": "real", "1": "fake"}
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["train"]["epochs"] == 8 and Path(saved["data"]["path"]) == DATA_140K
    with (out / "history.csv").open() as fh:
        assert [int(r["epoch"]) for r in csv.DictReader(fh)] == list(range(1, 9))
    report = (out / "eval-valid" / "report.html").read_text()
    assert "data:image/png;base64," in report and "Beside the paper" in report


def test_save_load_gives_identical_predictions(trained_run, tmp_path: Path):
    files = sorted((DATA_140K / "real_vs_fake" / "real-vs-fake" / "test" / "fake").glob("*.jpg"))[:6]
    first = Detector.load(trained_run.out_dir, device="cpu")
    copy = first.save(tmp_path / "copy")
    second = Detector.load(copy, device="cpu")
    a = [p.p_fake for p in first.predict(files)]
    b = [p.p_fake for p in second.predict(files)]
    assert a == b and all(0 <= p <= 1 for p in a)
    # in-memory images score the same as the files they came from
    from deepfake_detector.data import read_image

    c = [p.p_fake for p in second.predict([read_image(f) for f in files])]
    assert c == pytest.approx(a, abs=1e-6)


def test_resume_continues_an_interrupted_run(tmp_path: Path, tiny_dataset: Path):
    base = ["model.args.input_size=32", "augment.hflip=false", "augment.rotation=0", "augment.zoom=0",
            "train.batch_size=8", f"data.path={tiny_dataset}"]
    out = tmp_path / "run"
    first = train(load_config(REPO / "configs" / "seed-cnn.yaml", [*base, "train.epochs=2"]), out, progress=False)
    assert _epochs_done(out / "checkpoints" / "last.ckpt") == 2  # a resumed run's loader draws from epoch 2 on
    with pytest.raises(ConfigError, match="already exists"):
        train(load_config(REPO / "configs" / "seed-cnn.yaml", [*base, "train.epochs=2"]), out, progress=False)
    resumed = train(load_config(REPO / "configs" / "seed-cnn.yaml", [*base, "train.epochs=4"]), out,
                    resume=True, progress=False)
    assert [r["epoch"] for r in resumed.history] == [1, 2, 3, 4]
    assert _epochs_done(out / "checkpoints" / "last.ckpt") == 4
    # epochs 1-2 came back from the checkpoint (same rows, timings included), they were not trained again
    assert resumed.history[:2] == first.history
    with pytest.raises(ConfigError, match="nothing to resume"):
        train(load_config(REPO / "configs" / "seed-cnn.yaml", base), tmp_path / "fresh", resume=True,
              progress=False)


def test_a_copied_then_moved_run_resumes_where_it_stopped(tmp_path: Path, tiny_dataset: Path):
    """A run folder copied elsewhere and resumed, then moved and resumed again, keeps one best.ckpt and one
    last.ckpt, each resume starting from the epoch the previous one reached, and the best epoch of the whole run;
    the original folder is untouched."""
    import shutil

    base = ["model.args.input_size=32", "augment.hflip=false", "augment.rotation=0", "augment.zoom=0",
            "train.batch_size=8", f"data.path={tiny_dataset}"]

    def cfg(epochs: int):
        return load_config(REPO / "configs" / "seed-cnn.yaml", [*base, f"train.epochs={epochs}"])

    original = tmp_path / "original"
    train(cfg(2), original, progress=False)
    before = {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in (original / "checkpoints").iterdir()}
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    third = train(cfg(3), copy, resume=True, progress=False)
    moved = tmp_path / "moved"
    shutil.move(copy, moved)
    fourth = train(cfg(4), moved, resume=True, progress=False)

    assert [r["epoch"] for r in fourth.history] == [1, 2, 3, 4]
    assert fourth.history[:3] == third.history  # epoch 3 came back from the copy's checkpoint, not trained again
    assert sorted(p.name for p in (moved / "checkpoints").iterdir()) == ["best.ckpt", "last.ckpt"]
    assert _epochs_done(moved / "checkpoints" / "last.ckpt") == 4
    # the best epoch of the whole run is kept, not the best since the last move
    losses = [r["val_loss"] for r in fourth.history]
    assert _epochs_done(moved / "checkpoints" / "best.ckpt") == 1 + losses.index(min(losses))
    assert (moved / "model.safetensors").is_file()
    assert {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in (original / "checkpoints").iterdir()} == before


def test_a_moved_run_keeps_its_best_score_and_names_its_own_files(tmp_path: Path):
    """Lightning restores the best score only in the folder it was saved in; the run's callback restores it after
    a move too (so a worse epoch cannot replace the best), with every stored path in the new folder."""
    import torch

    from deepfake_detector.training.train import RunCheckpoint

    old, new = tmp_path / "old" / "checkpoints", tmp_path / "new" / "checkpoints"
    callback = RunCheckpoint(new)
    callback.load_state_dict({
        "dirpath": str(old), "monitor": "val_loss", "best_model_score": torch.tensor(0.4),
        "best_model_path": str(old / "best.ckpt"), "best_k_models": {str(old / "best.ckpt"): torch.tensor(0.4)},
        "kth_best_model_path": str(old / "best.ckpt"), "kth_value": torch.tensor(0.4),
        "last_model_path": str(old / "last.ckpt")})
    assert float(callback.best_model_score) == pytest.approx(0.4)
    assert callback.best_model_path == callback.kth_best_model_path == str(new / "best.ckpt")
    assert list(callback.best_k_models) == [str(new / "best.ckpt")]
    assert callback.last_model_path == str(new / "last.ckpt")


def test_bad_training_files_are_skipped_and_listed(tmp_path: Path, tiny_dataset: Path):
    (tiny_dataset / "fake" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    (tiny_dataset / "real" / "empty.png").write_bytes(b"")
    (tiny_dataset / "real" / "readme.txt").write_text("hi")
    cfg = load_config(REPO / "configs" / "seed-cnn.yaml",
                      ["model.args.input_size=32", "train.epochs=1", "train.batch_size=8", f"data.path={tiny_dataset}"])
    result = train(cfg, tmp_path / "run", progress=False)
    with (tmp_path / "run" / "bad_files.csv").open() as fh:
        listed = {Path(r["path"]).name: r["reason"] for r in csv.DictReader(fh)}
    assert set(listed) == {"broken.jpg", "empty.png", "readme.txt"}
    assert "empty file" in listed["empty.png"] and len(result.bad_files) == 3
    assert (tmp_path / "run" / "model.safetensors").is_file()  # the run finished despite them


# Lightning 2.6 builds torch 2.14's deprecated LeafSpec; the toolkit's own training loop filters it the same way
@pytest.mark.filterwarnings(r"ignore:`isinstance\(treespec, LeafSpec\)` is deprecated:FutureWarning")
def test_last_checkpoint_follows_every_epoch_not_only_the_best(tmp_path: Path):
    """A run stopped after epochs that did not improve resumes from the last epoch it finished: ``last.ckpt`` is
    written after every epoch, ``best.ckpt`` only when the validation loss improves."""
    import lightning as L
    import torch

    from deepfake_detector.training.train import RunCheckpoint

    class Worsening(L.LightningModule):  # the validation loss rises every epoch: only epoch 1 is the best
        def __init__(self) -> None:
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(1))

        def training_step(self, batch, index):
            return (self.weight - batch[0]).pow(2).mean()

        def validation_step(self, batch, index):
            self.log("val_loss", float(self.current_epoch + 1))

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    seen: list[tuple[int, int]] = []

    class ReadCheckpoints(L.Callback):  # what a --resume would find when the next epoch starts
        def on_train_epoch_start(self, trainer, module) -> None:
            if trainer.current_epoch:
                seen.append((_epochs_done(folder / "last.ckpt"), _epochs_done(folder / "best.ckpt")))

    folder = tmp_path / "checkpoints"
    data = torch.utils.data.DataLoader(torch.ones(4, 1), batch_size=2)
    trainer = L.Trainer(max_epochs=3, callbacks=[RunCheckpoint(folder), ReadCheckpoints()], logger=False,
                        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0)
    trainer.fit(Worsening(), data, data)
    assert seen == [(1, 1), (2, 1)]
