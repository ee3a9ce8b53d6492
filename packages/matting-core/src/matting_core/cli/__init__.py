"""The ``matting`` command line.

One module per subcommand; each defines ``add_parser(subparsers)`` and
``run(args) -> int`` and imports its heavy dependencies (torch, cv2) inside
``run`` so that ``matting --help`` stays fast. Every user-caused error is caught
here, in one place, and printed as one sentence with exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from collections.abc import Sequence

COMMANDS: tuple[str, ...] = (
    "list",
    "plugins",
    "samples",
    "predict",
    "evaluate",
    "foreground",
    "compose",
    "train",
    "config",
)

EXIT_USAGE = 2


class MattingArgumentParser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are one line on stderr, exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _version_text() -> str:
    from importlib.metadata import PackageNotFoundError, entry_points, version

    parts = []
    for dist in ("matting-core", "matting-data", "matting-metrics", "matting-nn"):
        try:
            parts.append(f"{dist} {version(dist)}")
        except PackageNotFoundError:
            parts.append(f"{dist} (not installed)")
    # Plugins by their distributions, read from the entry points without importing them.
    plugins = {
        ep.dist.name: ep.dist.version for ep in entry_points(group="matting") if ep.dist is not None
    }
    parts += [f"{name} {plugins[name]}" for name in sorted(plugins)]
    return ", ".join(parts)


def build_parser() -> argparse.ArgumentParser:
    parser = MattingArgumentParser(
        prog="matting",
        description="Deep natural image matting: list models, predict and evaluate alpha mattes.",
    )
    parser.add_argument("--version", action="version", version=_version_text())
    parser.add_argument(
        "--verbose", action="store_true", help="show full tracebacks for every error"
    )
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=MattingArgumentParser
    )
    for name in COMMANDS:
        module = importlib.import_module(f"matting_core.cli.{name}")
        module.add_parser(subparsers)
    return parser


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    return f"matting: warning: {message}\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``matting`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    if not args.verbose:
        warnings.formatwarning = _one_line_warning  # type: ignore[assignment]

    from matting_core.errors import USER_ERRORS

    try:
        return int(args.run(args) or 0)
    except USER_ERRORS as exc:
        if args.verbose:
            raise
        print(f"matting {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"matting {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
