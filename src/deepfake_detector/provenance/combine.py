"""The rule that puts provenance beside the detector's verdict, written once (docs/provenance.md):

1. A valid C2PA manifest, or a generator's metadata, declaring AI generation -> "fake", reason "provenance".
2. Anything else (a capture or edit manifest, a camera's EXIF, nothing at all) -> the detector's verdict,
   reason "detector"; what was found is shown beside it.
3. Content Credentials that fail validation or cannot be read add a warning; their claims decide nothing.

P(fake) stays the model's score in every case, so the two signals can always be told apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from deepfake_detector.provenance.read import Provenance

PROVENANCE, DETECTOR = "provenance", "detector"


@dataclass(frozen=True)
class Decision:
    label: str
    reason: str  # PROVENANCE or DETECTOR
    warnings: tuple[str, ...]


def decide(detector_label: str, provenance: Provenance | None) -> Decision:
    """The verdict given the detector's label and the file's provenance (None: not read)."""
    if provenance is None:
        return Decision(detector_label, DETECTOR, ())
    if provenance.declares_ai:
        return Decision("fake", PROVENANCE, tuple(provenance.warnings))
    return Decision(detector_label, DETECTOR, tuple(provenance.warnings))
