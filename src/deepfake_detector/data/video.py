"""Sampling frames from video files with PyAV and NumPy alone (no torch): the video side of ``pillow_decode``.

:func:`sample_frames` returns a :class:`SampledVideo`: the stream's :class:`VideoInfo`, the sampled
:class:`VideoFrame` s (upright RGB ``uint8`` arrays at full resolution, in time order) and ``warnings``, one
line each naming the file, for problems that still left frames to score. Anything that leaves no frame to
score raises :class:`~deepfake_detector.errors.VideoDecodeError`, one line naming the file.

Sampling takes ``frames`` positions spread evenly over the duration (32 by default, the DeepfakeBench/DFDC
convention: frame numbers ``linspace(0, n - 1, frames)``), or one every ``1 / fps`` seconds, and returns the
frame on screen at each position, each frame once. A position is reached by seeking to the keyframe before
it when the stream's index shows one past the last decoded frame (without an index: when the position is
over 2 s ahead), else by decoding on, so short clips and long keyframe intervals are decoded once through;
streams that cannot seek, or have no timestamps, are decoded sequentially. A clip with no more frames than
``frames`` gives each frame once. Times are the frames' own timestamps, so variable frame rates work;
``VideoFrame.index`` is exact when decoding ran from the start, else ``time x average fps``. Frames are kept
at full resolution: 32 frames of 1080p take 200 MB, of 8K 3.2 GB; frames over the toolkit's pixel cap
(``DEEPFAKE_DETECTOR_MAX_PIXELS``) are refused from the stream header, before any decoding.

Odd inputs: a file with a video suffix is a video whatever it holds (:func:`is_video`), so a JPEG renamed
``.mp4`` is refused as "a still image, not a video" rather than scored as a 1-frame clip. A 1-frame video
works (with the "fewer than requested" warning); a stream that breaks part-way gives the frames before the
damage plus a warning.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from deepfake_detector.data.pillow_decode import max_pixels
from deepfake_detector.errors import TooLargeError, VideoDecodeError, first_line

VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".m4v", ".webm", ".mkv", ".avi"})

# ISO BMFF (``ftyp`` at offset 4) also holds still images and audio: these major brands are not videos.
_NOT_VIDEO_BRANDS = frozenset({b"avif", b"avis", b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1",
                               b"msf1", b"M4A ", b"M4B "})
# Matroska states no frame count, and duration x fps misjudges a variable frame rate, so a short clip could be
# sampled though it has no more frames than asked for: up to this estimate, count the packets instead (reading
# a clip of a minute or less through, decoding nothing, is cheap).
_COUNT_PACKETS_UP_TO = 1500
# Without an index to say where keyframes are, seek only when the next position is this far ahead: keyframes
# are usually 1-10 s apart, so decoding on through a shorter gap costs less than a seek that may land early.
_BLIND_SEEK_S = 2.0


@dataclass(frozen=True)
class VideoInfo:
    width: int  # as displayed, after rotation
    height: int
    duration_s: float
    fps: float  # average frame rate
    frame_count: int  # from the header, else duration x fps (an estimate)
    rotation: int  # counter-clockwise degrees a player turns the stored frames: 0, 90, 180 or 270
    codec: str


@dataclass(frozen=True)
class VideoFrame:
    index: int  # frame number in the stream (see the module docstring)
    time_s: float  # presentation time
    image: np.ndarray  # (H, W, 3) uint8 RGB, upright


@dataclass(frozen=True)
class SampledVideo:
    info: VideoInfo
    frames: list[VideoFrame]
    warnings: list[str]


def is_video(path: str | Path) -> bool:
    """Whether to treat ``path`` as a video: its first bytes say MP4/MOV, Matroska/WebM or AVI, or its suffix is
    in :data:`VIDEO_EXTENSIONS` (so a broken ``.mp4`` gets a video's error message, not an image's)."""
    path = Path(path)
    try:
        with path.open("rb") as file:
            head = file.read(12)
    except OSError:
        head = b""
    return looks_like_video(head) or path.suffix.lower() in VIDEO_EXTENSIONS


def looks_like_video(head: bytes) -> bool:
    """Whether a file's first 12 bytes say MP4/MOV, Matroska/WebM or AVI."""
    if head[4:8] == b"ftyp":
        return head[8:12] not in _NOT_VIDEO_BRANDS
    return head.startswith(b"\x1aE\xdf\xa3") or (head[:4] == b"RIFF" and head[8:12] == b"AVI ")


