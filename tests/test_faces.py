"""Face detection and cropping: every face scored at full resolution, max over faces, fallbacks, warnings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from deepfake_detector import Detector
from deepfake_detector.errors import ModelLoadError
from deepfake_detector.faces import Face, FaceDetector, Region, crop_regions, face_region
from deepfake_detector.faces.locate import NO_FACE, locate
from deepfake_detector.inference.analyze import load_input
from deepfake_detector.models import Preprocess
from tests.conftest import ORIGINALS, write_image

REAL_1024 = sorted((ORIGINALS / "real").glob("*.jpg"))


@pytest.fixture(scope="module")
def face_detector() -> FaceDetector:
    return FaceDetector()


def test_face_region_is_a_square_with_margin_inside_the_image() -> None:
    assert face_region((100, 100, 50, 100), 400, 400, margin=0.3) == Region(60, 85, 130, 130)
    near_edge = face_region((0, 0, 80, 100), 400, 300, margin=0.3)
    assert (near_edge.x, near_edge.y, near_edge.w) == (0, 0, 130) and near_edge.w == near_edge.h
    assert face_region((10, 10, 200, 280), 256, 256).w == 256  # larger than the image: clipped


def test_crops_are_cut_at_full_resolution_then_resized() -> None:
    image = np.zeros((1024, 1024, 3), dtype=np.uint8)
    image[512:, 512:] = 255  # only the bottom-right quarter is white
    crops = crop_regions(image, [Region(512, 512, 512, 512), Region(0, 0, 1024, 1024)], Preprocess((64, 64)))
    assert crops.shape == (2, 64, 64, 3) and crops.dtype == np.uint8
    assert crops[0].min() == 255 and 60 < crops[1].mean() < 68  # a quarter white


def test_detects_faces_on_1024_originals(face_detector: FaceDetector) -> None:
    _, image = load_input(REAL_1024[0])
    faces = face_detector.detect(image)
    assert len(faces) == 1 and faces[0].confidence > 0.95
    x, y, w, h = faces[0].box
    assert w > 300 and h > 300 and x + w <= 1024 and y + h <= 1024  # full-resolution coordinates


def test_every_face_is_scored_and_the_image_takes_the_max(tiny_model: Path) -> None:
    detector = Detector.load(tiny_model, device="cpu")
    a, b = (load_input(p)[1] for p in REAL_1024[:2])
    pair = np.concatenate([a, b], axis=1)  # two faces side by side, 1024 x 2048
    p = detector.predict(pair)[0]
    assert len(p.faces) == 2 and p.warning is None
    assert p.p_fake == pytest.approx(max(f["p_fake"] for f in p.faces))
    assert {f["box"][0] >= 1024 for f in p.faces} == {False, True}
    off = detector.predict(pair, faces="off")[0]
    assert off.faces is None and off.p_fake is not None


def test_no_face_falls_back_to_the_whole_image(tiny_model: Path, tmp_path: Path) -> None:
    detector = Detector.load(tiny_model, device="cpu")
    noise = write_image(tmp_path / "noise.png", (90, 90, 90), size=96)
    [p] = detector.predict([noise])
    assert p.faces == [] and p.warning == NO_FACE
    assert p.p_fake == pytest.approx(detector.predict([noise], faces="off")[0].p_fake)
    with pytest.raises(ValueError, match="faces must be"):
        detector.predict([noise], faces="yes")


class FixedFaces:
    """A face detector that finds the given boxes in every image."""

    def __init__(self, *boxes: tuple[int, int, int, int]) -> None:
        self.boxes = boxes

    def detect(self, image: np.ndarray) -> list[Face]:
        return [Face(box, 0.99) for box in self.boxes]


def test_a_photo_can_be_scored_whole_as_well_as_by_its_faces() -> None:
    image, pre = np.zeros((600, 800, 3), dtype=np.uint8), Preprocess((128, 128))
    faces_only = locate(image, "auto", FixedFaces((100, 100, 200, 200)), pre)
    assert faces_only.image is None and faces_only.scored == faces_only.regions == [Region(60, 60, 280, 280)]
    both = locate(image, "auto", FixedFaces((100, 100, 200, 200)), pre, with_image=True)
    assert both.regions == faces_only.regions and both.scored == [Region(60, 60, 280, 280), Region(0, 0, 800, 600)]
    square = np.zeros((256, 256, 3), dtype=np.uint8)  # an aligned face photo: its face's region is the photo
    aligned = locate(square, "auto", FixedFaces((40, 30, 190, 200)), pre, with_image=True)
    assert aligned.scored == [Region(0, 0, 256, 256)]
    none = locate(image, "auto", FixedFaces(), pre, with_image=True)  # no face: the whole image, once
    assert none.scored == [Region(0, 0, 800, 600)] and none.warning == NO_FACE
    assert locate(image, "off", None, pre, with_image=True).scored == [Region(0, 0, 800, 600)]


def test_a_model_framed_faces_plus_image_takes_the_max_of_faces_and_photo(tiny_model: Path) -> None:
    detector = Detector.load(tiny_model, device="cpu")
    a, b = (load_input(p)[1] for p in REAL_1024[:2])
    pair = np.concatenate([a, b], axis=1)
    faces_only = detector.predict(pair)[0]
    assert detector.meta.framing is None and faces_only.image_p_fake is None  # faces only
    detector.meta = detector.meta.updated({"framing": "faces+image"})
    both = detector.predict(pair)[0]
    assert [f["p_fake"] for f in both.faces] == pytest.approx([f["p_fake"] for f in faces_only.faces])
    assert both.image_p_fake == pytest.approx(detector.predict(pair, faces="off")[0].p_fake, abs=1e-6)
    assert both.p_fake == pytest.approx(max(both.image_p_fake, *(f["p_fake"] for f in both.faces)))
    assert detector.predict(pair, faces="off")[0].image_p_fake is None  # faces off: the photo is the one region
    with pytest.raises(ModelLoadError, match="framing"):
        detector.meta.updated({"framing": "whole"})


def test_a_model_framed_faces_plus_image_mean_averages_a_face_that_fills_the_photo(tiny_model: Path) -> None:
    """A portrait with a margin beside it: its face's crop covers most of the photo (72%), so face and photo are
    averaged (logits); three portraits side by side: each face covers a third, so the most suspicious region
    counts."""
    from deepfake_detector.inference.regions import mean_logit

    detector = Detector.load(tiny_model, device="cpu")
    detector.meta = detector.meta.updated({"framing": "faces+image-mean"})
    a, b = (load_input(p)[1] for p in REAL_1024[:2])
    portrait = detector.predict([np.pad(a, ((0, 0), (0, 400), (0, 0)), mode="edge")])[0]
    assert len(portrait.faces) == 1 and portrait.image_p_fake is not None
    assert portrait.p_fake == pytest.approx(mean_logit(portrait.faces[0]["p_fake"], portrait.image_p_fake))
    row = detector.predict([np.concatenate([a, b, a], axis=1)])[0]
    assert len(row.faces) == 3 and row.p_fake == pytest.approx(max(row.image_p_fake, *(f["p_fake"] for f in row.faces)))


def test_small_face_is_warned() -> None:
    where = locate(np.zeros((600, 800, 3), dtype=np.uint8), "auto", FixedFaces((100, 100, 20, 24)),
                   Preprocess((128, 128)))
    assert where.regions == [Region(93, 95, 34, 34)]  # 24 px box + 40% margin
    assert "much smaller than the model input (128 px)" in where.warning


def test_unreadable_file_is_reported_per_file(tiny_model: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    p_bad, p_good = Detector.load(tiny_model, device="cpu").predict([bad, REAL_1024[0]])
    assert p_bad.error and p_bad.p_fake is None and p_good.error is None and len(p_good.faces) == 1
