"""Face detection (MTCNN, OpenCV) and square face crops taken from the full-resolution image."""

from deepfake_detector.faces.crop import Region, crop_regions, face_region, whole_image
from deepfake_detector.faces.detect import Face, FaceDetector

__all__ = ["Face", "FaceDetector", "Region", "crop_regions", "face_region", "whole_image"]