def probe(path: str | Path) -> VideoInfo:
    """The video's size, duration, rate, rotation and codec (decodes its first frame, which holds the rotation)."""
    with _open(path) as container:
        return _start(container, path)[0]


def sample_frames(path: str | Path, frames: int = 32, fps: float | None = None,
                  max_duration_s: float | None = None) -> SampledVideo:
    """``frames`` frames spread evenly over the video, or one every ``1 / fps`` seconds when ``fps`` is given
    (then ``frames`` is unused); only the first ``max_duration_s`` seconds are considered when given."""
    if frames < 1 or (fps is not None and not fps > 0) or (max_duration_s is not None and not max_duration_s > 0):
        raise ValueError(f"frames must be >= 1 and fps, max_duration_s > 0 (got {frames}, {fps}, {max_duration_s})")
    name = str(path)
    with _open(path) as container:
        info, reader = _start(container, path)
        span = info.duration_s if max_duration_s is None else min(info.duration_s, max_duration_s)
        targets = _targets(info, reader.start, span, frames, fps)
        if targets is None:
            end = math.inf if max_duration_s is None else reader.start + max_duration_s
            picked, warnings = _every_frame(reader, end, info, name)
            if fps is None and len(picked) < frames:
                warnings.append(f"{name}: only {len(picked)} frame(s) to sample, fewer than the {frames} requested")
        else:
            picked, warnings = _frames_at(reader, targets, info, name)
    if max_duration_s is not None and info.duration_s > max_duration_s:
        warnings.append(f"{name}: only the first {max_duration_s:g} s of {info.duration_s:.1f} s were sampled "
                        f"(max_duration_s)")
    return SampledVideo(info, picked, warnings)


def _targets(info: VideoInfo, start: float, span: float, frames: int, fps: float | None) -> list[float] | None:
    """The times to sample, or None for every frame (the clip has no more than ``frames``)."""
    if fps is not None:
        return [start + k / fps for k in range(max(1, math.ceil(round(span * fps, 6))))]  # 0.7 * 10 = 7.000000000000001
    count = min(info.frame_count, math.ceil(round(span * info.fps, 6)))
    if count <= frames:
        return None
    # Frame numbers as DeepfakeBench picks them, as times: span / count is 1 / fps at a constant frame rate and
    # spreads a variable one over its duration.
    return [start + i * span / count for i in np.linspace(0, count - 1, frames).astype(int)]


def _every_frame(reader: _Reader, end: float, info: VideoInfo, name: str) -> tuple[list[VideoFrame], list[str]]:
    """Every frame before ``end``, in one pass; a decoding error keeps the frames before it, with a warning."""
    import av

    picked: list[VideoFrame] = []
    try:
        while (item := reader.next()) is not None and item.time < end:
            picked.append(item.to_video_frame(name))
    except av.FFmpegError as exc:
        if not picked:
            raise _undecodable(name, _reason(exc)) from None
        return picked, [f"{name}: decoding stopped at {reader.position:.2f} s of {info.duration_s:.2f} s "
                        f"({_reason(exc)}); the rest was skipped"]
    return picked, []


def _frames_at(reader: _Reader, targets: list[float], info: VideoInfo,
               name: str) -> tuple[list[VideoFrame], list[str]]:
    """The frame on screen at each target time, each frame once; warnings for positions that gave none."""
    import av

    picked: list[VideoFrame] = []
    failed, past_end, reason = 0, 0, ""
    for target in targets:
        try:
            item = reader.frame_at(target)
        except av.FFmpegError as exc:
            failed, reason = failed + 1, _reason(exc)
            reader.resume()
            continue
        if item is not None and not (picked and item.time <= picked[-1].time_s):
            picked.append(item.to_video_frame(name))
        elif reader.ended:  # else positions closer than frames: the frame taken last is still on screen
            past_end += 1
    if not picked:
        raise _undecodable(name, reason or "none at the sampled positions")
    warnings = []
    if failed:
        warnings.append(f"{name}: {failed} of {len(targets)} sampled positions could not be decoded ({reason})")
    if past_end:
        warnings.append(f"{name}: {past_end} of {len(targets)} sampled positions lie past the video's last frame, "
                        f"at {reader.position:.2f} s of {info.duration_s:.2f} s")
    return picked, warnings


