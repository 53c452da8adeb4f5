"""One result schema (inference/prediction.py): CLI CSV and JSON, the server's answer and scan's Parquet."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.parquet as pq
from fastapi.testclient import TestClient

from deepfake_detector import Detector
from deepfake_detector.inference.prediction import RESULT_COLUMNS
from deepfake_detector.inference.writers import write_predictions
from deepfake_detector.scan.score import SCHEMA, score_table
from deepfake_detector.serve import Service, create_app
from tests.conftest import write_image

NAMES = [c.name for c in RESULT_COLUMNS]


def test_every_output_is_made_of_the_same_result_row(tiny_model: Path, tmp_path: Path) -> None:
    detector = Detector.load(tiny_model, device="cpu", backend="torch")
    photo = write_image(tmp_path / "a.png", (120, 90, 60), size=40)
    broken = tmp_path / "b.jpg"
    broken.write_bytes(b"\xff\xd8 not a jpeg")
    predictions = detector.predict([photo, broken], faces="off", provenance=False)

    write_predictions(predictions, tmp_path / "out.csv", detector)
    with (tmp_path / "out.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == NAMES and rows[0]["model_id"] == detector.model_id and rows[1]["error"]
    write_predictions(predictions, tmp_path / "out.json", detector)
    written = json.loads((tmp_path / "out.json").read_text())["predictions"]
    assert [list(r) for r in written] == [NAMES, NAMES] and written[0]["threshold"] == detector.threshold

    table = score_table(detector, [str(photo), str(broken)], "off", 8, provenance=False)
    assert table.schema == SCHEMA and SCHEMA.names[:len(NAMES)] == NAMES
    pq.write_table(table, tmp_path / "scan.parquet")
    parquet = pq.read_table(tmp_path / "scan.parquet").to_pylist()
    assert [r["p_fake"] for r in parquet] == [r["p_fake"] for r in written]

    client = TestClient(create_app(Service(detector)))
    answer = client.post("/v1/predict?faces=off", files={"file": ("a.png", photo.read_bytes(), "image/png")}).json()
    assert list(answer)[:len(NAMES)] == NAMES and answer["p_fake"] == written[0]["p_fake"]
    assert answer["path"] == "a.png" and answer["model"] == answer["model_id"] == detector.model_id
