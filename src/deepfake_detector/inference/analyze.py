"""Face-aware prediction: score every face crop (full resolution) of each image; image score = max."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
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


def _face_rows(located: Located, scores: list[float], faces: str) -> list[dict] | None:
    if faces != "auto":
        return None
    return [{"box": list(f.box), "crop": r.box, "confidence": round(f.confidence, 4), "p_fake": s}
            for f, r, s in zip(located.faces, located.regions, scores, strict=False)]


def _prediction(detector: Detector, path: str | None, image: torch.Tensor, located: Located, scores: list[float],
                faces: str) -> Prediction:
    """Image score = max over its regions; warnings of the framing and of a tiny image."""
    p = max(scores)
    small = size_warning(*image.shape[-2:], detector.preprocess.input_size)
    warning = "; ".join(w for w in (small, located.warning) if w) or None
    return Prediction(path, p, detector.label_for(p), None, _face_rows(located, scores, faces), warning)


def score_located(detector: Detector, images: list[torch.Tensor], located: list[Located],
                  batch_size: int = 32) -> list[list[float]]:
    """P(fake) of every region of every image, the crops of all images batched together."""
    crops = [crop_regions(image, where.regions, detector.preprocess) for image, where in zip(images, located,
                                                                                             strict=True)]
    flat = torch.cat(crops) if crops else torch.zeros(0)
    scores: list[float] = []
    for start in range(0, len(flat), batch_size):
        scores += detector.scores(detector.transform(flat[start:start + batch_size])).tolist()
    out, offset = [], 0
    for c in crops:
        out.append(scores[offset:offset + len(c)])
        offset += len(c)
    return out


def analyze_image(detector: Detector, image: torch.Tensor, faces: str = "auto",
                  path: str | None = None) -> tuple[Prediction, Located]:
    """Score one decoded image (the server's path: the same steps as :func:`predict_with_faces`)."""
    where = locate(image, faces, detector.face_detector if faces == "auto" else None, detector.preprocess)
    (scores,) = score_located(detector, [image], [where])
    return _prediction(detector, path, image, where, scores, faces), where


def predict_with_faces(detector: Detector, items: list[ImageInput], faces: str = "auto",
                       progress: bool = False, batch_size: int = 32) -> list[Prediction]:
    """One Prediction per input; unreadable files get ``error`` and do not stop the others.

    Per chunk of ``batch_size`` inputs: decode and find faces (two threads, so decoding overlaps the face
    detector), then score the face crops of all images of the chunk in batches.
    """
    face_detector = detector.face_detector if faces == "auto" else None

    def prepare(item: ImageInput) -> tuple[str | None, torch.Tensor, Located] | Prediction:
        try:
            path, image = load_input(item)
        except ImageDecodeError as exc:
            return Prediction(str(item) if isinstance(item, str | Path) else None, None, None, str(exc))
        return path, image, locate(image, faces, face_detector, detector.preprocess)

    results: list[Prediction] = []
    with ThreadPoolExecutor(max_workers=2) as pool, tqdm(total=len(items), desc="Scoring", unit="img",
                                                          disable=not progress, leave=False) as bar:
        for start in range(0, len(items), batch_size):
            prepared = list(pool.map(prepare, items[start:start + batch_size]))
            ready = [p for p in prepared if not isinstance(p, Prediction)]
            scores = iter(score_located(detector, [p[1] for p in ready], [p[2] for p in ready], batch_size))
            for p in prepared:
                results.append(p if isinstance(p, Prediction) else _prediction(detector, p[0], p[1], p[2],
                                                                                 next(scores), faces))
            bar.update(len(prepared))
    return results
