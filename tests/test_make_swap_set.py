"""``scripts/make_swap_set.py``'s clips swapped frame by frame, on real shared faces."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from deepfake_detector.data.blending import swap_faces
from deepfake_detector.faces.detect import FaceDetector

from .conftest import DATA_140K, scripts_imported

PHOTOS = sorted((DATA_140K / "real_vs_fake" / "real-vs-fake" / "valid" / "real").glob("*.jpg"))[:2]


@pytest.fixture(scope="module")
def scripts():
    yield from scripts_imported("make_swap_set", "make_video_set")


def test_a_clip_shows_the_views_its_boxes_name_and_carries_points_into_them(scripts) -> None:
    _, video = scripts
    photo = Image.open(PHOTOS[0]).convert("RGB")
    boxes = video.ken_burns_boxes(photo.size, 4, np.random.default_rng(3))
    frames = video.ken_burns(photo, 4, np.random.default_rng(3))
    assert len(frames) == 4 and not np.array_equal(frames[0], frames[-1])  # it moves
    left, top, right, bottom = boxes[-1]
    corners = video.in_frame(np.array([[left, top], [right, bottom]]), boxes[-1], photo.size)
    np.testing.assert_allclose(corners, [[0, 0], list(photo.size)], atol=1e-9)


def test_every_frame_is_swapped_anew_inside_the_face_only(scripts) -> None:
    swap_set, video = scripts
    detector = FaceDetector(min_face_px=32)
    images = [np.asarray(Image.open(p).convert("RGB")) for p in PHOTOS]
    (target, donor), points = images, [np.array(detector.detect(im)[0].landmarks) for im in images]
    photo = Image.fromarray(target)
    boxes = video.ken_burns_boxes(photo.size, 3, np.random.default_rng(1))
    frames = video.ken_burns(photo, 3, np.random.default_rng(1))

    def swapped(seed: int) -> list[np.ndarray]:
        return swap_set.per_frame_swap(frames, boxes, points[0], donor, points[1], np.random.default_rng(seed),
                                       seamless=False)

    fakes = swapped(0)
    changed = [np.abs(f.astype(int) - r.astype(int)).max(axis=2) > 0 for f, r in zip(fakes, frames, strict=True)]
    assert all(c.any() for c in changed)
    for c, box in zip(changed, boxes, strict=True):  # only around the face, wherever the frame shows it
        ys, xs = np.nonzero(c)
        face = video.in_frame(points[0], box, photo.size)
        (x0, y0), (x1, y1) = face.min(0), face.max(0)
        reach = 1.5 * max(x1 - x0, y1 - y0)
        assert xs.min() > x0 - reach and xs.max() < x1 + reach and ys.min() > y0 - reach and ys.max() < y1 + reach
    assert not np.array_equal(changed[0], changed[1])  # a fresh mask each frame: the pasted face flickers
    assert all(np.array_equal(a, b) for a, b in zip(swapped(0), fakes, strict=True))  # seeded


def test_a_donor_at_a_swap_models_resolution_loses_detail_but_not_its_size(scripts) -> None:
    swap_set, _ = scripts
    donor = np.asarray(Image.open(PHOTOS[1]).convert("RGB"))
    points = np.array(FaceDetector(min_face_px=32).detect(donor)[0].landmarks)
    face = swap_set.FACE_PER_EYE_GAP * np.linalg.norm(points[1] - points[0])

    def detail(image: np.ndarray) -> float:  # high frequencies: the mean absolute difference of neighbours
        return float(np.abs(np.diff(image.astype(float), axis=1)).mean())

    soft, softer = swap_set.at_face_width(donor, points, 96), swap_set.at_face_width(donor, points, 48)
    assert soft.shape == softer.shape == donor.shape
    assert detail(softer) < detail(soft) < detail(donor)
    assert swap_set.at_face_width(donor, points, int(face) + 1) is donor  # already that coarse: left as it is


def test_a_wide_shot_shows_each_frame_small_inside_a_larger_one(scripts) -> None:
    swap_set, video = scripts
    frames = video.ken_burns(Image.open(PHOTOS[0]).convert("RGB"), 2, np.random.default_rng(0))
    shots = swap_set.wide_shot(frames)
    width, height = swap_set.WIDE_FRAME
    assert [s.shape for s in shots] == [(height, width, 3)] * 2
    differs = (shots[0] != shots[0][0, 0]).any(axis=2)  # what is not the grey background: the photo
    ys, xs = np.nonzero(differs)
    assert ys.max() - ys.min() + 1 == swap_set.WIDE_PHOTO_PX and xs.max() < width // 2  # that tall, left of centre
    assert not np.array_equal(shots[0], shots[1])  # the zoom and pan carry through


def test_the_bundled_default_tells_a_wide_shot_swap_from_its_real_target(scripts, tmp_path: Path) -> None:
    """The video path on a swapped clip, as users get it: the default model at its stored video point, two test
    photos (never used to choose it) filmed as a wide shot, one with the other's face pasted in."""
    from deepfake_detector.inference.detector import Detector
    from deepfake_detector.inference.video import VideoOptions

    swap_set, video = scripts
    reals = sorted((DATA_140K / "real_vs_fake" / "real-vs-fake" / "test" / "real").glob("*.jpg"))[:2]
    images = [np.asarray(Image.open(p).convert("RGB")) for p in reals]
    detector = FaceDetector(min_face_px=32)
    (target, donor), points = images, [np.array(detector.detect(im)[0].landmarks) for im in images]
    swap = swap_faces(target, points[0], donor, points[1], np.random.default_rng(0)).image
    clips = {}
    for label, image in (("real", target), ("fake", swap)):
        frames = video.ken_burns(Image.fromarray(image), 4, np.random.default_rng(0))  # the same camera for both
        video.write_h264(clips.setdefault(label, tmp_path / f"{label}.mp4"), swap_set.wide_shot(frames))
    real, fake = Detector.load("default").predict([clips["real"], clips["fake"]], progress=False,
                                                  video=VideoOptions(frames=4))
    assert real.video["threshold_from"] == fake.video["threshold_from"] == "video validation"
    assert fake.p_fake > real.p_fake and fake.label != "real" and real.label != "fake"
