"""Making plots without pyplot (no global backend switch, no display needed), saved atomically or as bytes."""

from __future__ import annotations

import io
from pathlib import Path

from matplotlib.figure import Figure

from deepfake_detector.utils.atomic import atomic_path


def new_figure(*args, figsize: tuple[float, float], **kwargs):
    """A new figure and its axes (``Figure.subplots`` arguments): the only way the toolkit makes plots."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(*args, **kwargs)


def save_png(fig: Figure, path: str | Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight", format="png")
    return Path(path)


def png_bytes(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, dpi=110, bbox_inches="tight", format="png")
    return buf.getvalue()
