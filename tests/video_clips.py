"""Test videos made of real face photos (the shared 140k set), written with PyAV.

Every frame can be a different photo, so a sampled frame's pixels tell which frame it is. A clip that cuts
from real faces to fake ones: ``write_clip(path, faces("real", 30) + faces("fake", 30))``.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from .conftest import DATA_140K

FACES = DATA_140K / "real_vs_fake" / "real-vs-fake" / "test"
# Encoder settings that keep test clips quick to write (x264 "veryfast" still uses B-frames).
_FAST = {"libx264": {"preset": "veryfast"}, "libvpx": {"deadline": "realtime", "cpu-used": "8"},
         "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8"}}


def faces(label: str, n: int, skip: int = 0) -> list[np.ndarray]:
    """``n`` distinct 256 px RGB face photos of the 140k test split (``label``: "real" or "fake"), in name order."""
    files = sorted((FACES / label).glob("*.jpg"))[skip:skip + n]
    assert len(files) == n, f"{FACES / label} has fewer than {skip + n} photos"
    return [np.asarray(Image.open(f).convert("RGB")) for f in files]


def write_clip(path: Path, images: list[np.ndarray], fps: int = 25, codec: str = "libx264", pix_fmt: str = "yuv420p",
               rotation: int = 0, times: list[float] | None = None, gop: int | None = None,
               codec_options: dict[str, str] | None = None, muxer_options: dict[str, str] | None = None) -> Path:
    """Encode RGB uint8 images (all one size, even sides for yuv420p) as a video; the suffix picks the container.

    ``rotation`` (counter-clockwise degrees, a multiple of 90) stores the frames turned the other way and tags
    the stream to turn them back, as a phone does: a correct reader shows ``images`` upright. ``times`` gives
    each frame's presentation time in seconds (variable frame rate; default ``i / fps``). ``gop`` is the
    keyframe interval. ``codec_options`` go to the encoder (x264 and VPx get fast settings unless told
    otherwise), ``muxer_options`` to the container (e.g. ``{"movflags": "faststart"}``).
    """
    options = {**_FAST.get(codec, {}), **({"g": str(gop)} if gop else {}), **(codec_options or {})}
    if times is not None and codec == "libx264":
        options["bf"] = "0"  # B-frames shift an MP4's decode times, which then under-state a variable rate's duration
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", options=muxer_options or {}) as container:
        stream = container.add_stream(codec, rate=fps, options=options)
        stream.height, stream.width = np.rot90(images[0], -rotation // 90).shape[:2]
        stream.pix_fmt = pix_fmt
        if rotation:
            stream.set_display_rotation(rotation)
        if times is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        for i, image in enumerate(images):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(np.rot90(image, -rotation // 90)), format="rgb24")
            if times is not None:
                frame.pts, frame.time_base = round(times[i] * 1000), Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path
