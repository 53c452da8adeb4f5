"""The local engine: score the inputs chunk by chunk in this process, shards written as they fill."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from deepfake_detector.scan.inputs import chunks
from deepfake_detector.scan.score import score_table
from deepfake_detector.scan.shards import ShardSink


def chunk_size(batch_size: int, shard_size: int) -> int:
    """Inputs per ``predict`` call: several batches, so its start-up (data-loader workers) is amortised, and
    few enough that the call's decoded images stay small (memory grows with the chunk, not the scan)."""
    return min(shard_size, 8 * batch_size)


def run_local(sink: ShardSink, items: Iterator[str], *, predictor: Any, faces: str, batch_size: int,
              provenance: bool = True) -> None:
    for chunk in chunks(items, chunk_size(batch_size, sink.shard_size)):
        sink.add(score_table(predictor, chunk, faces, batch_size, provenance))
