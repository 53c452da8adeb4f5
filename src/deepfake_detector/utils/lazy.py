"""Package exports that load on first use (PEP 562): importing a package stays light until a name is used.

This keeps ``deepfake-detector --help`` and the torch-free ONNX predict path free of torch, while
``from deepfake_detector.data import read_image`` works as before.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__`` serving ``exports`` (name -> module path, relative to ``package`` if it
    starts with '.')."""

    def __getattr__(name: str) -> object:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        target = exports[name]
        module = importlib.import_module(target if not target.startswith(".") else package + target)
        return getattr(module, name)

    return __getattr__
