"""`scan`: lazy inputs, sharded Parquet, kill -9 then --resume, refusals, summary/report, Ray = local.

Real 140k images scored by the bundled fast model with ``faces="off"`` (one small ``faces="auto"`` case);
thousands of scans are simulated by a manifest that repeats real paths.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from deepfake_detector.cli import main
from deepfake_detector.errors import ConfigError, DeepfakeDetectorError
from deepfake_detector.inference.loading import load_predictor
from deepfake_detector.scan import scan
from deepfake_detector.scan.inputs import iter_inputs
from deepfake_detector.scan.score import SCHEMA
from deepfake_detector.scan.shards import MANIFEST, ScanFolder

from .conftest import DATA_140K

TEST = DATA_140K / "real_vs_fake" / "real-vs-fake" / "test"
FAST = {"model": "fast", "faces": "off"}


def _images(n: int) -> list[str]:
    """``n`` real test images, both classes."""
    fakes, reals = sorted((TEST / "fake").glob("*.jpg")), sorted((TEST / "real").glob("*.jpg"))
    return [str(p) for pair in zip(fakes, reals, strict=False) for p in pair][:n]


def _rows(out: Path) -> list[dict]:
    """Every row, shard by shard in the manifest's order (= input order)."""
    shards = json.loads((out / MANIFEST).read_text())["shards"]
    return [r for s in shards for r in pq.read_table(out / s["file"]).to_pylist()]


def test_inputs_are_enumerated_lazily_in_a_fixed_order(tmp_path: Path) -> None:
    for name in ("b/z.png", "b/a.jpg", "a.JPG", ".hidden/x.jpg", "b/.x.jpg", "notes.txt.bak", "c/d/e.webp"):
        (tmp_path / "tree" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "tree" / name).write_bytes(b"")
    (tmp_path / "list.txt").write_text("# a comment\ntree/a.JPG\n\n/abs/missing.jpg\ntree/a.JPG\n")
    (tmp_path / "list.csv").write_text("label,path\n1,tree/b/z.png\n0,/x.png\n")
    pq.write_table(pa.table({"path": ["tree/c/d/e.webp", "tree/c/d/e.webp"]}), tmp_path / "list.parquet")
    tree = tmp_path / "tree"
    items = iter_inputs([str(tree), str(tmp_path / "list.txt"), str(tmp_path / "list.csv"),
                         str(tmp_path / "list.parquet"), str(tree / "b" / "*.png")])
    assert iter(items) is items  # a generator: never the whole list
    walked = [str(tree / n) for n in ("a.JPG", "b/a.jpg", "b/z.png", "c/d/e.webp")]
    assert list(items) == [*walked, walked[0], "/abs/missing.jpg", walked[0], walked[2], "/x.png", walked[3],
                           walked[3], walked[2]]
    (tmp_path / "bad.csv").write_text("file\nx.jpg\n")
    with pytest.raises(DeepfakeDetectorError, match="bad.csv: a manifest needs a 'path' column"):
        list(iter_inputs([str(tmp_path / "bad.csv")]))


