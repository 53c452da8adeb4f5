"""Metrics come from the confusion matrix and agree with scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from deepfake_detector.evaluation import binary_metrics, confusion_counts, metrics_from_confusion
from deepfake_detector.evaluation.paper import paper_reference


def test_paper_one_matrix_recomputed():
    m = metrics_from_confusion(tp=6982, tn=7018, fp=200, fn=600)
    assert m["n"] == 14800
    assert m["accuracy"] == pytest.approx(14000 / 14800)  # 0.946, not the 0.918 the paper states
    assert m["precision"] == pytest.approx(6982 / 7182)
    assert m["recall"] == pytest.approx(6982 / 7582)
    p, r = 6982 / 7182, 6982 / 7582
    assert m["f1"] == pytest.approx(2 * p * r / (p + r))
    assert m["per_class"]["real"] == pytest.approx(
        {"precision": 7018 / 7618, "recall": 7018 / 7218, "f1": 2 * 7018 / (2 * 7018 + 600 + 200),
         "support": 7218})
    assert paper_reference("seed-cnn")["computed"]["accuracy"] == pytest.approx(0.9459, abs=1e-4)


def test_hand_computed_small_case():
    y = [1, 1, 1, 0, 0, 0, 0]
    s = [0.9, 0.6, 0.2, 0.7, 0.1, 0.3, 0.4]
    assert confusion_counts(y, [int(v >= 0.5) for v in s]) == {"tp": 2, "tn": 3, "fp": 1, "fn": 1}
    m = binary_metrics(y, s, threshold=0.5)
    assert (m["accuracy"], m["precision"], m["recall"]) == pytest.approx((5 / 7, 2 / 3, 2 / 3))
    # AUC by counting: of 12 (fake, real) pairs, the fake scores higher in 4 + 3 + 1 = 8
    assert m["roc_auc"] == pytest.approx(8 / 12)


def test_agrees_with_sklearn_on_random_scores():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    s = np.clip(y * 0.3 + rng.random(500) * 0.7, 0, 1)
    m = binary_metrics(y, s, threshold=0.45)
    pred = (s >= 0.45).astype(int)
    assert m["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert m["precision"] == pytest.approx(precision_score(y, pred))
    assert m["recall"] == pytest.approx(recall_score(y, pred))
    assert m["f1"] == pytest.approx(f1_score(y, pred))
    assert m["per_class"]["real"]["f1"] == pytest.approx(f1_score(y, pred, pos_label=0))
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, s))
    assert m["average_precision"] == pytest.approx(average_precision_score(y, s))


def test_degenerate_inputs_do_not_divide_by_zero():
    m = binary_metrics([0, 0, 0], [0.1, 0.2, 0.3])
    assert m["precision"] == 0.0 and m["recall"] == 0.0 and m["roc_auc"] is None and m["accuracy"] == 1.0
