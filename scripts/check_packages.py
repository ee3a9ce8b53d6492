"""Check that every package under ``packages/`` can be released on its own.

    python scripts/check_packages.py                 # the source tree
    python scripts/check_packages.py --dist dist     # the source tree, then the built files

Packages are found generically, from ``packages/*/pyproject.toml``. For each one the source
tree must give:

- a single-source version: ``dynamic = ["version"]`` read by hatch from a literal
  ``__version__ = "X.Y.Z"`` in the package's ``__init__.py`` (no static ``version =``);
- a ``CHANGELOG.md`` whose first ``## `` section is that version;
- ranges on the other project packages it names (dependencies and extras) with a lower and
  an upper bound (``matting-core>=0.1,<0.2``) that hold the version those packages have in
  the tree, i.e. what it is tested with;
- ``py.typed``, and a ``MODEL_CARD.md`` beside any bundled ``*.safetensors``;
- for a plugin (an entry point in the ``matting`` group): ``MATTING_PLUGIN_API``, a literal
  version range in each entry-point module, that holds core's ``PLUGIN_API``, and a
  dependency on ``matting-core``.

With ``--dist``, each package must have exactly one wheel and one sdist of its version there;
the wheel holds exactly the package's source files (weights, samples, model cards,
``py.typed`` included; no tests, caches or stray files) and metadata of that version; sizes
are printed. Every problem is printed, one line each; the exit code is 1 if there is any.
Needs Python 3.11 and ``packaging``.
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass, field
from email.parser import Parser
from pathlib import Path

import tomllib
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parents[1]
ENTRY_POINT_GROUP = "matting"
API_ATTRIBUTE = "MATTING_PLUGIN_API"
CORE = "matting-core"
#: Where core defines PLUGIN_API, relative to core's import package.
CORE_API_MODULE = "plugin_api.py"


@dataclass
class Package:
    name: str
    directory: Path
    pyproject: dict
    import_package: str | None = None
    version: Version | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def source(self) -> Path:
        return self.directory / "src" / str(self.import_package)

    def problem(self, message: str) -> None:
        self.problems.append(f"{self.name}: {message}")


def literal_assignment(path: Path, name: str) -> str | None:
    """The string literal assigned to ``name`` at the top level of ``path`` (None if none)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign):
            targets = [node.target]
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            value = node.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                return value.value
    return None


def discover(packages_dir: Path) -> dict[str, Package]:
    found: dict[str, Package] = {}
    for pyproject_path in sorted(packages_dir.glob("*/pyproject.toml")):
        with open(pyproject_path, "rb") as f:
            pyproject = tomllib.load(f)
        name = canonicalize_name(
            pyproject.get("project", {}).get("name", pyproject_path.parent.name)
        )
        found[name] = Package(name, pyproject_path.parent, pyproject)
    return found


def check_version(package: Package) -> None:
    project = package.pyproject.get("project", {})
    wheel = package.pyproject.get("tool", {}).get("hatch", {}).get("build", {})
    targets = wheel.get("targets", {}).get("wheel", {}).get("packages", [])
    if len(targets) != 1 or not targets[0].startswith("src/"):
        package.problem('[tool.hatch.build.targets.wheel] must name one package: ["src/NAME"]')
        return
    package.import_package = targets[0].removeprefix("src/")
    init = package.source / "__init__.py"
    if "version" in project or "version" not in project.get("dynamic", []):
        package.problem(
            'the version must have a single source: dynamic = ["version"] in [project] '
            f"(no static version) and __version__ in {init.relative_to(package.directory)}"
        )
    version_path = package.pyproject.get("tool", {}).get("hatch", {}).get("version", {})
    if version_path.get("path") != f"src/{package.import_package}/__init__.py":
        package.problem(
            f'[tool.hatch.version] path must be "src/{package.import_package}/__init__.py", '
            f"got {version_path.get('path')!r}"
        )
    if not init.is_file():
        package.problem(f"{init.relative_to(package.directory)} is missing")
        return
    literal = literal_assignment(init, "__version__")
    if literal is None:
        package.problem(
            f'{init.relative_to(package.directory)} has no literal __version__ = "X.Y.Z"'
        )
        return
    try:
        package.version = Version(literal)
    except InvalidVersion:
        package.problem(f"__version__ {literal!r} is not a valid version (PEP 440)")


def check_changelog(package: Package) -> None:
    changelog = package.directory / "CHANGELOG.md"
    if not changelog.is_file():
        package.problem("has no CHANGELOG.md (one section per release, newest first)")
        return
    headings = re.findall(r"^## +(\S+)", changelog.read_text(encoding="utf-8"), re.M)
    if not headings:
        package.problem("CHANGELOG.md has no release section ('## X.Y.Z ...')")
        return
    if package.version is not None and headings[0] != str(package.version):
        package.problem(
            f"CHANGELOG.md's first section is {headings[0]!r}, but __version__ is "
            f"{str(package.version)!r}: add a section for it"
        )


