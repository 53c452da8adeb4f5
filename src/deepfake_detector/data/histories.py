"""The processing histories our fake sources went through, named in one place.

Each fake source reaches us through its own processing (SDXL faces cut out of downscaled JPEG figures, SD 2.1
faces Lanczos-resized from 768 px, ...), written down in ``../shared/data/README.md``. A detector can learn that
history instead of the generator; then an ordinary photo that went through the same steps is called fake.
Training puts both classes through them (``augment.histories``), and the shortcut check (``evaluate
--shortcuts``) measures whether real photos through them look more fake. Their steps are ``perturb.py``'s
perturbations, applied to the decoded image before the model's own resize.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import torch

from deepfake_detector.data.perturb import Perturbation


@dataclass(frozen=True)
class History:
    """A named processing history: perturbations applied in order; call it as ``history(image, index)``."""

    name: str
    describes: str  # which source's files went through it, and how
    steps: tuple[Perturbation, ...]

    @property
    def spec(self) -> str:
        return " > ".join(step.name for step in self.steps)

    @property
    def view_name(self) -> str:
        """Names the training view by its steps, so cached features of other steps are never reused."""
        return f"history-{self.name}-{hashlib.sha256(self.spec.encode()).hexdigest()[:8]}"

    def __call__(self, image: torch.Tensor, index: int = 0) -> torch.Tensor:
        for step in self.steps:
            image = step(image, index)
        return image


HISTORIES = {h.name: h for h in (
    # The photo is brought to the figure tile's size first, so its pixels go through the same grid changes as
    # a tile's (473 px JPEG, then 256 px), whatever size it had.
    History("sdxl-tile", "cross/sfhq-t2i-sdxl: 1024 px SDXL faces shown at ~473 px (46%) in a JPEG q75 figure, "
            "cut out and saved at 256 px, JPEG q75",
            (Perturbation("size", 473), Perturbation("jpeg", 75), Perturbation("size", 256), Perturbation("jpeg", 75))),
    History("sd21", "cross/sdfd-sd21: 768 px Stable Diffusion 2.1 originals, Lanczos to 256 px, JPEG q75",
            (Perturbation("size", 768), Perturbation("size", 256), Perturbation("jpeg", 75))),
    History("jpeg-q75", "140k (FFHQ / StyleGAN), tpdne-sg2, utkface: saved as JPEG q75",
            (Perturbation("jpeg", 75),)),
    History("jpeg-q90", "an ordinary re-save (uploads, messengers) at JPEG q90", (Perturbation("jpeg", 90),)),
)}


def parse_histories(names: list[str]) -> list[History]:
    """Histories by name, each once; ValueError naming the known ones for an unknown name."""
    unknown = [n for n in names if n not in HISTORIES]
    if unknown:
        raise ValueError(f"unknown processing history '{unknown[0]}'; known: {', '.join(HISTORIES)}")
    return [HISTORIES[n] for n in dict.fromkeys(names)]