def _open(path: str | Path) -> Any:
    """The opened container, or a one-line VideoDecodeError (missing, unreadable, empty, not a video at all)."""
    import av

    try:
        if Path(path).stat().st_size == 0:
            raise VideoDecodeError(f"{path}: empty file (0 bytes)")
        return av.open(str(path))
    except OSError as exc:  # missing, a folder, no permission (FFmpeg's own file errors are OSErrors too)
        raise VideoDecodeError(f"{path}: cannot read file ({exc.strerror or first_line(exc)})") from None
    except av.FFmpegError as exc:
        raise VideoDecodeError(f"{path}: not a readable video: corrupt, truncated or another format "
                               f"({_reason(exc)})") from None


def _start(container: Any, path: str | Path) -> tuple[VideoInfo, _Reader]:
    """Check the video stream's header and decode its first frame: the info, and a reader positioned at the start."""
    import av

    name = str(path)
    fmt = container.format.name
    if fmt == "image2" or fmt.endswith("_pipe"):  # FFmpeg's still-image demuxers: jpeg_pipe, png_pipe, ...
        raise VideoDecodeError(f"{name}: a still image ({fmt.removesuffix('_pipe')}), not a video")
    if not container.streams.video:
        raise VideoDecodeError(f"{name}: no video stream ({'audio only' if container.streams.audio else 'empty'})")
    stream = container.streams.video[0]
    _check_pixels(name, stream.width, stream.height)
    rate = stream.average_rate or stream.guessed_rate
    if not rate:
        raise VideoDecodeError(f"{name}: the video stream has no frame rate")
    decoded = container.decode(stream)
    try:
        first = next(decoded, None)
    except av.FFmpegError as exc:
        raise _undecodable(name, _reason(exc)) from None
    if first is None:
        raise _undecodable(name, "the video stream holds no frames")
    fps, count = float(rate), stream.frames
    if stream.duration:
        duration = stream.duration * float(stream.time_base)
    elif container.duration:
        duration = container.duration / av.time_base
    else:
        duration = None  # a raw stream (H.264 elementary stream, ...) states none
    if not count and (duration is None or duration * fps <= _COUNT_PACKETS_UP_TO):
        count = _count_packets(path)
    if duration is None:
        duration = max(count, 1) / fps
    rotation = _quarter_turns(first.rotation) * 90
    width, height = (first.height, first.width) if rotation % 180 else (first.width, first.height)
    info = VideoInfo(width, height, duration, fps, count or max(1, round(duration * fps)), rotation,
                     stream.codec_context.name)
    return info, _Reader(container, stream, itertools.chain([first], decoded), first.time, fps)


@dataclass
class _Decoded:
    frame: Any  # av.VideoFrame
    time: float
    index: int

    def to_video_frame(self, name: str) -> VideoFrame:
        _check_pixels(name, self.frame.width, self.frame.height)
        image = self.frame.to_ndarray(format="rgb24")
        turns = _quarter_turns(self.frame.rotation)
        return VideoFrame(self.index, self.time, np.ascontiguousarray(np.rot90(image, turns)) if turns else image)


