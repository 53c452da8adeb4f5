"""Per-epoch history (history.csv + curves.png), kept across --resume via the checkpoint."""

from __future__ import annotations

import time
from pathlib import Path

import lightning as L

from deepfake_detector.evaluation.plots import plot_training_curves
from deepfake_detector.utils.atomic import write_csv

COLUMNS = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "epoch_seconds", "train_img_per_s"]


class HistoryCallback(L.Callback):
    def __init__(self, out_dir: str | Path, n_train: int) -> None:
        self.out_dir = Path(out_dir)
        self.n_train = n_train
        self.rows: list[dict] = []
        self._started = 0.0
        self._train_seconds = 0.0

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._started = time.perf_counter()
        self._train_seconds = 0.0

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._train_seconds = time.perf_counter() - self._started

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        m = trainer.callback_metrics
        total = time.perf_counter() - self._started
        train_seconds = self._train_seconds or total
        row = {"epoch": trainer.current_epoch + 1,
               **{k: round(float(m[k]), 6) for k in COLUMNS[1:5] if k in m},
               "epoch_seconds": round(total, 3),
               "train_img_per_s": round(self.n_train / train_seconds, 1) if train_seconds else None}
        self.rows = [r for r in self.rows if r["epoch"] < row["epoch"]] + [row]
        if trainer.is_global_zero:
            write_csv(self.out_dir / "history.csv", self.rows, COLUMNS)
            plot_training_curves(self.rows, self.out_dir / "curves.png")

    def state_dict(self) -> dict:
        return {"rows": self.rows}

    def load_state_dict(self, state_dict: dict) -> None:
        self.rows = list(state_dict.get("rows", []))
