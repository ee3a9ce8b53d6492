"""The web application: the page, and the HTTP API under it (FastAPI).

Routes (all bodies are multipart forms; every refusal is JSON ``{"detail": "one sentence"}``
with a 4xx status):

* ``GET /`` the page; ``GET /static/…`` its script and style.
* ``GET /models``: every installed model, which needs a trimap, which weights it runs on.
* ``POST /predict``: photo + trimap → alpha PNG (``output=cutout``: RGBA cutout PNG).
* ``POST /images``: keep a photo for the page; ``GET /images/{id}/preview.png``.
* ``POST /jobs``: a prediction in the background; ``GET /jobs/{id}`` its stage and progress;
  ``GET /jobs/{id}/{alpha,cutout,trimap}.png`` its results.
* ``POST /trimap``: a trimap from a rough mask, or a trimap file checked and normalised.

Decoding, prediction and encoding run on threads, never on the event loop, so a long
prediction never holds up another request.
"""

from __future__ import annotations

import importlib.resources
import logging
import shutil
import tempfile
import weakref
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from matting_core.errors import USER_ERRORS
from matting_serve import work
from matting_serve.jobs import Job, JobQueue
from matting_serve.models import Models
from matting_serve.photos import Photo, PhotoStore
from matting_serve.settings import ServeSettings
from matting_serve.trimaps import fit_to_image, preview_shape, trimap_from_soft_mask
from matting_serve.uploads import ApiError, BodySizeLimit, decode_upload, discard, save_upload

__all__ = ["create_app"]

log = logging.getLogger("matting_serve")

STATIC = importlib.resources.files("matting_serve") / "static"

#: Widest unknown band an automatic trimap may ask for, in pixels.
MAX_BAND = 256

OptionalFile = Annotated[UploadFile | None, File()]
OptionalText = Annotated[str | None, Form()]


