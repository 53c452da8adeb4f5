"""Pool several video sets (``real/``, ``fake/``) into one, so a video threshold is chosen on all of them at once.

    python scripts/pool_video_sets.py OUT SET [SET ...]

``evaluate --data VIDEOS --set-video-threshold`` takes one folder; a video point chosen on one kind of clip (say,
close shots of generator faces) may not hold on another (a face swap filmed as a wide shot). OUT gets
``real/<set>/`` and ``fake/<set>/`` holding a link to every video of each SET (``<set>``: the set's folder name,
with its parent's for the nested ``clips/`` and ``clips-wide/``), so nothing is copied, every prediction's path
says which set it came from, and ``scripts/replay_video_point.py --by-set`` breaks the figures down by set.
OUT must be new or an earlier pool; a video set's own files are never touched.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from deepfake_detector.data.video import is_video

POOL_MARK = ".pooled-video-sets"  # written in OUT, so a rerun may replace the links it made and nothing else


def set_name(folder: Path) -> str:
    """``140k-valid``; ``clip-grafted-valid-clips-wide`` for ``.../clip-grafted-valid/clips-wide``."""
    return f"{folder.parent.name}-{folder.name}" if folder.name.startswith("clips") else folder.name


def pool(out: Path, sets: list[Path]) -> dict[str, dict[str, int]]:
    """Link every video of ``sets`` into ``out``; the number of real and fake videos per set."""
    if out.exists() and not (out / POOL_MARK).is_file():
        raise ValueError(f"{out}: exists and is not a pool this script made; choose a new folder")
    names = [set_name(s) for s in sets]
    if len(set(names)) < len(names):
        raise ValueError(f"two sets share a name ({', '.join(names)}); pool sets from different folders")
    counts: dict[str, dict[str, int]] = {}
    out.mkdir(parents=True, exist_ok=True)
    (out / POOL_MARK).write_text("\n".join(str(s.resolve()) for s in sets) + "\n")
    for folder, name in zip(sets, names, strict=True):
        counts[name] = {}
        for label in ("real", "fake"):
            source, target = folder / label, out / label / name
            if not source.is_dir():
                raise ValueError(f"{source}: missing (a video set holds real/ and fake/)")
            target.mkdir(parents=True, exist_ok=True)
            for old in target.iterdir():  # links of an earlier pool, so a set that lost videos is not stale
                if old.is_symlink():
                    old.unlink()
            videos = sorted(f for f in source.iterdir() if f.is_file() and is_video(f))
            for video in videos:
                (target / video.name).symlink_to(video.resolve())
            counts[name][label] = len(videos)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the pooled set (links only)")
    parser.add_argument("sets", type=Path, nargs="+", help="video sets, each with real/ and fake/")
    args = parser.parse_args(argv)
    try:
        counts = pool(args.out.expanduser(), [s.expanduser() for s in args.sets])
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for name, n in counts.items():
        print(f"{name}: {n['real']} real + {n['fake']} fake")
    print(f"{args.out}: {sum(n['real'] for n in counts.values())} real + "
          f"{sum(n['fake'] for n in counts.values())} fake videos from {len(counts)} sets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
