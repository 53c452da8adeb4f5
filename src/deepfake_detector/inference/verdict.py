"""The verdict for a P(fake): "real", "fake" or "uncertain", the one rule every output uses.

A model's ``model.json`` holds its decision ``threshold`` and, optionally, an ``uncertain`` band
``{"low", "high", ...}`` chosen on validation scores (``evaluation/uncertainty.py``), ``low <= threshold <=
high``: P(fake) >= high is "fake", P(fake) < low is "real", anything between is "uncertain". Without a band
the threshold alone decides (P(fake) >= threshold is "fake"), exactly as for models saved before bands existed.
Videos have their own pair, ``video_threshold`` and ``video_uncertain`` (``inference/video.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from deepfake_detector.errors import ModelLoadError

REAL, FAKE, UNCERTAIN = "real", "fake", "uncertain"
VERDICTS = (FAKE, UNCERTAIN, REAL)  # from the most to the least suspicious


@dataclass(frozen=True)
class Band:
    """The P(fake) range ``[low, high)`` in which a model answers "uncertain"."""

    low: float
    high: float

    def to_dict(self) -> dict[str, float]:
        return {"low": self.low, "high": self.high}


@dataclass(frozen=True)
class VerdictRule:
    """A decision threshold and an optional uncertain band around it."""

    threshold: float
    band: Band | None = None

    def __post_init__(self) -> None:
        if self.band is not None and not 0 <= self.band.low <= self.threshold <= self.band.high <= 1:
            raise ValueError(f"the uncertain band must hold the threshold (0 <= low <= threshold <= high <= 1); "
                             f"got low {self.band.low}, threshold {self.threshold}, high {self.band.high}")

    def label(self, p_fake: float) -> str:
        if self.band is None:
            return FAKE if p_fake >= self.threshold else REAL
        if p_fake >= self.band.high:
            return FAKE
        return REAL if p_fake < self.band.low else UNCERTAIN

    def boundaries(self) -> tuple[float, ...]:
        """The P(fake) values at which the label changes: the band's edges, or the threshold without a band."""
        return (self.threshold,) if self.band is None else (self.band.low, self.band.high)

    def to_dict(self) -> dict[str, Any]:
        """``{"threshold", "uncertain": {"low", "high"} or None}``: the rule as outputs (JSON, Parquet) record it."""
        return {"threshold": self.threshold, "uncertain": None if self.band is None else self.band.to_dict()}

    def describe(self, digits: int = 3) -> str:
        """One phrase for printed summaries and report headers."""
        if self.band is None:
            return f"threshold {self.threshold:.{digits}f}"
        return (f"threshold {self.threshold:.{digits}f}, uncertain from {self.band.low:.{digits}f} to "
                f"{self.band.high:.{digits}f}")

    @classmethod
    def checked(cls, threshold: float, band: tuple[float, float] | None, where: str = "model.json",
                band_key: str = "uncertain") -> VerdictRule:
        """The rule of a stored threshold and band ``(low, high)``; one that does not hold its threshold is a
        ModelLoadError naming ``where`` and ``band_key``."""
        try:
            return cls(threshold, None if band is None else Band(*band))
        except ValueError as exc:
            raise ModelLoadError(f"{where}: bad '{band_key}' ({exc})") from None

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any], where: str = "video details") -> VerdictRule:
        """The rule a plain record holds as ``threshold`` and ``uncertain`` (a video's details)."""
        stored = meta.get("uncertain")
        try:
            band = None if stored is None else (float(stored["low"]), float(stored["high"]))
        except (KeyError, TypeError):
            raise ModelLoadError(f"{where}: bad 'uncertain' (it must hold numbers 'low' and 'high', got "
                                 f"{stored!r})") from None
        return cls.checked(float(meta.get("threshold", 0.5)), band, where)
