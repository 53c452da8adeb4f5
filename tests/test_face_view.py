"""The face-crop training view frames each photo exactly as predict's faces="auto" does."""

from __future__ import annotations

import numpy as np
import torch

from deepfake_detector.config import load_config
from deepfake_detector.data.decode import read_image
from deepfake_detector.faces.detect import FaceDetector
from deepfake_detector.faces.locate import locate
from deepfake_detector.models import create_model
from deepfake_detector.training.face_view import VIEW_NAME, FaceCropView

from .conftest import CROSS, ORIGINALS


def test_the_view_is_predicts_crop_of_the_largest_face() -> None:
    preprocess = create_model("seed_cnn", input_size=32).preprocess
    view = FaceCropView()
    photos = [sorted((ORIGINALS / "real").iterdir())[0], sorted((CROSS / "sfhq-t2i-sdxl" / "fake").rglob("*.jpg"))[0]]
    for path in photos:
        image = read_image(path)
        located = locate(np.ascontiguousarray(image.permute(1, 2, 0).numpy()), "auto", FaceDetector(), preprocess)
        assert located.faces, path
        largest = max(zip(located.faces, located.regions, strict=True), key=lambda fr: fr[0].box[2] * fr[0].box[3])[1]
        cropped = view(image, 0)
        assert torch.equal(cropped, image[:, largest.y:largest.y + largest.h, largest.x:largest.x + largest.w])
    assert cropped.shape[-1] == cropped.shape[-2]  # square, as predict cuts it


def test_a_photo_without_a_face_is_kept_whole() -> None:
    noise = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (3, 120, 160), dtype=np.uint8))
    assert torch.equal(FaceCropView()(noise, 0), noise)


def test_the_view_is_an_augment_option_with_its_own_cache_name() -> None:
    assert load_config(None, ["augment.face_crops=true"]).augment.face_crops
    assert not load_config(None, []).augment.face_crops
    assert VIEW_NAME == "faces-margin0.4"
