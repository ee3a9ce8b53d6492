"""Photos uploaded for the page: kept on disk in the server's work folder, newest last."""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field

from matting_serve.uploads import Upload, discard

__all__ = ["Photo", "PhotoStore"]


@dataclass(eq=False)
class Photo:
    """A validated photo: its upload, size, and its preview once made (PNG bytes)."""

    upload: Upload
    width: int
    height: int
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    preview: bytes | None = None

    @property
    def stem(self) -> str:
        return self.upload.path.stem


class PhotoStore:
    """The last ``keep`` photos; older ones are deleted from disk."""

    def __init__(self, keep: int) -> None:
        self._photos: OrderedDict[str, Photo] = OrderedDict()
        self._lock = threading.Lock()
        self._keep = keep

    def add(self, photo: Photo) -> Photo:
        with self._lock:
            self._photos[photo.id] = photo
            while len(self._photos) > self._keep:
                _, old = self._photos.popitem(last=False)
                discard(old.upload)
        return photo

    def get(self, photo_id: str) -> Photo | None:
        with self._lock:
            return self._photos.get(photo_id)