def project_requirements(package: Package) -> list[tuple[str, Requirement | None, str]]:
    """(where, requirement, text) of every requirement; requirement None if unparsable."""
    project = package.pyproject.get("project", {})
    listed = [("dependencies", r) for r in project.get("dependencies", [])]
    for extra, requirements in project.get("optional-dependencies", {}).items():
        listed += [(f"extra {extra!r}", r) for r in requirements]
    result = []
    for where, text in listed:
        try:
            result.append((where, Requirement(text), text))
        except InvalidRequirement:
            result.append((where, None, text))
    return result


def check_ranges(package: Package, packages: dict[str, Package]) -> None:
    for where, requirement, text in project_requirements(package):
        if requirement is None:
            package.problem(f"{where}: {text!r} is not a valid requirement")
            continue
        dependency = packages.get(canonicalize_name(requirement.name))
        if dependency is None:
            continue
        operators = {spec.operator for spec in requirement.specifier}
        if not operators & {">=", ">", "~=", "=="} or not operators & {"<", "<=", "~=", "=="}:
            package.problem(
                f"{where}: {text!r} needs a lower and an upper bound on the version it was "
                f"tested with, e.g. '{requirement.name}>=0.1,<0.2'"
            )
        if dependency.version is not None and not requirement.specifier.contains(
            dependency.version, prereleases=True
        ):
            package.problem(
                f"{where}: {text!r} excludes {dependency.name} {dependency.version}, the version "
                "in this tree that it is tested with"
            )


def check_files(package: Package) -> None:
    if package.import_package is None or not package.source.is_dir():
        return
    if not (package.source / "py.typed").is_file():
        package.problem(f"src/{package.import_package}/py.typed is missing (PEP 561)")
    for weights in sorted(package.source.rglob("*.safetensors")):
        if not (weights.parent / "MODEL_CARD.md").is_file():
            package.problem(
                f"{weights.relative_to(package.directory)} is bundled without a MODEL_CARD.md "
                "beside it"
            )


def core_plugin_api(packages: dict[str, Package]) -> Version | None:
    core = packages.get(CORE)
    if core is None or core.import_package is None:
        return None
    path = core.source / CORE_API_MODULE
    literal = literal_assignment(path, "PLUGIN_API") if path.is_file() else None
    if literal is None:
        core.problem(f'{path.relative_to(core.directory)} must define PLUGIN_API = "X.Y"')
        return None
    return Version(literal)


def entry_point_module_file(package: Package, module: str) -> Path | None:
    base = package.directory / "src" / Path(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def check_plugin_api(package: Package, api: Version | None) -> None:
    entry_points = package.pyproject.get("project", {}).get("entry-points", {})
    plugins = entry_points.get(ENTRY_POINT_GROUP, {})
    if not plugins:
        return
    dependencies = {
        canonicalize_name(r.name)
        for where, r, _ in project_requirements(package)
        if r is not None and where == "dependencies"
    }
    if CORE not in dependencies:
        package.problem(f"is a plugin but does not depend on {CORE}")
    for plugin, value in plugins.items():
        module = value.split(":")[0].strip()
        path = entry_point_module_file(package, module)
        if path is None:
            package.problem(f"entry point {plugin!r}: module {module!r} not found under src/")
            continue
        declared = literal_assignment(path, API_ATTRIBUTE)
        where = path.relative_to(package.directory)
        if declared is None:
            package.problem(
                f"plugin {plugin!r} declares no plugin API range: add "
                f'{API_ATTRIBUTE} = ">=1.0,<2" (the versions of matting_core.PLUGIN_API it '
                f"supports) to {where}"
            )
            continue
        try:
            supported = SpecifierSet(declared)
        except InvalidSpecifier:
            package.problem(f"{where}: {API_ATTRIBUTE} {declared!r} is not a version range")
            continue
        if api is not None and not supported.contains(api, prereleases=True):
            package.problem(
                f"plugin {plugin!r} supports plugin API {declared}, which excludes core's "
                f"PLUGIN_API {api}"
            )


def check_tree(packages: dict[str, Package]) -> None:
    for package in packages.values():
        check_version(package)
    api = core_plugin_api(packages)
    for package in packages.values():
        check_changelog(package)
        check_ranges(package, packages)
        check_files(package)
        check_plugin_api(package, api)


# --------------------------------------------------------------------------------------------
# Built files
# --------------------------------------------------------------------------------------------


def source_files(package: Package) -> set[str]:
    """Files of the import package that a wheel must hold, relative to ``src/``: tracked or
    untracked-but-not-ignored by git (hatch leaves git-ignored files out), without caches."""
    src = package.directory / "src"
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z", "."],
            cwd=package.source,
            capture_output=True,
            check=True,
        ).stdout.decode()
        paths = {package.source / p for p in listed.split("\0") if p}
    except (OSError, subprocess.CalledProcessError):
        paths = set(package.source.rglob("*"))
    return {
        p.relative_to(src).as_posix()
        for p in paths
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }


def _dist_name(name: str) -> str:
    return name.replace("-", "_")


