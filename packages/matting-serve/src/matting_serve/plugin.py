"""Hook implementations of matting-serve: the ``matting serve`` subcommand."""

from __future__ import annotations

from typing import TYPE_CHECKING

from matting_core import CommandInfo, hookimpl
from matting_serve import cli

if TYPE_CHECKING:
    from matting_core.registry import CommandRegistry


@hookimpl
def matting_register_commands(registry: CommandRegistry) -> None:
    registry.add(
        "serve",
        cli.add_arguments,
        CommandInfo(help=cli.HELP, run=cli.run, description=cli.DESCRIPTION),
    )
