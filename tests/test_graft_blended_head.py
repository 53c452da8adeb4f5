"""``scripts/graft_blended_head.py``: a one-head model's scores kept, a two-head model's blended head added."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest
import torch

from deepfake_detector.data.splits import SPLITS_FILE
from deepfake_detector.models.artifacts import load_model, save_model
from deepfake_detector.models.registry import create_model

REPO = Path(__file__).resolve().parents[1]
NAME = "timm:test_efficientnet"


def _script():
    spec = importlib.util.spec_from_file_location("graft_blended_head", REPO / "scripts" / "graft_blended_head.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def test_the_grafted_model_scores_as_each_head_s_own_model(tmp_path: Path) -> None:
    torch.manual_seed(0)
    one = create_model(NAME, head="linear").eval()
    two = create_model(NAME, head="max2", blended_offset=0.7).eval()
    two.backbone.load_state_dict(one.backbone.state_dict())  # init: default, heads trained apart
    x = torch.rand(16, 3, 224, 224)
    with torch.no_grad():  # heads whose logits spread, the blended one deciding for about half the photos
        one.head[1].weight *= 1000
        two.head.blended[1].weight *= 1000
        features = one.backbone(x)
        gap = (one.head(features) / 1.6 - _logit(0.8)) - ((two.head.blended(features) - 0.7) / 0.5 - _logit(0.95))
        two.head.blended[1].bias += 0.5 * gap.median()
    save_model(one, tmp_path / "one", name=NAME, args={"head": "linear"}, threshold=0.8,
               info={"temperature": 1.6})
    save_model(two, tmp_path / "two", name=NAME, args={"head": "max2", "blended_offset": 0.7}, threshold=0.95,
               info={"temperature": 0.5})
    (tmp_path / "one" / SPLITS_FILE).write_text("path,label,source,split\n")
    assert _script().main([str(tmp_path / "one"), str(tmp_path / "two"), str(tmp_path / "grafted")]) == 0

    with pytest.raises(SystemExit, match="already holds a model"):  # a model folder is never overwritten unasked
        _script().main([str(tmp_path / "one"), str(tmp_path / "two"), str(tmp_path / "grafted")])
    grafted, meta = load_model(tmp_path / "grafted")
    assert (meta.temperature, meta.threshold) == (0.5, 0.8)
    assert (tmp_path / "grafted" / SPLITS_FILE).is_file()
    with torch.no_grad():
        generated = one(x) / 1.6 - _logit(0.8)  # each model's logit, on its own calibrated scale
        blended = (two.head.blended(two.backbone(x)).squeeze(1) - 0.7) / 0.5 - _logit(0.95)
        ours = grafted(x) / 0.5 - _logit(0.8)
    torch.testing.assert_close(ours, torch.maximum(generated, blended), rtol=1e-4, atol=1e-4)
    assert 0 < int((blended > generated).sum()) < len(x)  # both heads decide somewhere: the test sees both paths


def test_models_on_different_encoders_are_refused(tmp_path: Path) -> None:
    torch.manual_seed(0)
    save_model(create_model(NAME, head="linear"), tmp_path / "one", name=NAME, args={"head": "linear"},
               threshold=0.5)
    save_model(create_model(NAME, head="max2"), tmp_path / "two", name=NAME, args={"head": "max2"},
               threshold=0.5)
    with pytest.raises(SystemExit, match="do not share their encoder"):
        _script().main([str(tmp_path / "one"), str(tmp_path / "two"), str(tmp_path / "grafted")])
