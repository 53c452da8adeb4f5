"""Decoding: formats, colour modes, EXIF orientation, and one-line errors for bad files."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from deepfake_detector.data import ImageDataset, collate_skipping_bad, read_image
from deepfake_detector.data.samples import Sample
from deepfake_detector.data.transforms import build_transform
from deepfake_detector.errors import ImageDecodeError
from deepfake_detector.models import Preprocess

from .conftest import DATA_140K, write_image


@pytest.mark.parametrize(("mode", "fmt", "suffix"), [
    ("L", "PNG", ".png"), ("RGBA", "PNG", ".png"), ("P", "GIF", ".gif"), ("RGB", "BMP", ".bmp"),
    ("RGB", "TIFF", ".tif"), ("RGB", "WEBP", ".webp"), ("RGB", "JPEG", ".jpg"),
])
def test_any_mode_and_format_becomes_rgb_uint8(tmp_path: Path, mode: str, fmt: str, suffix: str):
    path = write_image(tmp_path / f"x{suffix}", (10, 200, 30), size=40, mode=mode, fmt=fmt)
    image = read_image(path)
    assert image.dtype == torch.uint8 and image.shape == (3, 40, 40)


def test_real_jpeg_matches_pillow():
    path = next((DATA_140K / "real_vs_fake" / "real-vs-fake" / "test" / "real").glob("*.jpg"))
    ours = read_image(path).permute(1, 2, 0).numpy().astype(int)
    pil = np.asarray(Image.open(path).convert("RGB")).astype(int)
    assert ours.shape == (256, 256, 3)
    assert np.abs(ours - pil).mean() < 2.0  # both libjpeg; only IDCT rounding may differ


def test_exif_orientation_is_applied(tmp_path: Path):
    arr = np.zeros((20, 40, 3), dtype=np.uint8)  # wide image
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° on display: shown tall
    Image.fromarray(arr).save(tmp_path / "rot.jpg", exif=exif.tobytes())
    assert read_image(tmp_path / "rot.jpg").shape == (3, 40, 20)


def test_bad_files_give_one_line_errors_naming_the_file(tmp_path: Path):
    good = write_image(tmp_path / "good.jpg", (1, 2, 3), size=64, fmt="JPEG")
    data = good.read_bytes()
    cases = {
        "empty.jpg": (b"", "empty file"),
        "trunc.jpg": (data[: len(data) // 2], "truncated"),
        "text.jpg": (b"hello, I am not an image", "not an image"),
        "text.png": (b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, "corrupt or truncated"),
    }
    for name, (content, reason) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ImageDecodeError) as info:
            read_image(tmp_path / name)
        message = str(info.value)
        assert message.startswith(str(tmp_path / name)) and reason in message and "\n" not in message
    with pytest.raises(ImageDecodeError, match="file not found"):
        read_image(tmp_path / "missing.jpg")


def test_dataset_and_collate_skip_bad_files(tmp_path: Path):
    ok = [write_image(tmp_path / f"ok{i}.png", (9, 9, 9), size=32) for i in range(3)]
    (tmp_path / "bad.jpg").write_bytes(b"")
    samples = [Sample(ok[0], 0), Sample(tmp_path / "bad.jpg", 1), Sample(ok[1], 1), Sample(ok[2], 0)]
    pre = Preprocess(input_size=(16, 16))
    for cache in (True, False):
        ds = ImageDataset(samples, pre, build_transform(pre), cache=cache, progress=False)
        batch = collate_skipping_bad([ds[i] for i in range(len(ds))])
        assert batch["image"].shape == (3, 3, 16, 16)
        assert batch["index"].tolist() == [0, 2, 3] and batch["label"].tolist() == [0, 1, 0]
        assert [i for i, _ in batch["bad"]] == [1] and "empty file" in batch["bad"][0][1]
    cached = ImageDataset(samples, pre, build_transform(pre), cache=True, progress=False)
    assert [Path(b.path).name for b in cached.bad_files] == ["bad.jpg"]


def test_transform_scales_like_keras_rescaling():
    pre = Preprocess(input_size=(4, 4))
    img = torch.full((3, 4, 4), 255, dtype=torch.uint8)
    assert torch.allclose(build_transform(pre)(img), torch.ones(3, 4, 4))
    half = Preprocess(input_size=(4, 4), mean=(0.5,) * 3, std=(0.5,) * 3)
    assert torch.allclose(build_transform(half)(torch.zeros(3, 4, 4, dtype=torch.uint8)), -torch.ones(3, 4, 4))


def test_decode_bytes_from_memory():
    from deepfake_detector.data import decode_bytes

    buf = io.BytesIO()
    Image.new("RGB", (8, 6), (255, 0, 0)).save(buf, format="PNG")
    image = decode_bytes(buf.getvalue(), "upload.png")
    assert image.shape == (3, 6, 8) and image[0].min() == 255 and image[1].max() == 0


def test_crop_augmentation_cuts_pixels_without_resampling():
    from deepfake_detector.config import AugmentConfig

    pre = Preprocess(input_size=(8, 8))
    image = torch.arange(64, dtype=torch.uint8).reshape(1, 8, 8).repeat(3, 1, 1)
    torch.manual_seed(0)
    crops = [build_transform(pre, AugmentConfig(crop=0.5))(image) for _ in range(20)]
    assert {c.shape for c in crops} == {(3, 4, 4)}
    values = image[0].float() / 255
    windows = {(i, j) for i in range(5) for j in range(5)}
    origins = set()
    for c in crops:  # every crop is an exact 4x4 window of the original pixels
        match = [(i, j) for i, j in windows if torch.allclose(c[0], values[i:i + 4, j:j + 4])]
        assert len(match) == 1
        origins.add(match[0])
    assert len(origins) > 3  # and the window moves
