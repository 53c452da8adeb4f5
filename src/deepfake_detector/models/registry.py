"""Build models by name, the way ``timm.create_model`` does.

A model factory is registered with :func:`register_model`; every model it returns is an ``nn.Module``
mapping a float batch ``(N, 3, H, W)`` to one logit per image (sigmoid = P(fake)), and has a
``preprocess`` attribute (:class:`Preprocess`) from which all data transforms are derived.

A model *family* (:func:`register_model_family`) builds a whole namespace of names ``<prefix>:<arch>``,
e.g. ``timm:resnet18``: its factory receives the part after the colon as its first argument.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from torch import nn

from deepfake_detector.errors import ConfigError

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}
_FAMILIES: dict[str, Callable[..., nn.Module]] = {}


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


def list_models() -> list[str]:
    return sorted(_REGISTRY) + [f"{prefix}:<name>" for prefix in sorted(_FAMILIES)]


def create_model(name: str, **kwargs) -> nn.Module:
    """Create a registered model; unknown names and bad arguments give a one-line ConfigError."""
    prefix, sep, arch = name.partition(":")
    if sep and prefix in _FAMILIES and arch:
        factory = functools.partial(_FAMILIES[prefix], arch)
    elif name in _REGISTRY:
        factory = _REGISTRY[name]
    else:
        raise ConfigError(f"unknown model '{name}'; available: {', '.join(list_models())}")
    try:
        model = factory(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"bad arguments for model '{name}': {exc}") from None
    if not hasattr(model, "preprocess"):
        raise TypeError(f"model factory '{name}' must set a .preprocess attribute")
    return model


def cam_layer(model: nn.Module) -> nn.Module:
    """The layer Grad-CAM explains for ``model``: its own ``cam_layer()``, else its last ``Conv2d``."""
    if hasattr(model, "cam_layer"):
        return model.cam_layer()
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise TypeError(f"{type(model).__name__} has no convolution layer to explain")
    return convs[-1]
