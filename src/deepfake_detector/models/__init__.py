"""Model zoo: every model is created by name and carries its own preprocessing."""

from deepfake_detector.data.preprocess import Preprocess
from deepfake_detector.models import clip as _clip  # noqa: F401  (registers the CLIP detectors)
from deepfake_detector.models import seed_cnn as _seed_cnn  # noqa: F401  (registers the model)
from deepfake_detector.models import transfer as _transfer  # noqa: F401  (registers the pretrained zoo)
from deepfake_detector.models.registry import cam_layer, create_model, list_models, register_model

__all__ = ["Preprocess", "cam_layer", "create_model", "list_models", "register_model"]
