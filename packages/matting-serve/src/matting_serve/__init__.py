"""matting-serve: a local web page to mat a photo by hand, and the HTTP API under it.

``matting serve`` (registered through core's ``matting_register_commands`` hook) starts the
server; :func:`create_app` builds the same application for tests or another ASGI server::

    from matting_serve import ServeSettings, create_app

    app = create_app(ServeSettings(model="gca"))

The web framework is imported on first use of :func:`create_app`, not by ``import
matting_serve`` (``matting --help`` loads this package's plugin module).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from matting_serve.settings import ServeSettings

if TYPE_CHECKING:
    from matting_serve.app import create_app

__version__ = "0.1.0"

__all__ = ["ServeSettings", "__version__", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from matting_serve.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
