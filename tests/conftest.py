"""Shared fixtures. Real images are read from ../shared/data (override with DEEPFAKE_DETECTOR_SHARED)."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DEEPFAKE_DETECTOR_SHARED", REPO.parent / "shared"))
DATA_140K = SHARED / "data" / "140k"
CROSS = SHARED / "data" / "cross"


def scripts_imported(*names: str) -> Iterator[tuple[ModuleType, ...]]:
    """A fixture's body: the repository's ``scripts/NAME.py`` modules, imported with ``scripts/`` on the path (they
    import their siblings) for as long as the fixture lives."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(REPO / "scripts"))
        yield tuple(importlib.import_module(name) for name in names)


def pytest_collection_modifyitems(config, items):
    """Without ../shared, tests that read real images skip with a reason; pure unit tests still run."""
    if DATA_140K.is_dir():
        return
    skip = pytest.mark.skip(reason=f"shared data not found at {SHARED}; set DEEPFAKE_DETECTOR_SHARED")
    for item in items:
        names = vars(getattr(item, "module", None) or object)
        if any(n in names for n in ("DATA_140K", "CROSS", "ORIGINALS", "SHARED")) or "trained_run" in item.fixturenames:
            item.add_marker(skip)


def write_image(path: Path, color: tuple[int, int, int], size: int = 48, mode: str = "RGB", fmt: str | None = None,
                seed: int = 0) -> Path:
    """A small synthetic image: a flat colour plus noise (test-only; never a real face)."""
    rng = np.random.default_rng(seed)
    arr = np.clip(np.array(color)[None, None, :] + rng.normal(0, 20, (size, size, 3)), 0, 255).astype(np.uint8)
    image = Image.fromarray(arr).convert(mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format=fmt)
    return path


@pytest.fixture
def tiny_dataset(tmp_path: Path) -> Path:
    """A flat real/fake folder of 10 + 10 synthetic images."""
    for i in range(10):
        write_image(tmp_path / "tiny" / "real" / f"r{i}.png", (60, 120, 200), seed=i)
        write_image(tmp_path / "tiny" / "fake" / f"f{i}.jpg", (200, 80, 60), seed=100 + i)
    return tmp_path / "tiny"


# The learning run every end-to-end test shares: the seed CNN on the shared 140k train split, at
# 64 px and without augmentation so it finishes in about a minute on 2 cores.
SEED_CNN_QUICK = ["model.args.input_size=64", "train.epochs=8", "augment.hflip=false", "augment.rotation=0",
                  "augment.zoom=0", "train.keep=last"]


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory: pytest.TempPathFactory):
    from deepfake_detector.config import load_config
    from deepfake_detector.training import train

    cfg = load_config(REPO / "configs" / "seed-cnn.yaml", [*SEED_CNN_QUICK, f"data.path={DATA_140K}"])
    out = tmp_path_factory.mktemp("runs") / "seed-cnn-quick"
    return train(cfg, out, progress=False)


@pytest.fixture
def tiny_model(tmp_path: Path) -> Path:
    """A randomly initialised seed CNN at 32 px, saved as a model folder (fast to load and run)."""
    import torch

    from deepfake_detector.models import create_model
    from deepfake_detector.models.artifacts import save_model

    torch.manual_seed(0)
    args = {"input_size": 32, "channels": [4, 8], "dense": 8}
    return save_model(create_model("seed_cnn", **args), tmp_path / "tiny-model", name="seed_cnn", args=args,
                      threshold=0.5)


ORIGINALS = CROSS / "originals-1024"
