"""The shortcut check flags a processing history that a model treats as evidence, and only such a history."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from deepfake_detector.data.discovery import discover
from deepfake_detector.data.histories import HISTORIES, History, parse_histories
from deepfake_detector.data.perturb import Perturbation, parse_perturbations
from deepfake_detector.data.preprocess import Preprocess
from deepfake_detector.evaluation.evaluate import evaluate_samples
from deepfake_detector.evaluation.scoring import score_samples
from deepfake_detector.evaluation.shortcuts import PairedScores, compare_rows
from deepfake_detector.inference.detector import Detector
from deepfake_detector.models import DetectorModel

from .conftest import DATA_140K


class BlurIsFake(DetectorModel):
    """A model with a known shortcut: the less fine detail an image has, the more 'fake' it scores."""

    def __init__(self) -> None:
        super().__init__()
        self.preprocess = Preprocess(input_size=(128, 128))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        detail = (x[..., :, 1:] - x[..., :, :-1]).abs().mean(dim=(1, 2, 3))
        return 20 * (0.1 - detail)


def test_size_resizes_the_longer_side_and_leaves_that_size_alone() -> None:
    image = torch.randint(0, 256, (3, 300, 100), dtype=torch.uint8)
    assert Perturbation("size", 473)(image).shape == (3, 473, 158)
    assert torch.equal(Perturbation("size", 300)(image), image)
    assert [p.name for p in parse_perturbations(["size:256,768"])] == ["size:256", "size:768"]
    with pytest.raises(ValueError, match="side length"):
        parse_perturbations(["size:4"])


def test_histories_are_named_once_and_unknown_names_are_refused() -> None:
    assert HISTORIES["sdxl-tile"].spec == "size:473 > jpeg:75 > size:256 > jpeg:75"
    assert [h.name for h in parse_histories(["sd21", "sd21", "jpeg-q90"])] == ["sd21", "jpeg-q90"]
    with pytest.raises(ValueError, match="known: sdxl-tile"):
        parse_histories(["sdxl"])


def test_paired_rows_on_known_scores() -> None:
    original = np.array([0.1] * 38 + [0.9] * 2)  # 2 of 40 reals flagged
    sources = np.array(["ffhq"] * 20 + ["utk"] * 20)
    raised = original.copy()
    raised[20:38] = 0.8  # the history pushes 18 of the utk reals over the threshold
    rows = {r["reals"]: r for r in compare_rows(PairedScores(sources, original, raised), 0.5, "h")}
    assert rows["all"]["fpr_original"] == pytest.approx(0.05) and rows["all"]["fpr_perturbed"] == pytest.approx(0.5)
    assert rows["all"]["fpr_change"] == pytest.approx(0.45) and rows["all"]["raises_fpr"]
    assert rows["utk"]["fpr_change"] == pytest.approx(0.9) and rows["utk"]["raises_fpr"]
    assert rows["ffhq"]["fpr_change"] == 0 and not rows["ffhq"]["raises_fpr"]
    assert rows["all"]["mean_p_fake_change_ci_low"] > 0
    same = compare_rows(PairedScores(sources, original, original.copy()), 0.5, "h")[0]
    assert (same["fpr_change_ci_low"], same["fpr_change_ci_high"], same["raises_fpr"]) == (0, 0, False)


def test_a_model_that_learned_blur_is_caught_by_a_blur_history(tmp_path: Path) -> None:
    valid = discover(DATA_140K).splits["valid"]
    detector = Detector(BlurIsFake(), {}, "cpu")
    reals = [s for s in valid if s.label == 0]
    # Threshold: 10% of these real photos flagged as they are.
    detector.threshold = float(np.quantile(score_samples(detector, reals, progress=False).p_fake, 0.9))
    blur = History("blur", "a test history", (Perturbation("blur", 2),))
    unchanged = History("same-size", "a test history: size:256 of 256 px photos changes nothing",
                        (Perturbation("size", 256),))
    samples = reals + [s for s in valid if s.label == 1][:40]
    result = evaluate_samples(detector, samples, tmp_path, title="t", subtitle="s", progress=False,
                              shortcuts=[blur, unchanged])
    check = json.loads((tmp_path / "metrics.json").read_text())["shortcuts"]
    assert check == json.loads(json.dumps(result.metrics["shortcuts"]))
    rows = {r["history"]: r for r in check["rows"]}
    assert check["n_reals"] == len(reals) == rows["blur"]["n"]
    assert rows["blur"]["fpr_original"] == pytest.approx(0.1, abs=0.01)
    assert rows["blur"]["fpr_perturbed"] > rows["blur"]["fpr_original_ci_high"] and rows["blur"]["raises_fpr"]
    assert rows["same-size"]["fpr_change"] == 0 and not rows["same-size"]["raises_fpr"]
    assert check["flagged"] == ["blur"]
    with open(tmp_path / "shortcuts.csv", newline="") as fh:
        assert [r["history"] for r in csv.DictReader(fh)] == ["blur", "same-size"]
    report = (tmp_path / "report.html").read_text()
    assert "Shortcut check" in report and "raises FPR" in report
