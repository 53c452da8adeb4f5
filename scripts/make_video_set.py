"""Build a real/fake folder of short H.264 clips from one split of the shared 140k photos.

No deepfake *video* dataset is available offline, so these are synthetic clips of real and fake photos: each
clip shows ONE 140k face photo (real clips from real FFHQ photos, fake clips from StyleGAN fakes) with a slow
zoom and pan (a Ken Burns effect), encoded with libx264 (CRF 23, yuv420p). They measure the main shift from
photos to videos, resampling and lossy video compression of the face, not motion, blending or face-swap
artefacts; figures on them say nothing about real deepfake videos.

    python scripts/make_video_set.py --split valid|test [--out DIR] [--per-class N] [--frames-per-clip K]

The clips derive from non-commercial research data (../shared/data/README.md): they are written outside the
repository (default ``~/.cache/deepfake-detector/videos/140k-<split>``), never into it. Photos are taken in
name order; each clip's zoom and pan are seeded by its photo, so the same command writes the same clips.
Clips already written are kept, so an interrupted run goes on where it stopped.
"""

from __future__ import annotations

import argparse
import os
import sys
import zlib
from pathlib import Path

import av
import numpy as np
from PIL import Image

from deepfake_detector.models.weights.fetch import cache_dir

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DEEPFAKE_DETECTOR_SHARED", REPO.parent / "shared"))
PHOTOS = SHARED / "data" / "140k" / "real_vs_fake" / "real-vs-fake"
FPS = 8
MAX_ZOOM = 1.15  # gentle: the face stays whole and large, as in a talking-head shot
CRF = "23"  # libx264's default quality: what a typical upload or screen recording gets


def ken_burns_boxes(size: tuple[int, int], frames: int, rng: np.random.Generator) -> list[tuple[float, ...]]:
    """The (left, top, right, bottom) view of each of ``frames`` frames of a photo of ``size``: zooming in or out
    by up to MAX_ZOOM while the view drifts (sub-pixel, so the motion stays smooth)."""
    width, height = size
    zooms = np.linspace(1.0, rng.uniform(1.05, MAX_ZOOM), frames)
    if rng.random() < 0.5:
        zooms = zooms[::-1]
    start, end = rng.uniform(-1, 1, 2), rng.uniform(-1, 1, 2)  # view centre, as a fraction of the free margin
    boxes = []
    for t, zoom in zip(np.linspace(0, 1, frames), zooms, strict=True):
        w, h = width / zoom, height / zoom
        cx, cy = (start + (end - start) * t) * [(width - w) / 2, (height - h) / 2] + [width / 2, height / 2]
        boxes.append((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
    return boxes


def ken_burns(photo: Image.Image, frames: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``frames`` views of ``photo`` at its own size (:func:`ken_burns_boxes`)."""
    return [np.asarray(photo.resize(photo.size, Image.Resampling.BICUBIC, box=box))
            for box in ken_burns_boxes(photo.size, frames, rng)]


def in_frame(points: np.ndarray, box: tuple[float, ...], size: tuple[int, int]) -> np.ndarray:
    """Where the photo's ``points`` (x, y) lie in the frame that shows ``box`` of it at ``size``."""
    left, top, right, bottom = box
    return (np.asarray(points, np.float64) - [left, top]) * [size[0] / (right - left), size[1] / (bottom - top)]


def write_h264(path: Path, images: list[np.ndarray], fps: int = FPS) -> None:
    """Encode RGB frames as an H.264 MP4, via a hidden temporary file (a killed run leaves no half clip)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with av.open(str(tmp), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps, options={"crf": CRF, "preset": "medium"})
        stream.height, stream.width = images[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        for image in images:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    os.replace(tmp, path)


def make_set(split: str, out: Path, per_class: int | None, frames: int) -> dict[str, int]:
    """Write ``out/{real,fake}/<photo stem>.mp4``; the number of clips per class."""
    counts = {}
    for label in ("real", "fake"):
        photos = sorted((PHOTOS / split / label).glob("*.jpg"))[:per_class]
        if not photos:
            raise SystemExit(f"error: {PHOTOS / split / label}: no photos (set DEEPFAKE_DETECTOR_SHARED)")
        (out / label).mkdir(parents=True, exist_ok=True)
        for photo in photos:
            clip = out / label / f"{photo.stem}.mp4"
            if not clip.exists():
                rng = np.random.default_rng(zlib.crc32(f"{split}/{label}/{photo.name}".encode()))
                # even sides for yuv420p (the 140k photos are 256 x 256 already)
                image = Image.open(photo).convert("RGB")
                image = image.crop((0, 0, image.width // 2 * 2, image.height // 2 * 2))
                write_h264(clip, ken_burns(image, frames, rng))
        counts[label] = len(photos)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["valid", "test"], required=True,
                        help="valid to choose video thresholds on, test to report on (never both)")
    parser.add_argument("--out", type=Path, help="output folder (default ~/.cache/deepfake-detector/videos/"
                                                 "140k-<split>); never inside the repository")
    parser.add_argument("--per-class", type=int, help="clips per class (default: every photo of the split)")
    parser.add_argument("--frames-per-clip", type=int, default=16, help=f"frames per clip at {FPS} fps (default 16)")
    args = parser.parse_args(argv)
    out = (args.out or cache_dir() / "videos" / f"140k-{args.split}").expanduser().resolve()
    if out == REPO or REPO in out.parents:
        print(f"error: {out}: inside the repository; the clips derive from non-commercial data", file=sys.stderr)
        return 2
    counts = make_set(args.split, out, args.per_class, args.frames_per_clip)
    print(f"{out}: {counts['real']} real + {counts['fake']} fake clips ({args.frames_per_clip} frames, {FPS} fps, "
          f"H.264 CRF {CRF}) from the 140k {args.split} split")
    return 0


if __name__ == "__main__":
    sys.exit(main())
