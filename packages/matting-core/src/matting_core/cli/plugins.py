"""``matting plugins``: the installed plugins, their health, and what each registered."""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plugins",
        help="check the installed plugins: versions, hooks, what each registered, problems",
        description=(
            "Load the plugins found through the 'matting' entry-point group (and core's "
            "built-in plugin), run every hook, and report each plugin's health: its version, "
            "the range of plugin API versions it supports (refused when it excludes core's), "
            "the hooks it implements, the models, losses, datasets and commands it registered, "
            "and its problems (it could not be imported, a hook raised or registered an "
            "invalid name, a hook is unknown or takes a parameter its spec does not have, it "
            "implements no hook, a name it registered is ambiguous). Set "
            "MATTING_DISABLE_PLUGIN_AUTOLOAD=1 to load built-ins only."
        ),
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--strict", action="store_true", help="exit with code 1 when any plugin has a problem"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import warnings

    from matting_core import PLUGIN_API, __version__
    from matting_core.plugins import check_plugins

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # every problem is in the report below
        found = check_plugins()
    if args.json:
        rows = [
            {
                "name": p.name,
                "module": p.module,
                "distribution": p.distribution,
                "version": p.version,
                "builtin": p.builtin,
                "plugin_api": p.plugin_api,
                "compatible": p.compatible,
                "hooks": list(p.hooks),
                "registered": {k: list(v) for k, v in p.registered.items()},
                "problems": list(p.problems),
            }
            for p in found
        ]
        print(json.dumps(rows, indent=2))
    else:
        print(f"matting-core {__version__}, plugin API {PLUGIN_API}")
        for plugin in found:
            health = "ok" if plugin.healthy else f"{len(plugin.problems)} problem(s)"
            print(f"{plugin.name}  {plugin.version or '-'}  {plugin.module}  [{health}]")
            print(f"    plugin API: {_api_line(plugin)}")
            print(f"    hooks: {', '.join(plugin.hooks) or '(none)'}")
            for kind, names in plugin.registered.items():
                print(f"    {kind}: {', '.join(names)}")
            for problem in plugin.problems:
                print(f"    problem: {problem}")
    unhealthy = [p.name for p in found if not p.healthy]
    return 1 if args.strict and unhealthy else 0


def _api_line(plugin) -> str:
    if plugin.builtin:
        return f"{plugin.plugin_api} (built in)"
    if plugin.plugin_api is None:
        return "not declared (MATTING_PLUGIN_API; loaded without a check)"
    return plugin.plugin_api + ("" if plugin.compatible else "  REFUSED: excludes this core's")
