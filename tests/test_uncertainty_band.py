"""The uncertain band on known validation scores: hand-checked bands, the edge cases, and the fewest-inside
choice checked against an exhaustive search over every pair of edges."""

from __future__ import annotations

import numpy as np
import pytest

from deepfake_detector.evaluation.uncertainty import BandUnreachableError, UncertainBand, band_rates, choose_band

SEPARABLE = ([0, 0, 0, 0, 1, 1, 1, 1], [0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9])
# At 0.55: real verdicts .1R .2R .3R .5F, fake verdicts .6F .7F .75R .9F: 6 of 8 right.
OVERLAP = ([0, 0, 0, 0, 1, 1, 1, 1], [0.1, 0.2, 0.3, 0.75, 0.5, 0.6, 0.7, 0.9])


def _verdict_rates(y, p, band: UncertainBand) -> tuple[float, float]:
    """Share inside and accuracy outside, straight from the verdict rule (p >= high fake, p < low real)."""
    y, p = np.asarray(y), np.asarray(p)
    inside = (p >= band.low) & (p < band.high)
    right = np.where(p >= band.high, y == 1, y == 0)[~inside]
    return inside.mean(), right.mean()


def test_an_already_accurate_threshold_gets_an_empty_band():
    band = choose_band(*SEPARABLE, threshold=0.5, target_accuracy=0.98)
    assert band.low == band.high == 0.5
    assert (band.share, band.confident_accuracy, band.n, band.policy) == (0.0, 1.0, 8, "accuracy:0.98")
    assert choose_band(*OVERLAP, threshold=0.55, target_accuracy=0.75).low == 0.55  # 6/8 meets 0.75 exactly


@pytest.mark.parametrize(("target", "low", "high", "share", "accuracy"), [
    (0.8, 0.4, 0.55, 1 / 8, 6 / 7),  # only the fake at .5 goes uncertain: 6 of the other 7 right
    (0.98, 0.4, 0.825, 4 / 8, 1.0),  # also .6F .7F and the real at .75: the rest all right
])
def test_band_on_known_scores(target, low, high, share, accuracy):
    band = choose_band(*OVERLAP, threshold=0.55, target_accuracy=target)
    assert (band.low, band.high) == pytest.approx((low, high))
    assert (band.share, band.confident_accuracy) == pytest.approx((share, accuracy))
    assert _verdict_rates(*OVERLAP, band) == pytest.approx((share, accuracy))
    assert band.target_accuracy == target


def test_unreachable_target_says_so():
    with pytest.raises(BandUnreachableError, match="no uncertain band reaches 0.98 confident accuracy on the 2 "
                                                   r"validation inputs \(the threshold alone is right 0.000"):
        choose_band([1, 0], [0.2, 0.8], threshold=0.5)
    with pytest.raises(ValueError, match="target accuracy"):
        choose_band(*OVERLAP, threshold=0.55, target_accuracy=1.5)


def test_a_score_of_one_stays_fake():
    # The real scored 1.0 cannot go inside a band (high <= 1), so no band makes the fake verdicts right.
    with pytest.raises(BandUnreachableError):
        choose_band([0, 1, 0], [0.1, 0.9, 1.0], threshold=0.5, target_accuracy=0.98)
    band = choose_band([0, 1, 1], [0.1, 0.9, 1.0], threshold=0.95, target_accuracy=0.98)  # .9 is called real
    assert (band.low, band.high, band.share) == pytest.approx((0.5, 0.95, 1 / 3))


def test_model_json_round_trip():
    band = choose_band(*OVERLAP, threshold=0.55, target_accuracy=0.8)
    assert UncertainBand.from_dict(band.to_dict()) == band
    assert set(band.to_dict()) == {"low", "high", "policy", "selection"}


def _exhaustive(y: np.ndarray, p: np.ndarray, threshold: float, target: float) -> tuple[int, float] | None:
    """Fewest inside (then best accuracy) over every pair of edges the scores allow, by brute force."""
    lows = {threshold, *p[p < threshold]}
    highs = {threshold, *(np.nextafter(v, np.inf) for v in p[p >= threshold] if v < 1)}
    best = None
    for low in lows:
        for high in highs:
            rates = band_rates(y, p, low, high, np.ones((1, len(y))))
            accuracy = rates["confident_accuracy"][0]
            if accuracy >= target:
                key = (round(rates["uncertain_share"][0] * len(y)), -accuracy)
                best = key if best is None else min(best, key)
    return best


def test_fewest_inside_matches_an_exhaustive_search():
    rng = np.random.default_rng(0)
    for _ in range(150):
        n = int(rng.integers(1, 20))
        y = rng.integers(0, 2, n)
        p = np.round(np.clip(0.5 + (y - 0.5) * rng.uniform(0, 1) + rng.normal(0, 0.3, n), 0, 1), 1)  # ties
        threshold, target = float(rng.choice([0.35, 0.5, 0.65])), float(rng.choice([0.8, 0.9, 1.0]))
        expected = _exhaustive(y, p, threshold, target)
        try:
            band = choose_band(y, p, threshold, target)
        except BandUnreachableError:
            assert expected is None
            continue
        share, accuracy = _verdict_rates(y, p, band)
        assert band.low <= threshold <= band.high <= 1
        assert expected == (round(share * n), -accuracy)
        assert (band.share, band.confident_accuracy) == pytest.approx((share, accuracy))
