"""Train a recipe end to end: data -> model -> Lightning fit -> saved model folder -> validation report.

The run folder is a self-contained model (see ``inference/artifacts.py``) plus everything needed to
trust and resume it: ``config.yaml`` (resolved), ``history.csv``, ``curves.png``, ``checkpoints/``
(best and last), ``bad_files.csv`` and ``eval-valid/`` (metrics and report on the validation split).
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import torch
import yaml
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from lightning.pytorch.utilities.rank_zero import rank_zero_only

from deepfake_detector.config import BlendConfig, RunConfig
from deepfake_detector.data.discovery import discover
from deepfake_detector.data.kaggle import resolve_data_source
from deepfake_detector.data.samples import FAKE, BadFile
from deepfake_detector.data.sources import make_source_splits, source_name
from deepfake_detector.data.splits import SPLITS_FILE, Splits, make_splits, write_splits
from deepfake_detector.errors import ConfigError
from deepfake_detector.evaluation.evaluate import Evaluation, evaluate_samples
from deepfake_detector.evaluation.operating_point import calibrate_detector
from deepfake_detector.inference.detector import Detector
from deepfake_detector.models import create_model
from deepfake_detector.models.artifacts import init_from_saved, save_model
from deepfake_detector.training.blend_view import write_held_out_blends
from deepfake_detector.training.finetune import FitPlan, prepare_fit
from deepfake_detector.training.history import HistoryCallback
from deepfake_detector.utils.atomic import write_csv, write_text
from deepfake_detector.utils.owned import is_empty, is_owned, mark, remove_owned, replaced_folder


@dataclass
class TrainResult:
    out_dir: Path
    history: list[dict]
    validation: Evaluation | None  # None on the other ranks of a multi-process (DDP) run
    bad_files: list[BadFile]


def _check_same_recipe(cfg: RunConfig, out: Path) -> None:
    """``--resume`` continues the stored run: the model and the strategy must be the ones it was trained with."""
    stored_file = out / "config.yaml"
    try:
        stored = yaml.safe_load(stored_file.read_text()) or {}
    except (OSError, yaml.YAMLError):
        raise ConfigError(f"{stored_file}: cannot read the stored config of the run to resume") from None
    new = cfg.model_dump(mode="json")
    changed = [f"model.{k}" for k in ("name", "args") if stored.get("model", {}).get(k) != new["model"][k]]
    if stored.get("train", {}).get("finetune") != new["train"]["finetune"]:
        changed.append("train.finetune")
    if changed:
        raise ConfigError(f"{out}: cannot resume with a different {', '.join(changed)} than the run was trained "
                          f"with ({stored_file}); start a new run folder instead")


def _prepare_out_dir(cfg: RunConfig, out: Path, data_places: list[Path], resume: bool,
                     overwrite: bool) -> Path | None:
    """Returns the checkpoint to resume from, if any; refuses to clobber a run, or anything not ours.

    Only a folder this toolkit made (``utils/owned.py``) is ever deleted; a run that died before its
    first checkpoint (nothing to resume, no model) is simply started again.
    """
    last = out / "checkpoints" / "last.ckpt"
    if resume:
        if not last.is_file():
            raise ConfigError(f"{out}: nothing to resume (no checkpoints/last.ckpt); run again without --resume")
        _check_same_recipe(cfg, out)
        return last
    if is_empty(out):
        return None
    unfinished = is_owned(out) and not last.exists() and not (out / "model.json").exists()
    if not (overwrite or unfinished):
        raise ConfigError(f"{out}: run folder already exists; pass --resume to continue it or "
                          "--overwrite to start again")
    remove_owned(out, protect=data_places)
    return None


def _with_held_out_blends(splits: Splits, blend: BlendConfig, seed: int) -> Splits:
    """Validation and test splits of real photos only (their fakes are made from reals: ``augment.blend``) get
    held-out blends of their own reals as fakes."""
    reals_only = {name: part for name, part in (("valid", splits.valid), ("test", splits.test))
                  if part and not any(s.label == FAKE for s in part)}
    return dataclasses.replace(splits, **{name: [*part, *write_held_out_blends(part, blend, seed, name)]
                                          for name, part in reals_only.items()})


class RunCheckpoint(ModelCheckpoint):
    """Lightning's checkpoint callback with fixed file names (``best.ckpt``, ``last.ckpt``, overwritten in place)
    that also resumes in a run folder copied or moved since: Lightning restores the best score only for the same
    folder, so the first epoch after a move would pass for the best and replace it, and with its version counter it
    writes ``best-v1.ckpt`` / ``last-v1.ckpt`` beside the copied files, so the next ``--resume`` would start again
    from the stale ``last.ckpt``. The stored paths are mapped to this folder (the files moved with it)."""

    def __init__(self, folder: Path) -> None:
        super().__init__(dirpath=folder, filename="best", monitor="val_loss", mode="min", save_last=True,
                         enable_version_counter=False)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """``last.ckpt`` after every epoch: Lightning (2.6) rewrites it only in an epoch that also wrote
        ``best.ckpt``, so a run stopped after epochs that did not improve would resume from the last improvement and
        train them again."""
        super().on_train_epoch_end(trainer, pl_module)
        if not self._should_skip_saving_checkpoint(trainer):  # skips an epoch whose checkpoints are written
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))

    def load_state_dict(self, state_dict: dict) -> None:
        here = Path(self.dirpath)

        def moved(path: str) -> str:
            return str(here / Path(path).name) if path else path

        super().load_state_dict({**state_dict, "dirpath": self.dirpath})
        self.best_k_models = {moved(p): v for p, v in self.best_k_models.items()}
        self.best_model_path, self.kth_best_model_path = moved(self.best_model_path), moved(self.kth_best_model_path)
        self.last_model_path = moved(self.last_model_path)


def _not_an_advert(record: logging.LogRecord) -> bool:
    """Lightning 2.6 prints a "💡 Tip" for its cloud logging service at every fit; a training log is no place for it."""
    return not record.getMessage().startswith("💡")


def _epochs_done(ckpt: Path) -> int:
    """How many epochs the run behind a Lightning end-of-epoch checkpoint trained (its ``epoch`` is 0-based)."""
    return int(torch.load(ckpt, map_location="cpu", weights_only=False, mmap=True)["epoch"]) + 1


def _fit_epochs(cfg: RunConfig, fit: FitPlan, history: HistoryCallback, ckpt: Path | None, out: Path,
                progress: bool) -> int | None:
    """Lightning's loop over ``train.epochs``, the kept weights (``train.keep``) loaded into the module; the number
    of epochs trained, or None on the ranks other than 0 of a multi-process run."""
    checkpoint = RunCheckpoint(out / "checkpoints")
    callbacks: list[L.Callback] = [history, checkpoint, *fit.callbacks]
    if cfg.train.early_stopping_patience:
        callbacks.append(EarlyStopping("val_loss", patience=cfg.train.early_stopping_patience))
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(_not_an_advert)
    trainer = L.Trainer(
        max_epochs=cfg.train.epochs, accelerator=cfg.train.accelerator, devices=cfg.train.devices,
        num_nodes=cfg.train.num_nodes, strategy=cfg.train.strategy, precision=cfg.train.precision,
        callbacks=callbacks, logger=False, enable_progress_bar=progress, enable_model_summary=progress,
        num_sanity_val_steps=0, default_root_dir=out,
    )
    with warnings.catch_warnings():
        # Lightning 2.6 still builds torch's LeafSpec, deprecated in torch 2.14: its warning is not the user's to act on
        warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated",
                                category=FutureWarning)
        trainer.fit(fit.module, fit.train_loader, fit.val_loader, ckpt_path=ckpt)
    if not trainer.is_global_zero:
        return None
    if cfg.train.keep == "best" and checkpoint.best_model_path:
        state = torch.load(checkpoint.best_model_path, map_location="cpu", weights_only=True)["state_dict"]
        fit.module.load_state_dict(state)
    return trainer.current_epoch


def train(cfg: RunConfig, out_dir: str | Path, *, resume: bool = False, overwrite: bool = False,
          progress: bool = True) -> TrainResult:
    out = Path(out_dir)
    L.seed_everything(cfg.train.seed, workers=True, verbose=False)

    if cfg.data.sources:
        blend = cfg.augment.blend
        splits, skipped = make_source_splits(cfg.data.sources, cfg.data.val_fraction, cfg.train.seed, cfg.data.limit,
                                             fakes_from_reals=blend.views > 0)
        if blend.views:  # fakes made from reals: a split without fakes of its own gets blends of its reals
            splits = _with_held_out_blends(splits, blend, cfg.train.seed)
        data_path, data_places = None, [Path(s.path) for s in cfg.data.sources]
        data_desc = " + ".join(source_name(s) for s in cfg.data.sources)
    else:
        data_path = resolve_data_source(cfg.data.path)
        dataset = discover(data_path)
        splits = make_splits(dataset, cfg.data.val_fraction, cfg.train.seed, cfg.data.limit)
        skipped, data_places, data_desc = dataset.skipped, [data_path], str(data_path)
    model = create_model(cfg.model.name, **cfg.model.args)
    if cfg.model.init is not None:
        init_from_saved(model, cfg.model.name, cfg.model.init, cfg.model.args.get("head", "linear"),
                        with_head=cfg.model.init_head)

    # Only now, with data and model known to be good, touch the run folder. Under DDP every rank runs
    # this function (Lightning, torchrun or SLURM starts them; the rank comes from the environment);
    # only global rank 0 writes files.
    is_zero = rank_zero_only.rank == 0
    if is_zero:
        ckpt = _prepare_out_dir(cfg, out, data_places, resume, overwrite)
        mark(out, "training run")
        resolved = cfg if data_path is None else cfg.model_copy(update={"data": cfg.data.model_copy(
            update={"path": str(data_path)})})
        write_text(out / "config.yaml", resolved.to_yaml())
        write_splits(out / SPLITS_FILE, splits)
    else:
        ckpt = out / "checkpoints" / "last.ckpt" if resume else None

    cache = {"on": True, "off": False}.get(cfg.data.cache, "auto")
    seed = cfg.train.seed
    fit = prepare_fit(cfg, model, splits, cache=cache, progress=progress,  # strategy: train.finetune
                      first_epoch=_epochs_done(ckpt) if ckpt else 0)
    module = fit.module
    history = HistoryCallback(out, fit.n_train)
    epochs_run = 0
    if not fit.solved:  # train.head_fit=logistic: the head is solved already, no epochs to run
        epochs_run = _fit_epochs(cfg, fit, history, ckpt, out, progress)
        if epochs_run is None:  # rank 0 saves, calibrates and reports; the other ranks are done
            return TrainResult(out, history.rows, None, [])

    samples = {"train": splits.train, "val": splits.valid}
    bad = fit.bad_files + skipped
    bad += [BadFile(str(samples[stage][i].path), r) for (stage, i), r in sorted(module.bad_seen.items())]
    bad = list({b.path: b for b in bad}.values())
    write_csv(out / "bad_files.csv", [{"path": b.path, "reason": b.reason} for b in bad], ["path", "reason"])

    info = {
        "run_name": cfg.name,
        "paper": cfg.paper,
        "training": {"data": data_desc, "seed": seed, "val_fraction": cfg.data.val_fraction,
                     "n_train": len(splits.train), "n_valid": len(splits.valid), "epochs": epochs_run,
                     "kept": cfg.train.keep, "valid_is_held_out": splits.valid_is_held_out,
                     "init": cfg.model.init},
    }
    # Operating point (optional temperature, threshold policy, optional uncertain band) from the validation
    # split only. `model` is the full model (backbone + head) even when only the head was trained.
    framing = {"framing": cfg.train.framing}  # how predict frames photos: calibration scores them that way
    point = calibrate_detector(Detector(model.cpu(), framing, "cpu"), splits.valid, cfg.train.threshold,
                               temperature_scaling=cfg.train.temperature_scaling, uncertain=cfg.train.uncertain,
                               progress=progress)
    save_model(model.cpu(), out, name=cfg.model.name, args=cfg.model.args, threshold=point.threshold,
               info=info | framing | point.to_meta())
    detector = Detector.load(out, device="cpu")
    with replaced_folder(out / "eval-valid", "evaluation") as tmp:
        validation = evaluate_samples(detector, splits.valid, tmp, title=f"Validation: {cfg.name}",
                                      subtitle=f"{cfg.name} · {data_desc} · validation split", progress=progress)
    validation.out_dir = out / "eval-valid"
    return TrainResult(out, history.rows, validation, bad)
