"""``matting serve``: start the web page on this machine.

``add_arguments`` runs for ``matting --help`` and imports nothing heavy; ``run`` imports the
web framework and starts the server.
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
import sys
from pathlib import Path

from matting_serve.settings import ServeSettings

HELP = "mat photos by hand in a local web page (paint a trimap, pick a model, download)"
DESCRIPTION = (
    "Start a web page on this machine to mat a photo by hand: open a photo, paint foreground, "
    "background and unknown, pick any installed model, see the alpha and the cutout, and "
    "download the alpha, the RGBA cutout and the trimap. The page's HTTP API (POST /predict, "
    "GET /models, ...) is usable with curl. Listens on 127.0.0.1 unless --host says otherwise."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, this machine only)",
    )
    parser.add_argument(
        "--port", type=_port, default=8000, help="port (default: 8000; 0 picks a free one)"
    )
    parser.add_argument(
        "--model", help="model the page selects first (default: gca when installed)"
    )
    parser.add_argument(
        "--checkpoint",
        type=Path,
        metavar="CKPT",
        help="weights for --model (.safetensors, or an official .pth); default: bundled weights",
    )
    parser.add_argument("--device", help="cpu, cuda, cuda:1 … (default: cpu)")
    parser.add_argument(
        "--max-upload-mb",
        type=_positive_int,
        default=64,
        metavar="MB",
        help="largest upload accepted (default: 64)",
    )
    parser.add_argument(
        "--max-pixels",
        type=_positive_int,
        default=ServeSettings.max_pixels,
        metavar="N",
        help="largest photo accepted, width x height, checked before decoding (default: 50e6)",
    )
    parser.add_argument(
        "--preview-size",
        type=_positive_int,
        default=ServeSettings.preview_size,
        metavar="PX",
        help="longest side of the preview a large photo is painted on (default: 1600)",
    )
    parser.add_argument(
        "--foreground",
        choices=("multilevel", "blur_fusion"),
        default=ServeSettings.foreground,
        help="foreground estimator for the cutout's colours (default: multilevel)",
    )
    parser.add_argument(
        "--open", action="store_true", help="open the page in the default web browser"
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0..65535, got {value}")
    return value


def settings_from_args(args: argparse.Namespace) -> ServeSettings:
    """The server settings the command line asks for, checked (one sentence when wrong)."""
    from matting_core import CheckpointError, InputError, get_model_info

    if args.checkpoint is not None:
        if args.model is None:
            raise InputError("--checkpoint needs --model: which model are the weights for?")
        if not args.checkpoint.is_file():
            raise CheckpointError(f"checkpoint {args.checkpoint} does not exist")
    if args.model is not None:
        get_model_info(args.model)  # UnknownModelError lists the installed models
    return ServeSettings(
        model=args.model,
        checkpoint=args.checkpoint,
        device=args.device,
        max_upload_bytes=args.max_upload_mb * 2**20,
        max_pixels=args.max_pixels,
        preview_size=args.preview_size,
        foreground=args.foreground,
    )


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``; InputError with the reason when it cannot be."""
    from matting_core import InputError

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return sock


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from matting_serve.app import create_app

    settings = settings_from_args(args)
    app = create_app(settings)
    if settings.model is not None:
        # Fail now, with one sentence, on weights that do not load, rather than on first use.
        print(f"matting serve: loading {settings.model} …", file=sys.stderr)
        app.state.models.load(settings.model)
    sock = listen(args.host, args.port)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"
    if not _is_loopback(args.host):
        print(
            f"matting serve: warning: listening on {args.host}: anyone who reaches this "
            "machine can use the page (it has no login)",
            file=sys.stderr,
        )
    print(f"matting serve: open {url} in a web browser (Ctrl+C stops)", file=sys.stderr)
    if args.open:
        import webbrowser

        webbrowser.open(url)
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=5)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl+C it shut down on: a normal stop
        pass
    finally:
        sock.close()
    print("matting serve: stopped", file=sys.stderr)
    return 0
