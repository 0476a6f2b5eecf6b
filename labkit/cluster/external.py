"""Any existing Kafka cluster as the lab's backend: a managed service, a company cluster (notebook 12).

``LABKIT_BOOTSTRAP`` names its bootstrap servers and ``LABKIT_CLIENT_CONFIG`` a client properties
file in librdkafka's names, as managed services hand them out (Confluent Cloud:
``security.protocol=SASL_SSL``, ``sasl.mechanisms=PLAIN``, ``sasl.username=<key>``,
``sasl.password=<secret>``). ``lk.start()`` then returns a handle whose clients, inspection and
pictures work on that cluster. labkit has no control over its brokers: killing, stopping,
pausing or starting one is refused with a LabError that says so, and ``down`` stops nothing.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from .. import clients, config
from ..errors import LabError

NOT_OURS = ("This cluster ({bootstrap}) is not the lab's to break: labkit did not start its brokers "
            "and cannot {verb} them.")
NOT_OURS_HINT = ("cells that kill, stop, pause or start brokers need the lab's own cluster: unset "
                 "LABKIT_BOOTSTRAP and run `labkit up`.")


def read_properties(path: Path) -> dict[str, str]:
    """A client properties file (``key=value`` lines, ``#`` comments) as librdkafka settings."""
    try:
        text = Path(path).expanduser().read_text()
    except OSError as exc:
        raise LabError(f"The client config file {path} cannot be read ({exc.strerror or exc}).",
                       hint="set LABKIT_CLIENT_CONFIG to the properties file your cluster's provider "
                            "gave you (or unset it for a cluster without security).") from None
    settings = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith(("#", "!")):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise LabError(f"{path}, line {number}: {line[:40]!r} is not a key=value setting.",
                           hint="one librdkafka setting per line, e.g. security.protocol=SASL_SSL.")
        settings[key.strip()] = value.strip()
    return settings


class ExternalCluster:
    """A cluster labkit reaches but does not run: clients and inspection only (notebook 12)."""

    backend = "external"
    port_base = None

    def __init__(self, bootstrap: str | None = None, client_config: str | Path | None = None):
        self.bootstrap_servers = (bootstrap or os.environ.get("LABKIT_BOOTSTRAP", "")).strip()
        if not self.bootstrap_servers:
            raise LabError("No bootstrap servers for the external cluster.",
                           hint="set LABKIT_BOOTSTRAP=host:port[,host:port...].")
        path = client_config or os.environ.get("LABKIT_CLIENT_CONFIG")
        self.settings = read_properties(Path(path)) if path else {}
        self.settings.pop("bootstrap.servers", None)  # LABKIT_BOOTSTRAP says where
        clients.register_credentials(self.bootstrap_servers, self.settings)

    def up(self, out=sys.stderr, idle_stop: float | None = None) -> list[dict]:
        """Nothing to start: check that the cluster answers and accepts the login."""
        try:
            with clients.admin(self.bootstrap_servers):  # a refused login is a LabError in seconds
                pass
        except clients.AuthenticationFailed as exc:
            raise clients.AuthenticationFailed(
                exc.message, hint="check sasl.username, sasl.password and sasl.mechanism(s) in "
                                  f"{os.environ.get('LABKIT_CLIENT_CONFIG') or 'LABKIT_CLIENT_CONFIG'}.") from None
        guard_cells(self.bootstrap_servers)
        out.write(f"Using the external cluster at {self.bootstrap_servers} (no broker control).\n")
        return self.status()

    def down(self, wipe: bool = False, out=sys.stderr) -> None:
        out.write(f"labkit did not start the cluster at {self.bootstrap_servers}: nothing stopped.\n")

    def status(self) -> list[dict]:
        """One row per broker the cluster reports, and which one it names as controller."""
        with clients.admin(self.bootstrap_servers) as admin:
            desc = clients.result(admin.describe_cluster(request_timeout=config.TIMEOUTS.request),
                                  "describing the cluster")
        controller = desc.controller.id if desc.controller else None
        return [{"broker": node.id, "state": "running", "pid": None, "port": node.port, "answers": True,
                 "controller": node.id == controller} for node in sorted(desc.nodes, key=lambda n: n.id)]

    def active_controller(self) -> int | None:
        return next((row["broker"] for row in self.status() if row["controller"]), None)

    def _refuse(self, verb: str):
        raise LabError(NOT_OURS.format(bootstrap=self.bootstrap_servers, verb=verb), hint=NOT_OURS_HINT)

    def kill(self, node) -> str:
        self._refuse("kill")

    def stop(self, node) -> str:
        self._refuse("stop")

    def start(self, node, out=sys.stderr) -> str:
        self._refuse("start")

    def pause(self, node) -> str:
        self._refuse("pause")

    def resume(self, node) -> str:
        self._refuse("resume")

    def heal(self, out=sys.stderr) -> list[dict]:
        self._refuse("restart")

    def log_tail(self, node: int, lines: int = 30) -> str:
        return ""

    def node_dir(self, node: int):
        raise LabError(f"The data folders of the cluster at {self.bootstrap_servers} are on its brokers' "
                       "machines, not here.", hint=NOT_OURS_HINT)


# A cell whose source has this comment line needs the lab's own brokers (their processes, data
# folders or quorum: notebooks 00, 01, 07, 08). On the external backend Run All skips it with a
# message instead of stopping at its error; on the lab's own cluster the comment changes nothing.
CELL_MARKER = "# needs the lab's own brokers"
SKIPPED = ("Skipped: this cell needs the lab's own brokers (their processes, data folders or quorum); "
           "the cluster at {bootstrap} is not the lab's to break or to look inside. Run it on your own "
           "lab: unset LABKIT_BOOTSTRAP, then `labkit up`.")


def needs_lab_brokers(source: str) -> bool:
    """True for a cell marked with CELL_MARKER (what Run All skips on the external backend)."""
    return any(line.strip().startswith(CELL_MARKER) for line in source.splitlines())


def guard_cells(bootstrap: str) -> None:
    """In IPython, make marked cells print why they are skipped (notebook 12's external backend)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return

    def skip_marked(lines: list[str]) -> list[str]:
        return [f"print({SKIPPED.format(bootstrap=bootstrap)!r})\n"] if needs_lab_brokers("".join(lines)) else lines
    skip_marked.labkit_guard = True
    transformers = shell.input_transformers_cleanup
    transformers[:] = [t for t in transformers if not getattr(t, "labkit_guard", False)]
    transformers.append(skip_marked)