def check_dist(packages: dict[str, Package], dist: Path) -> list[tuple[str, str, int]]:
    sizes: list[tuple[str, str, int]] = []
    for package in packages.values():
        if package.version is None or package.import_package is None:
            continue
        stem = f"{_dist_name(package.name)}-{package.version}"
        wheels = sorted(dist.glob(f"{_dist_name(package.name)}-*.whl"))
        sdists = sorted(dist.glob(f"{_dist_name(package.name)}-*.tar.gz"))
        expected_wheel = dist / f"{stem}-py3-none-any.whl"
        if wheels != [expected_wheel]:
            package.problem(
                f"{dist} must hold exactly one wheel, {expected_wheel.name}; found "
                f"{[w.name for w in wheels] or 'none'}"
            )
        if sdists != [dist / f"{stem}.tar.gz"]:
            package.problem(
                f"{dist} must hold exactly one sdist, {stem}.tar.gz; found "
                f"{[s.name for s in sdists] or 'none'}"
            )
        if expected_wheel.is_file():
            check_wheel(package, expected_wheel)
            sizes.append((package.name, expected_wheel.name, expected_wheel.stat().st_size))
        if (dist / f"{stem}.tar.gz").is_file():
            check_sdist(package, dist / f"{stem}.tar.gz")
            sizes.append((package.name, f"{stem}.tar.gz", (dist / f"{stem}.tar.gz").stat().st_size))
    return sizes


def check_wheel(package: Package, wheel: Path) -> None:
    info_dir = f"{_dist_name(package.name)}-{package.version}.dist-info/"
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if not n.endswith("/")]
        metadata = Parser().parsestr(archive.read(info_dir + "METADATA").decode())
        entry_points = (
            archive.read(info_dir + "entry_points.txt").decode()
            if info_dir + "entry_points.txt" in names
            else ""
        )
    content = {n for n in names if not n.startswith(info_dir)}
    expected = source_files(package)
    for missing in sorted(expected - content):
        package.problem(f"{wheel.name} lacks {missing}")
    for stray in sorted(content - expected):
        package.problem(f"{wheel.name} holds a stray file: {stray}")
    for name in sorted(content):
        parts = name.split("/")
        if "tests" in parts or parts[-1].startswith("test_") or parts[-1] == "conftest.py":
            package.problem(f"{wheel.name} holds a test file: {name}")
    if f"{package.import_package}/py.typed" not in content:
        package.problem(f"{wheel.name} lacks {package.import_package}/py.typed")
    if metadata["Version"] != str(package.version):
        package.problem(
            f"{wheel.name}: METADATA version {metadata['Version']} != {package.version}"
        )
    if canonicalize_name(metadata["Name"]) != package.name:
        package.problem(f"{wheel.name}: METADATA name {metadata['Name']!r}")
    plugins = package.pyproject["project"].get("entry-points", {}).get(ENTRY_POINT_GROUP, {})
    if plugins and f"[{ENTRY_POINT_GROUP}]" not in entry_points:
        package.problem(f"{wheel.name} declares no [{ENTRY_POINT_GROUP}] entry point")


def check_sdist(package: Package, sdist: Path) -> None:
    top = sdist.name.removesuffix(".tar.gz")
    with tarfile.open(sdist) as archive:
        names = set(archive.getnames())
        pkg_info = archive.extractfile(f"{top}/PKG-INFO")
        metadata = Parser().parsestr(pkg_info.read().decode()) if pkg_info else {}
    for required in ("pyproject.toml", "README.md", "CHANGELOG.md"):
        if f"{top}/{required}" not in names:
            package.problem(f"{sdist.name} lacks {required}")
    if f"{top}/src/{package.import_package}/__init__.py" not in names:
        package.problem(f"{sdist.name} lacks src/{package.import_package}/__init__.py")
    if metadata.get("Version") != str(package.version):
        package.problem(f"{sdist.name}: PKG-INFO version {metadata.get('Version')}")
    stray = sorted(n for n in names if "__pycache__" in n or n.endswith(".pyc"))
    for name in stray:
        package.problem(f"{sdist.name} holds a stray file: {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packages", type=Path, default=ROOT / "packages")
    parser.add_argument("--dist", type=Path, help="also check the wheels and sdists here")
    args = parser.parse_args(argv)
    packages = discover(args.packages)
    if not packages:
        print(f"no package found under {args.packages}", file=sys.stderr)
        return 1
    check_tree(packages)
    sizes = check_dist(packages, args.dist) if args.dist else []
    for package in packages.values():
        version = package.version or "?"
        print(f"{package.name:<20} {version!s:<10} {'ok' if not package.problems else 'FAILED'}")
    if sizes:
        print()
        print(f"{'file':<48} {'size':>10}")
        for _, filename, size in sizes:
            print(f"{filename:<48} {size / 1024:>8.0f} KiB")
        print(f"{'total':<48} {sum(s for *_, s in sizes) / 1024:>8.0f} KiB")
    problems = [p for package in packages.values() for p in package.problems]
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
