"""Face detection (MTCNN, OpenCV) and square face crops taken from the full-resolution image."""

from deepfake_detector.utils.lazy import lazy_exports

_EXPORTS = {"Region": ".crop", "crop_regions": ".crop", "face_region": ".crop", "whole_image": ".crop",
            "Face": ".detect", "FaceDetector": ".detect"}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
