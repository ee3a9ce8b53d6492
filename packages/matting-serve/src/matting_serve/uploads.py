"""Uploaded files: the request size limit, and decoding with matting-data's readers.

An upload is written to the server's private work folder under a sanitised version of its
own file name and read from there with ``read_image`` / ``read_trimap`` / ``read_alpha``, so
a photo sent to the page is validated exactly as ``matting predict`` validates a file (pixel
limit before decoding, corrupt and truncated files, trimap values).  Error messages name the
upload as the user called it, never the server's temporary path.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from matting_core.errors import USER_ERRORS

__all__ = ["ApiError", "BodySizeLimit", "Upload", "decode_upload", "save_upload"]

Role = Literal["image", "trimap", "mask"]
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


class ApiError(Exception):
    """A request the server refuses: an HTTP status and one sentence for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Upload:
    """An uploaded file saved in the work folder."""

    name: str  # as the client called it (sanitised)
    path: Path


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _safe_name(filename: str | None, role: str) -> str:
    stem = Path(filename or "").name
    name = _UNSAFE.sub("_", stem).strip("._")[-80:]
    return name or role


def save_upload(file: Any, filename: str | None, folder: Path, role: Role) -> Upload:
    """Copy an uploaded file object into a fresh sub-folder of ``folder``."""
    name = _safe_name(filename, role)
    target = folder / uuid.uuid4().hex / name
    target.parent.mkdir(parents=True)
    with open(target, "wb") as out:
        shutil.copyfileobj(file, out, length=2**20)
    return Upload(name=name, path=target)


def discard(upload: Upload) -> None:
    shutil.rmtree(upload.path.parent, ignore_errors=True)


def decode_upload(upload: Upload, role: Role, *, max_pixels: int) -> np.ndarray:
    """Read an upload with matting-data's reader for its role.

    :returns: ``image``: (H, W, 3) float32 RGB; ``trimap``: (H, W) uint8 {0, 128, 255};
        ``mask``: (H, W) float32 in [0, 1] (read as an alpha matte).
    :raises ApiError: 413 for a photo over the pixel limit, 400 for anything else the reader
        refuses; the message names the upload, not the server's copy of it.
    """
    import matting_data as md

    reader = {"image": md.read_image, "trimap": md.read_trimap, "mask": md.read_alpha}[role]
    try:
        return reader(upload.path, max_pixels=max_pixels)
    except USER_ERRORS as exc:
        message = str(exc).replace(str(upload.path), upload.name)
        message = message.replace(str(upload.path.parent), "the upload")
        status = 413 if isinstance(exc, md.ImageTooLargeError) else 400
        raise ApiError(status, message) from exc


class BodySizeLimit:
    """ASGI middleware: refuse request bodies over ``max_bytes`` with 413, before reading them
    when the client says their length, else as soon as the limit is passed."""

    def __init__(self, app: Callable[..., Awaitable[None]], max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(
        self,
        scope: Scope,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _send_too_large(send, self.max_bytes)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # FastAPI passes HTTPExceptions raised while reading a form through as
                    # they are; anything else would become a generic 400.
                    from fastapi import HTTPException

                    raise HTTPException(413, _too_large(self.max_bytes))
            return message

        await self.app(scope, limited_receive, send)


def _too_large(max_bytes: int) -> str:
    return (
        f"the upload is larger than the server's limit of {max_bytes / 2**20:.0f} MB "
        "(matting serve --max-upload-mb raises it)"
    )


async def _send_too_large(send: Callable[[Message], Awaitable[None]], max_bytes: int) -> None:
    import json

    body = json.dumps({"detail": _too_large(max_bytes)}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
