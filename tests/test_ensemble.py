"""max_of_models: the largest of member logits, each at its own operating point; `combine` builds one from folders."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from deepfake_detector import Detector
from deepfake_detector.cli import main
from deepfake_detector.data.samples import Sample
from deepfake_detector.data.splits import SPLITS_FILE, Splits, read_splits, write_splits
from deepfake_detector.errors import ConfigError, ModelLoadError
from deepfake_detector.models import create_model
from deepfake_detector.models.artifacts import save_model
from deepfake_detector.models.ensemble import combine_saved_models
from deepfake_detector.serve.page import model_note

SEED = {"input_size": 32, "channels": [4, 8], "dense": 8}
MOBILE = {"input_size": 32}


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _batch(n: int = 4) -> torch.Tensor:
    return torch.rand(n, 3, 32, 32, generator=torch.Generator().manual_seed(0))


def test_forward_is_the_largest_member_logit_at_its_own_operating_point() -> None:
    torch.manual_seed(0)
    model = create_model("max_of_models", members=[
        {"name": "seed_cnn", "args": SEED, "temperature": 1.5, "threshold": 0.8},
        {"name": "mobilenet_v2", "args": MOBILE, "threshold": 0.3, "offset": 0.7}]).eval()
    x = _batch()  # [0, 1] pixels: the combined model's preprocess is the identity
    assert model.preprocess.mean == (0.0, 0.0, 0.0) and model.preprocess.std == (1.0, 1.0, 1.0)
    seed, mobile = model.members
    imagenet_mean = torch.tensor(mobile.preprocess.mean).view(1, 3, 1, 1)
    imagenet_std = torch.tensor(mobile.preprocess.std).view(1, 3, 1, 1)
    with torch.no_grad():
        first = seed(x) / 1.5  # the seed CNN's own normalisation is the identity; its scale is the model's
        second = mobile((x - imagenet_mean) / imagenet_std) - _logit(0.3) - 0.7 + _logit(0.8)
        assert torch.allclose(model(x), torch.maximum(first, second), atol=1e-5)


def test_the_member_that_decides_is_the_one_explained() -> None:
    torch.manual_seed(0)
    members = [{"name": "seed_cnn", "args": SEED}, {"name": "seed_cnn", "args": SEED, "offset": -100.0}]
    model = create_model("max_of_models", members=members).eval()
    part, target = model.explained(_batch(1))
    assert part[1] is model.members[1] and target == model.members[1].cam_target()


@pytest.mark.parametrize(("members", "words"), [
    ([], "non-empty list"),
    ([{"name": "seed_cnn", "args": SEED, "threshold": 1.5}], "member 1: threshold"),
    ([{"name": "seed_cnn", "args": SEED}, {"name": "mobilenet_v2", "args": {"input_size": 64}}], "one input size"),
    ([{"name": "no_such_model"}], "unknown model"),
    ([{"name": "seed_cnn", "args": SEED, "views": ["original", "rotate90"]}], "'rotate90' is not one of"),
    ([{"name": "seed_cnn", "args": SEED, "views": ["zoom0.2"]}], "'zoom0.2' is not one of"),
    ([{"name": "seed_cnn", "args": SEED, "views": []}], "at least one view"),
])
def test_bad_members_are_one_line_config_errors(members: list, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        create_model("max_of_models", members=members)
    assert words in str(caught.value) and "\n" not in str(caught.value)


def _run_folder(tmp_path: Path, name: str, model_name: str, args: dict, threshold: float, splits: Splits) -> Path:
    torch.manual_seed(len(name))
    folder = save_model(create_model(model_name, **args), tmp_path / name, name=model_name, args=args,
                        threshold=threshold, info={"framing": "faces+image", "temperature": 1.3, "run_name": name,
                              "training": {"data": f"{name}-photos + shared-photos", "n_train": 4}})
    write_splits(folder / SPLITS_FILE, splits)
    return folder


def _samples(prefix: str, n: int) -> list[Sample]:
    return [Sample(Path(f"{prefix}{i}.png"), i % 2, "set") for i in range(n)]


def test_a_members_test_time_views_average_its_logits_over_mirrored_and_zoomed_inputs() -> None:
    torch.manual_seed(0)
    model = create_model("max_of_models", members=[
        {"name": "seed_cnn", "args": SEED},
        {"name": "seed_cnn", "args": SEED, "views": ["original", "flip", "zoom0.75+flip"]}]).eval()
    x = _batch()
    second = model.members[1]
    centre = torch.nn.functional.interpolate(x[:, :, 4:28, 4:28], size=(32, 32), mode="bicubic", align_corners=False)
    with torch.no_grad():
        expected = (second(x) + second(x.flip(3)) + second(centre.flip(3))) / 3
        assert torch.allclose(model.raw_logits(x)[:, 1], expected, atol=1e-5)
        assert torch.allclose(model.raw_logits(x)[:, 0], model.members[0](x), atol=1e-6)  # original only: as it was
        assert not torch.allclose(expected, second(x), atol=1e-3)  # the views do change what the member says


def test_combine_writes_a_run_that_scores_as_its_members_and_refuses_unfair_members(tmp_path: Path) -> None:
    first_splits = Splits(_samples("train-a", 4), _samples("valid-a", 4), _samples("test-a", 4), True)
    first = _run_folder(tmp_path, "a", "seed_cnn", SEED, 0.6, first_splits)
    second = _run_folder(tmp_path, "b", "mobilenet_v2", MOBILE, 0.9, Splits(_samples("train-b", 4), [], [], True))
    out = tmp_path / "combined"
    assert main(["combine", str(first), str(second), "--offset", "0.5", "--out", str(out)]) == 0

    combined = Detector.load(out, device="cpu", backend="torch")
    assert combined.meta.framing == "faces+image" and combined.threshold == 0.6  # the first one's, until calibrated
    assert model_note(combined.meta) == ("the model combined (the larger of seed_cnn and mobilenet_v2) trained on "
                                         "a-photos + shared-photos + b-photos")
    assert {k: [s.path for s in v] for k, v in read_splits(out / SPLITS_FILE).items()} == \
        {k: [s.path for s in v] for k, v in read_splits(first / SPLITS_FILE).items()}
    parts = [Detector.load(f, device="cpu", backend="torch") for f in (first, second)]
    crops = np.random.default_rng(1).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    expected = np.maximum(parts[0].logits(crops) / 1.3, parts[1].logits(crops) / 1.3 - _logit(0.9) - 0.5 + _logit(0.6))
    assert np.allclose(combined.logits(crops), expected, atol=1e-4)
    # where the first member decides (here always: the second must clear 100 more), its calibrated P(fake) is kept
    first_decides = Detector.load(combine_saved_models([first, second], [100.0], tmp_path / "first"), device="cpu")
    assert np.allclose(first_decides.p_fake(crops), parts[0].p_fake(crops), atol=1e-5)

    with pytest.raises(ConfigError, match="already exists"):
        combine_saved_models([first, second], [0.5], out)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("a user's file")
    with pytest.raises(ConfigError, match="did not create it"):
        combine_saved_models([first, second], [0.5], tmp_path / "mine", overwrite=True)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "a user's file"
    assert combine_saved_models([first, second], [1.0], out, overwrite=True) == out
    assert Detector.load(out, device="cpu").meta.model.args["members"][1]["offset"] == 1.0
    # test-time views travel in model.json and are what scores
    viewed = tmp_path / "viewed"
    assert main(["combine", str(first), str(second), "--offset", "0.5", "--views", "original", "original,flip",
                 "--out", str(viewed)]) == 0
    with_views = Detector.load(viewed, device="cpu", backend="torch")
    assert with_views.meta.model.args["members"][1]["views"] == ["original", "flip"]
    mirrored = (parts[1].logits(crops) + parts[1].logits(crops[:, :, ::-1].copy())) / 2
    second_scaled = mirrored / 1.3 - _logit(0.9) - 0.5 + _logit(0.6)
    assert np.allclose(with_views.logits(crops), np.maximum(parts[0].logits(crops) / 1.3, second_scaled), atol=1e-4)
    with pytest.raises(ConfigError, match="views for each of the 2 models"):
        combine_saved_models([first, second], [0.5], tmp_path / "one-view", views=[["flip"]])

    leaky = _run_folder(tmp_path, "c", "mobilenet_v2", MOBILE, 0.9, Splits(_samples("valid-a", 2), [], [], True))
    with pytest.raises(ConfigError, match="trained on 2 of .*validation/test"):
        combine_saved_models([first, leaky], [0.0], tmp_path / "unfair")
    assert not (tmp_path / "unfair").exists()


def test_a_member_of_a_combined_folder_initialises_training(tmp_path: Path) -> None:
    from deepfake_detector.models.artifacts import init_from_saved
    from deepfake_detector.models.meta import COMBINED

    splits = Splits(_samples("train", 2), _samples("valid", 2), [], True)
    first = _run_folder(tmp_path, "a", "seed_cnn", SEED, 0.6, splits)
    second = _run_folder(tmp_path, "b", "mobilenet_v2", MOBILE, 0.9, Splits([], [], [], True))
    combined = combine_saved_models([first, second], [0.0], tmp_path / "ab")
    fresh = create_model("mobilenet_v2", **MOBILE)
    init_from_saved(fresh, "mobilenet_v2", combined)
    saved = Detector.load(second, device="cpu", backend="torch").model
    assert all(torch.equal(v, saved.state_dict()[k]) for k, v in fresh.state_dict().items())
    assert COMBINED == "max_of_models"  # the registry name the folder records
    with pytest.raises(ModelLoadError, match="none of its members"):
        init_from_saved(create_model("timm:resnet18", input_size=32), "timm:resnet18", combined)


def test_a_combined_model_reads_its_cacheable_members_encoder_from_the_feature_cache(tmp_path: Path,
                                                                                      monkeypatch) -> None:
    from deepfake_detector.inference import feature_cache
    from deepfake_detector.models.transfer import TransferModel

    monkeypatch.setattr(feature_cache, "cache_dir", lambda: tmp_path / "cache")
    monkeypatch.setattr(TransferModel, "feature_key", lambda self: "test-mobilenet-v2-32px", raising=False)
    torch.manual_seed(0)
    model = create_model("max_of_models", members=[
        {"name": "seed_cnn", "args": SEED},
        {"name": "mobilenet_v2", "args": MOBILE, "offset": -1.0, "views": ["original", "zoom0.75+flip"]}]).eval()
    runner = feature_cache.cached_features_runner(model)
    assert isinstance(runner, feature_cache.CachedMembers)
    x = _batch()
    with torch.no_grad():
        expected = model(x)
    assert torch.allclose(runner(x), expected, atol=1e-5)  # the encoder ran once, its features now stored
    calls = []
    backbone = model.members[1].backbone
    monkeypatch.setattr(backbone, "forward", lambda t: calls.append(len(t)) or type(backbone).forward(backbone, t))
    assert torch.allclose(runner(x), expected, atol=1e-5) and calls == []  # again: from the cache alone


def test_the_default_models_members_taken_apart_combine_into_the_same_model(tmp_path: Path) -> None:
    """``scripts/extract_member.py`` (how the default is rebuilt with a retrained member): each member keeps its
    weights, temperature and threshold, the first its run's split lists (made again from its recipe, the counts its
    training recorded); combining them again at the same offset scores as the default."""
    import subprocess
    import sys

    from .conftest import REPO

    default = Detector.load(None, device="cpu", backend="torch")
    specs = default.meta.model.args["members"]
    folders = []
    for index, extra in ((0, ["--framing", "faces+image", "--splits", "configs/clip-detector.yaml"]), (1, [])):
        out = tmp_path / f"member-{index}"
        subprocess.run([sys.executable, "scripts/extract_member.py", "default", str(index), str(out), *extra],
                       cwd=REPO, check=True, capture_output=True)
        member = Detector.load(out, device="cpu", backend="torch")
        assert member.meta.temperature == pytest.approx(specs[index]["temperature"])
        assert member.meta.threshold == pytest.approx(specs[index]["threshold"])
        assert member.meta.run_name == specs[index]["label"]
        folders.append(out)
    splits = read_splits(folders[0] / SPLITS_FILE)
    training = default.meta.training
    assert (len(splits["train"]), len(splits["valid"])) == (training.n_train, training.n_valid)
    assert not (folders[1] / SPLITS_FILE).exists()
    combined = Detector.load(combine_saved_models(folders, [specs[1]["offset"]], tmp_path / "again"), device="cpu",
                             backend="torch")
    assert (combined.meta.model.args["members"][1]["offset"], combined.meta.threshold_policy) == (
        specs[1]["offset"], default.meta.threshold_policy)
    x = torch.rand(2, 3, 224, 224)
    with torch.no_grad():
        assert torch.allclose(combined.model.member_logits(x), default.model.member_logits(x), atol=1e-5)
