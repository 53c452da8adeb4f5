"""The prediction pipeline: decode -> where to look (faces or the whole image) -> crops at the model input,
batched across images -> model -> per-image score (the most suspicious of its regions, a face filling the photo
averaged with it under framing faces+image-mean: :mod:`deepfake_detector.inference.regions`) ->
:class:`Prediction`.

Images travel as RGB uint8 NumPy arrays ``(H, W, 3)``, so the pipeline needs no torch: the predictor's
:meth:`~deepfake_detector.inference.scorer.Scorer.logits` is the only model-specific step.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tqdm.auto import tqdm

from deepfake_detector.config import WITH_IMAGE
from deepfake_detector.data.arrays import to_uint8_hwc
from deepfake_detector.data.pillow_decode import decode_rgb_array, read_bytes
from deepfake_detector.data.preprocess import size_warning
from deepfake_detector.errors import ImageDecodeError
from deepfake_detector.faces.crop import crop_regions
from deepfake_detector.faces.locate import Located, check_mode, locate
from deepfake_detector.inference.prediction import Prediction
from deepfake_detector.inference.regions import mean_logit, photo_p_fake
from deepfake_detector.provenance.combine import decide

if TYPE_CHECKING:
    from deepfake_detector.inference.scorer import ImageInput, Scorer
    from deepfake_detector.provenance.read import Provenance

# ``alter(decoded image, input index) -> image``: a change applied right after decoding (evaluation's
# robustness and shortcut checks put every photo through a processing history this way).
Alter = Callable[[np.ndarray, int], np.ndarray]


def load_input(item: ImageInput) -> tuple[str | None, np.ndarray]:
    """``(path or None, RGB uint8 (H, W, 3))`` for a file or an in-memory image."""
    if isinstance(item, str | Path):
        return str(item), decode_rgb_array(read_bytes(item), str(item))
    return None, to_uint8_hwc(item, "in-memory image")


def _face_rows(predictor: Scorer, located: Located, scores: list[float], faces: str) -> list[dict] | None:
    """One row per face: where it is, how sure the detector was, its P(fake) and its own verdict."""
    if faces != "auto":
        return None
    return [{"box": list(f.box), "crop": r.box, "confidence": round(f.confidence, 4), "p_fake": s,
             "label": predictor.label_for(s)}
            for f, r, s in zip(located.faces, located.regions, scores, strict=False)]


def to_prediction(predictor: Scorer, path: str | None, image: np.ndarray, located: Located,
                  scores: list[float], faces: str) -> Prediction:
    """Image score from its regions' (its faces, and the whole image if scored with them: the model's framing);
    warnings of the framing and of a tiny image."""
    p = photo_p_fake(scores, located, *image.shape[:2], predictor.meta.framing)
    small = size_warning(*image.shape[:2], predictor.preprocess.input_size)
    warning = "; ".join(w for w in (small, located.warning) if w) or None
    return Prediction(path, p, predictor.label_for(p), None, _face_rows(predictor, located, scores, faces),
                      warning, image_p_fake=scores[-1] if located.image else None)


def with_provenance(prediction: Prediction, provenance: Provenance | None) -> Prediction:
    """The rule of :mod:`deepfake_detector.provenance.combine` applied to one scored prediction: the label
    (unchanged, or "fake" when the file declares AI generation), its ``reason``, the provenance and its
    warnings. ``provenance`` None (not read) leaves the detector's verdict; an unreadable file is left as is."""
    if prediction.label is None:
        return prediction
    decision = decide(prediction.label, provenance)
    warning = "; ".join([*filter(None, [prediction.warning]), *decision.warnings]) or None
    return replace(prediction, label=decision.label, reason=decision.reason, warning=warning,
                   provenance=None if provenance is None else provenance.to_dict())


def mirrored(crops: np.ndarray) -> np.ndarray:
    """uint8 crops ``(N, H, W, 3)`` mirrored left to right: the second look."""
    return np.ascontiguousarray(crops[:, :, ::-1])


