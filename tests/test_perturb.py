"""Perturbations are deterministic, of the requested strength, and plug into ImageDataset."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.io import encode_jpeg

from deepfake_detector.data.dataset import ImageDataset
from deepfake_detector.data.perturb import Perturbation, compose, parse_perturbations
from deepfake_detector.data.preprocess import Preprocess
from deepfake_detector.data.samples import REAL, Sample
from deepfake_detector.data.transforms import build_transform


def _image(size: int = 96) -> torch.Tensor:
    """A smooth synthetic test pattern with some texture (not a photo)."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    rng = np.random.default_rng(0)
    chans = [np.sin(6 * xx + c) * np.cos(4 * yy) * 80 + 128 + rng.normal(0, 8, (size, size)) for c in range(3)]
    return torch.from_numpy(np.clip(np.stack(chans), 0, 255).astype(np.uint8))


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(((a.float() - b.float()) ** 2).mean())
    return 10 * np.log10(255**2 / mse)


def test_jpeg_quality_lowers_size_and_psnr_monotonically():
    image = _image()
    qualities = [95, 75, 50, 30]
    sizes = [len(encode_jpeg(image, quality=q)) for q in qualities]
    psnrs = [_psnr(image, Perturbation("jpeg", q)(image)) for q in qualities]
    assert sizes == sorted(sizes, reverse=True) and psnrs == sorted(psnrs, reverse=True)
    assert psnrs[0] > 30 and Perturbation("jpeg", 75)(image).shape == image.shape


@pytest.mark.parametrize("factor", [0.5, 0.75, 1.5])
def test_resize_factor(factor):
    out = Perturbation("resize", factor)(_image(96))
    assert out.shape == (3, round(96 * factor), round(96 * factor)) and out.dtype == torch.uint8


def test_blur_removes_detail_with_sigma():
    image = _image()

    def detail(x: torch.Tensor) -> float:
        return float(x.float().diff(dim=-1).abs().mean())

    d = [detail(image), detail(Perturbation("blur", 1)(image)), detail(Perturbation("blur", 2)(image))]
    assert d[0] > d[1] > d[2]


def test_noise_has_requested_std_and_is_deterministic_per_image():
    flat = torch.full((3, 128, 128), 128, dtype=torch.uint8)  # mid-grey: no clipping
    p = Perturbation("noise", 0.02, seed=7)
    out = p(flat, 3)
    measured = float((out.float() - 128).std())
    assert measured == pytest.approx(0.02 * 255, rel=0.05)
    assert torch.equal(out, p(flat, 3))  # same image index, same noise
    assert not torch.equal(out, p(flat, 4))  # another image, other noise
    assert not torch.equal(out, Perturbation("noise", 0.02, seed=8)(flat, 3))


def test_parse_and_compose():
    ps = parse_perturbations(["jpeg:95,75,50,30", "resize:0.5,0.75,1.5", "blur:1,2", "noise:0.02"])
    assert [p.name for p in ps] == ["jpeg:95", "jpeg:75", "jpeg:50", "jpeg:30", "resize:0.5", "resize:0.75",
                                    "resize:1.5", "blur:1", "blur:2", "noise:0.02"]
    for bad, msg in (("jpeg:101", "quality"), ("crop:2", "KIND"), ("blur:x", "not a number"), ("noise", "KIND")):
        with pytest.raises(ValueError, match=msg):
            parse_perturbations([bad])
    both = compose(Perturbation("resize", 0.5), Perturbation("jpeg", 50))
    assert both(_image(96), 0).shape == (3, 48, 48)


def test_imagedataset_applies_perturb_after_decode(tmp_path):
    from PIL import Image

    path = tmp_path / "x.png"
    Image.fromarray(_image(64).permute(1, 2, 0).numpy()).save(path)
    pre = Preprocess(input_size=(32, 32))
    kwargs = {"preprocess": pre, "transform": build_transform(pre), "cache": False}
    clean = ImageDataset([Sample(path, REAL)], **kwargs)[0]["image"]
    noisy = ImageDataset([Sample(path, REAL)], perturb=Perturbation("noise", 0.05), **kwargs)
    assert noisy[0]["image"].shape == clean.shape and not torch.equal(noisy[0]["image"], clean)
    assert torch.equal(noisy[0]["image"], noisy[0]["image"])
