"""Grad-CAM explanations of the full model (backbone + head), drawn over the photo."""

from deepfake_detector.explain.gradcam import Explanation, explain_image, overlay_png, write_explanations

__all__ = ["Explanation", "explain_image", "overlay_png", "write_explanations"]
