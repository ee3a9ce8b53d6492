"""Hook implementations of matting-serve: the ``matting serve`` subcommand."""

from __future__ import annotations

from typing import TYPE_CHECKING

from matting_core import CommandInfo, hookimpl
from matting_serve import cli

if TYPE_CHECKING:
    from matting_core.registry import CommandRegistry


#: The versions of matting_core.PLUGIN_API this plugin is written for; core reads this
#: line before importing the module and refuses the plugin when its API is outside the range.
MATTING_PLUGIN_API = ">=1.0,<2"


@hookimpl
def matting_register_commands(registry: CommandRegistry) -> None:
    registry.add(
        "serve",
        cli.add_arguments,
        CommandInfo(help=cli.HELP, run=cli.run, description=cli.DESCRIPTION),
    )
