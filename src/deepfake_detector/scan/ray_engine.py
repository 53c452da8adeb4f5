"""The Ray Data engine: the same scan on a Ray cluster (or a local Ray started here).

The driver enumerates the inputs (lazily, as the local engine does) into Arrow blocks of a few hundred
paths, put into Ray's object store (paths only: ~100 bytes each, spilled to disk past the
store's size); ``map_batches`` scores them on an actor pool whose actors each load the model once (ONNX
Runtime on CPU workers, PyTorch on GPU workers: ``load_predictor``'s ``auto``). Results stream back in
input order and the driver writes them as the same shards, manifest and summary as the local engine, so
resume works across engines. On a cluster, the images must be on storage every node sees (NFS, a shared
volume); the results folder is written by the driver only.

Ray is an optional extra and is imported only here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from deepfake_detector.errors import DeepfakeDetectorError
from deepfake_detector.scan.inputs import chunks
from deepfake_detector.scan.local import chunk_size
from deepfake_detector.scan.score import score_table
from deepfake_detector.scan.shards import ShardSink

INSTALL_HINT = "--engine ray needs Ray: pip install 'deepfake-detector-toolkit[ray]'"


class Scorer:
    """A Ray Data actor: loads the model once, then scores one batch of paths per call."""

    def __init__(self, model: str | None, backend: str, faces: str, batch_size: int, provenance: bool = True) -> None:
        from deepfake_detector.inference.loading import load_predictor

        self.predictor = load_predictor(model, backend)
        self.faces, self.batch_size, self.provenance = faces, batch_size, provenance

    def __call__(self, batch: pa.Table) -> pa.Table:
        return score_table(self.predictor, batch.column("path").to_pylist(), self.faces, self.batch_size,
                           self.provenance)


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise DeepfakeDetectorError(INSTALL_HINT) from None
    return ray


def _default_workers(ray: Any, gpus_per_worker: float) -> int:
    """One actor per GPU share; on CPUs one per node, as one ONNX Runtime session already uses all of its
    node's cores (a second actor on 2 cores added 10%, docs/benchmarks.md) and each holds a model copy."""
    if gpus_per_worker:
        return max(1, int(ray.cluster_resources().get("GPU", 0) / gpus_per_worker))
    return max(1, sum(1 for node in ray.nodes() if node["Alive"] and node["Resources"].get("CPU", 0) > 0))


def run_ray(sink: ShardSink, items: Iterator[str], *, model: str | None, backend: str, faces: str,
            batch_size: int, address: str | None = None, workers: int | None = None,
            gpus_per_worker: float = 0.0, provenance: bool = True) -> None:
    """Score ``items`` on Ray Data; rows come back in input order into ``sink``."""
    ray = import_ray()
    if not ray.is_initialized():
        ray.init(address=address, log_to_driver=False)  # None: RAY_ADDRESS if set, else a local Ray
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # shards hold input ranges
    logging.getLogger("ray.data").setLevel(logging.ERROR)  # Ray Data's per-operator progress lines
    context.enable_progress_bars = False  # the scan's own bar counts rows
    # In-memory blocks, not files: no read tasks that would wait for CPUs the actors hold.
    # One block per actor call: blocks are what the pool hands out, so many small ones keep every actor busy.
    size = chunk_size(batch_size, sink.shard_size)
    blocks = [ray.put(pa.table({"path": pa.array(paths, pa.string())})) for paths in chunks(items, size)]
    if not blocks:
        return
    pool = ray.data.ActorPoolStrategy(size=workers or _default_workers(ray, gpus_per_worker))
    scored = ray.data.from_arrow_refs(blocks).map_batches(
        Scorer, fn_constructor_kwargs={"model": model, "backend": backend, "faces": faces, "batch_size": batch_size,
                                       "provenance": provenance},
        batch_size=size, batch_format="pyarrow", compute=pool, scheduling_strategy="SPREAD",  # across nodes
        **({"num_gpus": gpus_per_worker} if gpus_per_worker else {}))
    for table in scored.iter_batches(batch_size=None, batch_format="pyarrow"):
        sink.add(table)
