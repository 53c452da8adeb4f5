"""Grad-CAM (``grad-cam`` library) on the whole model, at each model's ``cam_target`` (a layer, and for a
vision transformer the reshape of its patch tokens to a grid).

The heatmap explains the decision: for an image called fake it shows what raised the fake logit, for one
called real what lowered it, for one called uncertain what raised it (what makes it doubtful). Each scored
region (a face crop, or the whole image) is explained at the model's input size, and its map is pasted back
over the region in the full image.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image

from deepfake_detector.faces.crop import Region, crop_regions
from deepfake_detector.inference.verdict import REAL

if TYPE_CHECKING:
    from deepfake_detector.inference.detector import Detector, Prediction

DISPLAY_SIDE = 512  # longer side of the written overlay


class _Logits(torch.nn.Module):
    """(N,) logit -> (N, 1), the output shape grad-cam expects."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x).reshape(-1, 1)


class _Decision:
    """Grad-CAM target: the fake logit (sign +1) or its negation (the real decision, sign -1)."""

    def __init__(self, sign: float) -> None:
        self.sign = sign

    def __call__(self, output: torch.Tensor) -> torch.Tensor:
        return self.sign * output.reshape(-1)[0]


@dataclass
class Explanation:
    """A heatmap in [0, 1] at full image size and the RGB image it explains."""

    image: np.ndarray  # (H, W, 3) uint8
    heatmap: np.ndarray  # (H, W) float32


def region_maps(detector: Detector, image: np.ndarray, regions: list[Region], fake: list[bool]) -> list[np.ndarray]:
    """One Grad-CAM map (input size) per region of an RGB ``image`` (H, W, 3)."""
    from pytorch_grad_cam import GradCAM, LayerCAM

    crops = torch.from_numpy(crop_regions(image, regions, detector.preprocess)).permute(0, 3, 1, 2)
    batch = detector.transform(crops).to(detector.device)
    maps = []
    for one, is_fake in zip(batch.split(1), fake, strict=True):  # each region may be decided by another part
        part, target = detector.model.explained(one)
        # An input that requires grad makes the graph reach the target layer even when every weight before it
        # is frozen (a frozen encoder: no activation would require grad, and grad-cam would get no gradient).
        one = one.clone().requires_grad_(True)
        method = {"gradcam": GradCAM, "layercam": LayerCAM}[target.method]
        with method(model=_Logits(part), target_layers=[target.layer], reshape_transform=target.reshape) as cam:
            maps.extend(cam(input_tensor=one, targets=[_Decision(1.0 if is_fake else -1.0)]))
        part.zero_grad(set_to_none=True)  # trainable weights' gradients would otherwise stay allocated
    return maps


def explain_image(detector: Detector, image: np.ndarray, regions: list[Region], fake: list[bool]) -> Explanation:
    """Explain each scored region of an RGB ``image`` (H, W, 3); overlapping regions keep the larger value."""
    height, width = image.shape[:2]
    heat = np.zeros((height, width), np.float32)
    for r, m in zip(regions, region_maps(detector, image, regions, fake), strict=True):
        resized = np.asarray(Image.fromarray(m.astype(np.float32)).resize((r.w, r.h), Image.BILINEAR))
        window = heat[r.y:r.y + r.h, r.x:r.x + r.w]
        np.maximum(window, resized, out=window)
    return Explanation(image, np.clip(heat, 0, 1))


def overlay(explanation: Explanation, side: int = DISPLAY_SIDE) -> Image.Image:
    """The heatmap (jet colour map) blended over the photo, longer side at most ``side`` px."""
    from pytorch_grad_cam.utils.image import show_cam_on_image

    photo = Image.fromarray(explanation.image)
    scale = min(1.0, side / max(photo.size))
    size = (max(1, round(photo.width * scale)), max(1, round(photo.height * scale)))
    photo = photo.resize(size, Image.BILINEAR)
    heat = np.asarray(Image.fromarray(explanation.heatmap.astype(np.float32)).resize(size, Image.BILINEAR))
    rgb = np.asarray(photo, dtype=np.float32) / 255.0
    return Image.fromarray(show_cam_on_image(rgb, np.clip(heat, 0, 1), use_rgb=True, image_weight=0.6))


def overlay_png(explanation: Explanation, side: int = DISPLAY_SIDE) -> bytes:
    buf = io.BytesIO()
    overlay(explanation, side).save(buf, format="PNG")
    return buf.getvalue()


def explain_prediction(detector: Detector, image: np.ndarray, prediction: Prediction) -> Explanation:
    """Explain the regions a Prediction scored (its face crops, and the whole image when it was scored too;
    else the whole image)."""
    from deepfake_detector.faces.crop import whole_image

    if prediction.faces:
        regions = [Region(*f["crop"]) for f in prediction.faces]
        fake = [detector.label_for(f["p_fake"]) != REAL for f in prediction.faces]
        if prediction.image_p_fake is not None:  # framing faces+image: the photo's own score may be the verdict's
            regions.append(whole_image(image))
            fake.append(detector.label_for(prediction.image_p_fake) != REAL)
    else:
        regions, fake = [whole_image(image)], [prediction.label != REAL]
    return explain_image(detector, image, regions, fake)


def output_name(path: str | None, index: int) -> str:
    return f"{index:04d}-{Path(path).stem if path else 'image'}.cam.png"


def most_suspicious_frame(prediction: Prediction) -> tuple[np.ndarray, Prediction]:
    """A video's most suspicious sampled frame, and a photo-like Prediction of it (its faces' crops and scores)."""
    from deepfake_detector.inference.prediction import Prediction
    from deepfake_detector.inference.video import details_verdict, sampled_images, suspicious_faces

    frames, video = sampled_images(prediction), prediction.video
    top = suspicious_faces(prediction, 1)
    if not top:  # whole frames were scored
        best = max(video["frames"], key=lambda f: f["p_fake"])
        label = details_verdict(video).label(best["p_fake"])
        return frames[best["frame"]], Prediction(prediction.path, best["p_fake"], label)
    faces = [f for t in video["tracks"] for f in t["frames"] if f["frame"] == top[0]["frame"]]
    return frames[top[0]["frame"]], Prediction(prediction.path, top[0]["p_fake"], prediction.label, faces=faces)


def write_explanations(detector: Detector, predictions: list[Prediction], out_dir: str | Path) -> dict[int, Path]:
    """Write one overlay PNG per readable file prediction into ``out_dir`` (for a video: its most suspicious
    frame); returns ``{index: png path}``."""
    from deepfake_detector.inference.analyze import load_input
    from deepfake_detector.utils.atomic import atomic_path

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[int, Path] = {}
    for i, p in enumerate(predictions):
        if p.error is not None or p.path is None:
            continue
        target = out / output_name(p.path, i)
        image, scored = most_suspicious_frame(p) if p.video else (load_input(p.path)[1], p)
        with atomic_path(target) as tmp:
            tmp.write_bytes(overlay_png(explain_prediction(detector, image, scored)))
        written[i] = target
    return written