def create_app(settings: ServeSettings | None = None) -> FastAPI:
    """The application of one server; ``matting serve`` runs it with uvicorn."""
    settings = settings or ServeSettings()
    workdir = Path(tempfile.mkdtemp(prefix="matting-serve-"))
    models = Models(settings.model, settings.checkpoint, settings.device)
    queue = JobQueue(keep=settings.kept_jobs)
    photos = PhotoStore(keep=settings.kept_images)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        queue.shutdown()
        shutil.rmtree(workdir, ignore_errors=True)

    from matting_serve import __version__

    app = FastAPI(
        title="matting serve",
        version=__version__,
        description="Mat a photo by hand: the API under the page of `matting serve`.",
        docs_url=None,  # the interactive docs load scripts from the internet
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings, app.state.models, app.state.jobs = settings, models, queue
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_upload_bytes)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    _add_error_handlers(app)
    weakref.finalize(app, shutil.rmtree, workdir, True)

    # -- inputs ------------------------------------------------------------------------------

    async def read_photo(image: UploadFile | None, image_id: str | None) -> tuple[np.ndarray, str]:
        """The photo as (H, W, 3) float32 RGB, and its file stem for download names."""
        if (image is None) == (image_id is None):
            raise ApiError(
                400,
                "send the photo as the form file 'image', or the id of a photo sent to "
                "POST /images as 'image_id'",
            )
        if image_id is not None:
            photo = _stored(photos, image_id)
            rgb = await run_in_threadpool(
                decode_upload, photo.upload, "image", max_pixels=settings.max_pixels
            )
            return rgb, photo.stem
        assert image is not None
        upload = await run_in_threadpool(save_upload, image.file, image.filename, workdir, "image")
        try:
            rgb = await run_in_threadpool(
                decode_upload, upload, "image", max_pixels=settings.max_pixels
            )
        finally:
            discard(upload)
        return rgb, upload.path.stem

    async def read_fitted(
        file: UploadFile, role: Literal["trimap", "mask"], height: int, width: int
    ) -> np.ndarray:
        """A trimap or mask at the photo's size (sent at its size or its preview's)."""
        upload = await run_in_threadpool(save_upload, file.file, file.filename, workdir, role)
        try:
            array = await run_in_threadpool(
                decode_upload, upload, role, max_pixels=settings.max_pixels
            )
        finally:
            discard(upload)
        return fit_to_image(
            array,
            height,
            width,
            settings.preview_size,
            what=f"{role} {upload.name}",
            interpolation="nearest" if role == "trimap" else "linear",
        )

    def model_name(model: str | None) -> str:
        from matting_core import InputError, get_model_info

        name = model or models.default()
        if name is None:
            raise InputError("no model is installed (pip install matting-gca, for one)")
        get_model_info(name)  # UnknownModelError names the installed ones
        return name

    async def matte_job(
        image: UploadFile | None,
        image_id: str | None,
        trimap: UploadFile | None,
        model: str | None,
        *,
        cutout: bool,
    ) -> Job:
        from matting_core import get_model_info

        name = model_name(model)
        rgb, stem = await read_photo(image, image_id)
        height, width = rgb.shape[:2]
        needs_trimap = get_model_info(name).needs_trimap
        labels = None
        if trimap is not None and needs_trimap:
            labels = await read_fitted(trimap, "trimap", height, width)
        elif needs_trimap:
            raise ApiError(400, f"model {name!r} needs a trimap: send it as the form file 'trimap'")
        job = Job(kind="matte", model=name, width=width, height=height, name=stem)
        return queue.submit(
            job,
            lambda job: work.matte(
                job, models, rgb, labels, foreground=settings.foreground, cutout=cutout
            ),
        )

    async def trimap_job(
        image: UploadFile | None, image_id: str | None, model: str | None, band: int
    ) -> Job:
        name = model_name(model)
        rgb, stem = await read_photo(image, image_id)
        height, width = rgb.shape[:2]
        job = Job(kind="trimap", model=name, width=width, height=height, name=stem)
        return queue.submit(job, lambda job: work.auto_trimap(job, models, rgb, band=band))

    # -- routes --------------------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(str(STATIC / "index.html"), media_type="text/html")

    @app.get("/models")
    async def list_models() -> dict[str, Any]:
        """Every installed model: name, plugin, paper, whether it needs a trimap, weights."""
        catalogue = await run_in_threadpool(models.catalogue)
        return {
            "default": models.default(),
            "models": catalogue,
            "trimap_free": [m["name"] for m in catalogue if not m["needs_trimap"]],
            "preview_size": settings.preview_size,
            "max_upload_bytes": settings.max_upload_bytes,
        }

    @app.post("/predict", response_class=Response)
    async def predict(
        image: OptionalFile = None,
        image_id: OptionalText = None,
        trimap: OptionalFile = None,
        model: OptionalText = None,
        output: Annotated[Literal["alpha", "cutout"], Form()] = "alpha",
    ) -> Response:
        """The alpha matte (8-bit gray PNG, the bytes ``matting predict`` writes) or the RGBA
        cutout of one photo; waits for the result."""
        job = await matte_job(image, image_id, trimap, model, cutout=output == "cutout")
        await queue.wait(job)
        if job.state != "done":
            raise ApiError(job.error_status, job.error or "the prediction failed")
        return _png(job.results[output], f"{job.name}-{output}.png")

    @app.post("/jobs", status_code=202)
    async def submit_job(
        image: OptionalFile = None,
        image_id: OptionalText = None,
        trimap: OptionalFile = None,
        model: OptionalText = None,
        task: Annotated[Literal["matte", "trimap"], Form()] = "matte",
        band: Annotated[int, Form(ge=1, le=MAX_BAND)] = 20,
    ) -> dict[str, Any]:
        """Start a prediction in the background: ``matte`` (alpha, cutout, trimap) or
        ``trimap`` (an automatic trimap from a trimap-free model); poll ``GET /jobs/{id}``."""
        if task == "trimap":
            job = await trimap_job(image, image_id, model, band)
        else:
            job = await matte_job(image, image_id, trimap, model, cutout=True)
        return job.describe(queue.position(job))

    @app.get("/jobs/{job_id}")
    async def job_state(job_id: str) -> dict[str, Any]:
        """A job's state, stage, progress (0..1, or null when unknown) and result URLs."""
        job = _job(queue, job_id)
        return job.describe(queue.position(job))

    @app.get("/jobs/{job_id}/{result}.png", response_class=Response)
    async def job_result(job_id: str, result: str) -> Response:
        job = _job(queue, job_id)
        if job.state == "failed":
            raise ApiError(409, f"job {job_id} failed: {job.error}")
        if job.state != "done":
            raise ApiError(409, f"job {job_id} is not done yet ({job.stage})")
        if result not in job.results:
            raise ApiError(404, f"job {job_id} has no {result!r} result")
        return _png(job.results[result], f"{job.name}-{result}.png")

    @app.post("/images", status_code=201)
    async def upload_photo(image: Annotated[UploadFile, File()]) -> dict[str, Any]:
        """Keep a photo for the page; returns its id, size and preview size."""
        upload = await run_in_threadpool(save_upload, image.file, image.filename, workdir, "image")
        try:
            rgb = await run_in_threadpool(
                decode_upload, upload, "image", max_pixels=settings.max_pixels
            )
        except BaseException:
            discard(upload)
            raise
        height, width = rgb.shape[:2]
        photo = photos.add(Photo(upload=upload, width=width, height=height))
        photo.preview = await run_in_threadpool(_preview_png, rgb, settings.preview_size)
        preview_height, preview_width = preview_shape(height, width, settings.preview_size)
        return {
            "id": photo.id,
            "name": upload.name,
            "width": width,
            "height": height,
            "preview": {
                "width": preview_width,
                "height": preview_height,
                "url": f"/images/{photo.id}/preview.png",
            },
        }

    @app.get("/images/{image_id}/preview.png", response_class=Response)
    async def photo_preview(image_id: str) -> Response:
        photo = _stored(photos, image_id)
        assert photo.preview is not None
        return Response(photo.preview, media_type="image/png")

    @app.post("/trimap", response_class=Response)
    async def make_trimap(
        source: Annotated[Literal["mask", "trimap", "model"], Form()],
        file: OptionalFile = None,
        image: OptionalFile = None,
        image_id: OptionalText = None,
        model: OptionalText = None,
        band: Annotated[int, Form(ge=1, le=MAX_BAND)] = 20,
    ) -> Response:
        """A trimap PNG (0/128/255): from a rough mask with an unknown band ``band`` px wide,
        from a trimap-free model's alpha of the photo, or a trimap file checked and
        normalised (``source=trimap``, for the page to load).  With ``image_id`` a mask or
        trimap is fitted to that photo's size."""
        if source == "model":
            job = await trimap_job(image, image_id, model, band)
            await queue.wait(job)
            if job.state != "done":
                raise ApiError(job.error_status, job.error or "the trimap failed")
            return _png(job.results["trimap"], f"{job.name}-trimap.png")
        if file is None:
            raise ApiError(400, f"send the {source} as the form file 'file'")
        if image is not None:
            raise ApiError(400, f"a {source} needs no photo; 'image_id' fits it to an uploaded one")
        role: Literal["trimap", "mask"] = "trimap" if source == "trimap" else "mask"
        if image_id is not None:  # at the photo's size (sent at its size or its preview's)
            photo = _stored(photos, image_id)
            array = await read_fitted(file, role, photo.height, photo.width)
            stem = photo.stem
        else:
            upload = await run_in_threadpool(save_upload, file.file, file.filename, workdir, role)
            try:
                array = await run_in_threadpool(
                    decode_upload, upload, role, max_pixels=settings.max_pixels
                )
            finally:
                discard(upload)
            stem = upload.path.stem
        if source == "mask":
            array = await run_in_threadpool(trimap_from_soft_mask, array, band)
        from matting_data import encode_alpha

        return _png(encode_alpha(array), f"{stem}-trimap.png")

    return app


