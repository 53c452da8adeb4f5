"""``scan(roots, out)``: score any number of images into sharded Parquet, resumable, on one machine or Ray."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path

from deepfake_detector.errors import ConfigError
from deepfake_detector.faces.modes import FACE_MODES
from deepfake_detector.models.bundled import BUNDLED
from deepfake_detector.scan import DEFAULT_SHARD_SIZE
from deepfake_detector.scan.inputs import check_roots, count_inputs, iter_inputs
from deepfake_detector.scan.local import run_local
from deepfake_detector.scan.report import check_report_path, write_report
from deepfake_detector.scan.score import SCHEMA
from deepfake_detector.scan.shards import ScanFolder, ShardSink
from deepfake_detector.scan.summary import write_summary

ENGINES = ("local", "ray")


def _model_arg(model: str | Path | None) -> str | None:
    """A bundled name as is, a folder as an absolute path (Ray workers may start in another folder)."""
    return None if model is None else str(model) if str(model) in BUNDLED else str(Path(model).absolute())


def scan(roots: str | Path | Iterable[str | Path], out: str | Path, model: str | Path | None = None, *,
         backend: str = "auto", faces: str = "auto", engine: str = "local", resume: bool = False,
         overwrite: bool = False, shard_size: int = DEFAULT_SHARD_SIZE, batch_size: int = 32,
         report: str | Path | None = None, ray_address: str | None = None, workers: int | None = None,
         gpus_per_worker: float = 0.0, progress: bool = False, provenance: bool = True) -> Path:
    """Score every image under ``roots`` (folders, files, glob patterns, .txt/.csv/.parquet manifests)
    into Parquet shards in ``out``; returns ``out``. Read the results with ``pyarrow.parquet.read_table(out)``.

    ``resume`` continues an interrupted scan of the same roots and options (finished shards are kept,
    never rescored); without it ``out`` must be new or empty (``overwrite`` replaces an earlier scan).
    ``report`` writes an HTML page of the most suspicious images. ``engine="ray"`` scores on Ray Data
    (``ray_address`` or RAY_ADDRESS: an existing cluster; else a local Ray) with ``workers`` actors of
    ``gpus_per_worker`` GPUs each. ``provenance`` reads each file's Content Credentials and generator
    metadata beside the model (columns ``reason``, ``provenance_kind``, ``c2pa``, ``provenance``).
    """
    started = time.perf_counter()
    if engine not in ENGINES:
        raise ConfigError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if faces not in FACE_MODES:
        raise ConfigError(f"faces must be one of {', '.join(FACE_MODES)}, not {faces!r}")
    if shard_size < 1 or batch_size < 1:
        raise ConfigError("shard_size and batch_size must be at least 1")
    roots = check_roots([roots] if isinstance(roots, str | Path) else roots)
    if report is not None:
        check_report_path(report, out)
    if engine == "ray":
        from deepfake_detector.scan.ray_engine import import_ray, run_ray

        import_ray()  # says how to install it before any work
    from deepfake_detector.inference.loading import load_predictor

    folder = ScanFolder.open(out, resume, overwrite)
    try:
        predictor = load_predictor(model, backend)  # also in the driver of a Ray scan: fails fast, names the model
        model = _model_arg(model)
        folder.start({"roots": roots, "model": model, "model_id": predictor.model_id,
                      "inference_engine": predictor.engine,
                      **predictor.verdict.to_dict(), "faces": faces, "shard_size": shard_size,
                      "backend": backend, "engine": engine, "batch_size": batch_size, "provenance": provenance,
                      "columns": SCHEMA.names})
        if engine == "ray":
            engine_run = partial(run_ray, model=model, backend=backend, faces=faces, provenance=provenance,
                                 batch_size=batch_size, address=ray_address, workers=workers,
                                 gpus_per_worker=gpus_per_worker)
        else:
            engine_run = partial(run_local, predictor=predictor, faces=faces, batch_size=batch_size,
                                 provenance=provenance)
        if not folder.manifest["complete"]:
            _run(folder, roots, shard_size, engine_run, progress)
        write_summary(out, time.perf_counter() - started)
        if report is not None:
            write_report(report, out)
    finally:
        folder.close()
    return Path(out)


def _run(folder: ScanFolder, roots: list[str], shard_size: int,
         engine_run: Callable[[ShardSink, Iterator[str]], None], progress: bool) -> None:
    """Skip what finished shards hold, score the rest with ``engine_run``, write the last shard."""
    from tqdm.auto import tqdm

    items = folder.skip_finished(iter_inputs(roots))
    total = count_inputs(roots) if progress else None
    done = sum(s["rows"] for s in folder.shards)
    with tqdm(total=total, initial=done, unit="img", desc="scan", disable=not progress, smoothing=0.1) as bar:
        sink = ShardSink(folder, shard_size, bar)
        engine_run(sink, items)
        sink.close()