def test_scan_writes_parquet_rows_for_every_input_bad_ones_included(tmp_path: Path, capsys) -> None:
    corrupt = tmp_path / "bad" / "corrupt.jpg"
    corrupt.parent.mkdir()
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    manifest = tmp_path / "list.txt"
    manifest.write_text("\n".join([*_images(3), str(tmp_path / "gone.jpg")]) + "\n")
    roots = [str(TEST / "real"), str(corrupt.parent), str(manifest)]
    expected = list(iter_inputs(roots))
    out = scan(roots, tmp_path / "results", **FAST, shard_size=50, report=tmp_path / "results" / "_report.html")

    verdict = load_predictor("fast").verdict  # the bundled model's threshold and uncertain band
    table = pq.read_table(out)  # the folder reads as one table: manifest, summary and report are skipped
    assert table.schema.names == SCHEMA.names and table.num_rows == len(expected) == 116 + 1 + 4
    rows = _rows(out)
    assert [r["path"] for r in rows] == expected
    by_path = {r["path"]: r for r in rows}
    assert by_path[str(corrupt)]["error"] and by_path[str(corrupt)]["size"] == corrupt.stat().st_size
    gone = by_path[str(tmp_path / "gone.jpg")]
    assert gone["error"] and gone["size"] is None and gone["p_fake"] is None
    good = rows[0]
    assert good["sha256"] == hashlib.sha256(Path(good["path"]).read_bytes()).hexdigest()
    assert good["model_id"].startswith("fast-model@")
    assert all(r["label"] == verdict.label(r["p_fake"]) for r in rows if r["p_fake"] is not None)
    assert good["faces"] is None  # faces off: not searched

    assert main(["scan", "--summary", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"{len(expected)} image(s) in 3 shard(s) (complete)" in printed and "2 unreadable" in printed
    page = (out / "_report.html").read_text()
    assert page.count("data:image/jpeg;base64,") == 50  # the 50 most suspicious, thumbnails inline
    with pytest.raises(ConfigError, match="report.html: inside"):  # pyarrow would choke on it
        scan(roots, tmp_path / "other", **FAST, report=tmp_path / "other" / "report.html")


def test_kill_9_then_resume_scores_every_row_exactly_once(tmp_path: Path, tiny_model: Path) -> None:
    """2,000 scans of repeated real paths; the CLI is killed after its first shard, then resumed."""
    paths = [_images(100)[i % 100] for i in range(2000)]
    manifest = tmp_path / "uploads.parquet"
    pq.write_table(pa.table({"path": paths}), manifest)
    out = tmp_path / "results"
    cmd = [sys.executable, "-m", "deepfake_detector.cli", "scan", str(manifest), "--out", str(out), "--model",
           "fast", "--faces", "off", "--shard-size", "250", "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    while not ((out / MANIFEST).is_file() and json.loads((out / MANIFEST).read_text())["shards"]):
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()[-2000:]
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    state = json.loads((out / MANIFEST).read_text())
    assert not state["complete"] and 1 <= len(state["shards"]) < 8
    for part in out.glob("part-*.parquet"):  # whatever was renamed into place is whole
        assert pq.read_table(part).num_rows == 250

    with pytest.raises(ConfigError, match="cannot resume: model_id"):
        scan(manifest, out, tiny_model, backend="torch", faces="off", shard_size=250, resume=True)
    assert main(["scan", str(manifest), "--out", str(out), "--model", "fast", "--faces", "off", "--shard-size", "250",
                 "--quiet"]) == 2  # no --resume: refused, the scan so far kept
    assert json.loads((out / MANIFEST).read_text()) == state

    scan(manifest, out, **FAST, shard_size=250, resume=True)
    rows = _rows(out)
    assert [r["path"] for r in rows] == paths  # every row once, in order
    assert pq.read_table(out).num_rows == 2000 and sorted(p.name for p in out.iterdir() if p.name.startswith(".")) \
        == [".deepfake-detector", ".lock"]  # no temporary file left behind
    assert all(r["error"] is None for r in rows)
    first = {}  # the same photo scores the same in both runs, before and after the kill
    for r in rows:
        assert abs(first.setdefault(r["path"], r["p_fake"]) - r["p_fake"]) < 1e-6


def test_a_folder_the_toolkit_did_not_make_is_never_touched(tmp_path: Path, capsys) -> None:
    mine = tmp_path / "photos"
    mine.mkdir()
    (mine / "holiday.txt").write_text("mine")
    for extra in ([], ["--resume"], ["--overwrite"]):
        assert main(["scan", str(TEST), "--out", str(mine), "--model", "fast", *extra]) == 2
        assert "error:" in capsys.readouterr().err
    assert [p.name for p in mine.iterdir()] == ["holiday.txt"] and (mine / "holiday.txt").read_text() == "mine"


def test_a_second_writer_and_changed_inputs_are_refused(tmp_path: Path) -> None:
    folder = ScanFolder.open(tmp_path / "out")
    with pytest.raises(ConfigError, match="another scan is writing this folder"):
        ScanFolder.open(tmp_path / "out", resume=True)
    folder.shards.append({"file": "part-00000.parquet", "rows": 2, "last_path": "b"})
    assert list(folder.skip_finished(iter(["a", "b", "c"]))) == ["c"]
    with pytest.raises(ConfigError, match="the inputs changed since the scan started"):
        folder.skip_finished(iter(["a", "x", "c"]))
    folder.close()


def test_faces_auto_scores_through_the_one_pipeline(tmp_path: Path) -> None:
    from deepfake_detector.inference.loading import load_predictor

    files = _images(4)
    out = scan(files, tmp_path / "faces", "fast", faces="auto")
    rows = _rows(out)
    expected = load_predictor("fast").predict(files, faces="auto")
    for row, p in zip(rows, expected, strict=True):
        assert row["p_fake"] == pytest.approx(p.p_fake, abs=1e-6) and json.loads(row["faces"]) == json.loads(
            json.dumps(p.faces, default=lambda v: v.tolist()))


def test_ray_engine_needs_ray_and_says_how_to_install_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    with pytest.raises(DeepfakeDetectorError, match=r"pip install 'deepfake-detector-toolkit\[ray\]'"):
        scan(_images(1), tmp_path / "r", **FAST, engine="ray")
    assert not (tmp_path / "r").exists()


def test_ray_engine_equals_the_local_engine(tmp_path: Path) -> None:
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'deepfake-detector-toolkit[ray]')")
    files = _images(64)
    local = scan(files, tmp_path / "local", **FAST, shard_size=40)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        on_ray = scan(files, tmp_path / "ray", **FAST, shard_size=40, engine="ray", workers=1)
    finally:
        ray.shutdown()
    a, b = _rows(local), _rows(on_ray)
    assert [r["path"] for r in b] == [r["path"] for r in a] == files
    assert [f.name for f in sorted(on_ray.glob("part-*"))] == ["part-00000.parquet", "part-00001.parquet"]
    for x, y in zip(a, b, strict=True):
        assert abs(x["p_fake"] - y["p_fake"]) < 1e-6 and {**x, "p_fake": 0} == {**y, "p_fake": 0}
