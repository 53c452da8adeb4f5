"""Pre-compute a frozen backbone's features for folders of images into the on-disk feature cache.

Run it where compute is cheap (a GPU machine), then copy ``<cache>/features/<key>/`` to the machine that
trains: ``train.finetune: frozen`` reads rows from there instead of running the encoder again (rows are
keyed by image content, so other paths to the same files match).

    python scripts/cache_features.py clip_vit_b16_multiblock DIR [DIR ...] [--views clean jpeg75]
        [--pretrained WEIGHTS] [--cache CACHE_DIR] [--batch-size 128]
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path

from deepfake_detector.data.dataset import ImageDataset
from deepfake_detector.data.pillow_decode import IMAGE_EXTENSIONS
from deepfake_detector.data.samples import REAL, Sample
from deepfake_detector.data.transforms import build_transform, reencode_jpeg
from deepfake_detector.models import create_model
from deepfake_detector.models.feature_store import FeatureStore
from deepfake_detector.models.weights.fetch import cache_dir
from deepfake_detector.training.finetune import extract_features


def _reencode(image, index, quality):
    return reencode_jpeg(image, quality)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="registry name of a model with a cacheable frozen backbone")
    parser.add_argument("folders", nargs="+")
    parser.add_argument("--views", nargs="+", default=["clean"], help="clean and/or jpeg<Q>, e.g. jpeg75")
    parser.add_argument("--pretrained", default=True, help="encoder weights file (default: the weights cache)")
    parser.add_argument("--cache", default=None, help="cache folder (default: the toolkit's cache)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--export", help="also write all rows as a few shard files into this folder")
    args = parser.parse_args(argv)

    model = create_model(args.model, pretrained=args.pretrained)
    key = model.feature_key() if hasattr(model, "feature_key") else None
    if not key:
        print(f"error: {args.model} has no cacheable frozen backbone", file=sys.stderr)
        return 2
    store = FeatureStore(Path(args.cache or cache_dir()) / "features", key)
    files = sorted(f for folder in args.folders for f in Path(folder).rglob("*")
                   if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS)
    samples = [Sample(f, REAL) for f in files]
    pre = model.preprocess
    for view in args.views:
        perturb = None if view == "clean" else functools.partial(_reencode, quality=int(view.removeprefix("jpeg")))
        dataset = ImageDataset(samples, pre, build_transform(pre), cache=True, perturb=perturb)
        started = time.perf_counter()
        feats = extract_features(model.backbone, dataset, args.batch_size, store=store, view=view,
                                 desc=f"Features ({view})")
        seconds = time.perf_counter() - started
        print(f"{view}: {len(feats)} rows ({len(dataset.errors)} unreadable) in {seconds:.1f} s -> {store.folder}")
    if args.export:
        for path in store.export(args.export):
            print(f"exported {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
