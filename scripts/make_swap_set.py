"""Build a real/fake folder of synthetic face swaps between different real people of one split of a run.

No face-swap dataset can be fetched here, so we make our own, the classic way (Face X-ray; DeepFaceLab's
blending): each real photo of the split (the target) gets the face of another real photo of the same split
(the donor), aligned on MTCNN's five landmarks (similarity transform), colour-matched (Reinhard, Lab) and pasted
through a deformed, blurred mask around the face, or with OpenCV's Poisson (seamless) cloning for every second
one. The real half of the set is the targets themselves. Both halves are saved the same way (the target's
size, JPEG ``--quality``), so the file's history is no evidence.

    python scripts/make_swap_set.py runs/clip-detector --split valid|test [--out DIR] [--n N] [--clips]

``--clips`` also writes ``clips/{real,fake}/`` H.264 clips (a slow zoom and pan over each photo, as
``make_video_set.py``) for the video path: a swap made once and filmed, so it moves with the frame.
``--wide-clips`` writes ``clips-wide/{real,fake}/``: the same clips as a wider shot, each frame shown at
WIDE_PHOTO_PX px tall inside a WIDE_FRAME frame (a face ~120 px wide, as in a 360p interview shot), then encoded:
face detection in a larger frame, an upscaled crop and H.264 on a small face, as real deepfake videos go.
``--donor-px N`` pastes the donor's face at the resolution of a face-swap model's output (its face about N px wide,
brought back to the photo's size), as autoencoder swaps (DeepFaceLab, the FaceForensics++ Deepfakes) make a
64-256 px face and blend it into a sharper frame.
``--per-frame-clips`` writes ``clips-per-frame/{real,fake}/`` instead, as face-swap videos are made: the real
clip is the target's (the same as in ``clips/real``), and each of its frames is swapped anew, the donor aligned on
that frame's landmarks (the target's, carried through the zoom and pan, jittered by ``LANDMARK_JITTER_PX`` as a
landmark detector's frame-to-frame noise) with a fresh mask and colour match, so the pasted face flickers and
jitters against the frame as a frame-by-frame swap does. Choose with ``--split valid``; report with ``--split
test``, never both. Written outside the repository (default ``~/.cache/deepfake-detector/swaps/<run>-<split>``):
the images derive from non-commercial research data. Same command, same set.
"""

from __future__ import annotations

import argparse
import sys
import zlib
from pathlib import Path

import numpy as np
from make_video_set import in_frame, ken_burns, ken_burns_boxes, write_h264
from PIL import Image

from deepfake_detector.data.blending import swap_faces
from deepfake_detector.data.samples import REAL, Sample
from deepfake_detector.data.splits import SPLITS_FILE, read_splits
from deepfake_detector.faces.detect import FaceDetector
from deepfake_detector.models.weights.fetch import cache_dir

REPO = Path(__file__).resolve().parents[1]
CLIP_FRAMES = 16
LANDMARK_JITTER_PX = 1.5  # standard deviation per landmark and axis, at the frame's size


def split_reals(run: Path, split: str) -> list[Sample]:
    """The real photos of one split of a run, in its splits.csv order."""
    return [s for s in read_splits(run / SPLITS_FILE)[split] if s.label == REAL]


def planned_targets(reals: list[Sample], n: int | None, seed: int) -> list[tuple[int, str, bool]]:
    """The set's targets in order: (index in ``reals``, file stem, Poisson-cloned?)."""
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.permutation(len(reals))[:n].tolist()) if n else list(range(len(reals)))
    return [(i, f"{reals[i].source}-{Path(reals[i].path).stem}", k % 2 == 1) for k, i in enumerate(chosen)]


WIDE_FRAME = (640, 360)  # width, height of a --wide-clips frame
WIDE_PHOTO_PX = 180  # the photo's height inside it
FACE_PER_EYE_GAP = 2.2  # a face's width in units of the distance between its eyes (MTCNN's first two points)


