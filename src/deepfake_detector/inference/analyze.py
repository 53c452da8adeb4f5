"""Face-aware prediction: score every face crop (full resolution) of each image; image score = max."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch
from tqdm.auto import tqdm

from deepfake_detector.data.arrays import to_uint8_chw
from deepfake_detector.data.decode import read_image
from deepfake_detector.data.preprocess import size_warning
from deepfake_detector.errors import ImageDecodeError
from deepfake_detector.faces.crop import crop_regions
from deepfake_detector.faces.locate import Located, locate
from deepfake_detector.inference.prediction import Prediction

if TYPE_CHECKING:
    from deepfake_detector.inference.detector import Detector, ImageInput


def load_input(item: ImageInput) -> tuple[str | None, torch.Tensor]:
    """``(path or None, RGB uint8 (3, H, W))`` for a file or an in-memory image."""
    if isinstance(item, str | Path):
        return str(item), read_image(item)
    return None, to_uint8_chw(item, "in-memory image")


def analyze_image(detector: Detector, image: torch.Tensor, faces: str = "auto",
                  path: str | None = None) -> tuple[Prediction, Located]:
    """Score one decoded image; the Prediction lists each face's box, crop and P(fake)."""
    face_detector = detector.face_detector if faces == "auto" else None
    where = locate(image, faces, face_detector, detector.preprocess)
    scores = detector.scores(detector.transform(crop_regions(image, where.regions, detector.preprocess))).tolist()
    p = max(scores)
    face_rows = [{"box": list(f.box), "crop": r.box, "confidence": round(f.confidence, 4), "p_fake": s}
                 for f, r, s in zip(where.faces, where.regions, scores, strict=False)]
    listed = face_rows if faces == "auto" else None
    return Prediction(path, p, detector.label_for(p), None, listed, where.warning), where


def predict_with_faces(detector: Detector, items: list[ImageInput], faces: str = "auto",
                       progress: bool = False) -> list[Prediction]:
    """One Prediction per input; unreadable files get ``error`` and do not stop the others."""
    results = []
    for item in tqdm(items, desc="Scoring", unit="img", disable=not progress, leave=False):
        try:
            path, image = load_input(item)
        except ImageDecodeError as exc:
            results.append(Prediction(str(item) if isinstance(item, str | Path) else None, None, None, str(exc)))
            continue
        prediction = analyze_image(detector, image, faces, path)[0]
        small = size_warning(*image.shape[-2:], detector.preprocess.input_size)
        prediction.warning = "; ".join(w for w in (small, prediction.warning) if w) or None
        results.append(prediction)
    return results
