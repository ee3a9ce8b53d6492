"""``matting plugins``: the installed plugins, their versions and the hooks they implement."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plugins",
        help="list installed plugins with their versions and hooks",
        description=(
            "List the plugins found through the 'matting' entry-point group (and core's "
            "built-in plugin), with their versions and the hooks they implement. Set "
            "MATTING_DISABLE_PLUGIN_AUTOLOAD=1 to load built-ins only."
        ),
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from matting_core.plugins import list_plugins

    for plugin in list_plugins():
        version = plugin.version or "-"
        print(f"{plugin.name}  {version}  {plugin.module}")
        print(f"    hooks: {', '.join(plugin.hooks) or '(none)'}")
    return 0
