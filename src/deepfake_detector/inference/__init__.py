"""Inference: load a saved model and score images."""

from deepfake_detector.utils.lazy import lazy_exports

_EXPORTS = {"Detector": ".detector", "Prediction": ".prediction", "expand_paths": ".inputs",
            "load_model": "deepfake_detector.models.artifacts", "save_model": "deepfake_detector.models.artifacts"}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
