"""Grad-CAM on the full model, the explain command, predict --explain/--report."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from deepfake_detector import Detector
from deepfake_detector.cli import main
from deepfake_detector.explain import explain_image
from deepfake_detector.explain.gradcam import explain_prediction
from deepfake_detector.faces import whole_image
from deepfake_detector.inference.analyze import load_input
from deepfake_detector.models import create_model, list_models
from deepfake_detector.models.cam import CamTarget
from tests.conftest import DATA_140K, ORIGINALS, write_image

FACE = sorted((ORIGINALS / "fake").glob("*.jpg"))[0]


VALID = DATA_140K / "real_vs_fake" / "real-vs-fake" / "valid"
VALID_FAKE = sorted((VALID / "fake").glob("*.jpg"))[0]  # a 256 px StyleGAN face

# Every registry model at the smallest input it allows, random weights (the map's shape, not its content).
REGISTRY_MODELS = {
    "seed_cnn": {"input_size": 32, "channels": [4, 8], "dense": 8},
    "xception": {"input_size": 64},
    "efficientnet_lite0": {"input_size": 64},
    "mobilenet_v2": {"input_size": 64},
    "timm:resnet18": {"input_size": 64},
    "timm:vit_tiny_patch16_224": {},  # a ViT's patch grid is fixed at build time
    "clip_vit_b16": {"pretrained": False},
    "clip_vit_b16_multiblock": {"pretrained": False, "trainable_blocks": 2},
    # two members that normalise alike-sized crops differently, the second at its own operating point
    "max_of_models": {"members": [
        {"name": "seed_cnn", "args": {"input_size": 64, "channels": [4, 8], "dense": 8}},
        {"name": "mobilenet_v2", "args": {"input_size": 64}, "temperature": 2.0, "threshold": 0.7, "offset": 0.5}]},
}


def test_registry_models_are_all_covered() -> None:
    assert {name.partition(":")[0] for name in REGISTRY_MODELS} == {n.partition(":")[0] for n in list_models()}


def test_each_model_names_its_cam_target() -> None:
    seed = create_model("seed_cnn", input_size=32, channels=[4, 8])
    assert seed.cam_target() == CamTarget(seed.features[-3])
    mobile = create_model("mobilenet_v2")
    assert mobile.cam_target() == CamTarget(mobile.backbone.features[-1])
    resnet = create_model("timm:resnet18")
    assert resnet.cam_target() == CamTarget(resnet.backbone.layer4)
    clip = create_model("clip_vit_b16_multiblock", blocks="5-9", pretrained=False)
    target = clip.cam_target()
    assert target.layer is clip.backbone.vit.blocks[8].norm1  # the last block the features read
    tokens = torch.arange(2 * 197 * 3, dtype=torch.float32).reshape(2, 197, 3)
    grid = target.reshape(tokens)
    assert grid.shape == (2, 3, 14, 14)  # the class token dropped, 196 patches on the 14x14 grid
    assert torch.equal(grid[1, :, 0, 1], tokens[1, 2]) and torch.equal(grid[0, :, 13, 13], tokens[0, 196])


def assert_heatmap(heatmap: np.ndarray, image: np.ndarray) -> None:
    """Same size as the image, finite, in [0, 1]."""
    assert heatmap.shape == image.shape[:2] and np.isfinite(heatmap).all()
    assert heatmap.min() >= 0 and heatmap.max() <= 1


def varies(heatmap: np.ndarray) -> bool:
    """A map rather than a constant (no gradient at the target layer gives zeros everywhere)."""
    return bool(heatmap.max() - heatmap.min() > 0.5)  # each map is scaled to [0, 1] before resizing


@pytest.mark.parametrize("name", list(REGISTRY_MODELS))
def test_every_registry_model_explains_both_decisions(name: str) -> None:
    torch.manual_seed(0)
    detector = Detector(create_model(name, **REGISTRY_MODELS[name]), {"threshold": 0.5})
    image = load_input(VALID_FAKE)[1]
    maps = [explain_image(detector, image, [whole_image(image)], [fake]).heatmap for fake in (True, False)]
    for heatmap in maps:
        assert_heatmap(heatmap, image)
    # Random weights may push a decision the same way everywhere (its map then is all zeros after the ReLU),
    # but then the opposite decision's map shows where.
    assert any(varies(m) for m in maps)


@pytest.mark.parametrize("bundled", ["default", "fast"])
def test_bundled_models_explain_what_they_predict(bundled: str) -> None:
    detector = Detector.load(bundled, device="cpu")
    image = load_input(VALID_FAKE)[1]
    prediction = detector.predict([image])[0]  # faces found, as users get it
    heatmap = explain_prediction(detector, image, prediction).heatmap
    assert_heatmap(heatmap, image)
    assert varies(heatmap)


def test_default_model_writes_heatmaps_through_the_cli(tmp_path: Path, capsys) -> None:
    real = sorted((VALID / "real").glob("*.jpg"))[0]
    assert main(["explain", str(VALID_FAKE), "--model", "default", "--out", str(tmp_path / "cam")]) == 0
    assert main(["predict", str(VALID_FAKE), str(real), "--explain", str(tmp_path / "cams"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "wrote 1 heatmap(s)" in out and "wrote 2 heatmap(s)" in out
    for png in [*(tmp_path / "cam").glob("*.png"), *(tmp_path / "cams").glob("*.png")]:
        assert Image.open(png).size == (256, 256)


def test_explain_command_writes_overlays(tiny_model: Path, tmp_path: Path, capsys) -> None:
    noise = write_image(tmp_path / "in" / "noise.png", (90, 90, 90), size=64)
    assert main(["explain", str(FACE), str(noise), "--model", str(tiny_model), "--out", str(tmp_path / "cam")]) == 0
    pngs = sorted((tmp_path / "cam").glob("*.png"))
    assert len(pngs) == 2 and "wrote 2 heatmap(s)" in capsys.readouterr().out
    assert max(Image.open(pngs[0]).size) == 512  # the 1024 px original is shown at 512


def test_predict_report_is_self_contained(tiny_model: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"nope")
    report, cams = tmp_path / "out.html", tmp_path / "cams"
    assert main(["predict", str(FACE), str(bad), "--model", str(tiny_model), "--explain", str(cams),
                 "--report", str(report), "--quiet"]) == 0
    page = report.read_text()
    assert page.count("data:image/jpeg;base64,") == 2  # photo with face box + heatmap; none for the bad file
    assert not re.search(r"(src|href)=[\"']https?:", page)  # opens offline
    assert "<script>" in page and "onclick" in page and "unreadable<b>1</b>" in page
    assert len(list(cams.glob("*.png"))) == 1


def test_a_photo_scored_whole_is_explained_whole_too(tiny_model: Path) -> None:
    detector = Detector.load(tiny_model, device="cpu")
    face = load_input(FACE)[1]
    wide = np.concatenate([face, np.full_like(face, 128)], axis=1)  # one face, then a grey half no face crop holds
    detector.meta = detector.meta.updated({"framing": "faces+image", "threshold": 0.0})  # every region: "fake"
    prediction = detector.predict([wide])[0]
    assert len(prediction.faces) == 1 and prediction.image_p_fake is not None
    crop = prediction.faces[0]["crop"]
    heatmap = explain_prediction(detector, wide, prediction).heatmap
    outside = heatmap[:, crop[0] + crop[2]:]  # right of the face's crop: only the whole-photo region covers it
    assert_heatmap(heatmap, wide)
    assert outside.size and outside.max() > 0