def _scored(score: Callable[[np.ndarray], np.ndarray], crops: list[np.ndarray],
            batch_size: int) -> list[list[float]]:
    """``score`` of every crop of every photo (one array of crops per photo), all photos' crops batched together."""
    flat = np.concatenate(crops)
    scores = np.concatenate([score(flat[start:start + batch_size])
                             for start in range(0, len(flat), batch_size)]).tolist()
    bounds = np.cumsum([0, *map(len, crops)])
    return [scores[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _averaged(*looks: list[float]) -> list[float]:
    """Each region's score over several looks at it: the mean of their logits (one look: its scores as they are)."""
    if len(looks) == 1:
        return looks[0]
    return [mean_logit(*region) for region in zip(*looks, strict=True)]


def score_located(predictor: Scorer, images: list[np.ndarray], located: list[Located],
                  batch_size: int = 32) -> list[list[float]]:
    """P(fake) of every region of every image, the crops of all images batched together.

    A photo whose score lands near a verdict boundary is looked at again, mirrored, when the model asks for a
    second look (model.json ``second_look``): each region's score becomes the mean logit of the two looks. One
    that a reduced-precision engine put near a boundary is then scored again in fp32 (:func:`_in_fp32`)."""
    crops = [crop_regions(image, where.scored, predictor.preprocess) for image, where in zip(images, located,
                                                                                           strict=True)]
    if not crops:
        return []

    def photo(i: int, scores: list[float]) -> float:
        return photo_p_fake(scores, located[i], *images[i].shape[:2], predictor.meta.framing)

    scores = _scored(predictor.p_fake, crops, batch_size)
    twice = [i for i, first in enumerate(scores) if predictor.looks_twice(photo(i, first))]
    if twice:
        for i, again in zip(twice, _scored(predictor.p_fake, [mirrored(crops[i]) for i in twice], batch_size),
                            strict=True):
            scores[i] = _averaged(scores[i], again)
    looked_twice = set(twice)
    return [_in_fp32(predictor, [c, mirrored(c)] if i in looked_twice else [c])
            if predictor.near_boundary(photo(i, s)) else s for i, (c, s) in enumerate(zip(crops, scores, strict=True))]


def _in_fp32(predictor: Scorer, looks: list[np.ndarray]) -> list[float]:
    """A photo's regions scored in fp32 (over each of its ``looks``), for a photo a reduced-precision engine put
    near a verdict boundary: a photo's score is made of several regions' (the largest, or a mean), each within
    the engine's error of fp32, so its verdict is fp32's once the photos near a boundary are scored in fp32
    (inference/recheck.py)."""
    return _averaged(*(predictor.exact_p_fake(crops).tolist() for crops in looks))


def locate_in(predictor: Scorer, image: np.ndarray, faces: str, photo: bool = True) -> Located:
    """Where to look in one image: its faces (``faces="auto"``) or the whole of it. A photo (not a video
    frame, whose evidence is its face tracks) is also scored whole when the model's ``framing`` says so."""
    face_detector = predictor.face_detector if check_mode(faces) == "auto" else None
    return locate(image, faces, face_detector, predictor.preprocess,
                  with_image=photo and predictor.meta.framing in WITH_IMAGE)


def analyze_image(predictor: Scorer, image: np.ndarray, faces: str = "auto",
                  path: str | None = None) -> tuple[Prediction, Located]:
    """Score one decoded image (the server's path: the same steps as :func:`predict_with_faces`)."""
    where = locate_in(predictor, image, faces)
    (scores,) = score_located(predictor, [image], [where])
    return to_prediction(predictor, path, image, where, scores, faces), where


def predict_with_faces(predictor: Scorer, items: list[ImageInput], faces: str = "auto",
                       progress: bool = False, batch_size: int = 32, alter: Alter | None = None) -> list[Prediction]:
    """One Prediction per input; unreadable files get ``error`` and do not stop the others.

    Per chunk of ``batch_size`` inputs: decode (then ``alter``, if given) and find faces (two threads), then
    score the crops of all images of the chunk in batches, while the threads already prepare the next chunk.
    """
    check_mode(faces)

    def prepare(index: int) -> tuple[str | None, np.ndarray, Located] | Prediction:
        item = items[index]
        try:
            path, image = load_input(item)
        except ImageDecodeError as exc:
            return Prediction(str(item) if isinstance(item, str | Path) else None, None, None, str(exc))
        if alter is not None:
            image = alter(image, index)
        return path, image, locate_in(predictor, image, faces)

    chunks = [range(start, min(start + batch_size, len(items))) for start in range(0, len(items), batch_size)]
    results: list[Prediction] = []
    with ThreadPoolExecutor(max_workers=2) as pool, tqdm(total=len(items), desc="Scoring", unit="img",
                                                          disable=not progress, leave=False) as bar:
        pending = [pool.submit(prepare, i) for i in chunks[0]] if chunks else []
        for k in range(len(chunks)):
            prepared = [job.result() for job in pending]
            # the next chunk is decoded and searched for faces while this one is scored
            pending = [pool.submit(prepare, i) for i in chunks[k + 1]] if k + 1 < len(chunks) else []
            ready = [p for p in prepared if not isinstance(p, Prediction)]
            scores = iter(score_located(predictor, [p[1] for p in ready], [p[2] for p in ready], batch_size))
            for p in prepared:
                results.append(p if isinstance(p, Prediction) else to_prediction(predictor, *p, next(scores), faces))
            bar.update(len(prepared))
    return results
