"""Sessions for the matting monorepo.

    nox                 every package's tests (each package alone), integration, lint
    nox -s demo         install everything and run the main job
    nox -s matting-core one package alone, in a fresh venv with only what it declares
    nox -s matting-nn   the network blocks alone (torch and safetensors; no other package);
                        the paper plugins' sessions install it because they declare it
    nox -s benchmarks   the speed and memory benchmarks (not part of the tests)
    nox -s build        sdist and wheel of every package into dist/, checked (metadata,
                        contents, versions, changelogs, plugin API declarations)
    nox -s install-from-wheels
                        what `pip install matting-gca` will do once published: each plugin
                        alone from dist/ in a fresh environment, then a real prediction

Each package under ``packages/`` gets a session of its own, named after the
package, generated from its ``pyproject.toml``: the session installs the package
(non-editable, so its packaging is tested) and the project packages it declares,
nothing else, and runs that package's ``tests/``. torch is always installed first
as ``torch==2.13.0``: an unpinned torch would pull a multi-GB CUDA build.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import nox
import tomllib

ROOT = Path(__file__).parent
PACKAGES_DIR = ROOT / "packages"
TORCH = "torch==2.13.0"
PYTHON = "3.11"
EXAMPLE_PLUGIN = PACKAGES_DIR / "matting-core" / "tests" / "example_plugin"
DIST = ROOT / "dist"

nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True

#: Set by .ci/run: every session's venv (about 1 GB with torch) is deleted when the session
#: ends, pass or fail, so a full run holds one venv at a time instead of one per package
#: (CI's disk once filled up after seven of them).
DISCARD_VENVS = os.environ.get("MATTING_NOX_DISCARD_VENVS") == "1"


def session(**kwargs) -> Callable[[Callable[[nox.Session], None]], object]:
    """``nox.session`` whose venv is deleted afterwards when ``DISCARD_VENVS`` is set."""

    def register(body: Callable[[nox.Session], None]) -> object:
        @functools.wraps(body)
        def run(session: nox.Session) -> None:
            try:
                body(session)
            finally:
                location = getattr(session.virtualenv, "location", None)
                if DISCARD_VENVS and location and Path(location).is_dir():
                    shutil.rmtree(location, ignore_errors=True)
                    session.log(f"deleted the session's venv {location}")

        return nox.session(**kwargs)(run)

    return register


def _pyproject(package_dir: Path) -> dict:
    with open(package_dir / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def _requirement_name(requirement: str) -> str:
    for separator in "<>=!~;[ ":
        requirement = requirement.split(separator, 1)[0]
    return requirement.strip().lower()


PACKAGES: dict[str, Path] = {
    _pyproject(d)["project"]["name"]: d
    for d in sorted(PACKAGES_DIR.iterdir())
    if (d / "pyproject.toml").is_file()
}


def _local_closure(name: str) -> list[str]:
    """``name`` and the project packages it depends on, dependencies first."""
    ordered: list[str] = []

    def visit(current: str) -> None:
        if current in ordered:
            return
        for requirement in _pyproject(PACKAGES[current])["project"].get("dependencies", []):
            dependency = _requirement_name(requirement)
            if dependency in PACKAGES:
                visit(dependency)
        ordered.append(current)

    visit(name)
    return ordered


def _local_test_packages(name: str) -> list[str]:
    """Project packages named in ``name``'s ``test`` extra (matting-serve's tests run GCA)."""
    extras = _pyproject(PACKAGES[name])["project"].get("optional-dependencies", {})
    return [
        dependency
        for requirement in extras.get("test", [])
        if (dependency := _requirement_name(requirement)) in PACKAGES
    ]


def _needs_torch(names: list[str]) -> bool:
    return any(
        _requirement_name(r) == "torch"
        for n in names
        for r in _pyproject(PACKAGES[n])["project"].get("dependencies", [])
    )


def _install(session: nox.Session, names: list[str], extra_paths: tuple[Path, ...] = ()) -> None:
    """Install project packages (and their declared third-party dependencies)."""
    if _needs_torch(names):
        session.install(TORCH)
    paths = [str(PACKAGES[n]) for n in names] + [str(p) for p in extra_paths]
    # Local packages are force-reinstalled without deps so a reused venv always
    # tests the current tree; the second call pulls their declared dependencies.
    session.install("--no-deps", "--force-reinstall", "--no-cache-dir", *paths)
    session.install(*paths)


#: Passed through to the tests when set: where the shared data is, and whether a missing
#: browser fails matting-serve's browser tests instead of skipping them (.ci/run sets it).
PASSED_ENV = ("MATTING_SHARED_DATA", "MATTING_REQUIRE_BROWSER")


def _shared_env() -> dict[str, str]:
    return {name: os.environ[name] for name in PASSED_ENV if name in os.environ}


def _make_package_session(name: str) -> None:
    package_dir = PACKAGES[name]

    def package_tests(session: nox.Session) -> None:
        closure = _local_closure(name)
        for tested_with in _local_test_packages(name):
            closure += [n for n in _local_closure(tested_with) if n not in closure]
        extra = (EXAMPLE_PLUGIN,) if name == "matting-core" else ()
        _install(session, closure, extra)
        session.install(f"{package_dir}[test]")
        session.chdir(package_dir)
        env = {**_shared_env(), "MATTING_REQUIRE_EXAMPLE_PLUGIN": "1" if extra else "0"}
        session.run("pytest", "-q", *session.posargs, env=env)

    package_tests.__doc__ = f"Install {name} alone (with what it declares) and run its tests."
    session(python=PYTHON, name=name)(package_tests)


for _name in PACKAGES:
    _make_package_session(_name)


@session(python=PYTHON)
def integration(session: nox.Session) -> None:
    """Everything installed together: the cross-package tests of ``tests/``, among them the
    plugin contract (``matting_core.testing``) over every installed model. Each package's own
    tests run in its own session."""
    _install(session, list(PACKAGES), (EXAMPLE_PLUGIN,))
    session.install(*(f"{path}[test]" for path in PACKAGES.values()))
    env = {**_shared_env(), "MATTING_REQUIRE_EXAMPLE_PLUGIN": "1"}
    session.run("pytest", "-q", "tests", *session.posargs, env=env)


@session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff: lint rules and formatting."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """The main job: install the toolkit, matte the bundled real photos with the best model
    the installed plugins offer (``matting predict`` without ``--model``; it says which),
    composite them over a new background and score them against the baseline."""
    _install(session, list(PACKAGES))
    out = ROOT / "demo-output"
    session.run("matting", "--version")
    session.run("matting", "list")
    printed = session.run("matting", "samples", "--path", silent=True, stderr=None)
    samples = Path(printed.strip().splitlines()[-1])
    alphas, composites = out / "alpha", out / "composite"
    session.run(
        "matting",
        "predict",
        "--images",
        str(samples / "image"),
        "--trimaps",
        str(samples / "trimap"),
        "--out",
        str(alphas),
    )
    session.run(
        "matting",
        "foreground",
        "--images",
        str(samples / "image"),
        "--alphas",
        str(alphas),
        "--out",
        str(out / "foreground"),
        "--background",
        str(samples / "backgrounds" / "hubble_deep_field.jpg"),
        "--composites",
        str(composites),
    )
    session.run(
        "matting",
        "evaluate",
        "--pred",
        str(alphas),
        "--baseline",
        "--gt",
        str(samples / "alpha"),
        "--trimap",
        str(samples / "trimap"),
        "--csv",
        str(out / "scores.csv"),
    )
    session.log(f"alpha mattes:    {alphas}")
    session.log(f"composites:      {composites}")
    session.log(f"per-image scores: {out / 'scores.csv'}")


@session(python=PYTHON)
def benchmarks(session: nox.Session) -> None:
    """Speed and memory benchmarks; each prints a table of ratios against a baseline."""
    _install(session, list(PACKAGES))
    for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        session.run("python", str(script), *session.posargs)


# --------------------------------------------------------------------------------------------
# Release: build and install from the built files
# --------------------------------------------------------------------------------------------


def _version(name: str) -> str:
    """``name``'s version, from its single source (``[tool.hatch.version] path``)."""
    pyproject = _pyproject(PACKAGES[name])
    path = PACKAGES[name] / pyproject["tool"]["hatch"]["version"]["path"]
    found = re.search(r'^__version__ = "([^"]+)"', path.read_text(encoding="utf-8"), re.M)
    if found is None:
        raise RuntimeError(f"{name}: no __version__ in {path} (run scripts/check_packages.py)")
    return found.group(1)


