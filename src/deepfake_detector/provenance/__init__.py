"""Provenance: what a file declares about its origin (C2PA, generator metadata), read before any model."""

from deepfake_detector.utils.lazy import lazy_exports

_EXPORTS = {"Provenance": ".read", "read_provenance": ".read", "decide": ".combine", "Decision": ".combine"}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