def at_face_width(image: np.ndarray, landmarks: np.ndarray, face_px: int) -> np.ndarray:
    """``image`` at the resolution where its face is ``face_px`` wide (down with area averaging, back up bicubic);
    unchanged where the face is no wider than that already."""
    face = FACE_PER_EYE_GAP * float(np.linalg.norm(landmarks[1] - landmarks[0]))
    if face <= face_px:
        return image
    height, width = image.shape[:2]
    scale = face_px / face
    small = Image.fromarray(image).resize((max(8, round(width * scale)), max(8, round(height * scale))),
                                          Image.Resampling.BOX)
    return np.asarray(small.resize((width, height), Image.Resampling.BICUBIC))


def wide_shot(frames: list[np.ndarray]) -> list[np.ndarray]:
    """Each frame shrunk to WIDE_PHOTO_PX tall, left of centre on a plain grey WIDE_FRAME background."""
    width, height = WIDE_FRAME
    shown = []
    for frame in frames:
        small = Image.fromarray(frame)
        small = small.resize((round(small.width * WIDE_PHOTO_PX / small.height), WIDE_PHOTO_PX),
                             Image.Resampling.LANCZOS)
        canvas = Image.new("RGB", WIDE_FRAME, (118, 118, 118))
        canvas.paste(small, (width // 3 - small.width // 2, (height - small.height) // 2))
        shown.append(np.asarray(canvas))
    return shown


def per_frame_swap(frames: list[np.ndarray], boxes: list[tuple[float, ...]], target_points: np.ndarray,
                   donor: np.ndarray, donor_points: np.ndarray, rng: np.random.Generator,
                   seamless: bool) -> list[np.ndarray]:
    """Every frame of a target's clip swapped on its own: the target's landmarks carried into the frame and
    jittered, a fresh mask and colour match each time."""
    swapped = []
    for frame, box in zip(frames, boxes, strict=True):
        size = (frame.shape[1], frame.shape[0])
        points = in_frame(target_points, box, size) + rng.normal(0, LANDMARK_JITTER_PX, (len(target_points), 2))
        swapped.append(swap_faces(frame, points, donor, donor_points, rng, seamless=seamless).image)
    return swapped


def make_set(run: Path, split: str, out: Path, n: int | None, quality: int, clips: bool, seed: int,
             per_frame_clips: bool = False, donor_px: int | None = None, wide_clips: bool = False) -> int:
    """Write ``out/{real,fake}/<stem>.jpg`` (and clips); the number of pairs."""
    reals = split_reals(run, split)
    detector = FaceDetector(min_face_px=32)
    points: dict[int, np.ndarray | None] = {}

    def photo(i: int) -> tuple[np.ndarray, np.ndarray | None]:
        image = np.asarray(Image.open(reals[i].path).convert("RGB"))
        if i not in points:
            faces = detector.detect(image)
            points[i] = np.array(faces[0].landmarks) if faces else None
        return image, points[i]

    clip_folders = ("clips",) * clips + ("clips-per-frame",) * per_frame_clips + ("clips-wide",) * wide_clips
    for folder in ("real", "fake", *(f"{c}/{label}" for c in clip_folders for label in ("real", "fake"))):
        (out / folder).mkdir(parents=True, exist_ok=True)
    for i, stem, seamless in planned_targets(reals, n, seed):
        outputs = [out / "fake" / f"{stem}.jpg", *(out / c / "fake" / f"{stem}.mp4" for c in clip_folders)]
        if all(path.exists() for path in outputs):
            continue  # written by an earlier, interrupted run
        target, target_points = photo(i)
        if target_points is None:
            continue  # a swap needs the target's face
        pair_rng = np.random.default_rng([seed, i])
        # seeded draws until another photo with a face comes up (bounded: a split may hold no other face)
        draws = (int(pair_rng.integers(len(reals))) for _ in range(50 * len(reals)))
        j = next((j for j in draws if j != i and photo(j)[1] is not None), None)
        if j is None:
            continue
        donor, donor_points = photo(j)
        if donor_px:
            donor = at_face_width(donor, donor_points, donor_px)
        swap = swap_faces(target, target_points, donor, donor_points, pair_rng, seamless=seamless)
        for label, image in (("real", target), ("fake", swap.image)):
            picture = Image.fromarray(image)
            filmed = ken_burns(_even(picture), CLIP_FRAMES, _clip_rng(stem, label)) if clips or wide_clips else []
            if clips:
                write_h264(out / "clips" / label / f"{stem}.mp4", filmed)
            if wide_clips:
                write_h264(out / "clips-wide" / label / f"{stem}.mp4", wide_shot(filmed))
            tmp = out / label / f".{stem}.jpg.tmp"
            picture.save(tmp, format="JPEG", quality=quality)
            tmp.replace(out / label / f"{stem}.jpg")
        if per_frame_clips:
            even = _even(Image.fromarray(target))
            boxes = ken_burns_boxes(even.size, CLIP_FRAMES, _clip_rng(stem, "real"))
            frames = ken_burns(even, CLIP_FRAMES, _clip_rng(stem, "real"))
            swapped = per_frame_swap(frames, boxes, target_points, donor, donor_points,
                                     np.random.default_rng([seed, i, CLIP_FRAMES]), seamless)
            write_h264(out / "clips-per-frame" / "real" / f"{stem}.mp4", frames)
            write_h264(out / "clips-per-frame" / "fake" / f"{stem}.mp4", swapped)
    return len(list((out / "fake").glob("*.jpg")))


def _even(picture: Image.Image) -> Image.Image:
    """H.264 in yuv420p needs an even width and height."""
    return picture.crop((0, 0, picture.width // 2 * 2, picture.height // 2 * 2))


def _clip_rng(stem: str, label: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(f"{stem}/{label}".encode()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run folder: its splits.csv names the real photos of each split")
    parser.add_argument("--split", choices=["valid", "test"], required=True)
    parser.add_argument("--out", type=Path, help="output folder (default ~/.cache/deepfake-detector/swaps/"
                                                 "<run>-<split>); never inside the repository")
    parser.add_argument("--n", type=int, help="number of targets (default: every real photo of the split)")
    parser.add_argument("--quality", type=int, default=90, help="JPEG quality of both halves (default 90)")
    parser.add_argument("--clips", action="store_true", help="also write H.264 clips of every photo")
    parser.add_argument("--per-frame-clips", action="store_true",
                        help="also write clips whose every frame is swapped anew (clips-per-frame/)")
    parser.add_argument("--wide-clips", action="store_true",
                        help="also write the clips as a wider shot, the face ~120 px in a 640x360 frame (clips-wide/)")
    parser.add_argument("--donor-px", type=int, help="paste the donor's face at this width's resolution (a swap "
                                                     "model's output size, e.g. 96; default: the donor as it is)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    name = f"{args.run.name}-{args.split}" + (f"-donor{args.donor_px}" if args.donor_px else "")
    out = (args.out or cache_dir() / "swaps" / name).expanduser().resolve()
    if out == REPO or REPO in out.parents:
        print(f"error: {out}: inside the repository; the swaps derive from non-commercial data", file=sys.stderr)
        return 2
    if not (args.run / SPLITS_FILE).is_file():
        print(f"error: {args.run}: no {SPLITS_FILE} (is it a run folder?)", file=sys.stderr)
        return 2
    pairs = make_set(args.run, args.split, out, args.n, args.quality, args.clips, args.seed, args.per_frame_clips,
                     args.donor_px, args.wide_clips)
    print(f"{out}: {pairs} real + {pairs} swapped photos from the {args.split} split of {args.run}"
          + (" (and clips)" if args.clips or args.per_frame_clips or args.wide_clips else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
