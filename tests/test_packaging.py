"""The project's own files agree with each other: one version, one list of tools and packages."""
import re
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10: tomllib arrived in 3.11; tomli is the same parser
    tomllib = pytest.importorskip("tomli", reason="reading pyproject.toml on Python 3.10 needs tomli")

from labkit.cluster import settings

from labkit import tools

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# pip name -> conda-forge name
CONDA_NAMES = {"confluent-kafka": "python-confluent-kafka", "docker": "docker-py",
               "prometheus-client": "prometheus_client", "jupyterlab-rise": "jupyterlab_rise"}  # conda-forge spells it with _


def _name(req: str) -> str:
    return re.split(r"[<>=!~ \[]", req, maxsplit=1)[0].lower()


def test_shims_are_entry_points():
    scripts = {k: v for k, v in PYPROJECT["project"]["scripts"].items() if k != "labkit"}
    expected = {f"{t}{ext}": "labkit.tools:main" for t in tools.TOOLS for ext in ("", ".sh")}
    assert scripts == expected


def test_environment_yml_agrees_with_pyproject():
    env = (ROOT / "environment.yml").read_text()
    conda = {_name(line.strip()[2:]) for line in env.splitlines() if re.match(r"\s+- [a-z]", line)}
    reqs = PYPROJECT["project"]["dependencies"] + PYPROJECT["project"]["optional-dependencies"]["dev"]
    for req in reqs:
        name = _name(req)
        assert CONDA_NAMES.get(name, name) in conda, f"{name} missing from environment.yml"
    assert {"openjdk", "maven", "python"} <= conda


# conda-forge's python-confluent-kafka has no extras: what confluent-kafka's extras pull in that
# the lab imports must be listed by name in environment.yml (notebook 12's schemas)
EXTRA_PACKAGES = {"avro": {"fastavro", "avro"}, "json": {"jsonschema"}, "schemaregistry": {"attrs", "cachetools", "authlib"}}


def test_confluent_kafka_extras_are_in_environment_yml():
    env = (ROOT / "environment.yml").read_text()
    conda = {_name(line.strip()[2:]) for line in env.splitlines() if re.match(r"\s+- [a-z]", line)}
    req = next(r for r in PYPROJECT["project"]["dependencies"] if _name(r) == "confluent-kafka")
    extras = set(re.search(r"\[([^\]]*)\]", req).group(1).split(","))
    assert extras == set(EXTRA_PACKAGES), req
    for extra, names in EXTRA_PACKAGES.items():
        assert names <= conda, f"confluent-kafka[{extra}] needs {names - conda} in environment.yml"


def test_readme_shows_the_two_commands_and_ci_runs_one():
    readme = (ROOT / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme
    ci = [l for l in (ROOT / ".ci/run").read_text().splitlines() if l and not l.startswith(("#", "set ", "cd "))]
    assert ci[-1].strip() == "make test"


def test_docs_settings_table_is_generated_from_settings():
    assert settings.markdown_table() in (ROOT / "docs/cluster.md").read_text()


def test_one_pinned_version():
    from labkit import config
    pom = (ROOT / "labkit/data/kafka-pom.xml").read_text()
    assert "${kafka.version}" in pom and not re.search(r"<version>4\.\d+\.\d+</version>", pom)
    assert re.fullmatch(r"4\.\d+\.\d+", config.KAFKA_VERSION)
