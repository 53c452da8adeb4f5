"""A labelled image: the unit every dataset, split and report is made of."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REAL, FAKE = 0, 1
LABEL_NAMES = {REAL: "real", FAKE: "fake"}
LABEL_IDS = {name: label for label, name in LABEL_NAMES.items()}


@dataclass(frozen=True)
class Sample:
    path: Path
    label: int  # fake = 1 (positive class), real = 0
    source: str = ""  # the data source it came from (multi-source training, per-source reports)


@dataclass(frozen=True)
class BadFile:
    """A file skipped because it could not be used, with the one-line reason."""

    path: str
    reason: str