@session(python=PYTHON)
def build(session: nox.Session) -> None:
    """sdist and wheel of every package into ``dist/`` (the wheel built from the sdist), then
    ``twine check --strict`` and ``scripts/check_packages.py --dist dist``: versions,
    changelogs, ranges and plugin API declarations in the tree; in each wheel exactly the
    package's files (weights, samples, model cards, py.typed; no tests); sizes printed."""
    session.install("build", "hatchling>=1.18", "packaging>=22", "twine")
    # the tree first: a missing CHANGELOG or declaration is named before anything is built
    session.run("python", "scripts/check_packages.py")
    shutil.rmtree(DIST, ignore_errors=True)
    for directory in PACKAGES.values():
        session.run(
            "python",
            "-m",
            "build",
            "--no-isolation",
            "--outdir",
            str(DIST),
            str(directory),
            silent=True,
        )
    session.run("twine", "check", "--strict", *sorted(str(p) for p in DIST.iterdir()))
    session.run("python", "scripts/check_packages.py", "--dist", str(DIST))


def _installed(session: nox.Session, python: str = "python") -> set[str]:
    listed = session.run(python, "-m", "pip", "list", "--format=json", silent=True, external=True)
    return {row["name"].lower().replace("_", "-") for row in json.loads(listed)} - {
        "pip",
        "setuptools",
        "wheel",
    }


