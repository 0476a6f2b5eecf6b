"""The offline kit (issue 20): a fresh clone installs from it with pip --no-index and no Maven."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from labkit import bundle, config
from labkit.cluster import maven
from labkit.errors import LabError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from spares import free_base  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def _offline_env(**extra) -> dict:
    """No package index for pip (and no machine-wide find-links), no Maven, no KAFKA_HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "LABKIT_", "VIRTUAL_ENV"))
           and k not in ("KAFKA_HOME", "PYTHONPATH")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_INDEX_URL="http://127.0.0.1:9/simple", PIP_NO_INDEX="1")
    env.update(extra)
    return env


def _path_without_maven(bin_dir: Path) -> Path:
    """One folder with every command on PATH but Maven's (and this venv's): Maven is absent."""
    bin_dir.mkdir()
    skip = {str(Path(sys.executable).parent)}
    for folder in os.environ["PATH"].split(os.pathsep):
        if folder in skip or not Path(folder).is_dir():
            continue
        for exe in Path(folder).iterdir():
            if exe.name not in ("mvn", "mvnw", "mvnDebug") and not (bin_dir / exe.name).exists():
                (bin_dir / exe.name).symlink_to(exe)
    assert shutil.which("mvn", path=str(bin_dir)) is None and shutil.which("java", path=str(bin_dir))
    return bin_dir


def test_install_script_refuses_a_kit_for_another_platform(tmp_path):
    kit = tmp_path / "kit"
    (kit / "wheels").mkdir(parents=True)
    shutil.copy(bundle.INSTALL_SCRIPT, kit / "install.sh")
    (kit / "KIT.json").write_text(json.dumps({"platform": "win-amd64-py3.12", "extras": "dev"}))
    res = subprocess.run(["sh", str(kit / "install.sh"), str(tmp_path / "lab")], capture_output=True, text=True,
                         timeout=60, env=_offline_env())
    assert res.returncode == 2, res.stdout + res.stderr
    assert "built for win-amd64-py3.12" in res.stderr and bundle.platform_tag() in res.stderr
    assert not (tmp_path / "lab").exists()


def test_bundle_refuses_a_folder_that_is_not_a_kit(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(LabError, match="is not an offline kit"):
        bundle.bundle(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.mark.slow
def test_fresh_clone_installs_and_runs_from_the_kit(tmp_path):
    kit = tmp_path / "kit"
    info = bundle.bundle(kit, out=sys.stderr)
    assert info["platform"] == bundle.platform_tag() and info["wheels"] > 50
    for name in (f"kafka-{config.KAFKA_VERSION}/libs", f"kafka-streams-{config.KAFKA_VERSION}",
                 f"connect-{config.CONNECT_VERSION}-{config.KAFKA_VERSION}"):
        assert maven.complete(kit / "cache" / name, checksums=True), name
    assert sorted(p.name for p in (kit / "notebooks").glob("*.ipynb")) == \
        sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))

    # a fresh clone: the tracked files of this tree, no venv, no build output
    clone = tmp_path / "clone"
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split("\0")
    for rel in filter(None, files):
        if (ROOT / rel).is_file():
            (clone / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, clone / rel)
    bin_dir = _path_without_maven(tmp_path / "bin")
    venv = clone / ".venv" / "bin"
    env = _offline_env(PATH=f"{venv}:{bin_dir}", LABKIT_CACHE=str(kit / "cache"))
    # what a learner types: the Makefile's own offline path (pip --no-index, install.sh --jars, fetch)
    res = subprocess.run(["make", "setup", f"OFFLINE={kit}", f"PYTHON={sys.executable}"], cwd=clone,
                         env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    assert "kept kafka-4.4.0" not in res.stdout and f"kept {kit / 'cache'}/kafka-{config.KAFKA_VERSION}" in res.stdout
    check = subprocess.run([str(venv / "python"), "-m", "pip", "check"], env=env, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout

    base = free_base()
    env.update(LABKIT_PORT_BASE=str(base), LABKIT_STATE_DIR=str(tmp_path / "state"))
    res = subprocess.run([str(venv / "labkit"), "doctor", "--start"], env=env, capture_output=True,
                         text=True, timeout=300)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert "no mvn on PATH; not needed, the jars are cached" in out
    assert f"{kit / 'cache'}/kafka-{config.KAFKA_VERSION}/libs" in out
    assert "✔ round trip (--start)" in out and "✔ later lessons' jars" in out
    where = subprocess.run([str(venv / "python"), "-c", "import labkit; print(labkit.__file__)"], env=env,
                           cwd=tmp_path, capture_output=True, text=True).stdout
    assert where.startswith(str(clone)), where

    # the script's --jars (what `make lab OFFLINE=KIT` runs) fills an empty cache the same way
    cache = tmp_path / "learner-cache"
    res = subprocess.run(["sh", str(kit / "install.sh"), "--jars"], env=_offline_env(LABKIT_CACHE=str(cache)),
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert maven.complete(cache / f"kafka-{config.KAFKA_VERSION}" / "libs", checksums=True)


def test_bundle_needs_a_clone(tmp_path, monkeypatch):
    """A labkit installed from a wheel (a learner's, from a kit) cannot build a kit: it says so."""
    monkeypatch.setattr(bundle, "ROOT", tmp_path / "site-packages")
    with pytest.raises(LabError, match="builds the kit from a clone"):
        bundle.bundle(tmp_path / "kit")
    assert not (tmp_path / "kit").exists()
