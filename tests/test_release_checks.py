"""scripts/check_packages.py: what makes each package releasable on its own (run by ``nox -s
build``) holds for the tree, and each kind of fault makes it fail with a clear message.

The faults are made in a copy of ``packages/`` (weights and samples left out, which the
checks do not read), so the tree itself is never touched.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "check_packages.py"


def _check(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def packages(tmp_path) -> Path:
    copy = tmp_path / "packages"
    shutil.copytree(
        ROOT / "packages",
        copy,
        ignore=shutil.ignore_patterns("tests", "samples", "*.safetensors", "__pycache__", "static"),
    )
    return copy


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_every_package_of_the_tree_passes():
    result = _check()
    assert result.returncode == 0, result.stderr
    names = sorted(p.parent.name for p in (ROOT / "packages").glob("*/pyproject.toml"))
    listed = [line.split()[0] for line in result.stdout.splitlines() if line.strip()]
    assert listed == names  # every package found from packages/*/pyproject.toml, none missed
    assert all(line.split()[2] == "ok" for line in result.stdout.splitlines() if line.strip())


def test_the_copy_passes_before_any_fault(packages):
    result = _check("--packages", packages)
    assert result.returncode == 0, result.stderr


def test_a_missing_changelog_fails(packages):
    (packages / "matting-hop" / "CHANGELOG.md").unlink()
    result = _check("--packages", packages)
    assert result.returncode == 1
    assert "problem: matting-hop: has no CHANGELOG.md" in result.stderr
    assert re.search(r"^matting-hop +0\.1\.0 +FAILED$", result.stdout, re.M)
    assert re.search(r"^matting-gca +0\.1\.0 +ok$", result.stdout, re.M)


def test_a_changelog_without_the_current_version_fails(packages):
    _edit(packages / "matting-nn" / "src" / "matting_nn" / "__init__.py", '"0.1.0"', '"0.2.0"')
    result = _check("--packages", packages)
    assert result.returncode == 1
    assert (
        "matting-nn: CHANGELOG.md's first section is '0.1.0', but __version__ is '0.2.0': add a "
        "section for it" in result.stderr
    )
    # and the plugins' ranges on matting-nn (>=0.1,<0.2) no longer hold what they test with
    assert "matting-gca: dependencies: 'matting-nn>=0.1,<0.2' excludes matting-nn 0.2.0" in (
        result.stderr
    )


def test_a_static_version_fails(packages):
    _edit(
        packages / "matting-metrics" / "pyproject.toml",
        'dynamic = ["version"]',
        'version = "0.1.0"',
    )
    result = _check("--packages", packages)
    assert result.returncode == 1
    assert "matting-metrics: the version must have a single source" in result.stderr


def test_a_version_that_is_not_a_literal_fails(packages):
    init = packages / "matting-data" / "src" / "matting_data" / "__init__.py"
    _edit(init, '__version__ = "0.1.0"', '__version__ = ".".join(["0", "1", "0"])')
    result = _check("--packages", packages)
    assert result.returncode == 1
    assert 'matting-data: src/matting_data/__init__.py has no literal __version__ = "X.Y.Z"' in (
        result.stderr
    )


@pytest.mark.parametrize(
    "requirement, message",
    [
        ('"matting-core>=0.1"', "needs a lower and an upper bound"),
        ('"matting-core"', "needs a lower and an upper bound"),
        ('"matting-core>=0.2,<0.3"', "excludes matting-core 0.1.0"),
    ],
)
def test_a_range_on_a_project_package_must_hold_its_version(packages, requirement, message):
    _edit(packages / "matting-gca" / "pyproject.toml", '"matting-core>=0.1,<0.2"', requirement)
    result = _check("--packages", packages)
    assert result.returncode == 1
    assert f"matting-gca: dependencies: {requirement.replace(chr(34), chr(39))} {message}" in (
        result.stderr
    )


def test_a_plugin_without_an_api_declaration_fails(packages):
    plugin = packages / "matting-classical" / "src" / "matting_classical" / "plugin.py"
    _edit(plugin, 'MATTING_PLUGIN_API = ">=1.0,<2"', "")
    result = _check("--packages", packages)
    assert result.returncode == 1
    assert (
        "matting-classical: plugin 'classical' declares no plugin API range: add "
        'MATTING_PLUGIN_API = ">=1.0,<2"' in result.stderr
    )


def test_a_plugin_range_that_excludes_core_fails(packages):
    plugin = packages / "matting-serve" / "src" / "matting_serve" / "plugin.py"
    _edit(plugin, 'MATTING_PLUGIN_API = ">=1.0,<2"', 'MATTING_PLUGIN_API = ">=2.0,<3"')
    result = _check("--packages", packages)
    assert result.returncode == 1
    assert (
        "matting-serve: plugin 'serve' supports plugin API >=2.0,<3, which excludes core's "
        "PLUGIN_API 1.0" in result.stderr
    )


def test_a_new_package_is_checked_without_being_listed_anywhere(packages):
    """A plugin added under packages/ (as matting-hdmatt will be) is found and held to the
    same rules: here it has no CHANGELOG and no plugin API declaration."""
    new = packages / "matting-newpaper"
    shutil.copytree(packages / "matting-hop", new)
    (new / "CHANGELOG.md").unlink()
    (new / "src" / "matting_hop").rename(new / "src" / "matting_newpaper")
    text = (new / "pyproject.toml").read_text(encoding="utf-8")
    text = text.replace("matting-hop", "matting-newpaper").replace(
        "matting_hop", "matting_newpaper"
    )
    (new / "pyproject.toml").write_text(text.replace("hop = ", "newpaper = "), encoding="utf-8")
    _edit(new / "src" / "matting_newpaper" / "plugin.py", 'MATTING_PLUGIN_API = ">=1.0,<2"', "")
    result = _check("--packages", packages)
    assert result.returncode == 1
    assert "matting-newpaper: has no CHANGELOG.md" in result.stderr
    assert "matting-newpaper: plugin 'newpaper' declares no plugin API range" in result.stderr


def test_py_typed_and_model_cards_are_required(packages):
    (packages / "matting-nn" / "src" / "matting_nn" / "py.typed").unlink()
    weights = packages / "matting-hop" / "src" / "matting_hop" / "weights"
    weights.mkdir()
    (weights / "hop.safetensors").write_bytes(b"")
    result = _check("--packages", packages)
    assert result.returncode == 1
    assert "matting-nn: src/matting_nn/py.typed is missing" in result.stderr
    assert (
        "matting-hop: src/matting_hop/weights/hop.safetensors is bundled without a MODEL_CARD.md"
        in result.stderr
    )


def _fake_wheel(dist: Path, package: Path, module: str, extra: dict[str, str]) -> None:
    """A wheel of ``package`` as hatch lays it out, plus ``extra`` files."""
    info = f"{package.name.replace('-', '_')}-0.1.0.dist-info"
    with zipfile.ZipFile(
        dist / f"{package.name.replace('-', '_')}-0.1.0-py3-none-any.whl", "w"
    ) as w:
        for path in sorted((package / "src" / module).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                w.write(path, path.relative_to(package / "src").as_posix())
        w.writestr(
            f"{info}/METADATA", f"Metadata-Version: 2.4\nName: {package.name}\nVersion: 0.1.0\n"
        )
        w.writestr(f"{info}/entry_points.txt", "[matting]\nhop = matting_hop.plugin\n")
        for name, text in extra.items():
            w.writestr(name, text)


def test_wheel_contents_are_checked(packages, tmp_path):
    dist = tmp_path / "dist"
    dist.mkdir()
    hop = packages / "matting-hop"
    _fake_wheel(dist, hop, "matting_hop", {"matting_hop/tests/test_model.py": "", "notes.txt": ""})
    result = _check("--packages", packages, "--dist", dist)
    assert result.returncode == 1
    problems = [
        line for line in result.stderr.splitlines() if line.startswith("problem: matting-hop")
    ]
    assert (
        "problem: matting-hop: matting_hop-0.1.0-py3-none-any.whl holds a test file: matting_hop/tests/test_model.py"
        in problems
    )
    assert (
        "problem: matting-hop: matting_hop-0.1.0-py3-none-any.whl holds a stray file: notes.txt"
        in problems
    )
    assert any(
        "must hold exactly one sdist, matting_hop-0.1.0.tar.gz; found none" in p for p in problems
    )
    assert not any("lacks" in p for p in problems)  # every source file is there
    # a wheel without the package's py.typed (or any other file of it) is named
    (dist / "matting_hop-0.1.0-py3-none-any.whl").unlink()
    (hop / "src" / "matting_hop" / "MODEL_CARD.md").write_text("a card\n", encoding="utf-8")
    _fake_wheel(dist, packages / "matting-hop", "matting_hop", {})
    (hop / "src" / "matting_hop" / "extra.json").write_text("{}\n", encoding="utf-8")
    result = _check("--packages", packages, "--dist", dist)
    assert (
        "matting-hop: matting_hop-0.1.0-py3-none-any.whl lacks matting_hop/extra.json"
        in result.stderr
    )
    # sizes of what is there are printed
    assert re.search(r"^matting_hop-0\.1\.0-py3-none-any\.whl +\d+ KiB$", result.stdout, re.M)


def test_every_installed_plugin_declares_a_compatible_plugin_api():
    """The toolkit as installed (the integration session: every package and the example
    plugin): each plugin names the plugin API range it supports, and core loads it."""
    import json

    exe = shutil.which("matting")
    assert exe, "the `matting` console script is not installed"
    result = subprocess.run(
        [exe, "plugins", "--json"], capture_output=True, text=True, timeout=300, check=True
    )
    plugins = [p for p in json.loads(result.stdout) if not p["builtin"]]
    assert plugins, "no plugin is installed"
    for plugin in plugins:
        assert plugin["plugin_api"], f"plugin {plugin['name']} declares no MATTING_PLUGIN_API"
        assert plugin["compatible"] and not plugin["problems"], plugin
