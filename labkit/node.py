"""The learner notes' Node.js client, corrected, run against the lab (notebook 12).

``examples/node/offsets.js`` is the notes' kafkajs consumer with manual commits done right
(``autoCommit: false``, commit offset + 1) on a replication-factor-3 topic. ``run_example``
installs its one dependency from the committed ``package-lock.json`` (``npm ci``, kafkajs 2.2.4)
and runs it, bounded, with the lab's bootstrap servers and, on the secured lab, a user's login.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from . import config
from .errors import LabError

EXAMPLE_DIR = config.PACKAGE_DIR.parent / "examples" / "node"
INSTALL_HINT = ("install Node.js 18 or newer with npm (Debian/Ubuntu: `sudo apt install nodejs npm`; "
                "others: https://nodejs.org/en/download), then run this cell again.")
NPM_TIMEOUT = 180.0
RUN_TIMEOUT = 90.0  # the program gives up by itself after 60 s


def available() -> bool:
    """True when ``node`` and ``npm`` are on PATH (the notebook cell skips the run otherwise)."""
    return bool(shutil.which("node") and shutil.which("npm"))


def install(folder: Path = EXAMPLE_DIR) -> None:
    """``npm ci`` once: exactly the versions in package-lock.json (kafkajs 2.2.4)."""
    if not available():
        raise LabError("Node.js (node and npm) is not installed here.", hint=INSTALL_HINT)
    if not (folder / "package-lock.json").is_file():
        raise LabError(f"{folder} has no package-lock.json.", hint="run it from a clone of the lab's repository.")
    if (folder / "node_modules" / "kafkajs" / "package.json").is_file():
        return
    try:
        res = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=folder, capture_output=True,
                             text=True, timeout=NPM_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise LabError(f"`npm ci` took over {NPM_TIMEOUT:.0f} s.", hint="is the npm registry reachable?") from None
    if res.returncode != 0:
        raise LabError("`npm ci` failed in examples/node.", hint="is the npm registry reachable?",
                       log_tail="\n".join((res.stdout + res.stderr).splitlines()[-10:]))


def run_example(bootstrap: str, topic: str = "node-orders", count: int = 6,
                login: dict | None = None, group: str | None = None) -> dict:
    """Run examples/node/offsets.js; return its summary (produced, consumed, end and committed offsets).

    ``login``: librdkafka-style SASL settings (``lab.client_config(name)``) for the secured lab.
    """
    install()
    env = {**os.environ, "KAFKA_BROKERS": bootstrap}
    if login:
        env.update(KAFKA_SASL_USERNAME=login["sasl.username"], KAFKA_SASL_PASSWORD=login["sasl.password"])
    if group:
        env["KAFKA_GROUP"] = group
    try:
        res = subprocess.run(["node", "offsets.js", topic, str(count)], cwd=EXAMPLE_DIR, env=env,
                             capture_output=True, text=True, timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise LabError(f"The Node example ran over {RUN_TIMEOUT:.0f} s.", hint="is the cluster up? `labkit status`.") \
            from None
    if res.returncode != 0:
        raise LabError(f"The Node example failed: {res.stderr.strip().splitlines()[-1:] or ['no message']}",
                       hint="`labkit status` shows whether the brokers run; on the secured lab check "
                            "the user and its 'NAME.' prefix.")
    return json.loads(res.stdout.strip().splitlines()[-1])
