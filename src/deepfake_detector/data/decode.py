"""Fast, forgiving image decoding: torchvision's native decoders first, Pillow for other formats.

Every image comes out as an RGB ``uint8`` tensor ``(3, H, W)`` with its EXIF orientation applied;
grayscale, palette and RGBA inputs are converted. Anything unreadable raises :class:`ImageDecodeError`
with a one-line reason that names the file.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torchvision.io import ImageReadMode, decode_image
from torchvision.transforms import v2

from deepfake_detector.errors import ImageDecodeError, first_line

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"})
# Formats torchvision decodes natively (libjpeg-turbo etc.), by Pillow's name; the rest go through Pillow.
_NATIVE_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF"})


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
        raise ImageDecodeError(f"{name}: image too large to decode safely (over {limit / 1e6:g} megapixels)") from None
    except UnidentifiedImageError:
        raise ImageDecodeError(f"{name}: not an image or unsupported format") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageDecodeError(f"{name}: corrupt or truncated image ({_short_reason(exc)})") from None
    if width * height > limit:
        raise ImageDecodeError(f"{name}: image is {width}x{height} ({width * height / 1e6:.0f} megapixels), over "
                               f"the {limit / 1e6:g} megapixel limit (DEEPFAKE_DETECTOR_MAX_PIXELS)")
    if width == 0 or height == 0:
        raise ImageDecodeError(f"{name}: empty image ({width}x{height} pixels)")
    return Header(width, height, fmt, orientation)


def decode_bytes(data: bytes, name: str = "<bytes>") -> torch.Tensor:
    """Decode encoded image bytes to an RGB uint8 tensor (3, H, W): the first frame of an animation,
    16-bit images scaled to 8 bits, EXIF orientation applied for every format."""
    if not data:
        raise ImageDecodeError(f"{name}: empty file (0 bytes)")
    header = read_header(data, name)
    # torchvision applies EXIF orientation for JPEG and PNG only: other rotated images go through Pillow.
    native = header.format in _NATIVE_FORMATS and (header.orientation == 1 or header.format in ("JPEG", "PNG"))
    if native:
        try:
            buf = torch.frombuffer(bytearray(data), dtype=torch.uint8)
            image = decode_image(buf, mode=ImageReadMode.RGB, apply_exif_orientation=True)
        except RuntimeError:
            pass  # damaged, or a variant torchvision does not read: Pillow gives the definitive answer
        else:
            if image.ndim == 4:  # an animated GIF/WebP: its first frame
                image = image[0]
            if image.dtype != torch.uint8:  # 16-bit PNG
                image = v2.functional.to_dtype(image, torch.uint8, scale=True)
            return image.contiguous()
    return _decode_with_pillow(data, name)


def _decode_with_pillow(data: bytes, name: str) -> torch.Tensor:
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()  # forces full decode (of the first frame), so truncation is detected here
            upright = ImageOps.exif_transpose(im)
            if upright.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit gray: scale, do not clip
                upright = Image.fromarray((np.asarray(upright, dtype=np.uint32) >> 8).astype(np.uint8))
            rgb = upright.convert("RGB")
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
        reason = "broken symbolic link" if path.is_symlink() else "file not found"
        raise ImageDecodeError(f"{path}: {reason}") from None
    except IsADirectoryError:
        raise ImageDecodeError(f"{path}: is a directory, not an image") from None
    except OSError as exc:
        raise ImageDecodeError(f"{path}: cannot read file ({exc.strerror})") from None
    return decode_bytes(data, str(path))
