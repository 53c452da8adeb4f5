"""Blended fakes made from real faces: the traces face swaps and reenactments leave, without any deepfake.

A face swapped or re-animated inside a real photo or video is pasted into its surroundings: a blending
boundary, and colour and sharpness that differ between the inner face and the rest. Self-Blended Images
(SBI; Shiohara & Yamasaki, CVPR 2022) teach a detector exactly that from real faces alone: a real face is
blended into a slightly altered copy of itself (colour, sharpness, scale and position jitter) through a mask
around its landmarks, deformed and blurred. Face X-ray (Li et al., CVPR 2020) blends a *different* real face,
aligned on the landmarks and colour-matched, the same way: our own synthetic face swaps. Either can cover one or
more facial parts (eyes, nose, mouth) instead of the whole inner face, as region-level blends do (SLADD, Chen
et al., CVPR 2022): the traces of a hand edit of a part, where a whole-face mask teaches only a face's outline.

Everything here is a pure function of its inputs and a NumPy ``Generator``: seed it from (seed, view, index)
and the same training image gives the same fake in every run, so a frozen backbone's features of it can be
cached. Images are RGB uint8 ``(H, W, 3)``; landmarks are MTCNN's five points ``(x, y)`` in pixels (left eye,
right eye, nose, left and right mouth corner: ``faces.detect.LANDMARKS``). ``training/blend_view.py`` finds
them and makes a training view of blends.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import cv2
import numpy as np

from deepfake_detector.config import BlendConfig
from deepfake_detector.data.samples import FAKE, Sample

Landmarks = np.ndarray  # (5, 2) float: eyes, nose, mouth corners

# Where the five landmarks sit in an aligned face crop (FFHQ / UTKFace style), as fractions of the side: used
# when no face is found in an image that is known to be a face crop.
ALIGNED_LANDMARKS = np.array([[0.37, 0.47], [0.63, 0.47], [0.50, 0.60], [0.40, 0.72], [0.60, 0.72]])
BLEND_RATIOS = (0.25, 0.5, 0.75, 1.0, 1.0, 1.0)  # SBI's mask strengths: mostly a full paste, sometimes a mix
_RECIPE_VERSION = "1"  # bump when the blending code changes what a view looks like (cached features)
# Poisson-cloned swaps have their own, so recipes without them keep their names: 2 clones the whole face (1 kept
# only the 3-pixel rim that OpenCV's seamlessClone leaves in the mask it is given)
_SEAMLESS_VERSION = "2"


@dataclass(frozen=True)
class Blend:
    """A blended fake and its mask: the weight ``[0, 1]`` of the pasted face at every pixel."""

    image: np.ndarray  # uint8 (H, W, 3)
    mask: np.ndarray  # float32 (H, W)


def face_outline(landmarks: Landmarks, rng: np.random.Generator) -> np.ndarray:
    """A jittered ellipse around the inner face (brows to chin, cheek to cheek), as polygon points ``(N, 2)``."""
    left_eye, right_eye, _, mouth_left, mouth_right = np.asarray(landmarks, dtype=np.float64)
    eyes, mouth = (left_eye + right_eye) / 2, (mouth_left + mouth_right) / 2
    eye_span = max(float(np.linalg.norm(right_eye - left_eye)), 4.0)
    face_height = max(float(np.linalg.norm(mouth - eyes)), 4.0)
    # As SBI's landmark hull: brows (~0.4 of the eye-mouth distance above the eyes) to chin (~1.4 below).
    centre = eyes + (mouth - eyes) * rng.uniform(0.4, 0.55)
    half_width = eye_span * rng.uniform(0.8, 1.0)
    half_height = face_height * rng.uniform(0.85, 1.0)
    angle = float(np.degrees(np.arctan2(*(right_eye - left_eye)[::-1])))
    return cv2.ellipse2Poly((round(centre[0]), round(centre[1])), (round(half_width), round(half_height)),
                            round(angle), 0, 360, 8)


def part_outlines(landmarks: Landmarks, rng: np.random.Generator) -> list[np.ndarray]:
    """Jittered ellipses around a random non-empty set of facial parts (each eye with its brow, the nose, the
    mouth), as polygons ``(N, 2)``."""
    left_eye, right_eye, nose, mouth_left, mouth_right = np.asarray(landmarks, dtype=np.float64)
    eye_span = max(float(np.linalg.norm(right_eye - left_eye)), 4.0)
    mouth_span = max(float(np.linalg.norm(mouth_right - mouth_left)), 3.0)
    up = (left_eye + right_eye) / 2 - (mouth_left + mouth_right) / 2
    up /= max(float(np.linalg.norm(up)), 1e-6)
    angle = round(float(np.degrees(np.arctan2(*(right_eye - left_eye)[::-1]))))
    # (centre, half width, half height) of each part, from the landmarks and the eye span
    parts = [(eye + up * eye_span * rng.uniform(0.0, 0.15), eye_span * rng.uniform(0.3, 0.42),
              eye_span * rng.uniform(0.18, 0.32)) for eye in (left_eye, right_eye)]
    parts.append((nose + up * eye_span * rng.uniform(0.15, 0.3), eye_span * rng.uniform(0.22, 0.32),
                  eye_span * rng.uniform(0.4, 0.55)))
    parts.append(((mouth_left + mouth_right) / 2, mouth_span * rng.uniform(0.65, 0.85),
                  mouth_span * rng.uniform(0.3, 0.45)))
    chosen = rng.random(len(parts)) < 0.5
    if not chosen.any():
        chosen[rng.integers(len(parts))] = True
    return [cv2.ellipse2Poly((round(c[0]), round(c[1])), (max(1, round(w)), max(1, round(h))), angle, 0, 360, 8)
            for (c, w, h), keep in zip(parts, chosen, strict=True) if keep]


def blend_mask(shape: tuple[int, int], landmarks: Landmarks, rng: np.random.Generator,
               strengths: tuple[float, ...] = BLEND_RATIOS, parts: bool = False) -> np.ndarray:
    """SBI's mask: the face outline (or, with ``parts``, outlines of some facial parts), elastically deformed,
    blurred, times a strength drawn from ``strengths``; float32 ``(H, W)``."""
    height, width = shape
    mask = np.zeros((height, width), np.float32)
    for outline in part_outlines(landmarks, rng) if parts else [face_outline(landmarks, rng)]:
        cv2.fillConvexPoly(mask, outline, 1.0)
    # Elastic deformation: a smooth random displacement field, a few percent of the face's size (of a part's
    # size for parts: half as much, or a small part would be torn apart and blurred away).
    scale = max(float(np.ptp(np.asarray(landmarks)[:, 0])), 8.0) * (0.5 if parts else 1.0)
    coarse = rng.normal(0, 0.06 * scale, size=(2, 6, 6)).astype(np.float32)
    dx, dy = (cv2.resize(c, (width, height), interpolation=cv2.INTER_CUBIC) for c in coarse)
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    mask = cv2.remap(mask, xs + dx, ys + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    for _ in range(2):  # soft edges of varying width, as blending tools make them
        k = 2 * int(rng.integers(1, max(2, round(0.12 * scale)))) + 1
        mask = cv2.GaussianBlur(mask, (k, k), 0)
    mask[mask < 0.02] = 0  # the paste ends somewhere: no faint halo over the whole image
    return np.clip(mask * rng.choice(strengths), 0, 1).astype(np.float32)


def _alter(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """SBI's source transforms: colour, sharpness or resolution, and a small shift and scale."""
    out = image.astype(np.float32)
    if rng.random() < 0.8:  # colour: per-channel shift, brightness and contrast
        out = (out - 128) * rng.uniform(0.9, 1.1) + 128 + rng.uniform(-12, 12, size=3) + rng.uniform(-10, 10)
    out = np.clip(out, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        if rng.random() < 0.5:  # lower resolution, as a generator's output pasted at another scale
            h, w = out.shape[:2]
            f = rng.uniform(0.4, 0.8)
            small = cv2.resize(out, (max(8, round(w * f)), max(8, round(h * f))), interpolation=cv2.INTER_AREA)
            out = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
        else:  # sharpened
            blurred = cv2.GaussianBlur(out, (0, 0), 1.0)
            out = cv2.addWeighted(out, 1.6, blurred, -0.6, 0)
    h, w = out.shape[:2]
    s = rng.uniform(0.96, 1.04)
    shift = rng.uniform(-0.02, 0.02, size=2) * (w, h)
    matrix = np.array([[s, 0, (1 - s) * w / 2 + shift[0]], [0, s, (1 - s) * h / 2 + shift[1]]], np.float32)
    return cv2.warpAffine(out, matrix, (w, h), borderMode=cv2.BORDER_REFLECT)


def _paste(source: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
    m = mask[..., None]
    return np.clip(source.astype(np.float32) * m + target.astype(np.float32) * (1 - m) + 0.5, 0, 255).astype(np.uint8)


def self_blend(image: np.ndarray, landmarks: Landmarks, rng: np.random.Generator, parts: bool = False) -> Blend:
    """An SBI fake: ``image`` with its own altered copy pasted over the face (or some of its ``parts``); pixels
    outside the mask unchanged."""
    mask = blend_mask(image.shape[:2], landmarks, rng, parts=parts)
    return Blend(_paste(_alter(image, rng), image, mask), mask)


def _match_colour(source: np.ndarray, target: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Reinhard colour transfer in Lab: the source's face takes the target face's mean and spread."""
    src, dst = (cv2.cvtColor(x, cv2.COLOR_RGB2LAB).astype(np.float32) for x in (source, target))
    inside = region > 0.5
    if inside.sum() < 16:
        return source
    mu_s, sd_s = src[inside].mean(0), src[inside].std(0) + 1e-3
    mu_d, sd_d = dst[inside].mean(0), dst[inside].std(0) + 1e-3
    matched = np.clip((src - mu_s) / sd_s * sd_d + mu_d, 0, 255).astype(np.uint8)
    return cv2.cvtColor(matched, cv2.COLOR_LAB2RGB)


def swap_faces(target: np.ndarray, target_landmarks: Landmarks, donor: np.ndarray, donor_landmarks: Landmarks,
               rng: np.random.Generator, seamless: bool = False, parts: bool = False) -> Blend:
    """A face swap between two real photos: the donor's face (or some of its ``parts``), aligned on the landmarks
    (similarity transform) and colour-matched, pasted over the target's; with ``seamless``, OpenCV's Poisson
    cloning blends it."""
    matrix, _ = cv2.estimateAffinePartial2D(np.asarray(donor_landmarks, np.float32),
                                            np.asarray(target_landmarks, np.float32))
    if matrix is None:
        raise ValueError("the landmarks do not define an alignment")
    height, width = target.shape[:2]
    aligned = cv2.warpAffine(donor, matrix, (width, height), borderMode=cv2.BORDER_REFLECT)
    mask = blend_mask((height, width), target_landmarks, rng, strengths=(1.0,), parts=parts)  # replaced, not mixed
    aligned = _match_colour(aligned, target, mask)
    if not seamless:
        return Blend(_paste(aligned, target, mask), mask)
    binary = (mask > 0.5).astype(np.uint8) * 255
    # Poisson cloning needs the mask's box inside the image; its centre places the box.
    binary[[0, -1], :], binary[:, [0, -1]] = 0, 0
    ys, xs = np.nonzero(binary)
    if len(xs) == 0:
        return Blend(target.copy(), np.zeros_like(mask))
    centre = ((int(xs.min()) + int(xs.max()) + 1) // 2, (int(ys.min()) + int(ys.max()) + 1) // 2)
    inside = binary > 0  # OpenCV may touch a pixel or two beyond the mask: keep the target's there
    # seamlessClone overwrites the mask it is given (a 3-pixel rim is all that stays): hand it a copy
    cloned = cv2.seamlessClone(aligned, target, binary.copy(), centre, cv2.NORMAL_CLONE)
    return Blend(np.where(inside[..., None], cloned, target), inside.astype(np.float32))


def landmarks_or_aligned(found: Landmarks | None, shape: tuple[int, int]) -> Landmarks:
    """The detected landmarks, or where they sit in an aligned face crop of this size."""
    if found is not None and len(found) == 5:
        return np.asarray(found, np.float64)
    height, width = shape
    return ALIGNED_LANDMARKS * (width, height)


BLEND_SOURCE = "blend"  # the source name of blended training fakes (per-source balance and reports)


def blend_view_name(cfg: BlendConfig, view: int, seed: int) -> str:
    """Names a blended view by its recipe, so cached features of another recipe are never reused."""
    # ``processed`` adds other views and ``fresh`` later draws; neither changes this view's first picture (so its
    # cached features and held-out blends stay valid); nor do ``p_part`` and ``p_seamless`` at 0 (recipes from
    # before they existed)
    unset = {name for name, p in (("p_part", cfg.p_part), ("p_seamless", cfg.p_seamless)) if p == 0}
    exclude = {"processed", "fresh"} | unset
    recipe_json = cfg.model_dump_json(exclude=exclude) + _RECIPE_VERSION + (_SEAMLESS_VERSION if cfg.p_seamless else "")
    recipe = hashlib.sha256(recipe_json.encode()).hexdigest()[:10]
    return f"blend-{recipe}-s{seed}-v{view}"


def blended_samples(reals: list[Sample]) -> list[Sample]:
    """The fakes a blended view makes of real samples: same files, labelled fake, source ``blend``."""
    return [Sample(s.path, FAKE, BLEND_SOURCE) for s in reals]