class _Reader:
    """Decodes one video stream forward, seeking ahead when that skips decoding."""

    def __init__(self, container: Any, stream: Any, decoded: Iterator[Any], first_time: float | None,
                 fps: float) -> None:
        self._container, self._stream, self._decoded, self._fps = container, stream, decoded, fps
        self.start = first_time or 0.0
        # Timestamps are rounded to the time base, which can be a whole frame (AVI): allow one tick, at most
        # half a frame, past a target.
        self._time_base = float(stream.time_base)
        self._tolerance = min(self._time_base, 0.5 / fps)
        self.position = self.start  # time of the last decoded frame
        self._count: int | None = 0  # frames decoded from the start; None once a seek or an error loses count
        self._can_seek = first_time is not None  # without timestamps, a seek would lose track of time
        self._keyframes: list[float] = []
        self._indexed = -1  # how many index entries _keyframes was read from (Matroska loads its index late)
        self._shown: _Decoded | None = None  # the last frame decoded at or before the last target
        self._ahead: _Decoded | None = None  # a frame decoded past it, kept for the next target
        self.ended = False  # the stream ended before the last target

    def next(self) -> _Decoded | None:
        frame = next(self._decoded, None)
        if frame is None:
            return None
        if self._count is None:
            time = frame.time if frame.time is not None else self.position + 1 / self._fps
            index = round((time - self.start) * self._fps)
        else:
            time = frame.time if frame.time is not None else self.start + self._count / self._fps
            index, self._count = self._count, self._count + 1
        self.position = time
        return _Decoded(frame, time, index)

    def frame_at(self, target: float) -> _Decoded | None:
        """The frame on screen at ``target``: the last one starting by then (the first if the stream starts
        later, the last if it ends before; ``ended`` tells)."""
        if self._seek_towards(target):
            self._shown = self._ahead = None
        limit = target + self._tolerance
        while (item := self._ahead or self.next()) is not None and item.time <= limit:
            self._shown, self._ahead = item, None
        self._ahead, self.ended = item, item is None  # the frame after `target` may be the next target's
        return self._shown or item

    def resume(self) -> None:
        """Go on after a decoding error, from the next packet."""
        self._decoded, self._count, self._ahead = self._container.decode(self._stream), None, None

    def _seek_towards(self, target: float) -> bool:
        """Seek to the keyframe before ``target`` when that skips decoding; whether it did."""
        import av

        if not (self._can_seek and self._keyframe_ahead(target)):
            return False
        try:
            self._container.seek(round(target / self._time_base), stream=self._stream, backward=True,
                                 any_frame=False)
        except av.FFmpegError:
            self._can_seek = False  # the file cannot seek: decode on instead
            return False
        self._decoded, self._count = self._container.decode(self._stream), None
        return True

    def _keyframe_ahead(self, target: float) -> bool:
        """Whether a keyframe lies after the last decoded frame and at or before ``target`` (seeking skips work)."""
        entries = self._stream.index_entries
        if len(entries) != self._indexed:
            self._keyframes = [e.timestamp * self._time_base for e in entries if e.is_keyframe]
            self._indexed = len(entries)
            if self._keyframes:  # MP4 indexes decode times, a B-frame delay behind: the first frame measures it
                delay = self.start - self._keyframes[0]
                self._keyframes = [t + delay for t in self._keyframes]
        if not self._keyframes or self._keyframes[-1] <= self.position:  # no index for what lies ahead
            return target - self.position > _BLIND_SEEK_S
        i = bisect.bisect_right(self._keyframes, target)
        return i > 0 and self._keyframes[i - 1] > self.position


def _count_packets(path: str | Path) -> int:
    """The video stream's frames, counted from its packets (nothing is decoded)."""
    import av

    count = 0
    with av.open(str(path)) as container:
        try:
            for packet in container.demux(video=0):
                count += packet.size > 0
        except av.FFmpegError:
            pass  # a damaged tail: the frames before it are the ones to sample
    return count


def _quarter_turns(degrees: float) -> int:
    return round(degrees / 90) % 4


def _check_pixels(name: str, width: int, height: int) -> None:
    limit = max_pixels()
    if width * height > limit:
        raise TooLargeError(f"{name}: video frames are {width}x{height} ({width * height / 1e6:.3g} megapixels), "
                               f"over the {limit / 1e6:g} megapixel limit (DEEPFAKE_DETECTOR_MAX_PIXELS)")


def _undecodable(name: str, reason: str) -> VideoDecodeError:
    return VideoDecodeError(f"{name}: corrupt video stream, no frame could be decoded ({reason})")


def _reason(exc: Exception) -> str:
    """FFmpeg's own words ("Invalid data found when processing input"), without the errno and file PyAV adds."""
    return getattr(exc, "strerror", None) or first_line(exc)
