"""labkit: a live 3-broker Apache Kafka cluster for the lab's notebooks.

    import labkit as lk
    lab = lk.start()          # the cluster, started if needed
    p = lab.producer()        # a real confluent_kafka.Producer

See README.md for the whole API and notebooks/ for the lessons.
"""
from .config import KAFKA_VERSION
from .errors import LabError
from .lab import Lab, start, stop

__version__ = "0.1.0"
__all__ = ["KAFKA_VERSION", "Lab", "LabError", "start", "stop", "__version__"]
