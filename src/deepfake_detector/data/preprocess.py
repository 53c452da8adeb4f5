"""The input contract a model carries with it: size and normalisation of its pixels."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Preprocess:
    """How to turn an RGB image into this model's input tensor.

    Pixels are first scaled to [0, 1]; then ``(x - mean) / std`` per channel. ``mean=0, std=1`` is the
    Keras ``Rescaling(1/255)`` of the seed CNN; ``mean=std=0.5`` maps to [-1, 1] (Xception).
    """

    input_size: tuple[int, int] = (128, 128)  # (height, width)
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    interpolation: str = "bilinear"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Preprocess:
        return cls(
            input_size=tuple(d["input_size"]),
            mean=tuple(d["mean"]),
            std=tuple(d["std"]),
            interpolation=d.get("interpolation", "bilinear"),
        )


def size_warning(height: int, width: int, input_size: tuple[int, int]) -> str | None:
    """A warning when an image is far smaller than the model input (its score then says little)."""
    if min(height, width) * 4 < min(input_size):
        return (f"image is only {width}x{height} pixels, far smaller than the model input "
                f"({input_size[1]}x{input_size[0]}): the score is unreliable")
    return None
