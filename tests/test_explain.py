"""Grad-CAM on the full model, the explain command, predict --explain/--report."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from deepfake_detector import Detector
from deepfake_detector.cli import main
from deepfake_detector.explain import explain_image
from deepfake_detector.faces import whole_image
from deepfake_detector.inference.analyze import load_input
from deepfake_detector.models import cam_layer, create_model
from tests.conftest import ORIGINALS, write_image

FACE = sorted((ORIGINALS / "fake").glob("*.jpg"))[0]


def test_each_model_names_its_last_conv_stage() -> None:
    seed = create_model("seed_cnn", input_size=32, channels=[4, 8])
    assert cam_layer(seed) is seed.features[-3]
    mobile = create_model("mobilenet_v2")
    assert cam_layer(mobile) is mobile.backbone.features[-1]
    resnet = create_model("timm:resnet18")
    assert cam_layer(resnet) is resnet.backbone.layer4


@pytest.mark.parametrize("model", ["seed_cnn", "mobilenet_v2"])
def test_gradcam_heatmap_covers_the_image(model: str, tmp_path: Path) -> None:
    from deepfake_detector.models.artifacts import save_model

    args = {"input_size": 32, "channels": [4, 8], "dense": 8} if model == "seed_cnn" else {}
    folder = save_model(create_model(model, **args), tmp_path / model, name=model, args=args, threshold=0.5)
    detector = Detector.load(folder, device="cpu")
    image = np.ascontiguousarray(load_input(FACE)[1][::4, ::4])  # 256 px keeps the test fast
    for fake in (True, False):
        e = explain_image(detector, image, [whole_image(image)], [fake])
        assert e.heatmap.shape == (256, 256) and e.image.shape == (256, 256, 3)
        assert e.heatmap.min() >= 0 and e.heatmap.max() <= 1 and np.isfinite(e.heatmap).all()


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
