"""HTTP service: ``POST /v1/predict``, ``GET /health`` and an upload page at ``/`` (FastAPI + uvicorn)."""

from deepfake_detector.serve.app import create_app, run_server
from deepfake_detector.serve.service import Service

__all__ = ["Service", "create_app", "run_server"]
