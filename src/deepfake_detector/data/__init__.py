"""Data: find images and labels, split them, decode them fast and forgivingly."""

from deepfake_detector.utils.lazy import lazy_exports

_EXPORTS = {
    "ImageDataset": ".dataset", "collate_skipping_bad": ".dataset", "make_loader": ".dataset",
    "IMAGE_EXTENSIONS": ".pillow_decode", "decode_bytes": ".decode", "read_image": ".decode",
    "DiscoveredDataset": ".discovery", "discover": ".discovery",
    "FAKE": ".samples", "LABEL_NAMES": ".samples", "REAL": ".samples", "BadFile": ".samples", "Sample": ".samples",
    "Splits": ".splits", "make_splits": ".splits", "select_split": ".splits",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
