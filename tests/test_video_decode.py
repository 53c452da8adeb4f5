"""Sampling frames from videos made of real face photos: positions, seeking, rotation, rates, bad files."""

from __future__ import annotations

import shutil
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from deepfake_detector.data.video import VideoInfo, is_video, probe, sample_frames
from deepfake_detector.errors import ImageDecodeError, TooLargeError, VideoDecodeError

from .conftest import DATA_140K  # noqa: F401  (naming it makes conftest skip these tests without the shared photos)
from .video_clips import FACES, faces, write_clip


@pytest.fixture(scope="module")
def images() -> list[np.ndarray]:
    return faces("real", 100)


@pytest.fixture(scope="module")
def clip(images, tmp_path_factory) -> Path:
    """100 distinct faces at 25 fps (4 s), a keyframe at least every 10 frames, B-frames."""
    return write_clip(tmp_path_factory.mktemp("clips") / "faces.mp4", images, gop=10)


@pytest.fixture(scope="module")
def streamable(images, tmp_path_factory) -> bytes:
    """30 faces as an MP4 with its index first, so a cut-off copy still opens."""
    path = tmp_path_factory.mktemp("clips") / "fast.mp4"
    return write_clip(path, images[:30], muxer_options={"movflags": "faststart"}).read_bytes()


def assert_shows(frames, images, offset: int = 0) -> None:
    """Each sampled frame is upright, full size, and looks most like the photo its index names."""
    for frame in frames:
        assert frame.image.shape == images[0].shape and frame.image.dtype == np.uint8
        diffs = [np.abs(frame.image.astype(np.int16) - im).mean() for im in images]
        assert int(np.argmin(diffs)) == frame.index + offset and diffs[frame.index + offset] < 12


def test_probe_reads_the_stream_header(clip) -> None:
    assert probe(clip) == VideoInfo(width=256, height=256, duration_s=4.0, fps=25.0, frame_count=100, rotation=0,
                                    codec="h264")


def test_32_frames_of_100_are_the_ones_deepfakebench_takes(clip, images) -> None:
    result = sample_frames(clip)
    expected = np.linspace(0, 99, 32).astype(int).tolist()
    assert [f.index for f in result.frames] == expected
    assert [f.time_s for f in result.frames] == pytest.approx([i / 25 for i in expected])
    assert result.warnings == []
    assert_shows(result.frames, images)


