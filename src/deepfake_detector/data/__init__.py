"""Data: find images and labels, split them, decode them fast and forgivingly."""

from deepfake_detector.data.dataset import ImageDataset, collate_skipping_bad, make_loader
from deepfake_detector.data.decode import IMAGE_EXTENSIONS, decode_bytes, read_image
from deepfake_detector.data.discovery import DiscoveredDataset, discover
from deepfake_detector.data.samples import FAKE, LABEL_NAMES, REAL, BadFile, Sample
from deepfake_detector.data.splits import Splits, make_splits, select_split

__all__ = [
    "FAKE", "IMAGE_EXTENSIONS", "LABEL_NAMES", "REAL", "BadFile", "DiscoveredDataset", "ImageDataset",
    "Sample", "Splits", "collate_skipping_bad", "decode_bytes", "discover", "make_loader", "make_splits",
    "read_image", "select_split",
]
