"""The small, documented table of what generators and cameras write into files (docs/provenance.md).

Two kinds of entries: IPTC digital source types (the vocabulary C2PA actions and XMP ``DigitalSourceType``
share) and unsigned generator markers (PNG text chunks, EXIF/XMP tool names). Only entries whose
``declares_ai`` is true can turn a verdict into "fake"; the rest are shown, never acted on.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# IPTC NewsCodes "digitalsourcetype" (https://cv.iptc.org/newscodes/digitalsourcetype/), by their last path
# segment: C2PA writes the full URL, XMP sometimes the bare code.
AI_SOURCE_TYPES = frozenset({
    "trainedAlgorithmicMedia",  # made by a generative model (text-to-image, GAN, ...)
    "compositeWithTrainedAlgorithmicMedia",  # a composite with AI-generated parts (e.g. generative fill)
})
CAPTURE_SOURCE_TYPES = frozenset({
    "digitalCapture", "computationalCapture", "negativeFilm", "positiveFilm", "print", "compositeCapture",
})


def source_type_name(value: str) -> str:
    """``http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia`` -> ``trainedAlgorithmicMedia``."""
    return value.rstrip("/").rsplit("/", 1)[-1].strip()


@dataclass(frozen=True)
class Marker:
    """One known marker: where it is written, which tool writes it, and whether it declares AI generation."""

    where: str  # "png:<key>" (a PNG text chunk), "exif:<tag>", or "xmp:CreatorTool"
    tool: str  # "{name}": the generator name found in the value
    declares_ai: bool
    match: Callable[[str], str | None]  # the matched text, None if no match; the first matching row wins

    def tool_for(self, value: str) -> str | None:
        """Which tool wrote ``value`` by this row, or None when the row does not match it."""
        name = self.match(value)
        return None if name is None else self.tool.format(name=name)


def _pattern(regex: str) -> Callable[[str], str | None]:
    compiled = re.compile(regex)
    return lambda text: m.group(0) if (m := compiled.search(text)) else None


def _present(text: str) -> str:
    return text


_A1111 = r"Steps: \d+, Sampler: "  # the settings line AUTOMATIC1111 and its forks append to the prompt
# Tool names written into EXIF Software, XMP CreatorTool or a PNG "Software" chunk by image generators.
_GENERATOR_NAMES = (r"(?i)\b(stable diffusion|novelai|midjourney|dall[-·]?e|adobe firefly|imagen|comfyui|"
                    r"automatic1111|invokeai|fooocus|leonardo\.ai|ideogram)\b")

MARKERS: tuple[Marker, ...] = (
    Marker("png:parameters", "AUTOMATIC1111 / Forge / SD.Next", True, _pattern(_A1111)),
    Marker("png:prompt", "ComfyUI", True, _pattern(r'"class_type"\s*:')),
    Marker("png:workflow", "ComfyUI", True, _pattern(r'"nodes"\s*:')),
    Marker("png:invokeai_metadata", "InvokeAI", True, _present),
    Marker("png:sd-metadata", "InvokeAI", True, _present),
    Marker("png:Dream", "InvokeAI", True, _present),
    Marker("png:fooocus_scheme", "Fooocus", True, _present),
    Marker("png:Software", "{name}", True, _pattern(_GENERATOR_NAMES)),
    Marker("exif:UserComment", "AUTOMATIC1111 / Forge / SD.Next", True, _pattern(_A1111)),
    Marker("exif:Software", "{name}", True, _pattern(_GENERATOR_NAMES)),
    Marker("xmp:CreatorTool", "{name}", True, _pattern(_GENERATOR_NAMES)),
    Marker("exif:Software", "the software that saved it", False, _present),
    Marker("exif:Make", "a camera maker", False, _present),
    Marker("exif:Model", "a camera model", False, _present),
)
