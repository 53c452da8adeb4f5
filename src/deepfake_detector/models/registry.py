"""Build models by name, the way ``timm.create_model`` does.

A model factory is registered with :func:`register_model`; every model it returns is an ``nn.Module``
mapping a float batch ``(N, 3, H, W)`` to one logit per image (sigmoid = P(fake)), and has a
``preprocess`` attribute (:class:`Preprocess`) from which all data transforms are derived.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from deepfake_detector.errors import ConfigError

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}


def register_model(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Decorator: register a model factory under its function name."""
    _REGISTRY[fn.__name__] = fn
    return fn


def list_models() -> list[str]:
    return sorted(_REGISTRY)


def create_model(name: str, **kwargs) -> nn.Module:
    """Create a registered model; unknown names and bad arguments give a one-line ConfigError."""
    if name not in _REGISTRY:
        raise ConfigError(f"unknown model '{name}'; available: {', '.join(list_models())}")
    try:
        model = _REGISTRY[name](**kwargs)
    except TypeError as exc:
        raise ConfigError(f"bad arguments for model '{name}': {exc}") from None
    if not hasattr(model, "preprocess"):
        raise TypeError(f"model factory '{name}' must set a .preprocess attribute")
    return model
