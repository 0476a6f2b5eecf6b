"""The handle a notebook holds: ``lab = lk.start()`` (introduced in notebook 00).

One object knows the cluster (its backend, bootstrap servers, broker control) and hands out
real confluent-kafka clients. Later notebooks add inspection and pictures on the same handle.
"""
from __future__ import annotations

import sys

from . import clients, config, topics
from .cluster import get_cluster


class Lab:
    """A running lab cluster. Broker ids are 1, 2 and 3."""

    def __init__(self, cluster=None, out=None):
        self.cluster = cluster or get_cluster()
        self.out = out or sys.stdout

    def __repr__(self) -> str:
        return f"<Lab {self.cluster.backend} cluster at {self.bootstrap_servers}>"

    @property
    def bootstrap_servers(self) -> str:
        """The ``bootstrap.servers`` string for any Kafka client or tool (all three brokers)."""
        return self.cluster.bootstrap_servers

    # ---- clients: the real confluent-kafka classes (notebook 00) ---------------------------
    @property
    def login(self) -> dict:
        """The login settings this cluster's clients need ({} on the plain lab), for a client
        built by hand: ``Producer({"bootstrap.servers": ..., **lab.login})`` (notebook 03)."""
        return clients.credentials(self.bootstrap_servers)

    def admin(self, settings: dict | None = None, **kwargs):
        """An ``AdminClient`` for this cluster, with lab timeouts."""
        return clients.admin(self.bootstrap_servers, settings, **kwargs)

    def producer(self, settings: dict | None = None, **kwargs):
        """A ``Producer``; ``lab.producer(acks="all", linger_ms=5)`` or a dict of settings."""
        return clients.producer(self.bootstrap_servers, settings, **kwargs)

    def consumer(self, group: str, settings: dict | None = None, **kwargs):
        """A ``Consumer`` in consumer group ``group`` (notebook 04 explains groups)."""
        return clients.consumer(self.bootstrap_servers, group, settings, **kwargs)

    def fresh_topic(self, name: str, partitions: int = 3, replication_factor: int = 3,
                    config: dict | None = None) -> str:
        """Delete ``name`` if an earlier run left it, create it empty, wait for its leaders."""
        with clients.quiet_admin(self.bootstrap_servers) as admin:
            clients.require_cluster(self.bootstrap_servers)
            topics.fresh_topic(admin, name, partitions, replication_factor, config)
        return name

    # ---- the secured lab's users (notebook 12) ---------------------------------------------
    def add_user(self, name: str, password: str | None = None) -> dict:
        """Create lab user ``name`` (SCRAM, ACLs on 'NAME.*'); returns its client settings."""
        from .cluster.users import add_user
        return add_user(self.cluster, name, password)

    def client_config(self, name: str) -> dict:
        """The login settings of ``name``: ``lab.producer(lab.client_config("alice"))``."""
        from .cluster.secure import credentials
        return credentials(self.cluster.state_dir, name)

    # ---- the cluster and its brokers (notebooks 00 and 06) ---------------------------------
    def status(self):
        """A DataFrame: each broker's state, pid, port, and which one is the active controller."""
        import pandas as pd
        return pd.DataFrame(self.cluster.status()).set_index("broker")

    @property
    def controller(self) -> int | None:
        """Id of the active KRaft controller (the quorum leader)."""
        return next((row["broker"] for row in self.cluster.status() if row["controller"]), None)

    def kill(self, n: int) -> None:
        """SIGKILL broker ``n``: a crash, no goodbye to the controller."""
        print(self.cluster.kill(n), file=self.out)

    def stop_broker(self, n: int) -> None:
        """Graceful shutdown of broker ``n``: it hands its leaderships over first."""
        print(self.cluster.stop(n), file=self.out)

    def start_broker(self, n: int) -> None:
        """Start broker ``n`` again and wait until it is registered."""
        print(self.cluster.start(n, out=_Null()), file=self.out)

    def pause(self, n: int) -> None:
        """SIGSTOP broker ``n``: alive but silent, like a long GC pause or a hung disk."""
        print(self.cluster.pause(n), file=self.out)

    def resume(self, n: int) -> None:
        """SIGCONT a paused broker."""
        print(self.cluster.resume(n), file=self.out)

    def heal(self) -> None:
        """Resume paused brokers and start stopped ones: the cluster back to full health.

        One operation on the cluster's lock (``Cluster.heal``), so a dashboard button or another
        notebook acting meanwhile waits its turn instead of racing it (notebook 06).
        """
        self.cluster.heal(out=_Null())

    # ---- inspection and pictures (notebooks 02-06) -----------------------------------------
    # Thin delegations: the work is in inspect.py, plots.py, lagplot.py, burrow.py, sampler.py, widgets.py.
    @property
    def inspector(self):
        """The object that asks the cluster for its state (one admin client, reused)."""
        if getattr(self, "_inspector", None) is None:
            from .observe.inspector import Inspector
            self._inspector = Inspector(self.cluster)
        return self._inspector

    def brokers(self):
        """DataFrame: each broker's id, host:port, state, alive, is_controller, leaders, partitions."""
        return self.inspector.brokers()

    def partitions(self, topic: str):
        """DataFrame: each partition's leader, replicas, isr, under_replicated, offline, low, high."""
        return self.inspector.partitions(topic)

    def groups(self):
        """DataFrame: each consumer group's state, type, members, assignor, coordinator."""
        return self.inspector.groups()

    def lag(self, group: str):
        """DataFrame: per partition the owner, committed, end and lag (end - committed)."""
        return self.inspector.lag(group)

    def plot_partitions(self, topics, title: str | None = None):
        """The brokers x partitions grid of one topic or a list of topics (notebooks 02 and 06)."""
        from .observe import plots
        topics = [topics] if isinstance(topics, str) else list(topics)
        return plots.plot_partitions(self.inspector.partitions_many(topics), self.brokers(), title)

    def plot_log(self, topic: str, groups=(), title: str | None = None):
        """Each partition's retained range with the committed offsets of ``groups`` (notebook 04)."""
        from .observe import plots
        groups = [groups] if isinstance(groups, str) else list(groups)
        lag = self.inspector.lag_many(groups)
        return plots.plot_log(self.partitions(topic), lag[lag["topic"] == topic], title)

    def plot_lag(self, history, window: int = 10, title: str | None = None):
        """Lag over time, coloured by Burrow status; ``history`` is a sampler or its DataFrame."""
        from .observe import lagplot
        return lagplot.plot_lag(getattr(history, "history", history), window, title)

    def plot_assignment(self, group: str):
        """Which consumer of ``group`` owns which partition (notebook 05)."""
        from .observe import plots
        return plots.plot_assignment(self.lag(group), group)

    def sample_lag(self, group, every: float = 1.0, max_samples: int = 3600):
        """Start recording ``group``'s lag every ``every`` s in the background; ``.stop()`` ends it."""
        from .observe.sampler import LagSampler
        return LagSampler(self.inspector, group, every, max_samples)

    def dashboard(self, topic: str, group: str | None = None, every: float = 2.0, mode: str = "auto"):
        """Live partition grid, lag plot and broker buttons; a static snapshot without a front end."""
        from .observe.widgets import Dashboard
        return Dashboard(self, topic, group, every=every, mode=mode).show()

    # ---- broker metrics (notebook 11): the work is in observe/metrics.py and metricplots.py ------
    def metrics(self, match: str | None = None):
        """DataFrame of every broker's metrics now (broker, metric, labels, value); ``match``: a regex.

        A broker that does not answer has one row, ``up`` = 0, whose labels say why.
        """
        from .observe import metrics
        return metrics.scrape(self.cluster, match)

    def sample_metrics(self, every: float = 1.0, max_samples: int = 3600, match: str | None = None):
        """Start recording the brokers' metrics every ``every`` s in the background; ``.stop()`` ends it."""
        from .observe.metrics import SAMPLED, MetricsSampler
        return MetricsSampler(self.cluster, every, max_samples, match or SAMPLED)

    def plot_metrics(self, history, names, title: str | None = None):
        """Metrics over time, one panel per name; counters drawn as a rate per second."""
        from .observe import metricplots
        return metricplots.plot_metrics(history, names, title)

    def prometheus_config(self):
        """Write a Prometheus scrape config for this cluster's brokers; returns its path."""
        from .observe import prometheus
        return prometheus.write_config(self.cluster)

    def prometheus(self):
        """Run Prometheus (if installed) on 127.0.0.1 scraping the lab: ``with lab.prometheus() as p:``."""
        from .observe.prometheus import PrometheusServer
        return PrometheusServer(self.cluster)

    # ---- Kafka Connect (notebook 10): the work is in labkit/connect ------------------------
    def connect(self, start: bool = False):
        """A client for the lab's Connect worker's REST API; ``start=True`` starts the worker first."""
        from .connect import worker as connect_worker
        worker = connect_worker(self.cluster)
        if start:
            worker.up(out=_Null())
        return worker.client()

    def connectors(self):
        """DataFrame: each connector's class, type, state, task states, topics and file."""
        return self.connect().connectors()

    # ---- a class on one shared cluster (issue 20): the work is in labkit/classroom ---------------
    def name(self, base: str) -> str:
        """A topic or group name for the lessons: ``"learner07.orders"`` in class mode, else ``base``."""
        from .classroom.mode import name
        return name(self.cluster, base)

    def progress(self):
        """The instructor's table (on the class cluster, as admin): learner x exercise, the latest
        verdict and its time; a LabError with a hint when no class runs here."""
        from .classroom import progress
        return progress.table(progress.read_lab(self))

    def progress_board(self, stuck_minutes: float = 10.0, every: float = 5.0, mode: str = "auto"):
        """A live board to project: who solved which exercise, who is stuck for > ``stuck_minutes``."""
        from .classroom.board import Board
        return Board(self, stuck_minutes, every, mode).show()


