"""Fast, forgiving image decoding: torchvision's native decoders first, Pillow for other formats.

Every image comes out as an RGB ``uint8`` tensor ``(3, H, W)`` with its EXIF orientation applied;
grayscale, palette and RGBA inputs are converted. Anything unreadable raises :class:`ImageDecodeError`
with a one-line reason that names the file.
"""

from __future__ import annotations

import io
from pathlib import Path

import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torchvision.io import ImageReadMode, decode_image

from deepfake_detector.errors import ImageDecodeError

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"})
# Formats torchvision decodes natively (libjpeg-turbo etc.); the rest go through Pillow.
_NATIVE = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif"})


def _short_reason(exc: Exception) -> str:
    """torchvision errors start with a C++ source location; keep only the human part."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text.rsplit(".cpp:", 1)[-1].split(", ", 1)[-1] if ".cpp:" in text else text


def decode_bytes(data: bytes, name: str = "<bytes>") -> torch.Tensor:
    """Decode encoded image bytes to an RGB uint8 tensor (3, H, W)."""
    if not data:
        raise ImageDecodeError(f"{name}: empty file (0 bytes)")
    suffix = Path(name).suffix.lower()
    if suffix in _NATIVE or suffix not in IMAGE_EXTENSIONS:
        try:
            buf = torch.frombuffer(bytearray(data), dtype=torch.uint8)
            return decode_image(buf, mode=ImageReadMode.RGB, apply_exif_orientation=True)
        except RuntimeError:
            pass  # not a format torchvision knows, or damaged: Pillow gives the definitive answer
    return _decode_with_pillow(data, name)


def _decode_with_pillow(data: bytes, name: str) -> torch.Tensor:
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()  # forces full decode, so truncation is detected here
            rgb = ImageOps.exif_transpose(im).convert("RGB")
    except UnidentifiedImageError:
        raise ImageDecodeError(f"{name}: not an image or unsupported format") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageDecodeError(f"{name}: corrupt or truncated image ({_short_reason(exc)})") from None
    array = torch.frombuffer(bytearray(rgb.tobytes()), dtype=torch.uint8)
    return array.view(rgb.height, rgb.width, 3).permute(2, 0, 1).contiguous()


def read_image(path: str | Path) -> torch.Tensor:
    """Read and decode one image file to an RGB uint8 tensor (3, H, W)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageDecodeError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ImageDecodeError(f"{path}: is a directory, not an image") from None
    except OSError as exc:
        raise ImageDecodeError(f"{path}: cannot read file ({exc.strerror})") from None
    return decode_bytes(data, str(path))
