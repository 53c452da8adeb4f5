"""deepfake-detector: tell real face photos from generated ones (GAN and diffusion).

    from deepfake_detector import Detector
    Detector.load().predict(["photo.jpg"])

Exports load on first use: ``import deepfake_detector`` and ``--help`` stay fast, torch is imported only
when a model is needed.
"""

from deepfake_detector.utils.lazy import lazy_exports

__version__ = "0.2.0"
_EXPORTS = {"Detector": ".inference.detector", "Prediction": ".inference.prediction",
            "create_model": ".models.registry", "list_models": ".models.registry"}
__all__ = ["__version__", *sorted(_EXPORTS)]
__getattr__ = lazy_exports(__name__, _EXPORTS)
