"""The check for notebook 11's exercise: which broker took a topic's writes, read from its metrics.

The learner produces to a fresh topic of their own (a per-run name) and reads, from the brokers'
exporters (``lab.metrics()``), how many bytes came in for that topic on each broker. The check
scrapes the exporters again and compares: a topic's bytes in are counted by the brokers that
lead its partitions, so the answer is only right when it comes from the topic's own rows
(``topic=...``), in bytes, for every broker that took some.
"""
from __future__ import annotations

from ..observe.metrics import scrape
from .verdict import Wrong, _verdict

BYTES_IN = "kafka_server_brokertopicmetrics_bytesinpersec_total"
MESSAGES_IN = "kafka_server_brokertopicmetrics_messagesinpersec_total"


def _per_broker(df, metric: str, labels: str) -> dict[int, float]:
    rows = df[(df["metric"] == metric) & (df["labels"] == labels)]
    return {int(b): float(v) for b, v in zip(rows["broker"], rows["value"]) if v}


def _answer(bytes_in) -> dict[int, float]:
    """The learner's dict with broker ids as ints and non-zero byte counts as floats."""
    if not isinstance(bytes_in, dict):
        raise Wrong(f"bytes_in should be a dict {{broker id: bytes}}, not {type(bytes_in).__name__}.")
    answer = {}
    for broker, value in bytes_in.items():
        try:
            broker, value = int(broker), float(value)
        except (TypeError, ValueError):
            raise Wrong(f"bytes_in[{broker!r}] = {value!r}: keys are broker ids (1, 2, 3), values "
                        "numbers of bytes.") from None
        if value:
            answer[broker] = value
    return answer


@_verdict
def check_bytes_in(lab, topic: str, bytes_in) -> str:
    """Notebook 11: ``bytes_in`` says how many bytes each broker took in for ``topic``."""
    answer = _answer(bytes_in)
    if not answer:
        raise Wrong(f"bytes_in is empty: produce records to {topic!r}, then fill it from "
                    f"lab.metrics() rows of {BYTES_IN} whose labels are 'topic={topic}'.")
    df = scrape(lab.cluster, "brokertopicmetrics")
    up_rows = df[df["metric"] == "up"]
    down = sorted(int(b) for b, v in zip(up_rows["broker"], up_rows["value"]) if not v)
    if down:
        raise Wrong(f"broker(s) {', '.join(map(str, down))} do not answer for metrics: "
                    "lab.heal() brings every broker back, then run your cell again.")
    truth = _per_broker(df, BYTES_IN, f"topic={topic}")
    if not truth:
        raise Wrong(f"no broker has counted bytes in for {topic!r}: produce records to it "
                    "(and flush) in your cell.")
    if answer == truth:
        leaders = ", ".join(map(str, sorted(truth)))
        return (f"{sum(truth.values()):.0f} bytes came in for {topic!r}, on broker(s) {leaders}: "
                "the leaders of its partitions take the writes.")
    if answer == _per_broker(df, BYTES_IN, ""):
        raise Wrong("these are every topic's bytes on each broker (the rows without a topic "
                    f"label); keep the rows whose labels are 'topic={topic}'.")
    if answer == _per_broker(df, MESSAGES_IN, f"topic={topic}"):
        raise Wrong(f"these count messages ({MESSAGES_IN}), not bytes; use {BYTES_IN}.")
    wrong = [f"broker {b}: you say {answer.get(b, 0):.0f}, its exporter says {truth.get(b, 0):.0f}"
             for b in sorted(set(answer) | set(truth)) if answer.get(b, 0) != truth.get(b, 0)]
    raise Wrong("; ".join(wrong) + ". Read the numbers after your records were flushed, from "
                f"{BYTES_IN} with labels 'topic={topic}'.")
