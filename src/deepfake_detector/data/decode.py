"""Fast, forgiving image decoding: torchvision's native decoders first, Pillow for other formats.

Every image comes out as an RGB ``uint8`` tensor ``(3, H, W)`` with its EXIF orientation applied;
grayscale, palette and RGBA inputs are converted. Anything unreadable raises :class:`ImageDecodeError`
with a one-line reason that names the file.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torchvision.io import ImageReadMode, decode_image
from torchvision.transforms import v2

from deepfake_detector.data.pillow_decode import decode_rgb_array, read_bytes, read_header
from deepfake_detector.errors import ImageDecodeError

# Formats torchvision decodes natively (libjpeg-turbo etc.), by Pillow's name; the rest go through Pillow.
_NATIVE_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF"})


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
    return torch.from_numpy(decode_rgb_array(data, name)).permute(2, 0, 1).contiguous()


def read_image(path: str | Path) -> torch.Tensor:
    """Read and decode one image file to an RGB uint8 tensor (3, H, W)."""
    return decode_bytes(read_bytes(path), str(path))
