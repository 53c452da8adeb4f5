"""Blended fakes from real faces (SBI and two-identity swaps): where they change a photo, and reproducibly."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
import torch
from torch.utils.data import WeightedRandomSampler

from deepfake_detector.config import BlendConfig
from deepfake_detector.data.blending import blend_mask, blend_view_name, self_blend, swap_faces
from deepfake_detector.data.dataset import EpochClock, EpochWeightedSampler
from deepfake_detector.data.decode import read_image
from deepfake_detector.faces.detect import FaceDetector
from deepfake_detector.training.blend_view import BlendView

from .conftest import CROSS, DATA_140K

PHOTOS = [*sorted((DATA_140K / "real_vs_fake" / "real-vs-fake" / "valid" / "real").glob("*.jpg"))[:2],
          *sorted((CROSS / "utkface" / "real").glob("*.jpg"))[:1]]


@pytest.fixture(scope="module")
def faces() -> list[tuple[np.ndarray, np.ndarray, tuple[int, int, int, int]]]:
    """Real photos as RGB arrays, with MTCNN's five landmarks and face box."""
    detector = FaceDetector(min_face_px=32)
    out = []
    for path in PHOTOS:
        image = np.ascontiguousarray(read_image(path).permute(1, 2, 0).numpy())
        face = detector.detect(image)[0]
        out.append((image, np.array(face.landmarks), face.box))
    return out


def _grown(box: tuple[int, int, int, int], margin: float) -> tuple[int, int, int, int]:
    x, y, w, h = box
    return round(x - margin * w), round(y - margin * h), round(x + (1 + margin) * w), round(y + (1 + margin) * h)


def test_the_mask_lies_on_the_face(faces) -> None:
    for image, landmarks, box in faces:
        for seed in range(5):
            mask = blend_mask(image.shape[:2], landmarks, np.random.default_rng(seed))
            assert mask.dtype == np.float32 and mask.min() >= 0 and mask.max() <= 1 and mask.max() >= 0.25
            ys, xs = np.nonzero(mask)
            left, top, right, bottom = _grown(box, 0.15)  # the outline follows the landmarks, not the box
            assert xs.min() >= left and xs.max() <= right and ys.min() >= top and ys.max() <= bottom
            cx, cy = landmarks[:, 0].mean(), landmarks[:, 1].mean()
            assert mask[round(cy), round(cx)] > 0  # the centre of the face is pasted


def test_a_self_blend_changes_only_the_pixels_under_its_mask_and_is_seeded(faces) -> None:
    for image, landmarks, _ in faces:
        fake = self_blend(image, landmarks, np.random.default_rng([3, 0, 7]))
        changed = np.abs(fake.image.astype(int) - image.astype(int)).max(axis=2) > 0
        assert changed.any() and not changed[fake.mask == 0].any()
        again = self_blend(image, landmarks, np.random.default_rng([3, 0, 7]))
        assert np.array_equal(again.image, fake.image) and np.array_equal(again.mask, fake.mask)
        other = self_blend(image, landmarks, np.random.default_rng([3, 0, 8]))
        assert not np.array_equal(other.image, fake.image)


def _laplacian(image: np.ndarray) -> np.ndarray:
    return cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32), cv2.CV_32F)


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


