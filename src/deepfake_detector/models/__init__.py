"""Model zoo: every model is created by name and carries its own preprocessing.

The zoo registers itself when a model is first asked for (``registry.create_model``), so the light
modules of this package (``models.bundled``) import no torch.
"""

from deepfake_detector.utils.lazy import lazy_exports

_EXPORTS = {"Preprocess": "deepfake_detector.data.preprocess", "DetectorModel": ".base", "create_model": ".registry",
            "list_models": ".registry", "register_model": ".registry"}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
