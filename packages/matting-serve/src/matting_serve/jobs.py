"""Predictions as jobs: run one at a time on a worker thread, never on the event loop.

The page submits a job, polls its state (stage, progress, queue position) and fetches its
results; ``POST /predict`` submits one and awaits it.  A single worker runs the jobs in order:
a network already uses every core for one forward pass, so two at once would only be slower,
and meanwhile the event loop keeps answering every other request.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from matting_core.errors import USER_ERRORS

__all__ = ["Job", "JobQueue"]

log = logging.getLogger("matting_serve")

State = Literal["queued", "running", "done", "failed"]


@dataclass(eq=False)
class Job:
    """One prediction: what it is doing, how far it is, and its results (PNG bytes by name)."""

    kind: str
    model: str
    width: int
    height: int
    name: str = "photo"  # the photo's file stem, for download names
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    number: int = 0
    state: State = "queued"
    stage: str = "waiting for the worker"
    progress: float | None = None
    error: str | None = None
    error_status: int = 500
    results: dict[str, bytes] = field(default_factory=dict)
    created: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None

    def report(self, stage: str, progress: float | None = None) -> None:
        """Called by the work: a new stage, and how far it is (0..1, None if unknown)."""
        self.stage, self.progress = stage, progress

    def describe(self, position: int | None = None) -> dict[str, Any]:
        """The job as ``GET /jobs/{id}`` returns it."""
        now = time.monotonic()
        elapsed = None
        if self.started is not None:
            elapsed = round((self.finished or now) - self.started, 2)
        return {
            "id": self.id,
            "kind": self.kind,
            "model": self.model,
            "name": self.name,
            "state": self.state,
            "stage": self.stage,
            "progress": None if self.progress is None else round(self.progress, 3),
            "queue_position": position,
            "elapsed_s": elapsed,
            "error": self.error,
            "width": self.width,
            "height": self.height,
            "results": {name: f"/jobs/{self.id}/{name}.png" for name in self.results},
        }


class JobQueue:
    """Jobs run by one worker thread in submission order; the last ``keep`` are kept."""

    def __init__(self, keep: int = 16) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="matting-job")
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._futures: dict[str, Future[None]] = {}
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)
        self._keep = keep

    def submit(self, job: Job, work: Callable[[Job], None]) -> Job:
        """Queue ``work(job)``; it fills ``job.results`` and reports through ``job.report``."""
        with self._lock:
            job.number = next(self._numbers)
            self._jobs[job.id] = job
            self._futures[job.id] = self._executor.submit(self._run, job, work)
            self._forget_old()
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def position(self, job: Job) -> int | None:
        """How many jobs run before this queued one (0: it is next); None once it runs."""
        if job.state != "queued":
            return None
        with self._lock:
            return sum(
                1
                for other in self._jobs.values()
                if other.number < job.number and other.state in ("queued", "running")
            )

    async def wait(self, job: Job) -> Job:
        """Wait for the job without blocking the event loop."""
        with self._lock:
            future = self._futures.get(job.id)
        if future is not None:
            await asyncio.wrap_future(future)
        return job

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if j.state in ("done", "failed")]
        for job in finished[: max(0, len(self._jobs) - self._keep)]:
            del self._jobs[job.id]
            self._futures.pop(job.id, None)

    def _run(self, job: Job, work: Callable[[Job], None]) -> None:
        job.started = time.monotonic()
        job.state = "running"
        try:
            work(job)
        except USER_ERRORS as exc:
            job.error, job.error_status = str(exc), _status(exc)
            job.state = "failed"
        except Exception as exc:  # a bug: keep the server up, log the traceback
            log.exception("job %s (%s, %s) failed", job.id, job.kind, job.model)
            job.error = f"internal error ({type(exc).__name__}: {exc}); see the server's log"
            job.error_status = 500
            job.state = "failed"
        else:
            job.state = "done"
            job.report("done", 1.0)
        finally:
            job.finished = time.monotonic()


def _status(exc: BaseException) -> int:
    from matting_data import ImageTooLargeError

    return 413 if isinstance(exc, ImageTooLargeError) else 400
