"""In-memory images (PIL, NumPy, torch) to the one form the prediction pipeline takes: RGB uint8 ``(H, W, 3)``,
and the model-input resize, with Pillow and NumPy alone (no torch needed).

Each input is checked on its own; a bad one raises :class:`ImageDecodeError` naming it and the problem,
so one bad item never costs the others their result.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from deepfake_detector.errors import ImageDecodeError

_RESAMPLE = {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC,
             "nearest": Image.Resampling.NEAREST, "lanczos": Image.Resampling.LANCZOS}


def _is_torch_tensor(image: Any) -> bool:
    return type(image).__module__.startswith("torch") and hasattr(image, "detach")


def to_uint8_hwc(image: Any, name: str = "<image>") -> np.ndarray:
    """PIL images (any mode); arrays/tensors ``HxW``, ``HxWxC`` or ``CxHxW`` with C in 1, 3, 4, dtype uint8."""
    if isinstance(image, Image.Image):
        image = np.asarray(image.convert("RGB"))
    if _is_torch_tensor(image):
        array = image.detach().cpu().numpy()
        channels_first = True  # torch's convention
    elif isinstance(image, np.ndarray):
        array, channels_first = image, False  # NumPy / PIL's convention, unless the shape says otherwise
    else:
        raise ImageDecodeError(f"{name}: not an image ({type(image).__name__}); pass a path, a PIL image, "
                               "or a uint8 array")
    if array.dtype != np.uint8:
        raise ImageDecodeError(f"{name}: pixel type {array.dtype}; pass uint8 pixels 0-255 "
                               "(e.g. (x * 255).round().astype(np.uint8) for floats in [0, 1])")
    if array.ndim == 4:
        raise ImageDecodeError(f"{name}: a batch of {array.shape[0]} images in one array; pass a list of images")
    if array.ndim == 2:
        array = array[:, :, None]
    elif array.ndim != 3:
        raise ImageDecodeError(f"{name}: {array.ndim}-D array; an image is HxW, HxWxC or CxHxW")
    hwc_like, chw_like = array.shape[-1] in (1, 3, 4), array.shape[0] in (1, 3, 4)
    if chw_like and (channels_first or not hwc_like):
        array = array.transpose(1, 2, 0)
    elif not hwc_like:
        raise ImageDecodeError(f"{name}: shape {tuple(array.shape)} has no colour axis of 1, 3 or 4 channels")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ImageDecodeError(f"{name}: empty image ({array.shape[1]}x{array.shape[0]} pixels)")
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    return np.ascontiguousarray(array[..., :3])


def resize_rgb(rgb: np.ndarray, size: tuple[int, int], interpolation: str = "bilinear") -> np.ndarray:
    """Resize an RGB uint8 array to ``size`` (height, width), antialiased (Pillow; torchvision's
    ``antialias=True`` resize follows Pillow, so both agree to about one grey level)."""
    if rgb.shape[:2] == tuple(size):
        return rgb
    resample = _RESAMPLE.get(interpolation, Image.Resampling.BILINEAR)
    return np.asarray(Image.fromarray(rgb).resize((size[1], size[0]), resample))
