"""Provenance as a second signal: every fixture (tests/fixtures/provenance, made by
scripts/make_provenance_fixtures.py) gives the documented provenance and verdict through the reader, `predict`
(Python API and CLI), the server and `scan`; hostile metadata gives one-line warnings; nothing touches the network.

The model is the random 32 px seed CNN (``tiny_model``): its own verdicts mean nothing, so each test compares
with the same files scored with provenance off.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import socket
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from deepfake_detector import Detector
from deepfake_detector.cli import main
from deepfake_detector.errors import ConfigError
from deepfake_detector.inference.html_report import write_html_report
from deepfake_detector.provenance.read import TRUST_ANCHORS_ENV, XMP_LIMIT, read_provenance
from deepfake_detector.scan import scan
from deepfake_detector.scan.summary import format_summary, read_summary
from deepfake_detector.serve import Service, create_app

FIXTURES = Path(__file__).parent / "fixtures" / "provenance"
# name -> (kind, C2PA state, words of the one warning expected, or None)
EXPECTED = {
    "c2pa-ai.jpg": ("ai-generated", "valid", None),
    "c2pa-ai.png": ("ai-generated", "valid", None),
    "c2pa-edited-ai.jpg": ("ai-generated", "valid", None),  # an edit whose parent declares AI generation
    "c2pa-capture.jpg": ("capture", "valid", None),
    "c2pa-ai-tampered.jpg": ("invalid-manifest", "invalid", "fail validation (assertion.dataHash.mismatch)"),
    "c2pa-ai-stripped.jpg": ("none", "none", None),
    "c2pa-malformed.jpg": ("invalid-manifest", "unreadable", "Content Credentials unreadable"),
    "c2pa-missing-ingredient.jpg": ("invalid-manifest", "invalid", "fail validation (ingredient.manifest.missing)"),
    "c2pa-remote.jpg": ("metadata", "remote", None),
    "a1111.png": ("ai-generated", "none", None),
    "a1111-exif.jpg": ("ai-generated", "none", None),
    "comfyui.png": ("ai-generated", "none", None),
    "novelai-software.jpg": ("ai-generated", "none", None),
    "xmp-ai.jpg": ("ai-generated", "none", None),
    "camera.jpg": ("metadata", "none", None),
    "xmp-oversized.png": ("none", "none", f"over the {XMP_LIMIT // 1024} KiB limit: not read"),
    "plain.jpg": ("none", "none", None),
}
IMAGES = sorted(EXPECTED)
VIDEO = "c2pa-ai.mp4"


def _paths(names: list[str]) -> list[str]:
    return [str(FIXTURES / n) for n in names]


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection fails the test: reading must be offline (remote manifests, OCSP)."""
    def refuse(*args, **kwargs):
        raise AssertionError("provenance tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.delenv(TRUST_ANCHORS_ENV, raising=False)


@pytest.fixture
def detector(tiny_model: Path) -> Detector:
    return Detector.load(tiny_model, device="cpu")


@pytest.mark.parametrize("name", [*IMAGES, VIDEO])
def test_each_fixture_reads_as_documented(name: str) -> None:
    kind, state, warning = EXPECTED.get(name, ("ai-generated", "valid", None))
    found = read_provenance(FIXTURES / name)
    assert (found.kind, found.c2pa, found.declares_ai) == (kind, state, kind == "ai-generated")
    assert len(found.warnings) == (warning is not None)
    if warning is not None:
        assert warning in found.warnings[0] and "\n" not in found.warnings[0]
    assert found.summary and found.trust_list is None
    assert read_provenance((FIXTURES / name).read_bytes()) == found  # the server reads bytes: same answer


def test_c2pa_details_are_reported() -> None:
    found = read_provenance(FIXTURES / "c2pa-ai.jpg")
    assert found.claim_generator == "TestGen AI 1.0" and found.signer == "C2PA Signer (issuer C2PA Test Signing Cert)"
    assert found.digital_source_types == ["trainedAlgorithmicMedia"] and found.actions == ["c2pa.created"]
    assert "not checked against a trust list" in found.summary
    edited = read_provenance(FIXTURES / "c2pa-edited-ai.jpg")
    assert edited.claim_generator == "TestEditor 1.0" and edited.ingredients == ["parent.jpg"]
    remote = read_provenance(FIXTURES / "c2pa-remote.jpg")
    assert "http://127.0.0.1:9/never-fetched.c2pa, not fetched" in remote.summary
    a1111 = read_provenance(FIXTURES / "a1111.png")
    assert a1111.markers[0]["where"] == "png:parameters" and a1111.markers[0]["tool"].startswith("AUTOMATIC1111")
    camera = read_provenance(FIXTURES / "camera.jpg")
    assert [m["value"] for m in camera.markers] == ["Adobe Photoshop 25.0", "Canon", "Canon EOS R5"]
    assert not any(m["declares_ai"] for m in camera.markers)


def test_trust_anchors_make_the_test_signer_trusted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(TRUST_ANCHORS_ENV, str(FIXTURES / "trust_anchors.pem"))
    found = read_provenance(FIXTURES / "c2pa-ai.jpg")
    assert found.c2pa == "trusted" and found.declares_ai and "chains to the trust list" in found.summary
    assert found.trust_list == str(FIXTURES / "trust_anchors.pem")
    monkeypatch.setenv(TRUST_ANCHORS_ENV, str(tmp_path / "missing.pem"))
    with pytest.raises(ConfigError, match="cannot read the trust anchors"):
        read_provenance(FIXTURES / "c2pa-ai.jpg")


@pytest.mark.parametrize("data", [b"", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, b"c2pa" * 1000])
def test_garbage_never_raises(data: bytes) -> None:
    found = read_provenance(data)
    assert found.kind in ("none", "invalid-manifest") and all("\n" not in w for w in found.warnings)


def test_corrupt_exif_is_one_warning() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buf, "JPEG", exif=b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x05" + b"\xff" * 40)
    found = read_provenance(buf.getvalue())
    assert found.kind == "none" and len(found.warnings) == 1
    assert found.warnings[0].startswith("metadata damaged, read in part (Corrupt EXIF")


def _check_verdicts(rows: list[dict], baseline: dict[str, dict]) -> None:
    """``rows`` (path, label, reason, provenance, warning, p_fake) follow the rule against the model alone."""
    for row in rows:
        name = Path(row["path"]).name
        kind, state, warning = EXPECTED.get(name, ("ai-generated", "valid", None))
        alone = baseline[name]
        assert row["p_fake"] == pytest.approx(alone["p_fake"]), name  # the score stays the model's
        if kind == "ai-generated":
            assert (row["label"], row["reason"]) == ("fake", "provenance"), name
        else:
            assert (row["label"], row["reason"]) == (alone["label"], "detector"), name
        assert row["provenance"]["kind"] == kind and row["provenance"]["c2pa"] == state, name
        if warning is not None:
            assert warning in row["warning"], name


def test_predict_api_applies_the_rule(detector: Detector) -> None:
    files = _paths([*IMAGES, VIDEO])
    alone = detector.predict(files, faces="off", provenance=False)
    assert all(p.reason == "detector" and p.provenance is None for p in alone)
    baseline = {Path(p.path).name: p.to_dict() for p in alone}
    predictions = detector.predict(files, faces="off")
    _check_verdicts([p.to_dict() for p in predictions], baseline)
    video = predictions[-1]
    assert video.video is not None and video.label == "fake" and video.reason == "provenance"


def test_predict_with_faces_auto_and_in_memory_images(detector: Detector) -> None:
    files = _paths(["c2pa-ai.jpg", "plain.jpg"])
    auto = detector.predict([*files, Image.open(files[0])], faces="auto")
    assert (auto[0].label, auto[0].reason) == ("fake", "provenance") and auto[1].reason == "detector"
    assert auto[2].reason == "detector" and auto[2].provenance is None  # in memory: no file to read


def test_predict_cli_writes_reason_and_provenance(tiny_model: Path, tmp_path: Path, capsys) -> None:
    files = _paths(IMAGES)
    out_csv, out_json, off_json = tmp_path / "r.csv", tmp_path / "r.json", tmp_path / "off.json"
    common = ["predict", *files, "--model", str(tiny_model), "--faces", "off", "--quiet"]
    assert main([*common, "--output", str(off_json), "--provenance", "off"]) == 0
    baseline = {Path(r["path"]).name: r for r in json.loads(off_json.read_text())["predictions"]}
    assert main([*common, "--output", str(out_json), "--report", str(tmp_path / "r.html")]) == 0
    printed = capsys.readouterr().out
    assert "fake (provenance)" in printed and "warning:" in printed and "fail validation" in printed
    _check_verdicts(json.loads(out_json.read_text())["predictions"], baseline)
    assert main([*common, "--output", str(out_csv)]) == 0
    with out_csv.open() as fh:
        rows = [r | {"p_fake": float(r["p_fake"]), "provenance": json.loads(r["provenance"])}
                for r in csv.DictReader(fh)]
    _check_verdicts(rows, baseline)
    page = (tmp_path / "r.html").read_text()
    assert "by provenance" in page and "fake by provenance<b>8</b>" in page and "absence proves nothing" in page


def test_provenance_command_reads_without_a_model(tmp_path: Path, capsys) -> None:
    out = tmp_path / "p.json"
    assert main(["provenance", *_paths([*IMAGES, VIDEO]), "--output", str(out)]) == 0
    rows = {Path(r["path"]).name: r for r in json.loads(out.read_text())["provenance"]}
    assert {n: (r["kind"], r["c2pa"]) for n, r in rows.items()} == {
        n: EXPECTED.get(n, ("ai-generated", "valid"))[:2] for n in [*IMAGES, VIDEO]}
    assert "9 declare AI generation, 3 invalid manifest(s)" in capsys.readouterr().out
    assert main(["provenance", *_paths(IMAGES), "--output", str(tmp_path / "p.csv")]) == 0
    with (tmp_path / "p.csv").open() as fh:
        assert len(list(csv.DictReader(fh))) == len(IMAGES)


def test_server_json_and_page_carry_provenance(detector: Detector) -> None:
    client = TestClient(create_app(Service(detector)))
    assert "Provenance: " in client.get("/").text
    off = TestClient(create_app(Service(detector, provenance=False)))
    rows, baseline = [], {}
    for name in [*IMAGES, VIDEO]:
        mime = "video/mp4" if name.endswith(".mp4") else "image/png" if name.endswith(".png") else "image/jpeg"
        upload = {"file": (name, (FIXTURES / name).read_bytes(), mime)}
        r = client.post("/v1/predict?faces=off", files=upload)
        assert r.status_code == 200, r.text
        rows.append(r.json() | {"path": name})
        alone = off.post("/v1/predict?faces=off", files=upload).json()
        assert alone["reason"] == "detector" and alone["provenance"] is None
        baseline[name] = alone
    _check_verdicts(rows, baseline)
    assert rows[-1]["video"] is not None


def test_scan_has_provenance_columns_and_counts(tiny_model: Path, tmp_path: Path) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    for name in IMAGES:
        shutil.copy(FIXTURES / name, folder / name)
    off = scan([str(folder)], tmp_path / "off", str(tiny_model), faces="off", provenance=False)
    baseline = {Path(r["path"]).name: r for r in pq.read_table(off).to_pylist()}
    assert all(r["reason"] == "detector" and r["provenance"] is None for r in baseline.values())
    out = scan([str(folder)], tmp_path / "on", str(tiny_model), faces="off")
    rows = pq.read_table(out).to_pylist()
    assert len(rows) == len(IMAGES)
    for row in rows:
        assert row["provenance_kind"] == json.loads(row["provenance"])["kind"]
        assert row["c2pa"] == EXPECTED[Path(row["path"]).name][1]
    _check_verdicts([r | {"provenance": json.loads(r["provenance"])} for r in rows], baseline)
    summary = read_summary(out)
    assert (summary["fakes_by_provenance"], summary["invalid_manifests"], summary["provenance"]) == (8, 3, True)
    assert "8 fake by provenance, 3 invalid manifest(s)" in format_summary(summary)
    assert "provenance off" in format_summary(read_summary(off))


def test_html_report_shows_provenance(detector: Detector, tmp_path: Path) -> None:
    predictions = detector.predict(_paths(["c2pa-ai.jpg", "c2pa-ai-tampered.jpg"]), faces="off")
    page = write_html_report(tmp_path / "r.html", predictions, detector).read_text()
    assert "made with TestGen AI 1.0" in page and "changed after signing" in page
