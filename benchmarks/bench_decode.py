"""JPEG decode throughput (torchvision's libjpeg-turbo path used by the toolkit)."""

from __future__ import annotations

from common import Row, Settings, image_files, median_rate

from deepfake_detector.data import read_image


def run(settings: Settings) -> list[Row]:
    files = image_files("train", settings.n_images)
    rate = median_rate(lambda: [read_image(f) for f in files], len(files), settings.repeats)
    return [Row("decode", "JPEG decode 256x256, 1 thread", rate, f"{len(files)} files from 140k train")]
