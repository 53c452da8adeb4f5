"""deepfake-detector: tell real face photos from GAN-generated ones.

    from deepfake_detector import Detector
    Detector.load("runs/seed-cnn").predict(["photo.jpg"])
"""

from deepfake_detector.inference.detector import Detector, Prediction
from deepfake_detector.models import create_model, list_models

__version__ = "0.1.0"
__all__ = ["Detector", "Prediction", "__version__", "create_model", "list_models"]
