"""Consumer throughput in `make bench`: Python beside Kafka's Java perf tool, and what helps Python.

The ratio to Java is reported, not judged (issue 21): most of the Python consumer's time is
inside confluent-kafka's C extension turning each record into a Python ``Message``, so the
figure measures the client library, not the lab. What a learner can change is measured instead:
``consume()`` in batches against ``poll()`` one record at a time, and larger fetches for large
records. Records of 100 B and 10 KB; rates in records/s and MB/s (MiB of values per second).
"""
from __future__ import annotations

import re
import subprocess
import time

from confluent_kafka import OFFSET_BEGINNING, TopicPartition

BIG_RECORDS = 30_000
BIG_SIZE = 10_240
DEADLINE = 300  # seconds any one measurement may take


def fill(lab, topic: str, n: int, size: int) -> None:
    """Write ``n`` records of ``size`` bytes with Kafka's producer perf tool (fast, acks=all)."""
    subprocess.run(["kafka-producer-perf-test", "--topic", topic, "--num-records", str(n), "--record-size",
                    str(size), "--throughput", "-1", "--producer-props", f"bootstrap.servers={lab.bootstrap_servers}",
                    "acks=all", "linger.ms=20", "batch.size=262144"],
                   capture_output=True, text=True, timeout=DEADLINE, check=True)


def python_rate(lab, topic: str, n: int, batch: bool, **settings) -> float:
    """Records/s reading ``n`` records from the start of every partition, from assign() to the last.

    assign() rather than subscribe(): no group join to leave out, and no records fetched ahead
    in the background before the clock starts (librdkafka fetches as soon as it is assigned).
    """
    parts = lab.admin().list_topics(topic, timeout=10).topics[topic].partitions
    with lab.consumer(f"bench-{time.time_ns()}", **settings) as c:
        t0 = time.monotonic()
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
        got = 0
        end = t0 + DEADLINE
        while got < n and time.monotonic() < end:
            if batch:
                records = c.consume(num_messages=10000, timeout=1.0)
            else:
                record = c.poll(1.0)
                records = [record] if record is not None else []
            got += sum(1 for m in records if not m.error())
        return got / (time.monotonic() - t0)


def java_rate(lab, topic: str, n: int) -> tuple[float, float]:
    """(records/s, MB/s) of kafka-consumer-perf-test's fetch phase (it also excludes the join)."""
    out = subprocess.run(["kafka-consumer-perf-test", "--bootstrap-server", lab.bootstrap_servers,
                          "--topic", topic, "--messages", str(n), "--timeout", "60000"],
                         capture_output=True, text=True, timeout=DEADLINE).stdout
    # data line: start, end, MB, MB/s, nMsg, nMsg/s, rebalance ms, fetch ms, fetch MB/s, fetch nMsg/s
    fields = out.strip().splitlines()[-1].split(",")
    if not re.fullmatch(r"[\d.]+", fields[-1].strip()):
        raise RuntimeError(f"kafka-consumer-perf-test printed no figures: {out[-300:]}")
    return float(fields[-1]), float(fields[-2])


def compare(lab, topic: str, n: int, size: int, results: dict) -> None:
    """Python (batched, one by one, larger fetches for 10 KB) and Java on the same records."""
    mb = size / 2**20
    java_rps, java_mbps = java_rate(lab, topic, n)
    batched = python_rate(lab, topic, n, batch=True)
    if size <= 100:  # the 100 B figures keep the keys results.json always had
        one_by_one = python_rate(lab, topic, n, batch=False)
        results.update(consumer_python_rps=round(batched), consumer_java_rps=round(java_rps),
                       consumer_ratio=round(batched / java_rps, 2), consumer_python_mbps=round(batched * mb, 1),
                       consumer_java_mbps=round(java_mbps, 1), consumer_python_poll_rps=round(one_by_one))
        return
    # librdkafka fetches at most 1 MiB per partition per request: about 100 records of 10 KB
    bigger = python_rate(lab, topic, n, batch=True, max_partition_fetch_bytes=8 * 2**20,
                         fetch_max_bytes=64 * 2**20)
    results.update(consumer_10kb_python_rps=round(batched), consumer_10kb_python_mbps=round(batched * mb, 1),
                   consumer_10kb_java_rps=round(java_rps), consumer_10kb_java_mbps=round(java_mbps, 1),
                   consumer_10kb_python_8mib_fetch_mbps=round(bigger * mb, 1))
