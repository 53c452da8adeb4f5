"""A photo's score from its regions' (inference/regions.py): the most suspicious counts, except that under framing
faces+image-mean a face filling at least half the photo is averaged with the photo (logits), on known scores."""

from __future__ import annotations

import math

import pytest

from deepfake_detector.faces.crop import Region
from deepfake_detector.faces.detect import Face
from deepfake_detector.faces.locate import Located
from deepfake_detector.inference.regions import OVERLAP, coverage, mean_logit, photo_p_fake

PHOTO = Region(0, 0, 200, 100)


def located(*faces: Region) -> Located:
    return Located(list(faces), [Face((f.x, f.y, f.w, f.h), 0.99) for f in faces], image=PHOTO)


def test_coverage_counts_only_the_part_inside_the_photo() -> None:
    assert coverage(Region(0, 0, 100, 100), 100, 200) == 0.5
    assert coverage(Region(-50, -10, 100, 100), 100, 200) == pytest.approx(50 * 90 / 20_000)
    assert coverage(Region(300, 0, 50, 50), 100, 200) == 0


def test_mean_logit_averages_on_the_logit_scale() -> None:
    assert mean_logit(0.9, 0.5) == pytest.approx(1 / (1 + math.exp(-math.log(9) / 2)))
    assert mean_logit(0.2, 0.8) == pytest.approx(0.5)
    assert 0 < mean_logit(0.0, 1.0) < 1 and mean_logit(1.0, 1.0) == pytest.approx(1.0)


def test_a_face_filling_the_photo_is_averaged_with_it_and_a_small_one_is_not() -> None:
    filling, small = Region(0, 0, 120, 100), Region(150, 10, 30, 30)
    assert coverage(filling, 100, 200) >= OVERLAP > coverage(small, 100, 200)
    mean = "faces+image-mean"
    assert photo_p_fake([0.9, 0.5], located(filling), 100, 200, mean) == pytest.approx(mean_logit(0.9, 0.5))
    assert photo_p_fake([0.9, 0.5], located(small), 100, 200, mean) == 0.9  # other evidence: the larger counts
    # the filling face averaged with the photo, and the larger of that and every other face
    assert photo_p_fake([0.3, 0.95, 0.4], located(filling, small), 100, 200, mean) == 0.95
    assert photo_p_fake([0.9, 0.2, 0.5], located(filling, small), 100, 200, mean) == pytest.approx(
        mean_logit(0.9, 0.5))
    assert photo_p_fake([0.9, 0.5], located(filling), 100, 200, "faces+image") == 0.9  # faces+image: the largest
    no_photo = Located([filling], [Face((0, 0, 120, 100), 0.99)])  # faces only: nothing to average with
    assert photo_p_fake([0.7], no_photo, 100, 200, mean) == 0.7
