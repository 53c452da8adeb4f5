"""Build models by name, the way ``timm.create_model`` does.

A model factory is registered with :func:`register_model`; every model it returns is a
:class:`~deepfake_detector.models.base.DetectorModel` mapping a float batch ``(N, 3, H, W)`` to one logit per
image (sigmoid = P(fake)), with a ``preprocess`` (:class:`Preprocess`) from which all transforms are derived.

A model *family* (:func:`register_model_family`) builds a whole namespace of names ``<prefix>:<arch>``,
e.g. ``timm:resnet18``: its factory receives the part after the colon as its first argument.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable

from torch import nn

from deepfake_detector.data.preprocess import Preprocess
from deepfake_detector.errors import ConfigError, first_line
from deepfake_detector.models.base import DetectorModel

_REGISTRY: dict[str, Callable[..., DetectorModel]] = {}


def _positive_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v > 0


# Arguments several models share, checked before the factory runs (a bad value would otherwise surface as
# a cryptic error deep inside a layer).
_ARG_CHECKS: dict[str, tuple[Callable[[object], bool], str]] = {
    "input_size": (lambda v: v is None or (_positive_int(v) and 16 <= v <= 4096),
                   "a whole number of pixels between 16 and 4096"),
    "dropout": (lambda v: isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v < 1,
                "a probability in [0, 1)"),
    "channels": (lambda v: isinstance(v, list | tuple) and len(v) > 0 and all(_positive_int(c) for c in v),
                 "a list of positive whole numbers, e.g. [32, 64, 128]"),
    "dense": (_positive_int, "a positive whole number"),
    "trainable_blocks": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
                         "a whole number >= 0"),
}
_FAMILIES: dict[str, Callable[..., DetectorModel]] = {}


def register_model(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Decorator: register a model factory under its function name."""
    _REGISTRY[fn.__name__] = fn
    return fn


def register_model_family(prefix: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator: ``create_model("<prefix>:<arch>", **kw)`` calls ``fn(arch, **kw)``."""

    def decorate(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        _FAMILIES[prefix] = fn
        return fn

    return decorate


# The modules that register the zoo, imported on first use of the registry.
_ZOO = ("deepfake_detector.models.seed_cnn", "deepfake_detector.models.transfer", "deepfake_detector.models.clip",
        "deepfake_detector.models.ensemble")


def _register_zoo() -> None:
    for module in _ZOO:
        importlib.import_module(module)


def list_models() -> list[str]:
    _register_zoo()
    return sorted(_REGISTRY) + [f"{prefix}:<name>" for prefix in sorted(_FAMILIES)]


def create_model(name: str, **kwargs) -> DetectorModel:
    """Create a registered model; unknown names and bad arguments give a one-line ConfigError."""
    _register_zoo()
    prefix, sep, arch = name.partition(":")
    if sep and prefix in _FAMILIES and arch:
        factory = functools.partial(_FAMILIES[prefix], arch)
    elif name in _REGISTRY:
        factory = _REGISTRY[name]
    else:
        raise ConfigError(f"unknown model '{name}'; available: {', '.join(list_models())}")
    for arg, value in kwargs.items():
        check = _ARG_CHECKS.get(arg)
        if check is not None and not check[0](value):
            raise ConfigError(f"model '{name}': {arg} must be {check[1]} (got {value!r})")
    try:
        model = factory(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"bad arguments for model '{name}': {first_line(exc)}") from None
    if not isinstance(model, DetectorModel) or not isinstance(vars(model).get("preprocess"), Preprocess):
        raise TypeError(f"model factory '{name}' must return a DetectorModel with its .preprocess set")
    return model

