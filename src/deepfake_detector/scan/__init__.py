"""Scanning at scale: millions of images into sharded Parquet, resumable, locally or on Ray Data."""

from deepfake_detector.utils.lazy import lazy_exports

DEFAULT_SHARD_SIZE = 2000  # rows per Parquet file: a kill loses at most this much work

_EXPORTS = {"scan": ".api", "read_summary": ".summary", "write_report": ".report"}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
