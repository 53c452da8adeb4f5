"""The model contract: every registry model builds, saves, loads back (typed, validated model.json), predicts
and exports the same way; model.json is validated on load, and older or richer folders still load."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from deepfake_detector import Detector
from deepfake_detector.errors import ModelLoadError
from deepfake_detector.faces.crop import crop_regions, whole_image
from deepfake_detector.models import create_model, list_models
from deepfake_detector.models.artifacts import save_model
from deepfake_detector.models.bundled import META_FILE, read_meta
from deepfake_detector.models.meta import ModelMeta

from .test_explain import REGISTRY_MODELS

# CLIP models load their frozen encoder from the weights cache, so a random one does not round-trip; their
# saving and export are tested with the real encoder in tests/test_clip.py and tests/test_default_model.py.
SELF_CONTAINED = [name for name in REGISTRY_MODELS if not name.startswith("clip")]


def _photo(size: int = 96) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (size, size, 3), dtype=np.uint8)


def test_every_registry_model_is_in_the_contract_tests() -> None:
    assert {n.partition(":")[0] for n in REGISTRY_MODELS} == {n.partition(":")[0] for n in list_models()}


@pytest.mark.parametrize("name", SELF_CONTAINED)
def test_registry_model_saves_loads_predicts_and_exports_alike(name: str, tmp_path: Path, monkeypatch) -> None:
    from deepfake_detector.inference.onnx_export import export_onnx

    monkeypatch.setenv("DEEPFAKE_DETECTOR_CACHE", str(tmp_path / "cache"))
    torch.manual_seed(0)
    args = REGISTRY_MODELS[name]
    model = create_model(name, **args).eval()
    folder = save_model(model, tmp_path / "m", name=name, args=args, threshold=0.3,
                        info={"run_name": "contract", "training": {"data": "none", "n_train": 0}})
    meta = read_meta(folder)
    assert isinstance(meta, ModelMeta) and meta.model.name == name and meta.threshold == 0.3
    assert meta.preprocess == model.preprocess and meta.path == str(folder) and meta.training.n_train == 0

    detector = Detector.load(folder, device="cpu", backend="torch")
    image = _photo()
    [prediction] = detector.predict([image], faces="off", provenance=False)
    crops = crop_regions(image, [whole_image(image)], detector.preprocess)
    with torch.inference_mode():
        expected = torch.sigmoid(model(detector.transform(torch.from_numpy(crops).permute(0, 3, 1, 2)))).item()
    assert prediction.p_fake == pytest.approx(expected, abs=1e-5)
    assert prediction.label == ("fake" if prediction.p_fake >= 0.3 else "real")

    result = export_onnx(detector.model, detector.meta, tmp_path / "m.onnx")
    assert result.max_abs_diff <= 1e-3


def test_model_json_round_trips_and_keeps_unknown_entries(tiny_model: Path) -> None:
    stored = json.loads((tiny_model / META_FILE).read_text())
    stored["from_a_newer_minor_version"] = {"kept": True}
    (tiny_model / META_FILE).write_text(json.dumps(stored))
    detector = Detector.load(tiny_model, device="cpu")
    detector.threshold = 0.25
    detector.save_meta()
    again = json.loads((tiny_model / META_FILE).read_text())
    assert again["from_a_newer_minor_version"] == {"kept": True} and again["threshold"] == 0.25
    assert {k: v for k, v in again.items() if k != "threshold"} == {k: v for k, v in stored.items() if k != "threshold"}


def test_an_older_folder_without_optional_entries_loads(tiny_model: Path) -> None:
    stored = json.loads((tiny_model / META_FILE).read_text())
    for key in ("labels", "score", "format_version"):
        stored.pop(key, None)
    (tiny_model / META_FILE).write_text(json.dumps(stored))
    detector = Detector.load(tiny_model, device="cpu")
    assert detector.meta.temperature is None and detector.temperature == 1.0 and detector.verdict.band is None


@pytest.mark.parametrize(("change", "words"), [
    ({"threshold": "high"}, "bad 'threshold'"),
    ({"preprocess": {"input_size": [32]}}, "bad 'preprocess"),
    ({"threshold_selection": {"n": "many"}}, "bad 'threshold_selection.n'"),
])
def test_a_malformed_model_json_is_one_line_naming_file_and_entry(tiny_model: Path, change: dict, words: str) -> None:
    stored = json.loads((tiny_model / META_FILE).read_text())
    (tiny_model / META_FILE).write_text(json.dumps(stored | change))
    with pytest.raises(ModelLoadError) as caught:
        Detector.load(tiny_model, device="cpu")
    message = str(caught.value)
    assert message.startswith(str(tiny_model / META_FILE)) and words in message and "\n" not in message


@pytest.mark.parametrize("bundled", ["default", "fast"])
def test_bundled_models_carry_a_valid_typed_model_json(bundled: str) -> None:
    detector = Detector.load(bundled, device="cpu")
    meta = detector.meta
    assert meta.model is not None and meta.preprocess == detector.preprocess and meta.training.n_train > 0
    assert meta.threshold_selection is not None and meta.threshold_selection.n > 0
    on_disk = json.loads((Path(meta.path) / META_FILE).read_text())
    assert {k: v for k, v in on_disk.items() if v is not None} == meta.stored()  # typed, nothing lost
