"""The wheel a user pip-installs: it carries the bundled models and predicts offline on a real photo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from .conftest import DATA_140K, REPO


def test_wheel_installs_and_predicts_offline(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(REPO)],
                   check=True, capture_output=True, timeout=600)
    (wheel,) = dist.glob("deepfake_detector_toolkit-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for model in ("default-model", "fast-model"):
        for file in ("model.json", "model.safetensors", "MODEL_CARD.md"):
            assert f"deepfake_detector/assets/{model}/{file}" in names
    # Install the wheel alone (its dependencies are this environment's) and run it from there, offline.
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, timeout=600)
    env = {**os.environ, "PYTHONPATH": str(site), "HF_HUB_OFFLINE": "1", "PIP_NO_INDEX": "1"}
    photo = sorted((DATA_140K / "real_vs_fake" / "real-vs-fake" / "test" / "fake").glob("*.jpg"))[0]
    out = tmp_path / "out.json"
    done = subprocess.run([sys.executable, "-c", "import deepfake_detector, sys; print(deepfake_detector.__file__); "
                           "from deepfake_detector.cli import main; sys.exit(main(sys.argv[1:]))",
                           "predict", str(photo), "--faces", "off", "--output", str(out)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[0].startswith(str(site))  # the installed copy answered, not the checkout
    result = json.loads(out.read_text())
    assert result["model"].startswith(str(site)) and result["predictions"][0]["error"] is None
    assert "warning" not in done.stderr  # the default CLIP model itself, no fallback
