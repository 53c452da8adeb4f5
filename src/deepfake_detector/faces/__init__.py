"""Face detection (MTCNN, OpenCV) and square face crops taken from the full-resolution image.

Exports load on first use (PEP 562), so importing ``deepfake_detector.faces.modes`` stays light.
"""

import importlib

_EXPORTS = {"Region": "crop", "crop_regions": "crop", "face_region": "crop", "whole_image": "crop",
            "Face": "detect", "FaceDetector": "detect"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