# -- helpers -----------------------------------------------------------------------------------


def _png(data: bytes, filename: str) -> Response:
    return Response(
        data,
        media_type="image/png",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _preview_png(rgb: np.ndarray, preview_size: int) -> bytes:
    import cv2

    from matting_data import encode_image

    height, width = preview_shape(*rgb.shape[:2], preview_size)
    if (height, width) != rgb.shape[:2]:
        rgb = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
    return encode_image(rgb, ".png")


def _stored(photos: PhotoStore, image_id: str) -> Photo:
    photo = photos.get(image_id)
    if photo is None:
        raise ApiError(
            404, f"no photo with id {image_id!r} (the server keeps the last few; send it again)"
        )
    return photo


def _job(queue: JobQueue, job_id: str) -> Job:
    job = queue.get(job_id)
    if job is None:
        raise ApiError(404, f"no job with id {job_id!r} (the server keeps the last few)")
    return job


def _add_error_handlers(app: FastAPI) -> None:
    async def api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return JSONResponse({"detail": exc.message}, status_code=exc.status)

    async def user_error(request: Request, exc: Exception) -> JSONResponse:
        from matting_data import ImageTooLargeError

        status = 413 if isinstance(exc, ImageTooLargeError) else 400
        return JSONResponse({"detail": str(exc)}, status_code=status)

    async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return JSONResponse({"detail": _one_sentence(exc.errors())}, status_code=422)

    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return JSONResponse(
            {"detail": f"internal error ({type(exc).__name__}); see the server's log"},
            status_code=500,
        )

    app.add_exception_handler(ApiError, api_error)
    for error in USER_ERRORS:
        app.add_exception_handler(error, user_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(Exception, internal_error)


def _one_sentence(errors: Any) -> str:
    """FastAPI's list of validation errors as one sentence about the first one."""
    if not errors:
        return "the request is not valid"
    first = errors[0]
    where = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
    field = where[-1] if where else "request"
    if first.get("type") == "missing":
        return f"the form field {field!r} is missing"
    return f"the form field {field!r} is not valid: {first.get('msg', 'bad value')}"
