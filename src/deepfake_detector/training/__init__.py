"""Training: Lightning fit of any registered model, with history, checkpoints and resume."""

from deepfake_detector.training.train import TrainResult, train

__all__ = ["TrainResult", "train"]