class _Null:
    def write(self, _text: str) -> None:
        pass

    def flush(self) -> None:
        pass


def start(quiet: bool = False, backend: str | None = None) -> Lab:
    """Return a handle to the lab cluster, starting it first if it is not running (idempotent)."""
    cluster = get_cluster(backend)
    cluster.up(out=_Null() if quiet else sys.stdout)
    return Lab(cluster)


def start_secure(quiet: bool = False) -> Lab:
    """The secured lab (notebook 12): SASL/SCRAM and ACLs, in its own folder and ports beside the
    plain lab. Its clients log in as admin; ``lab.add_user(name)`` makes a learner's login."""
    from .cluster.local import LocalCluster
    cluster = LocalCluster(secure=True)
    cluster.up(out=_Null() if quiet else sys.stdout)
    return Lab(cluster)


def stop_secure(wipe: bool = False) -> None:
    """Stop the secured lab's brokers (notebook 12's last cell; `labkit down` does it too)."""
    from .cluster.local import LocalCluster
    LocalCluster(secure=True).down(wipe=wipe, out=sys.stdout)


def stop(wipe: bool = False, backend: str | None = None) -> None:
    """Stop the lab cluster's brokers; ``wipe=True`` also deletes its data."""
    get_cluster(backend).down(wipe=wipe, out=sys.stdout)


__all__ = ["Lab", "start", "stop", "start_secure", "stop_secure", "config"]
