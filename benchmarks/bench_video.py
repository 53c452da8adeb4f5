"""`predict` on a 10-second 720p clip with the fast model: the command's wall time (start-up included), and
where the time goes in-process (sampling/decoding, face detection, scoring).

The clip is made once from a real 1024 px face of the shared set (a slow pan and zoom, 30 fps, H.264
CRF 23, x264's default keyframe interval) and kept in the user cache, never in the repo.
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import av
import numpy as np
from bench_predict import _timed
from common import SHARED, Row, Settings
from PIL import Image

from deepfake_detector.data.video import sample_frames
from deepfake_detector.inference.analyze import locate_in, score_located
from deepfake_detector.inference.loading import load_predictor
from deepfake_detector.models.weights.fetch import cache_dir
from deepfake_detector.utils.atomic import atomic_path

WIDTH, HEIGHT, FPS, SECONDS = 1280, 720, 30, 10


def clip_720p() -> Path:
    """The benchmark clip (made on first use)."""
    path = cache_dir() / "bench" / "face-720p-10s.mp4"
    if path.is_file():
        return path
    face = Image.open(sorted((SHARED / "data" / "cross" / "originals-1024" / "real").glob("*.jpg"))[0]).convert("RGB")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, av.open(str(tmp), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=FPS, options={"crf": "23", "preset": "veryfast"})
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for i in range(FPS * SECONDS):
            t = i / (FPS * SECONDS)
            side = round(HEIGHT * (1.0 + 0.15 * t))  # slow zoom in ...
            frame = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
            scaled = np.asarray(face.resize((side, side), Image.Resampling.BILINEAR))
            x = round((WIDTH - HEIGHT) * t)  # ... while panning left to right
            y = (HEIGHT - side) // 2
            visible = scaled[-y:-y + HEIGHT] if y < 0 else scaled
            frame[:, x:x + min(side, WIDTH - x)] = visible[:, :min(side, WIDTH - x)]
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return path


def run(settings: Settings) -> list[Row]:
    clip = clip_720p()
    cli = str(Path(sys.executable).with_name("deepfake-detector"))
    load_predictor("fast", "onnx")  # caches the ONNX export, as after a first use
    seconds, rss = _timed([cli, "predict", str(clip), "--model", "fast", "--quiet"], settings.repeats)
    rows = [Row("video", f"predict a {SECONDS} s {HEIGHT}p clip, fast model, 32 frames (command)", 32 / seconds,
                f"{seconds:.1f} s wall incl. start-up, {rss:.0f} MB peak")]
    predictor = load_predictor("fast")
    steps = {"sample": [], "faces": [], "score": []}
    for _ in range(settings.repeats):
        t0 = time.perf_counter()
        images = [f.image for f in sample_frames(clip, 32).frames]
        t1 = time.perf_counter()
        with ThreadPoolExecutor(2) as pool:
            located = list(pool.map(lambda image: locate_in(predictor, image, "auto"), images))
        t2 = time.perf_counter()
        score_located(predictor, images, located)
        t3 = time.perf_counter()
        for key, value in zip(steps, (t1 - t0, t2 - t1, t3 - t2), strict=True):
            steps[key].append(value)
    medians = {k: float(np.median(v)) for k, v in steps.items()}
    total = sum(medians.values())
    rows.append(Row("video", "same clip in-process: seek + decode 32 frames, MTCNN (2 threads), score crops",
                    32 / total, ", ".join(f"{k} {v:.2f} s" for k, v in medians.items())))
    return rows
