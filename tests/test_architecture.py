"""The package's structure: layers only point down, and no module imports itself back in a circle.

The layer order is written once, here. Every import of the package's own modules counts, at module top or
inside a function (a lazy import is still a dependency); only ``if TYPE_CHECKING:`` imports are exempt
(they never run). The prediction pipeline (``inference``) sits below training and evaluation because they
score images through it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from .conftest import REPO

PACKAGE = REPO / "src" / "deepfake_detector"
LAYERS = [  # low -> high; a module may import its own layer and the ones below
    {"errors", "utils"},
    {"config"},
    {"data", "provenance"},
    {"models"},
    {"faces"},
    {"inference"},
    {"explain"},
    {"training", "evaluation"},
    {"experiments", "scan"},
    {"cli", "serve", "__init__"},
]
RANK = {name: i for i, names in enumerate(LAYERS) for name in names}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    type_only = {id(n) for node in ast.walk(tree)
                 if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("deepfake_detector"):
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}  # `from pkg import module`
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("deepfake_detector")}
    return found


def _graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {m for m in _imports(path) if m in files} - {name} for name, path in files.items()}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_module_has_a_layer() -> None:
    assert {_layer(m) for m in _graph()} <= set(RANK)


def test_imports_only_point_down() -> None:
    upward = sorted(f"{a} -> {b}" for a, targets in _graph().items() for b in targets
                    if RANK[_layer(b)] > RANK[_layer(a)])
    assert upward == []


def test_no_import_cycles() -> None:
    graph = _graph()
    # A package imports its own submodules from __init__; that edge alone is not a cycle to report.
    graph = {a: {b for b in bs if not b.startswith(a + ".")} for a, bs in graph.items()}
    cycles, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(path[path.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert cycles == []


def test_the_walker_sees_lazy_imports_and_skips_type_only_ones(tmp_path: Path) -> None:
    source = tmp_path / "example.py"
    source.write_text("from typing import TYPE_CHECKING\n"
                      "from deepfake_detector.data import decode\n"
                      "if TYPE_CHECKING:\n    from deepfake_detector.cli import main\n"
                      "def f():\n    import deepfake_detector.serve.app\n")
    found = _imports(source)
    assert {"deepfake_detector.data", "deepfake_detector.data.decode", "deepfake_detector.serve.app"} <= found
    assert "deepfake_detector.cli" not in found


def test_one_scoring_path_gives_the_same_score_everywhere(tiny_model: Path, tmp_path: Path, capsys) -> None:
    """API, CLI, server and the benchmarks' batches score the same real photo identically."""
    import json
    import sys

    import torch
    from fastapi.testclient import TestClient

    from deepfake_detector import Detector
    from deepfake_detector.cli import main
    from deepfake_detector.serve import Service, create_app

    from .conftest import DATA_140K

    photo = sorted((DATA_140K / "real_vs_fake" / "real-vs-fake" / "test" / "fake").glob("*.jpg"))[0]
    detector = Detector.load(tiny_model, device="cpu", backend="torch")
    api = detector.predict([photo], faces="off")[0].p_fake
    out = tmp_path / "p.json"
    assert main(["predict", str(photo), "--model", str(tiny_model), "--faces", "off", "--backend", "torch",
                 "--output", str(out)]) == 0
    cli = json.loads(out.read_text())["predictions"][0]["p_fake"]
    client = TestClient(create_app(Service(detector)))
    served = client.post("/v1/predict?faces=off", files={"file": ("p.jpg", photo.read_bytes(), "image/jpeg")})
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from common import load_batch
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    bench = float(detector.scores(load_batch([photo], detector.preprocess))[0])
    assert cli == api == served.json()["p_fake"]
    assert bench == torch.tensor(api).item()


@pytest.mark.parametrize("faces", ["off", "auto"])
def test_onnx_predict_never_imports_torch_and_matches_the_torch_path(faces: str, tmp_path: Path, monkeypatch) -> None:
    """`predict` on a CPU with a cached ONNX export answers from ONNX Runtime + Pillow (+ OpenCV's MTCNN with
    faces): not one torch module imported, and the scores and faces are the torch path's."""
    import json
    import subprocess
    import sys

    from deepfake_detector import Detector
    from deepfake_detector.inference.loading import gpu_present

    from .conftest import DATA_140K, ORIGINALS

    monkeypatch.setenv("DEEPFAKE_DETECTOR_CACHE", str(tmp_path / "cache"))
    test = DATA_140K / "real_vs_fake" / "real-vs-fake" / "test"
    files = [sorted((test / c).glob("*.jpg"))[0] for c in ("real", "fake")]
    files += [sorted((ORIGINALS / "fake").iterdir())[0]]  # 1024 px: the resize must be the same on both paths
    # faces auto: the default backend ("auto") on a machine without a GPU, which takes a light path too
    # (ONNX Runtime, or OpenVINO on a CPU with bf16/int8 hardware): compared with that same engine's scores
    backend = "onnx" if faces == "off" or gpu_present() else "auto"
    reference = Detector.load("fast", backend=backend).predict(files, faces=faces)  # exports and caches
    out = tmp_path / "light.json"
    code = ("import sys, json; from deepfake_detector.cli import main; "
            "rc = main(sys.argv[1:]); print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('torch', 'torchvision', 'lightning')))); sys.exit(rc)")
    done = subprocess.run([sys.executable, "-c", code, "predict", *map(str, files), "--model", "fast",
                           *(["--backend", backend] if backend != "auto" else []),
                           "--faces", faces, "--output", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []  # not one torch module imported
    light = json.loads(out.read_text())["predictions"]
    for ref, row in zip(reference, light, strict=True):
        assert abs(ref.p_fake - row["p_fake"]) <= 1e-4 and ref.label == row["label"]
        assert [f["box"] for f in ref.faces or []] == [f["box"] for f in row["faces"] or []]
