"""What a prediction is: one input's P(fake), label, reason it failed, faces and warnings."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Prediction:
    path: str | None
    p_fake: float | None
    label: str | None  # "fake" or "real"; None when the file could not be read
    error: str | None = None
    # faces="auto": one {"box", "crop", "confidence", "p_fake"} per face ([] = none found); None = not searched
    faces: list[dict] | None = None
    warning: str | None = None  # e.g. no face found, or a face much smaller than the model input

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
