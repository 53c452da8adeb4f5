"""Fetch the Kaggle "140k Real and Fake Faces" dataset with kagglehub (for users who are online)."""

from __future__ import annotations

from pathlib import Path

from deepfake_detector.errors import DatasetError, first_line

KAGGLE_DATASET = "xhlulu/140k-real-and-fake-faces"
KAGGLE_ALIAS = "kaggle"


def resolve_data_source(source: str | Path | None) -> Path:
    """A local path as given, or, for ``kaggle`` / nothing, the downloaded 140k dataset."""
    if source is not None and str(source) != KAGGLE_ALIAS:
        return Path(source)
    try:
        import kagglehub

        return Path(kagglehub.dataset_download(KAGGLE_DATASET))
    except Exception as exc:  # kagglehub raises many types (network, auth, HTTP)
        reason = first_line(exc, 120)
        raise DatasetError(
            f"could not download the Kaggle dataset '{KAGGLE_DATASET}' ({reason}); pass a local dataset "
            "instead, e.g. --data ../shared/data/140k (or DATA=../shared/data/140k for make demo)"
        ) from None