@pytest.mark.parametrize("seamless", [False, True])
def test_a_swap_pastes_the_other_face_inside_the_mask_only(faces, seamless: bool) -> None:
    """Inside the mask the swap carries the donor's face: its fine detail (the Laplacian, which neither colour
    matching nor Poisson cloning changes) follows the donor aligned on the target, not the target."""
    (target, target_points, _), (donor, donor_points, _) = faces[0], faces[2]
    swap = swap_faces(target, target_points, donor, donor_points, np.random.default_rng(1), seamless=seamless)
    changed = np.abs(swap.image.astype(int) - target.astype(int)).max(axis=2) > 0
    assert not changed[swap.mask == 0].any()
    core = cv2.erode((swap.mask >= 0.9 * swap.mask.max()).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    cx, cy = target_points[:, 0].mean(), target_points[:, 1].mean()
    assert core[round(cy), round(cx)]  # the whole face, not a rim around it
    matrix, _ = cv2.estimateAffinePartial2D(donor_points.astype(np.float32), target_points.astype(np.float32))
    aligned = cv2.warpAffine(donor, matrix, target.shape[1::-1], borderMode=cv2.BORDER_REFLECT)
    detail = _laplacian(swap.image)[core]
    assert _correlation(detail, _laplacian(aligned)[core]) > 0.5
    assert abs(_correlation(detail, _laplacian(target)[core])) < 0.2


def test_a_cloned_swap_leaves_its_inputs_untouched(faces) -> None:
    (target, target_points, _), (donor, donor_points, _) = faces[0], faces[2]
    before = target.copy(), donor.copy()
    first = swap_faces(target, target_points, donor, donor_points, np.random.default_rng(4), seamless=True)
    again = swap_faces(target, target_points, donor, donor_points, np.random.default_rng(4), seamless=True)
    assert np.array_equal(target, before[0]) and np.array_equal(donor, before[1])
    assert np.array_equal(first.image, again.image) and np.array_equal(first.mask, again.mask)


def test_part_blends_cover_some_facial_parts_and_change_nothing_else(faces) -> None:
    """``parts``: masks over eyes, nose or mouth, inside the face and far smaller than the whole-face mask; a
    part blend or part swap changes only the pixels under its mask."""
    for image, landmarks, box in faces:
        whole = blend_mask(image.shape[:2], landmarks, np.random.default_rng(0)) > 0
        left, top, right, bottom = _grown(box, 0.15)
        sizes = set()
        for seed in range(8):
            mask = blend_mask(image.shape[:2], landmarks, np.random.default_rng(seed), parts=True)
            ys, xs = np.nonzero(mask)
            assert len(xs) and xs.min() >= left and xs.max() <= right and ys.min() >= top and ys.max() <= bottom
            assert (mask > 0).sum() < 0.8 * whole.sum()  # all four parts at most
            sizes.add(int((mask > 0).sum()))
            # every part sits on a landmark: some landmark lies under the mask
            assert any(mask[round(y), round(x)] > 0 for x, y in landmarks)
        assert len(sizes) > 1 and np.mean(list(sizes)) < 0.5 * whole.sum()  # other seeds, other parts
        fake = self_blend(image, landmarks, np.random.default_rng(5), parts=True)
        changed = np.abs(fake.image.astype(int) - image.astype(int)).max(axis=2) > 0
        assert changed.any() and not changed[fake.mask == 0].any()
    (target, target_points, _), (donor, donor_points, _) = faces[0], faces[2]
    swap = swap_faces(target, target_points, donor, donor_points, np.random.default_rng(2), parts=True)
    changed = np.abs(swap.image.astype(int) - target.astype(int)).max(axis=2) > 0
    assert changed.any() and not changed[swap.mask == 0].any()


def test_recipes_without_part_blends_keep_their_names_and_pictures() -> None:
    """Adding ``p_part`` changed neither the name of an older recipe (its cached held-out blends and features;
    the bundled blend detector's validation blends are ``blend-a5134f79b8-s42-v1000``) nor its pictures."""
    bundled = BlendConfig(views=2, p_swap=0.3, processed=True)
    assert blend_view_name(bundled, 1000, 42) == "blend-a5134f79b8-s42-v1000"
    with_parts = bundled.model_copy(update={"p_part": 0.5})
    assert blend_view_name(with_parts, 1000, 42) != blend_view_name(bundled, 1000, 42)
    images = [read_image(p) for p in PHOTOS]
    whole = [BlendView(bundled, PHOTOS, 0, 0)(im, i) for i, im in enumerate(images)]
    parts = [BlendView(bundled.model_copy(update={"p_part": 1.0}), PHOTOS, 0, 0)(im, i)
             for i, im in enumerate(images)]
    changed = [int((a != im).any(0).sum()) for a, im in zip(whole, images, strict=True)]
    changed_parts = [int((a != im).any(0).sum()) for a, im in zip(parts, images, strict=True)]
    assert all(0 < cp < c for cp, c in zip(changed_parts, changed, strict=True))


def test_a_blended_view_of_a_training_set_is_the_same_every_run() -> None:
    cfg = BlendConfig(views=1, p_swap=0.5)
    donors = PHOTOS
    images = [read_image(p) for p in donors]
    first = [BlendView(cfg, donors, seed=0, view=0)(im, i) for i, im in enumerate(images)]
    second = [BlendView(cfg, donors, seed=0, view=0)(im, i) for i, im in enumerate(images)]
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))
    assert all(a.shape == im.shape and not torch.equal(a, im) for a, im in zip(first, images, strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(first, [BlendView(cfg, donors, 0, 1)(im, i)
                                                              for i, im in enumerate(images)], strict=True))


def test_seamless_swaps_are_cloned_in_place_of_pasted_ones_and_only_swaps() -> None:
    """``p_seamless`` turns swaps into Poisson-cloned ones, the same every run; self-blends, and the name and
    pictures of a recipe without it, stay as they were."""
    pasted = BlendConfig(views=1, p_swap=1.0)
    cloned = pasted.model_copy(update={"p_seamless": 1.0})
    assert blend_view_name(pasted, 0, 0) == blend_view_name(pasted.model_copy(update={"p_seamless": 0.0}), 0, 0)
    assert blend_view_name(cloned, 0, 0) != blend_view_name(pasted, 0, 0)
    images = [read_image(p) for p in PHOTOS]

    def views(cfg: BlendConfig) -> list[torch.Tensor]:
        return [BlendView(cfg, PHOTOS, seed=0, view=0)(im, i) for i, im in enumerate(images)]

    swaps, clones = views(pasted), views(cloned)
    assert all(torch.equal(a, b) for a, b in zip(clones, views(cloned), strict=True))
    assert all(not torch.equal(c, s) and not torch.equal(c, im) for c, s, im in zip(clones, swaps, images, strict=True))
    self_blends = BlendConfig(views=1)
    assert all(torch.equal(a, b) for a, b in zip(views(self_blends), views(self_blends.model_copy(
        update={"p_seamless": 1.0})), strict=True))


def test_fresh_blends_are_new_at_every_draw_and_the_same_in_every_run() -> None:
    """``fresh``: the first draw is the fixed view's picture, each later draw of a photo a new blend; a second
    run draws the same sequence."""
    fixed = BlendConfig(views=1, p_swap=0.5)
    fresh = fixed.model_copy(update={"fresh": True})
    images = [read_image(p) for p in PHOTOS]

    def draws(cfg: BlendConfig, times: int) -> list[list[torch.Tensor]]:
        view = BlendView(cfg, PHOTOS, seed=0, view=0)
        return [[view(im, i) for i, im in enumerate(images)] for _ in range(times)]

    first, again = draws(fresh, 3), draws(fresh, 3)
    assert all(torch.equal(a, b) for run, other in zip(first, again, strict=True)
               for a, b in zip(run, other, strict=True))
    assert all(torch.equal(a, b) for a, b in zip(first[0], draws(fixed, 1)[0], strict=True))
    for i in range(len(images)):  # every draw of a photo differs from its other draws
        assert not torch.equal(first[0][i], first[1][i]) and not torch.equal(first[1][i], first[2][i])
    fixed_draws = draws(fixed, 2)
    assert all(torch.equal(a, b) for a, b in zip(*fixed_draws, strict=True))  # without fresh: the same each time


def test_a_resumed_run_draws_the_order_and_fresh_blends_of_an_uninterrupted_one() -> None:
    """The balanced sampler replays the epochs a resumed run already trained, and fresh blends are keyed by the
    epoch it sets: epoch 2 of a run resumed there is epoch 2 of a run that never stopped, new against epochs
    0 and 1; epoch 0 draws what ``WeightedRandomSampler`` drew before."""
    weights = torch.tensor([1.0, 1.0, 2.0, 4.0] * 8, dtype=torch.double)
    fresh = BlendConfig(views=1, p_swap=0.5, fresh=True)
    images = [read_image(p) for p in PHOTOS]

    def epoch(sampler: EpochWeightedSampler, view: BlendView) -> tuple[list[int], list[torch.Tensor]]:
        order = list(sampler)  # sets the clock the view reads
        return order, [view(im, i) for i, im in enumerate(images)]

    clock = EpochClock()
    whole, view = EpochWeightedSampler(weights, seed=3, clock=clock), BlendView(fresh, PHOTOS, 0, 0, clock)
    uninterrupted = [epoch(whole, view) for _ in range(3)]
    assert clock.epoch == 2
    clock = EpochClock(2)
    resumed = epoch(EpochWeightedSampler(weights, seed=3, first_epoch=2, clock=clock),
                    BlendView(fresh, PHOTOS, 0, 0, clock))
    assert resumed[0] == uninterrupted[2][0]
    assert all(torch.equal(a, b) for a, b in zip(resumed[1], uninterrupted[2][1], strict=True))
    assert len({tuple(order) for order, _ in uninterrupted}) == 3
    for earlier in (0, 1):
        assert all(not torch.equal(a, b) for a, b in zip(resumed[1], uninterrupted[earlier][1], strict=True))
    before = WeightedRandomSampler(weights, len(weights), replacement=True,
                                   generator=torch.Generator().manual_seed(3))
    assert list(before) == uninterrupted[0][0]


def test_fresh_blends_need_a_backbone_that_trains(tmp_path) -> None:
    from deepfake_detector.config import load_config
    from deepfake_detector.errors import ConfigError
    from deepfake_detector.training import train

    from .conftest import REPO

    cfg = load_config(REPO / "configs" / "blend-detector.yaml", [
        "train.finetune=frozen", "augment.blend.fresh=true", "data.limit=8", f"data.sources=[{{path: '{DATA_140K}', "
        "classes: [real]}]", "model.args.pretrained=null"])
    with pytest.raises(ConfigError, match="fresh"):
        train(cfg, tmp_path / "run", progress=False)


def test_a_two_head_model_trains_its_blended_head_on_reals_and_blends_only(tmp_path) -> None:
    from deepfake_detector.config import load_config
    from deepfake_detector.data.discovery import discover
    from deepfake_detector.data.splits import make_splits
    from deepfake_detector.errors import ConfigError
    from deepfake_detector.models import create_model
    from deepfake_detector.models.transfer import MaxOfHeads
    from deepfake_detector.training.finetune import prepare_fit

    full = make_splits(discover(DATA_140K), limit=24)
    splits = dataclasses.replace(full, valid=full.valid[::40], test=None)  # a few: only the fit's set-up is tested
    args = ["model.name=timm:test_efficientnet", "model.args.head=max2", "train.finetune=frozen",
            "data.num_workers=0", "data.feature_cache=false"]
    model = create_model("timm:test_efficientnet", head="max2")
    assert isinstance(model.head, MaxOfHeads)
    before = model.head.blended[1].weight.detach().clone()
    plan = prepare_fit(load_config(None, [*args, "augment.blend.views=1"]), model, splits, cache=False,
                       progress=False)
    n_reals = sum(s.label == 0 for s in splits.train)
    assert plan.n_train == len(splits.train)  # the generated head's rows: no blends among them
    assert plan.module.model.head is model.head.generated
    assert not torch.equal(model.head.blended[1].weight, before)  # fitted on reals + their blends
    x = torch.randn(3, model.num_features)
    model.eval()
    both = torch.maximum(model.head.generated(x), model.head.blended(x))
    assert torch.equal(model.head(x), both)
    model.head.blended_offset = 2.0  # model.args.blended_offset: the blended head at a stricter point of its own
    assert torch.equal(model.head(x), torch.maximum(model.head.generated(x), model.head.blended(x) - 2.0))
    model.head.generated_scale = 0.4  # model.args.generated_scale: a warm-started generated head on the other's scale
    assert torch.allclose(model.head(x), torch.maximum(model.head.generated(x) * 0.4, model.head.blended(x) - 2.0))
    rebuilt = create_model("timm:test_efficientnet", head="max2", blended_offset=1.5, generated_scale=0.5).head
    assert (rebuilt.blended_offset, rebuilt.generated_scale) == (1.5, 0.5)
    with pytest.raises(ConfigError, match="blended_offset"):
        create_model("timm:test_efficientnet", blended_offset=1.0)  # a linear head has no blended head
    with pytest.raises(ConfigError, match="generated_scale"):
        create_model("timm:test_efficientnet", head="max2", generated_scale=0.0)
    assert n_reals > 0
    with pytest.raises(ConfigError, match="augment.blend.views"):
        prepare_fit(load_config(None, args), create_model("timm:test_efficientnet", head="max2"), splits,
                    cache=False, progress=False)
    with pytest.raises(ConfigError, match="finetune=frozen"):
        prepare_fit(load_config(None, [*args, "train.finetune=full", "augment.blend.views=1"]),
                    create_model("timm:test_efficientnet", head="max2"), splits, cache=False, progress=False)


def test_processed_blends_go_through_the_history_of_their_own_real_photo() -> None:
    from deepfake_detector.config import load_config
    from deepfake_detector.data.discovery import discover
    from deepfake_detector.data.splits import make_splits
    from deepfake_detector.models import create_model
    from deepfake_detector.training.finetune import prepare_fit

    full = make_splits(discover(DATA_140K), limit=16)
    splits = dataclasses.replace(full, valid=full.valid[::40], test=None)
    args = ["model.name=timm:test_efficientnet", "train.finetune=full", "data.num_workers=0",
            "augment.blend.views=1", "augment.process.views=1", "augment.histories=[jpeg-q75]"]

    def blended(extra: list[str]) -> list:
        plan = prepare_fit(load_config(None, [*args, *extra]), create_model("timm:test_efficientnet"), splits,
                           cache=False, progress=False)
        return [d for d in plan.datasets if d.samples and d.samples[0].source == "blend"], plan.datasets

    assert len(blended([])[0]) == 1  # off: the clean blends only
    blends, datasets = blended(["augment.blend.processed=true"])
    assert len(blends) == 3  # clean, + the processed view, + the JPEG history
    processed_reals = datasets[2]  # train, valid, then the process view of the training set
    rows = [i for i, s in enumerate(splits.train) if s.label == 0]
    for i in range(2):
        image = read_image(blends[0].samples[i].path)
        clean, processed = blends[0].perturb(image, i), blends[1].perturb(image, i)
        own_history = processed_reals.perturb(image, rows[i])
        assert processed.shape == own_history.shape != clean.shape  # cropped and resized as its real photo
        assert torch.equal(processed, blends[1].perturb(image, i))  # seeded
        assert not torch.equal(blends[2].perturb(image, i), clean)  # re-encoded as JPEG


def test_held_out_blends_are_lossless_files_made_once(tmp_path, monkeypatch) -> None:
    from deepfake_detector.data.samples import Sample
    from deepfake_detector.training.blend_view import HELD_OUT_VIEW, write_held_out_blends

    monkeypatch.setenv("DEEPFAKE_DETECTOR_CACHE", str(tmp_path))
    cfg = BlendConfig(views=1, p_swap=0.5)
    reals = [Sample(p, 0, "reals") for p in PHOTOS]
    fakes = write_held_out_blends(reals, cfg, seed=0, split="valid")
    view = BlendView(cfg, PHOTOS, 0, HELD_OUT_VIEW)
    for i, (real, fake) in enumerate(zip(reals, fakes, strict=True)):
        assert fake.label == 1 and fake.source == "blend" and fake.path.suffix == ".png"
        assert (tmp_path / "blends") in fake.path.parents
        saved, own = read_image(fake.path), read_image(real.path)
        assert torch.equal(saved, view(own, i)) and not torch.equal(saved, own)  # the blend, pixel for pixel
    made = [f.path.stat().st_mtime_ns for f in fakes]
    again = write_held_out_blends(reals, cfg, seed=0, split="valid")
    assert [f.path for f in again] == [f.path for f in fakes]
    assert [f.path.stat().st_mtime_ns for f in again] == made  # found, not made again
    assert write_held_out_blends(reals, cfg, seed=0, split="test")[0].path.parent != fakes[0].path.parent


def test_a_detector_trains_on_real_photos_and_their_blends_alone(tmp_path, monkeypatch) -> None:
    from deepfake_detector.config import load_config
    from deepfake_detector.data.splits import read_splits
    from deepfake_detector.inference.detector import Detector
    from deepfake_detector.training import train

    monkeypatch.setenv("DEEPFAKE_DETECTOR_CACHE", str(tmp_path / "cache"))
    cfg = load_config(None, [
        "model.name=timm:test_efficientnet", "model.args.input_size=64", "train.finetune=full", "train.epochs=1",
        "data.num_workers=0", f"data.sources=[{{path: '{CROSS / 'utkface'}', classes: [real], test_fraction: 0.05}}]",
        "data.val_fraction=0.06", "data.limit=16", "augment.blend.views=1", "augment.blend.p_swap=0.3",
        "train.threshold=fpr:0.05@worst-source"])
    result = train(cfg, tmp_path / "run", progress=False)
    splits = read_splits(tmp_path / "run" / "splits.csv")
    assert all(s.label == 0 for s in splits["train"])  # reals only; their blends are made on the fly
    for part in ("valid", "test"):  # held-out blends of the split's own reals, one each
        reals = [s for s in splits[part] if s.label == 0]
        blends = [s for s in splits[part] if s.label == 1]
        assert len(blends) == len(reals) > 0 and {s.source for s in blends} == {"blend"}
    metrics = result.validation.metrics
    assert metrics["n"] == len(splits["valid"]) and 0 <= metrics["roc_auc"] <= 1
    detector = Detector.load(tmp_path / "run")
    labels = [p.label for p in detector.predict([s.path for s in splits["valid"] if s.label == 0])]
    assert labels.count("fake") <= 0.05 * len(labels)  # the threshold holds the reals to 5%
