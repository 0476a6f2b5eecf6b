"""``labkit bundle DIR``: an offline kit for a workshop whose network cannot serve thirty installs.

An instructor builds the kit once, on a machine with network, and hands it out on a USB stick or
a share (issue 20; README "Instructors"). It holds:

- ``wheels/``: every Python package the lab installs (``.[dev]``, as ``make lab`` does), built or
  downloaded for this machine's platform and Python, labkit's own wheel and its build backend
  included; ``wheels-<platform>/`` for each other platform asked for (binary wheels only);
- ``cache/``: Kafka's jars and the later lessons' jars (Kafka Streams, Connect, the metrics agent)
  exactly as labkit caches them, so ``LABKIT_CACHE=DIR/cache`` needs neither Maven nor network;
- ``notebooks/`` and ``install.sh`` (from ``labkit/data/kit-install.sh``); ``KIT.json`` says what
  the kit was built for, so the script refuses a kit for another platform with a clear message.

``make lab OFFLINE=DIR`` installs a clone from it with ``pip --no-index``.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

from . import config
from .cluster import fetch, maven
from .errors import LabError

ROOT = config.PACKAGE_DIR.parent  # the source tree (a clone): the kit is built from it
INSTALL_SCRIPT = config.DATA_DIR / "kit-install.sh"
BUILD_BACKEND = ("setuptools>=77", "wheel")  # an offline `pip install -e .` builds labkit with these
PIP_TIMEOUT = 1800.0  # the whole download of ~150 wheels on a slow venue network


def platform_tag() -> str:
    """This machine's kit platform, e.g. ``linux-x86_64-py3.11`` (the install script compares it)."""
    return f"{sysconfig.get_platform()}-py{sys.version_info.major}.{sys.version_info.minor}"


def _requirements(extras: str) -> list[str]:
    """The lab's requirements as pyproject.toml lists them (base plus ``extras``)."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in filter(None, extras.split(",")):
        reqs += project["optional-dependencies"][extra]
    return reqs


def _pip(args: list[str], out) -> None:
    cmd = [sys.executable, "-m", "pip", *args]
    print("$ " + " ".join(cmd[2:]), file=out, flush=True)
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise LabError(f"pip took more than {PIP_TIMEOUT:.0f} s.", hint="check the network; run it again.") from None
    if res.returncode != 0:
        raise LabError(f"pip failed: {(res.stderr or res.stdout).strip().splitlines()[-1:]}",
                       hint="the kit is built with network access to PyPI; for another platform "
                            "only binary wheels exist, and some packages may have none.")


def wheels(dest: Path, extras: str, out) -> int:
    """This platform's wheels for labkit[extras] and everything it needs; returns how many."""
    dest.mkdir(parents=True, exist_ok=True)
    _pip(["wheel", "--quiet", "--wheel-dir", str(dest), f"{ROOT}[{extras}]" if extras else str(ROOT)], out)
    _pip(["download", "--quiet", "--dest", str(dest), *BUILD_BACKEND], out)
    return len(list(dest.glob("*.whl")))


def foreign_wheels(dest: Path, platform: str, python: str, extras: str, out) -> int:
    """Binary wheels for another platform (``manylinux2014_x86_64``, ``macosx_11_0_arm64``, ...)."""
    dest.mkdir(parents=True, exist_ok=True)
    _pip(["download", "--quiet", "--only-binary=:all:", "--platform", platform, "--python-version", python,
          "--dest", str(dest), *_requirements(extras), *BUILD_BACKEND], out)
    _pip(["wheel", "--quiet", "--no-deps", "--wheel-dir", str(dest), str(ROOT)], out)  # labkit is pure Python
    return len(list(dest.glob("*.whl")))


def jar_folders(out) -> list[Path]:
    """Every jar folder the lessons run from, fetched now if missing (needs Maven, once)."""
    from .cluster import exporter
    from .connect import jars as connect_jars
    from .streams import build as streams_build
    if config.kafka_home() is not None:
        raise LabError("KAFKA_HOME is set: the kit carries jars from labkit's cache, not a Kafka download.",
                       hint="unset KAFKA_HOME while you run `labkit bundle`.")
    folders = [fetch.fetch(out), streams_build.jars(out), connect_jars.folder(out)]
    exporter.fetch_agent(out)
    agent = fetch.extra_dir(exporter.NAME)
    return folders + ([agent] if agent else [])


def copy_jars(dest: Path, out) -> int:
    """Copy the jar folders, with their manifests, into ``dest`` (a cache layout); returns MiB."""
    total = 0
    for folder in jar_folders(out):
        if not maven.complete(folder, checksums=True):
            raise LabError(f"{folder} is not complete.", hint="`labkit fetch` again, then bundle.")
        target = dest / folder.relative_to(config.cache_dir())
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(folder, target)
        total += sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
    return total >> 20


def bundle(dest: Path, *, platforms: tuple[str, ...] = (), python: str | None = None,
           extras: str = "dev", out=sys.stdout) -> dict:
    """Write the kit into ``dest`` (``labkit bundle DIR``); returns what KIT.json records."""
    dest = Path(dest).expanduser().resolve()
    if not (ROOT / "pyproject.toml").is_file():
        raise LabError("labkit bundle builds the kit from a clone of the lab, and this labkit was installed "
                       "from a wheel.", hint="run it in a clone: `git clone ...; make setup; "
                                             ".venv/bin/labkit bundle DIR`.")
    if dest.exists() and any(dest.iterdir()) and not (dest / "KIT.json").exists():
        raise LabError(f"{dest} exists and is not an offline kit.", hint="name a new or empty folder.")
    dest.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    from importlib.metadata import version
    kit = {"kafka_version": config.KAFKA_VERSION, "labkit": version("labkit"), "extras": extras,
           "platform": platform_tag(), "others": {}}
    print(f"Python wheels for {kit['platform']} ...", file=out, flush=True)
    kit["wheels"] = wheels(dest / "wheels", extras, out)
    pyver = python or f"{sys.version_info.major}.{sys.version_info.minor}"
    for plat in platforms:
        print(f"Python wheels for {plat} (Python {pyver}) ...", file=out, flush=True)
        kit["others"][f"{plat}-py{pyver}"] = foreign_wheels(dest / f"wheels-{plat}-py{pyver}", plat, pyver,
                                                            extras, out)
    print("Kafka's jars and the later lessons' jars ...", file=out, flush=True)
    kit["jars_mib"] = copy_jars(dest / "cache", out)
    shutil.rmtree(dest / "notebooks", ignore_errors=True)
    shutil.copytree(ROOT / "notebooks", dest / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    shutil.copy2(INSTALL_SCRIPT, dest / "install.sh")
    (dest / "KIT.json").write_text(json.dumps(kit, indent=1) + "\n")
    print(f"Kit written to {dest} in {time.monotonic() - began:.0f} s: {kit['wheels']} wheels, "
          f"{kit['jars_mib']} MiB of jars. Learners: `sh {dest}/install.sh`, or in a clone "
          f"`make lab OFFLINE={dest}`.", file=out)
    return kit
