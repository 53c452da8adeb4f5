"""Recipes load, overrides apply, and bad values are rejected with a readable one-line message."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepfake_detector.config import load_config
from deepfake_detector.errors import ConfigError
from deepfake_detector.models import create_model

REPO = Path(__file__).resolve().parents[1]


def test_seed_cnn_recipe_is_the_papers():
    cfg = load_config(REPO / "configs" / "seed-cnn.yaml")
    t = cfg.train
    assert (t.optimizer, t.lr, t.batch_size, t.epochs) == ("adam", 0.001, 32, 10)
    assert cfg.data.val_fraction == 0.2
    model = create_model(cfg.model.name, **cfg.model.args)
    assert model.preprocess.mean == (0, 0, 0) and model.preprocess.std == (1, 1, 1)  # 1/255 rescaling


def test_overrides_are_typed():
    cfg = load_config(REPO / "configs" / "seed-cnn.yaml",
                      ["train.epochs=3", "augment.hflip=false", "data.limit=100", "model.args.input_size=64"])
    assert cfg.train.epochs == 3 and cfg.augment.hflip is False and cfg.data.limit == 100
    assert cfg.model.args["input_size"] == 64


@pytest.mark.parametrize(("override", "fragment"), [
    ("train.epochs=0", "train.epochs: Input should be greater than or equal to 1 (got 0)"),
    ("train.batch_size=lots", "train.batch_size"),
    ("data.val_fraction=1.5", "data.val_fraction"),
    ("train.optimiser=adam", "train.optimiser: Extra inputs are not permitted"),
    ("epochs", "must look like key=value"),
])
def test_bad_values_are_rejected_clearly(override: str, fragment: str):
    with pytest.raises(ConfigError) as info:
        load_config(REPO / "configs" / "seed-cnn.yaml", [override])
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_missing_and_malformed_files(tmp_path: Path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("train: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "bad.yaml")


def test_unknown_model_name():
    with pytest.raises(ConfigError, match="unknown model 'resnet9000'"):
        create_model("resnet9000")
