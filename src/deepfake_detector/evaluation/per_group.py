"""Results per group of people: false positives on reals and recall on fakes by age band, gender and ethnicity.

A detector that flags one group's real photos more often than another's accuses those people more often;
a pooled false-positive rate hides it. Groups come from UTKFace-style file names,
``AGE_GENDER_RACE_DATE.jpg.chip.jpg`` (gender 0 male, 1 female; race 0 white, 1 black, 2 asian, 3 indian,
4 other). A group is (source, attribute, value), e.g. (utkface, gender, female); files whose names do not
follow the pattern belong to no group. Each row is a ``per_source.subset_row``: the same metrics and
bootstrap 95% intervals as a source's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from deepfake_detector.evaluation.per_source import POOLED, subset_row
from deepfake_detector.evaluation.report import rows_table
from deepfake_detector.evaluation.scoring import Scored
from deepfake_detector.evaluation.summary import BAND_METRICS
from deepfake_detector.evaluation.uncertainty import UncertainBand

UTKFACE_NAME = re.compile(r"^(\d{1,3})_([01])_([0-4])_\d+\.")
GENDERS = ("male", "female")
ETHNICITIES = ("white", "black", "asian", "indian", "other")
AGE_BANDS = ((0, 14), (15, 29), (30, 44), (45, 59), (60, None))  # inclusive; None: no upper bound
REPORT_METRICS = ("false_positive_rate", "recall")


def _age_band(low: int, high: int | None) -> str:
    return f"{low}+" if high is None else f"{low}-{high}"


@dataclass(frozen=True)
class Person:
    """The groups one face belongs to (one value per attribute)."""

    age: str
    gender: str
    ethnicity: str

    @classmethod
    def from_name(cls, path: str | Path) -> Person | None:
        """The person a UTKFace-style file name describes; None for any other name."""
        match = UTKFACE_NAME.match(Path(path).name)
        if not match:
            return None
        age = int(match[1])
        band = next(_age_band(low, high) for low, high in AGE_BANDS if high is None or age <= high)
        return cls(band, GENDERS[int(match[2])], ETHNICITIES[int(match[3])])


ATTRIBUTES = tuple(f.name for f in fields(Person))
VALUES = {"age": tuple(_age_band(*b) for b in AGE_BANDS), "gender": GENDERS, "ethnicity": ETHNICITIES}


def per_group_rows(scored: Scored, threshold: float, seed: int = 0, band: UncertainBand | None = None) -> list[dict]:
    """One row per (source, attribute, value) present among files with UTKFace-style names; [] without any."""
    people = [Person.from_name(s.path) for s in scored.samples]
    sources = np.array([s.source or POOLED for s in scored.samples])
    y, p = np.asarray(scored.labels), np.asarray(scored.p_fake)
    rows = []
    for source in sorted({src for src, person in zip(sources, people, strict=True) if person}):
        for attribute in ATTRIBUTES:
            values = np.array([getattr(person, attribute) if person else "" for person in people])
            for value in VALUES[attribute]:
                mask = (sources == source) & (values == value)
                if mask.any():
                    rows.append({"source": source, "attribute": attribute, "value": value,
                                 **subset_row(y[mask], p[mask], threshold, seed, band)})
    return rows


def per_group_section(rows: list[dict]) -> str:
    """HTML for the report: one row per group at the stored threshold."""
    banded = BAND_METRICS if "uncertain_share" in rows[0] else ()
    return ("<h2>Per group (UTKFace age band, gender, ethnicity from the file names; at the stored threshold: "
            "false-positive rate on real photos, recall on fakes)</h2>"
            + rows_table(rows, ("source", "attribute", "value"), REPORT_METRICS + banded))
