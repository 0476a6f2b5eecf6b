"""labkit: a live 3-broker Apache Kafka cluster for the lab's notebooks.

    import labkit as lk
    lab = lk.start()          # the cluster, started if needed
    p = lab.producer()        # a real confluent_kafka.Producer

The package's tree is its architecture:

- ``cluster/``: where the brokers run (local JVMs or docker compose), fetching Kafka, readiness;
- ``observe/``: asking the cluster for its state, Burrow's lag rules, pictures, the dashboard;
- ``chaos/``: faults, the failover workload and its checker, the exactly-once processor and its
  checker (notebook 08);
- ``streams/``: windows and changelog state in plain Python, and Kafka Streams run as a managed
  process (notebook 09);
- ``lessons/``: the notebooks' exercise checks;
- ``lab.py`` (the handle), ``clients.py``, ``topics.py``, ``wait.py``, ``cli.py``, ``config.py``,
  ``errors.py`` on top.

Notebooks use one import and reach the rest as ``lk.exercises``, ``lk.failover``, ``lk.burrow``
and ``lk.topics``. See README.md and docs/ for the whole API and notebooks/ for the lessons.
"""
from importlib import import_module

from .config import KAFKA_VERSION
from .errors import LabError
from .lab import Lab, start, start_secure, stop, stop_secure

__version__ = "0.1.0"

# Loaded on first use: the CLI and Kafka's tool shims import labkit too, and need no pandas.
_LAZY = {"exercises": ".lessons", "failover": ".chaos", "burrow": ".observe.burrow",
         "topics": ".topics", "wait": ".wait", "connect": ".connect", "streams": ".streams",
         "schemas": ".schemas", "node": ".node"}  # notebook 12


def __getattr__(name: str):
    if name in _LAZY:
        module = import_module(_LAZY[name], __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'labkit' has no attribute {name!r}")


__all__ = ["KAFKA_VERSION", "Lab", "LabError", "start", "start_secure", "stop", "stop_secure", "__version__", *_LAZY]
