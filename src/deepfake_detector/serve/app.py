"""FastAPI routes. Every error, whatever its status, is JSON ``{"error": "..."}``; never a traceback.

Upload size is enforced on the bytes as they arrive (FastAPI's ``max_body_size``; chunked uploads too),
not only on a Content-Length header; concurrent decodes are bounded by the service (503 when busy).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from fastapi import FastAPI, File, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from deepfake_detector.errors import ImageDecodeError, TooLargeError
from deepfake_detector.serve.page import upload_page
from deepfake_detector.serve.service import MAX_UPLOAD, MAX_VIDEO_UPLOAD, Service, ServiceBusy, upload_kind

FORM_OVERHEAD = 64 * 1024  # multipart headers around the file


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def create_app(service: Service, max_upload: int = MAX_UPLOAD, max_video_upload: int = MAX_VIDEO_UPLOAD) -> FastAPI:
    """The app around an already loaded model (loaded once, at startup)."""
    limits = {"image": max_upload, "video": max_video_upload}
    largest = max(limits.values())
    app = FastAPI(title="deepfake-detector", version="1", max_body_size=largest + FORM_OVERHEAD)

    def too_big(kind: str) -> str:
        return f"{kind} larger than {limits[kind] // (1024 * 1024)} MB"

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = too_big("video" if largest == max_video_upload else "image") if exc.status_code == 413 \
            else str(exc.detail)
        return error(exc.status_code, message)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        return error(500, "internal error while processing the request")

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        where = ", ".join(".".join(str(p) for p in e.get("loc", ())) + ": " + e.get("msg", "") for e in exc.errors())
        return error(400, f"invalid request ({where}); POST the image as a multipart form field named 'file'")

    @app.get("/health")
    def health() -> dict:
        return service.info()

    page_html = upload_page(service.predictor.meta)

    @app.get("/", response_class=HTMLResponse)
    def page() -> str:
        return page_html

    @app.post("/v1/predict")
    async def predict(file: Annotated[UploadFile, File()], faces: Literal["auto", "off"] = "auto",
                      explain: bool = False):
        kind = upload_kind(file.content_type, file.filename)
        if kind is None:
            return error(415, f"unsupported media type {file.content_type!r}: upload a JPEG, PNG, WebP, GIF, BMP "
                              "or TIFF image, or an MP4, MOV, WebM, MKV or AVI video")
        data = await file.read(limits[kind] + 1)
        if len(data) > limits[kind]:
            return error(413, too_big(kind))
        name = Path(file.filename or "upload").name
        try:
            return await run_in_threadpool(service.predict, data, name, faces, explain)
        except TooLargeError as exc:  # over the pixel or duration limit: understood, but refused
            return error(422, str(exc))
        except ImageDecodeError as exc:
            return error(400, str(exc))
        except ServiceBusy as exc:
            return error(503, str(exc))

    return app


def run_server(model: str | None, host: str = "127.0.0.1", port: int = 8000, threads: int | None = None,
               backend: str = "auto", provenance: bool = True) -> None:
    """Load the model once (through ``load_predictor``: torch-free when its ONNX export is cached on a CPU), then
    serve until interrupted."""
    import uvicorn

    from deepfake_detector.inference.loading import load_predictor

    service = Service(load_predictor(model, backend, threads=threads), threads, provenance=provenance)
    predictor = service.predictor
    print(f"serving {service.model_id} on http://{host}:{port}/  (POST /v1/predict, GET /health)")
    print(f"engine: {predictor.engine}" + (f" ({predictor.engine_note})" if predictor.engine_note else ""))
    uvicorn.run(create_app(service), host=host, port=port, log_level="warning")
