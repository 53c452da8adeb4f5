"""deepfake-detector: tell real face photos from generated ones (GAN and diffusion).

    from deepfake_detector import Detector
    Detector.load().predict(["photo.jpg"])

Exports load on first use (PEP 562): ``import deepfake_detector`` and the CLI's ``--help`` stay fast,
torch is imported only when a model is needed.
"""

import importlib

__version__ = "0.2.0"
_EXPORTS = {"Detector": "inference.detector", "Prediction": "inference.detector",
            "create_model": "models", "list_models": "models"}
__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
