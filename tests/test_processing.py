"""Processing augmentation for both classes, class filters on sources, and training from a saved model."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest
import torch

from deepfake_detector.config import HistoryName, ProcessingConfig, load_config
from deepfake_detector.data.decode import read_image
from deepfake_detector.data.processing import process_image, view_name
from deepfake_detector.data.sources import make_source_splits
from deepfake_detector.errors import ConfigError, DatasetError, ModelLoadError
from deepfake_detector.models import create_model
from deepfake_detector.models.artifacts import init_from_saved, save_model

from .conftest import CROSS, DATA_140K

FACES = sorted((DATA_140K / "real_vs_fake" / "real-vs-fake" / "valid" / "real").glob("*.jpg"))[:4]
YONSEI = CROSS / "yonsei-photoshop"


def test_a_processed_view_is_a_seeded_history_of_the_same_photo() -> None:
    cfg = ProcessingConfig(views=2)
    image = read_image(FACES[0])
    first = process_image(image, cfg, seed=1, view=0, index=3)
    assert first.dtype == torch.uint8 and first.shape[0] == 3
    assert torch.equal(first, process_image(image, cfg, seed=1, view=0, index=3))  # cacheable: same every run
    others = [process_image(image, cfg, seed=1, view=v, index=i) for v, i in ((1, 3), (0, 4))]
    assert all(o.shape != first.shape or not torch.equal(o, first) for o in others)
    # Cropped at most to `crop` of the side, near the centre: still the same photo, at most the same size.
    sides = [process_image(image, cfg, seed=s, view=0, index=0).shape[1:] for s in range(20)]
    assert all(8 <= h <= image.shape[1] and 8 <= w <= image.shape[2] for h, w in sides)
    assert min(h for h, _ in sides) < 0.8 * image.shape[1]  # tight framings do occur


def test_every_step_off_leaves_the_photo_as_it_was() -> None:
    none = ProcessingConfig(crop=1.0, p_downscale=0, p_jpeg=0, p_blur=0, p_sharpen=0, p_color=0)
    image = read_image(FACES[1])
    assert torch.equal(process_image(image, none, seed=0, view=0, index=0), image)


def test_a_view_is_named_by_its_recipe() -> None:
    cfg = ProcessingConfig(views=1)
    assert view_name(cfg, 0, 42) == view_name(ProcessingConfig(views=1), 0, 42)
    assert view_name(cfg, 0, 42) != view_name(ProcessingConfig(views=1, crop=0.9), 0, 42)
    assert view_name(cfg, 0, 42) != view_name(cfg, 1, 42)


def test_bad_processing_values_are_refused_before_any_work() -> None:
    with pytest.raises(ConfigError, match="augment.process.jpeg"):
        load_config(None, ["augment.process.jpeg=[90, 40]"])
    with pytest.raises(ConfigError, match="augment.process.p_blur"):
        load_config(None, ["augment.process.p_blur=2"])


def test_a_source_can_keep_one_class() -> None:
    data = load_config(None, [f"data.sources=[{{name: 140k, path: '{DATA_140K}'}}, "
                              f"{{name: yonsei-real, path: '{YONSEI}', classes: [real]}}]"]).data
    splits, _ = make_source_splits(data.sources, seed=0)
    yonsei = [s for part in (splits.train, splits.valid, splits.test) for s in part if s.source == "yonsei-real"]
    assert len(yonsei) == len(list((YONSEI / "real").glob("*"))) and {s.label for s in yonsei} == {0}
    with pytest.raises(DatasetError, match="no fake images"):
        only_fakes = load_config(None, [f"data.sources=[{{path: '{CROSS / 'utkface'}', classes: [fake]}}]"])
        make_source_splits(only_fakes.data.sources)


def test_training_can_start_from_a_saved_model(tmp_path: Path) -> None:
    args = {"input_size": 32, "channels": [4, 8]}
    saved = create_model("seed_cnn", **args)
    save_model(saved, tmp_path / "m", name="seed_cnn", args=args, threshold=0.5)
    fresh = create_model("seed_cnn", **args)
    x = torch.rand(2, 3, 32, 32)
    assert not torch.allclose(fresh.eval()(x), saved.eval()(x))
    init_from_saved(fresh, "seed_cnn", tmp_path / "m")
    assert torch.allclose(fresh.eval()(x), saved.eval()(x))
    with pytest.raises(ModelLoadError, match="cannot initialise"):
        init_from_saved(create_model("seed_cnn", **args), "mobilenet_v2", tmp_path / "m")


def test_a_clip_feature_key_names_its_fine_tuned_blocks() -> None:
    model = create_model("clip_vit_b16_multiblock", pretrained=False, trainable_blocks=2)
    model.encoder_sha256 = "0" * 64
    before = model.feature_key()
    with torch.no_grad():
        model.backbone.vit.blocks[-1].mlp.fc1.bias.add_(0.1)
    assert before != model.feature_key()  # cached features of the old blocks are never reused
    frozen = create_model("clip_vit_b16_multiblock", pretrained=False)
    frozen.encoder_sha256 = "0" * 64
    assert "tuned" not in frozen.feature_key()


def test_a_fake_sources_history_is_given_to_both_classes_of_the_training_set() -> None:
    from deepfake_detector.data.discovery import discover
    from deepfake_detector.data.histories import HISTORIES
    from deepfake_detector.data.splits import make_splits
    from deepfake_detector.training.finetune import prepare_fit

    splits = make_splits(discover(DATA_140K))
    cfg = load_config(None, ["model.name=timm:test_efficientnet", "data.num_workers=0",
                             "augment.histories=[sdxl-tile]"])
    plan = prepare_fit(cfg, create_model("timm:test_efficientnet"), splits, cache=False, progress=False)
    tile = HISTORIES["sdxl-tile"]
    (copy,) = [d for d in plan.datasets if d.perturb is tile]
    assert plan.n_train == 2 * len(splits.train) and len(copy) == len(splits.train)
    assert {s.label for s in copy.samples} == {0, 1}  # reals go through the fakes' history too
    photo = read_image(FACES[0])
    once = tile(photo)
    assert once.shape == photo.shape and not torch.equal(once, photo) and torch.equal(tile(photo), once)
    with pytest.raises(ConfigError, match="augment.histories"):
        load_config(None, ["augment.histories=[figure]"])
    assert set(typing.get_args(HistoryName)) == set(HISTORIES)  # the config accepts exactly the known ones
    assert tile.view_name != HISTORIES["sd21"].view_name  # cached features never cross histories


def test_a_new_head_kind_starts_from_a_saved_models_encoder(tmp_path: Path) -> None:
    saved = create_model("timm:test_efficientnet", head="linear")
    save_model(saved, tmp_path / "m", name="timm:test_efficientnet", args={"head": "linear"}, threshold=0.5)
    two_heads = create_model("timm:test_efficientnet", head="max2")
    init_from_saved(two_heads, "timm:test_efficientnet", tmp_path / "m", head="max2")
    for name, tensor in saved.backbone.state_dict().items():
        assert torch.equal(two_heads.backbone.state_dict()[name], tensor)
    # the saved linear head starts the generated-faces head, as it starts a linear model's head; the blended
    # head starts afresh
    for name, tensor in saved.head.state_dict().items():
        assert torch.equal(two_heads.head.generated.state_dict()[name], tensor)
    assert not torch.equal(two_heads.head.blended.state_dict()["1.weight"], saved.head.state_dict()["1.weight"])
    with pytest.raises(ModelLoadError, match="weights do not match"):  # same kind named: every tensor must fit
        init_from_saved(create_model("timm:test_efficientnet", head="max2"), "timm:test_efficientnet",
                        tmp_path / "m", head="linear")
    # and back: a saved two-head model's generated head starts a linear model's head, its blended head is left
    save_model(two_heads, tmp_path / "two", name="timm:test_efficientnet", args={"head": "max2"}, threshold=0.5)
    linear = create_model("timm:test_efficientnet", head="linear")
    init_from_saved(linear, "timm:test_efficientnet", tmp_path / "two", head="linear")
    for name, tensor in two_heads.head.generated.state_dict().items():
        assert torch.equal(linear.head.state_dict()[name], tensor)
    for name, tensor in two_heads.backbone.state_dict().items():
        assert torch.equal(linear.backbone.state_dict()[name], tensor)
