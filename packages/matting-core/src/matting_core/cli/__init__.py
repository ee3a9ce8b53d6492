"""The ``matting`` command line.

One module per subcommand; each defines ``add_parser(subparsers)`` and
``run(args) -> int`` and imports its heavy dependencies (torch, cv2) inside
``run`` so that ``matting --help`` stays fast. Plugins add subcommands of their own
through the ``matting_register_commands`` hook (core never imports them). Every
user-caused error is caught here, in one place, and printed as one sentence with
exit code 2: the toolkit's typed errors, argument errors (argparse's, one line too),
file-system errors (``OSError``: the path and the reason) and a closed output pipe.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
import warnings
from collections.abc import Sequence

COMMANDS: tuple[str, ...] = (
    "list",
    "plugins",
    "samples",
    "trimap",
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
    _add_plugin_commands(subparsers)
    return parser


def _add_plugin_commands(subparsers: argparse._SubParsersAction) -> None:
    """The subcommands plugins register through ``matting_register_commands``.

    A name two plugins register is added once per plugin, as ``PLUGIN:NAME`` only: the bare
    name is refused by :func:`main` with an error naming both (never resolved by order).
    """
    from matting_core.errors import DuplicateNameWarning, PluginLoadWarning
    from matting_core.plugins import command_registry

    registry = command_registry()
    for entry in registry.entries():
        name = entry.name
        if name in COMMANDS:
            warnings.warn(
                f"command {name!r} from plugin {entry.provider!r} is ignored: "
                f"'matting {name}' is a built-in command",
                DuplicateNameWarning,
                stacklevel=2,
            )
            continue
        # The plugin fills a parent parser first, so a failure leaves no half-built command.
        options = argparse.ArgumentParser(add_help=False)
        try:
            entry.factory(options)
        except Exception as exc:
            warnings.warn(
                f"command {name!r} from plugin {entry.provider!r} is left out: its "
                f"add_arguments raised {type(exc).__name__}: {exc}",
                PluginLoadWarning,
                stacklevel=2,
            )
            continue
        qualified = f"{entry.provider}:{name}"
        parser = subparsers.add_parser(
            qualified if registry.is_ambiguous(name) else name,
            parents=[options],
            help=entry.info.help
            + (f" (plugin {entry.provider})" if registry.is_ambiguous(name) else ""),
            description=entry.info.description or entry.info.help,
        )
        parser.set_defaults(run=entry.info.run)


def _ambiguous_command(argv: Sequence[str]) -> str | None:
    """The error for a plugin command two plugins register, named without its plugin."""
    from matting_core.plugins import command_registry

    command = next((arg for arg in argv if not arg.startswith("-")), None)
    registry = command_registry()
    if command is None or command in COMMANDS or not registry.is_ambiguous(command):
        return None
    try:
        registry.get(command)
    except LookupError as exc:
        return str(exc)
    return None  # pragma: no cover - is_ambiguous said it would raise


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    return f"matting: warning: {message}\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``matting`` console script; returns the exit code."""
    # (not list(argv): the subcommand module `list` shadows the builtin in this package)
    argv = sys.argv[1:] if argv is None else [*argv]
    # Before the parser is built: loading the plugins' commands may already warn.
    if "--verbose" not in argv:
        warnings.formatwarning = _one_line_warning  # type: ignore[assignment]
    parser = build_parser()
    ambiguous = _ambiguous_command(argv)
    if ambiguous is not None:
        print(f"matting: error: {ambiguous}", file=sys.stderr)
        return EXIT_USAGE
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    if not args.verbose:
        _quiet_opencv()

    from matting_core.errors import is_user_error

    try:
        code = int(args.run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
        return code
    except BrokenPipeError:
        if args.verbose:
            raise
        # Nothing more can reach the reader; point stdout at /dev/null so that the
        # interpreter's own flush at exit does not fail a second time.
        with contextlib.suppress(OSError, ValueError):  # ValueError: no descriptor (tests)
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return _error(args.command, "the output pipe was closed before everything was written")
    except OSError as exc:
        if args.verbose:
            raise
        return _error(args.command, describe_os_error(exc))
    except KeyboardInterrupt:
        print(f"matting {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        # the toolkit's errors, and a plugin's own error types that declare themselves
        # user errors (matting_core.errors.is_user_error); anything else is a bug
        if args.verbose or not is_user_error(exc):
            raise
        return _error(args.command, str(exc))


def _error(command: str, message: str) -> int:
    print(f"matting {command}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def describe_os_error(exc: OSError) -> str:
    """One sentence for a file-system error: the path(s) and the system's reason."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    paths = [os.fsdecode(p) for p in (exc.filename, exc.filename2) if p is not None]
    if not paths:
        return reason
    return f"{' -> '.join(paths)}: {reason}"


def _quiet_opencv() -> None:
    """Keep OpenCV's own log lines off stderr: its failures reach the user as our errors."""
    os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")  # read when cv2 is first imported
    cv2 = sys.modules.get("cv2")
    if cv2 is not None and hasattr(cv2, "setLogLevel"):
        cv2.setLogLevel(0)  # already imported: LOG_LEVEL_SILENT


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
