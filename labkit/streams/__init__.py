"""Stream processing on the lab cluster (notebook 09), reached as ``lk.streams``.

- ``windowed``: a windowed count in plain Python on confluent-kafka, its state in a compacted
  changelog topic and restored from it; ``pictures``: windows filling and closing.
- ``app`` and ``build``: Apache Kafka Streams itself, the one-file Java application in ``java/``
  compiled against the pinned release and run as a managed process:
  ``app = lk.streams.run_app(lab, "wordcount-09", source, sink)`` ... ``app.stop()``.
"""
from . import build
from .app import StreamsApp, run_app, stop_all
from .pictures import plot_windows
from .windowed import WindowedCount, read_results, time_zero, window_start

__all__ = ["StreamsApp", "build", "WindowedCount", "plot_windows", "read_results", "run_app", "stop_all",
           "time_zero", "window_start"]
