"""Reading images with Pillow and NumPy alone (no torch): headers with the pixel cap, RGB arrays, files.

Every path of the toolkit decodes through here or through ``decode.py``, which adds torchvision's faster
native decoders on top; both check the header first, so a decompression bomb is refused before any
decoding, whatever the format.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from deepfake_detector.errors import ImageDecodeError, TooLargeError, first_line

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"})


def _short_reason(exc: Exception) -> str:
    """torchvision errors start with a C++ source location; keep only the human part."""
    text = first_line(exc, 1000)
    return text.rsplit(".cpp:", 1)[-1].split(", ", 1)[-1] if ".cpp:" in text else text


# Decoding a 20000x20000 image takes minutes and ~12 GB: refuse anything over this many pixels, read from
# the header before decoding (torchvision's decoders have no such guard). DEEPFAKE_DETECTOR_MAX_PIXELS
# changes it (docs/reliability.md).
DEFAULT_MAX_PIXELS = 50_000_000
_EXIF_ORIENTATION = 0x0112


def max_pixels() -> int:
    raw = os.environ.get("DEEPFAKE_DETECTOR_MAX_PIXELS", "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else DEFAULT_MAX_PIXELS


@dataclass(frozen=True)
class Header:
    width: int
    height: int
    format: str | None
    orientation: int  # EXIF orientation, 1 = upright


def read_header(data: bytes, name: str) -> Header:
    """Size, format and orientation from the header alone; refuses images over :func:`max_pixels`."""
    limit = max_pixels()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                width, height, fmt = im.width, im.height, im.format
                try:
                    orientation = int(im.getexif().get(_EXIF_ORIENTATION, 1) or 1)
                except Exception:  # a corrupt EXIF block only loses the orientation
                    orientation = 1
    except Image.DecompressionBombError:
        raise TooLargeError(f"{name}: image too large to decode safely (over {limit / 1e6:g} megapixels)") from None
    except UnidentifiedImageError:
        raise ImageDecodeError(f"{name}: not an image or unsupported format") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageDecodeError(f"{name}: corrupt or truncated image ({_short_reason(exc)})") from None
    if width * height > limit:
        raise TooLargeError(f"{name}: image is {width}x{height} ({width * height / 1e6:.0f} megapixels), over "
                               f"the {limit / 1e6:g} megapixel limit (DEEPFAKE_DETECTOR_MAX_PIXELS)")
    if width == 0 or height == 0:
        raise ImageDecodeError(f"{name}: empty image ({width}x{height} pixels)")
    return Header(width, height, fmt, orientation)


def decode_rgb_array(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode image bytes with Pillow to an upright RGB uint8 array (H, W, 3): first frame, 16-bit scaled."""
    if not data:
        raise ImageDecodeError(f"{name}: empty file (0 bytes)")
    read_header(data, name)
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()  # forces full decode (of the first frame), so truncation is detected here
            upright = ImageOps.exif_transpose(im)
            if upright.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit gray: scale, do not clip
                upright = Image.fromarray((np.asarray(upright, dtype=np.uint32) >> 8).astype(np.uint8))
            return np.asarray(upright.convert("RGB"))
    except UnidentifiedImageError:
        raise ImageDecodeError(f"{name}: not an image or unsupported format") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageDecodeError(f"{name}: corrupt or truncated image ({_short_reason(exc)})") from None


def read_bytes(path: str | Path) -> bytes:
    """A file's bytes, or a one-line ImageDecodeError naming it (missing, broken link, unreadable)."""
    path = Path(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        reason = "broken symbolic link" if path.is_symlink() else "file not found"
        raise ImageDecodeError(f"{path}: {reason}") from None
    except IsADirectoryError:
        raise ImageDecodeError(f"{path}: is a directory, not an image") from None
    except OSError as exc:
        raise ImageDecodeError(f"{path}: cannot read file ({exc.strerror})") from None