class _Counting:
    """An opened container that counts the frames it decodes and the seeks it makes; ``seek_fails`` refuses them."""

    def __init__(self, container, seek_fails: bool) -> None:
        self._container, self._seek_fails = container, seek_fails
        self.decoded = self.seeks = 0

    def __getattr__(self, name):
        return getattr(self._container, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self._container.__exit__(*exc)

    def decode(self, *args):
        for frame in self._container.decode(*args):
            self.decoded += 1
            yield frame

    def seek(self, *args, **kwargs):
        if self._seek_fails:
            raise av.error.PermissionError(1, "Operation not permitted")  # what FFmpeg says for a pipe
        self.seeks += 1
        return self._container.seek(*args, **kwargs)


@pytest.mark.parametrize("seek_fails", [False, True])
def test_positions_are_reached_by_seeking_or_else_by_decoding_on(clip, images, monkeypatch, seek_fails) -> None:
    opened, real_open = [], av.open

    def counting_open(*args, **kwargs):
        opened.append(_Counting(real_open(*args, **kwargs), seek_fails))
        return opened[-1]

    monkeypatch.setattr(av, "open", counting_open)
    result = sample_frames(clip, frames=4)
    assert [f.index for f in result.frames] == [0, 33, 66, 99] and result.warnings == []
    assert_shows(result.frames, images)
    (container,) = opened
    if seek_fails:
        assert container.decoded == 100
    else:  # from the keyframe before each position (at most 10 frames back), not all 100
        assert container.seeks == 3 and container.decoded <= 4 * 10


@pytest.mark.parametrize(("suffix", "codec"), [(".mkv", "libx264"), (".webm", "libvpx"), (".avi", "mpeg4"),
                                               (".mov", "mpeg4")])
def test_other_containers_are_sampled_and_recognised_by_content(suffix, codec, images, tmp_path) -> None:
    path = write_clip(tmp_path / f"faces{suffix}", images[:30], codec=codec, gop=10)
    result = sample_frames(path, frames=8)
    assert [f.index for f in result.frames] == np.linspace(0, 29, 8).astype(int).tolist()
    assert result.info.frame_count == 30 and result.info.duration_s == pytest.approx(1.2)
    assert_shows(result.frames, images)
    assert is_video(shutil.copy(path, tmp_path / "renamed.bin"))


@pytest.mark.parametrize("n", [10, 1])
def test_a_clip_shorter_than_asked_for_gives_each_frame_once(n, images, tmp_path) -> None:
    path = write_clip(tmp_path / "short.mp4", images[:n])
    result = sample_frames(path)
    assert [f.index for f in result.frames] == list(range(n))
    assert result.warnings == [f"{path}: only {n} frame(s) to sample, fewer than the 32 requested"]
    assert_shows(result.frames, images)


def test_one_frame_every_1_over_fps_seconds(clip, images) -> None:
    result = sample_frames(clip, fps=5)
    assert [f.index for f in result.frames] == list(range(0, 100, 5))
    assert [f.time_s for f in result.frames] == pytest.approx([k / 5 for k in range(20)])
    assert_shows(result.frames[::5], images)
    assert [f.index for f in sample_frames(clip, fps=60).frames] == list(range(100))  # faster than the clip


def test_max_duration_samples_the_start_only_and_says_so(clip) -> None:
    result = sample_frames(clip, max_duration_s=2)
    assert [f.index for f in result.frames] == np.linspace(0, 49, 32).astype(int).tolist()
    assert result.warnings == [f"{clip}: only the first 2 s of 4.0 s were sampled (max_duration_s)"]


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotated_clips_come_out_upright(rotation, images, tmp_path) -> None:
    portrait = [im[:, 32:224] for im in images[:10]]  # 256 high, 192 wide: a wrong turn changes the shape
    path = write_clip(tmp_path / "phone.mp4", portrait, rotation=rotation)
    with av.open(str(path)) as container:  # stored turned: a reader ignoring the tag would get these
        stored = next(container.decode(video=0)).to_ndarray(format="rgb24")
    assert stored.shape[:2] == ((256, 192) if rotation == 180 else (192, 256))
    result = sample_frames(path, frames=3)
    assert (result.info.rotation, result.info.width, result.info.height) == (rotation, 192, 256)
    assert [f.index for f in result.frames] == [0, 4, 9]
    assert_shows(result.frames, portrait)


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_variable_frame_rate_uses_each_frames_own_time(suffix, images, tmp_path) -> None:
    times = [0, 0.04, 0.08, 0.5, 0.54, 1.3, 1.34, 1.38, 2.0, 2.1]
    path = write_clip(tmp_path / f"vfr{suffix}", images[:10], times=times)
    every = sample_frames(path)
    assert [f.time_s for f in every.frames] == pytest.approx(times) and [f.index for f in every.frames] == [*range(10)]
    assert_shows(every.frames, images)
    assert every.info.frame_count == 10 and every.info.duration_s == pytest.approx(2.14)
    # Every 0.5 s, the frame on screen then: 0.5 s shows the frame from 0.5, 1.0 the one from 0.54, ...
    assert [f.time_s for f in sample_frames(path, fps=2).frames] == pytest.approx([0, 0.5, 0.54, 1.38, 2.0])


def test_a_raw_stream_without_timestamps_or_duration_is_counted_and_decoded_in_order(images, tmp_path) -> None:
    path = write_clip(tmp_path / "faces.h264", images[:30])
    result = sample_frames(path, frames=8)
    assert (result.info.frame_count, result.info.duration_s) == (30, pytest.approx(1.2))
    assert [f.index for f in result.frames] == np.linspace(0, 29, 8).astype(int).tolist()
    assert_shows(result.frames, images)


def test_an_8k_frame_is_read_and_a_cap_below_it_refuses_it_from_the_header(images, tmp_path, monkeypatch) -> None:
    big = np.asarray(Image.fromarray(images[0]).resize((7680, 4320), Image.NEAREST))
    path = write_clip(tmp_path / "8k.mp4", [big], codec_options={"preset": "ultrafast"})
    result = sample_frames(path)
    assert result.frames[0].image.shape == (4320, 7680, 3)
    assert np.abs(result.frames[0].image.astype(np.int16) - big).mean() < 12
    monkeypatch.setenv("DEEPFAKE_DETECTOR_MAX_PIXELS", "30000000")
    with pytest.raises(TooLargeError, match=r"7680x4320 \(33.2 megapixels\), over the 30 megapixel limit"):
        probe(path)


def _audio_only(path: Path) -> None:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        for k in range(10):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, k * 1024
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


def _bad_input(kind: str, path: Path, streamable: bytes) -> None:
    rng = np.random.default_rng(0)
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "random bytes":
        path.write_bytes(rng.bytes(20_000))
    elif kind == "truncated":  # cut before its index, which a plain MP4 keeps at the end
        path.write_bytes(write_clip(path, faces("real", 10)).read_bytes()[:5_000])
    elif kind == "garbage stream":  # a valid header and index, then noise where the pictures should be
        start = streamable.index(b"mdat") + 4
        path.write_bytes(streamable[:start] + rng.bytes(len(streamable) - start))
    elif kind == "audio only":
        _audio_only(path)
    elif kind == "still image":
        shutil.copy(sorted((FACES / "real").glob("*.jpg"))[0], path)


@pytest.mark.parametrize(("kind", "message"), [
    ("empty", "empty file (0 bytes)"),
    ("random bytes", "not a readable video: corrupt, truncated or another format (Invalid data found when "
                     "processing input)"),
    ("truncated", "not a readable video: corrupt, truncated or another format (Invalid data found when "
                  "processing input)"),
    ("garbage stream", "corrupt video stream, no frame could be decoded (Invalid data found when processing input)"),
    ("audio only", "no video stream (audio only)"),
    ("still image", "a still image (jpeg), not a video"),
    ("missing", "cannot read file (No such file or directory)"),
])
def test_bad_files_raise_one_line_naming_the_file(kind, message, streamable, tmp_path) -> None:
    path = tmp_path / "clip.mp4"
    _bad_input(kind, path, streamable)
    for read in (probe, sample_frames):
        with pytest.raises(VideoDecodeError) as caught:
            read(path)
        assert str(caught.value) == f"{path}: {message}"
    assert isinstance(caught.value, ImageDecodeError)  # skipped wherever an unreadable image is


def test_frames_over_the_pixel_cap_are_refused(clip, monkeypatch) -> None:
    monkeypatch.setenv("DEEPFAKE_DETECTOR_MAX_PIXELS", "60000")
    with pytest.raises(TooLargeError, match=r"256x256 \(0.0655 megapixels\), over the 0.06 megapixel limit"):
        sample_frames(clip)


def test_a_stream_broken_part_way_keeps_the_frames_before_the_damage(streamable, images, tmp_path) -> None:
    path = tmp_path / "cut.mp4"
    path.write_bytes(streamable[:len(streamable) // 2])
    every = sample_frames(path)
    assert 5 < len(every.frames) < 30 and [f.index for f in every.frames] == list(range(len(every.frames)))
    assert_shows(every.frames, images)
    assert every.warnings[0].startswith(f"{path}: decoding stopped at ")
    assert every.warnings[0].endswith(" of 1.20 s (Invalid data found when processing input); the rest was skipped")
    some = sample_frames(path, frames=4)
    assert [f.index for f in some.frames][:2] == [0, 9]
    assert some.warnings and "sampled positions could not be decoded" in some.warnings[0]


def test_is_video_trusts_content_over_a_photo_suffix_and_a_video_suffix_over_content(clip, tmp_path) -> None:
    photo = sorted((FACES / "real").glob("*.jpg"))[0]
    assert is_video(clip) and not is_video(photo)
    assert is_video(shutil.copy(clip, tmp_path / "video.jpg"))  # an MP4 named like a photo
    assert is_video(shutil.copy(photo, tmp_path / "photo.mp4"))  # a video's name: a video's error message
    (tmp_path / "image.avif").write_bytes(b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00mif1")  # ISO BMFF, a still
    assert not is_video(tmp_path / "image.avif")


@pytest.mark.parametrize("kwargs", [{"frames": 0}, {"fps": 0}, {"max_duration_s": -1}])
def test_nonsense_arguments_are_refused(clip, kwargs) -> None:
    with pytest.raises(ValueError):
        sample_frames(clip, **kwargs)
