"""Inference: load a saved model and score images."""

from deepfake_detector.inference.detector import Detector, Prediction
from deepfake_detector.inference.inputs import expand_paths
from deepfake_detector.models.artifacts import load_model, save_model

__all__ = ["Detector", "Prediction", "expand_paths", "load_model", "save_model"]
