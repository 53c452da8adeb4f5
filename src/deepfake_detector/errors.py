"""User-facing errors: each carries one sentence that names the file or value and the problem.

The CLI prints these as ``error: <message>`` and exits non-zero, never with a traceback.
"""


def first_line(exc: BaseException, limit: int = 160) -> str:
    """The first line of an exception's message (its type name when the message is empty), shortened."""
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:limit]


class DeepfakeDetectorError(Exception):
    """Base class for every error the toolkit reports to a user."""


class ConfigError(DeepfakeDetectorError):
    """A configuration value or file is invalid."""


class DatasetError(DeepfakeDetectorError):
    """A dataset is missing, empty or laid out in a way we cannot read."""


class ImageDecodeError(DeepfakeDetectorError):
    """One image file cannot be read (empty, truncated, corrupt or not an image)."""


class TooLargeError(ImageDecodeError):
    """An image or video over one of the toolkit's limits (pixels, or a service's duration): never decoded."""


class VideoDecodeError(ImageDecodeError):
    """One video file cannot be read (empty, truncated, corrupt, no video stream) or no frame of it decodes.

    A subclass of :class:`ImageDecodeError`, so whatever skips an unreadable image skips an unreadable video too.
    """


class ModelLoadError(DeepfakeDetectorError):
    """A saved model or its weights cannot be loaded."""


class ExportError(DeepfakeDetectorError):
    """A model cannot be exported, or the export does not reproduce the PyTorch model's outputs."""


class EncoderUnavailableError(ModelLoadError):
    """A model's pretrained encoder weights are neither cached nor downloadable (offline)."""