def _install_from_dist(
    session: nox.Session, name: str, constraints: Path, report: Path, python: str = "python"
) -> None:
    """``pip install --find-links dist NAME``; every project package must come from dist/."""
    session.run(
        python,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--find-links",
        str(DIST),
        "--constraint",
        str(constraints),
        "--report",
        str(report),
        name,
        external=True,
    )
    for item in json.loads(report.read_text(encoding="utf-8"))["install"]:
        project = item["metadata"]["name"].lower().replace("_", "-")
        url = item["download_info"]["url"]
        if project in PACKAGES and not url.startswith(DIST.as_uri()):
            session.error(f"{project} was installed from {url}, not from {DIST}")
    session.run(python, "-m", "pip", "check", silent=True, external=True)


@session(python=PYTHON, name="install-from-wheels", requires=["build"])
def install_from_wheels(session: nox.Session) -> None:
    """What ``pip install matting-gca`` does once published, for every package in turn.

    Packages that need no torch (matting-metrics) are installed alone, each in a small venv
    without torch, and imported. Then, in this session's venv with ``torch==2.13.0``, each
    plugin (and each package with a console script: matting-core) alone: ``pip install
    --find-links dist NAME`` pulling the project packages it depends on from ``dist/``,
    ``scripts/try_installed_package.py NAME`` (``matting plugins --strict``, a real
    ``matting predict`` on a bundled photo, its commands' ``--help``), then the project
    packages are uninstalled again, so that each is tried without the others while disk use
    stays at one venv. (Third-party dependencies stay installed between tries, for time: that
    each package declares its own is what its own session checks, in a venv of its own.)
    ``build`` runs first.
    """
    tmp = Path(session.create_tmp())
    constraints = tmp / "project-versions.txt"
    constraints.write_text("".join(f"{n}=={_version(n)}\n" for n in PACKAGES), encoding="utf-8")
    report = tmp / "install-report.json"

    light = [n for n in PACKAGES if not _needs_torch(_local_closure(n))]
    if light:
        small = tmp / "venv-without-torch"
        session.run("python", "-m", "venv", "--clear", str(small), external=True)
        python = str(small / "bin" / "python")
        session.run(python, "-m", "pip", "install", "--quiet", "--upgrade", "pip", external=True)
        for name in light:
            _install_from_dist(session, name, constraints, report, python)
            module = Path(
                _pyproject(PACKAGES[name])["tool"]["hatch"]["version"]["path"]
            ).parent.name
            session.run(
                python,
                "-c",
                f"import importlib.util, sys, {module}; "
                "assert importlib.util.find_spec('torch') is None, 'torch is installed'; "
                f"print('{name}', {module}.__version__, 'works without torch')",
                external=True,
            )
            session.run(
                python,
                "-m",
                "pip",
                "uninstall",
                "-y",
                "--quiet",
                *_installed(session, python),
                external=True,
            )
        shutil.rmtree(small)

    # a reused venv may hold project packages from an interrupted run
    leftover = sorted(_installed(session) & set(PACKAGES))
    if leftover:
        session.run("python", "-m", "pip", "uninstall", "-y", "--quiet", *leftover)
    session.install(TORCH)
    tried = [
        name
        for name in PACKAGES
        if _pyproject(PACKAGES[name])["project"].get("entry-points", {}).get("matting")
        or _pyproject(PACKAGES[name])["project"].get("scripts")
    ]
    timings = []
    for name in sorted(tried, key=lambda n: (n != "matting-core", n)):
        start = time.monotonic()
        _install_from_dist(session, name, constraints, report)
        session.run("python", "scripts/try_installed_package.py", name, str(tmp / "out" / name))
        project = sorted(_installed(session) & set(PACKAGES))
        session.run("python", "-m", "pip", "uninstall", "-y", "--quiet", *project)
        timings.append(f"{name} {time.monotonic() - start:.0f} s")
    session.log("installed from dist/ and predicted: " + ", ".join(timings))


nox.options.sessions = [*PACKAGES, "integration", "lint", "build", "install-from-wheels"]
