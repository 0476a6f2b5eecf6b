"""A consume-transform-produce processor: orders in, order totals out (notebook 08).

Each input record is an order, ``{"order": 17, "customer": "c3", "qty": 2, "price": 250}``; each
output record is its total, ``{"order": 17, "total": 500}``, keyed by the customer. It runs as
its own OS process, so a notebook or test can SIGKILL it mid-stream and start it again:

    python -m labkit.chaos.processor --bootstrap HOST:PORT --input orders --output totals \\
        --group totals-app --transactional-id totals-app-0      # exactly-once
    python -m labkit.chaos.processor ... --no-transactions        # at-least-once (the control)

With a ``transactional.id`` every batch is one transaction: the totals AND the consumer's
offsets (``send_offsets_to_transaction``) commit together or not at all (KIP-98, KIP-447).
Without, the totals are produced and flushed first and the offsets committed afterwards: a
crash between the two makes the restarted process redo the batch, so its totals appear twice.

The process stops by itself once it has processed everything up to the end of its input, or
after ``--max-seconds``; ``--pace-ms`` stands for the time real work would take per record.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from confluent_kafka import Consumer, KafkaError, Producer

# errors a consumer reports while the cluster moves a group's coordinator or a partition's leader
MOVING = {KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_NOT_AVAILABLE,
          KafkaError.COORDINATOR_LOAD_IN_PROGRESS, KafkaError.NOT_LEADER_FOR_PARTITION}


def transform(value: bytes) -> bytes:
    """The business logic: one order -> its total."""
    order = json.loads(value)
    return json.dumps({"order": order["order"], "total": order["qty"] * order["price"]}).encode()


# The login a cluster with security wants (the external backend or the secured lab, notebook 12):
# the same one Kafka's tools get (toollogin.login_for); main() fills it in.
LOGIN: dict[str, str] = {}


def run(bootstrap: str, source: str, sink: str, group: str, transactional_id: str | None,
        batch: int = 50, pace_ms: float = 0, max_seconds: float = 120) -> int:
    """Process ``source`` into ``sink`` until the end of ``source``; return the batches done."""
    consumer = Consumer({
        "bootstrap.servers": bootstrap, **LOGIN,  # LOGIN: {} on your own lab
        "group.id": group,
        "group.instance.id": f"{group}-0",   # static membership: a restart takes over at once
        "enable.auto.commit": False,         # offsets are committed by us, below
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",  # never read another transaction's aborted records
        "enable.partition.eof": True,        # tell us when we reach the end of a partition
    })
    settings = {"bootstrap.servers": bootstrap, **LOGIN, "linger.ms": 5}
    if transactional_id:
        settings["transactional.id"] = transactional_id  # implies enable.idempotence=true
    producer = Producer(settings)
    if transactional_id:
        # Registers the id with its transaction coordinator, bumps the epoch (fencing any older
        # instance with the same id) and aborts whatever transaction that instance left open.
        producer.init_transactions(30)
    consumer.subscribe([source])
    at_end: set[int] = set()
    batches = 0
    deadline = time.monotonic() + max_seconds
    try:
        while time.monotonic() < deadline:
            records = []
            for msg in consumer.consume(batch, timeout=1.0):
                if msg.error() and msg.error().code() == KafkaError._PARTITION_EOF:
                    at_end.add(msg.partition())
                elif msg.error() and msg.error().code() in MOVING:
                    continue  # a coordinator or leader moving: librdkafka retries it by itself
                elif msg.error():
                    raise RuntimeError(msg.error().str())
                else:
                    records.append(msg)
                    at_end.discard(msg.partition())
            if not records:
                assigned = {tp.partition for tp in consumer.assignment()}
                if assigned and assigned <= at_end:
                    return batches  # everything up to the end of the input is done
                continue
            if transactional_id:
                process_exactly_once(consumer, producer, records, sink, pace_ms)
            else:
                process_at_least_once(consumer, producer, records, sink, pace_ms)
            batches += 1
            print(f"batch {batches}: {len(records)} orders", flush=True)
        raise TimeoutError(f"not at the end of {source!r} after {max_seconds:.0f} s")
    finally:
        consumer.close()


def process_exactly_once(consumer, producer, records, sink: str, pace_ms: float) -> None:
    """One batch, one transaction: the totals and the input offsets commit together."""
    producer.begin_transaction()
    for msg in records:
        time.sleep(pace_ms / 1000)  # stands for real work; a kill lands mid-batch
        producer.produce(sink, transform(msg.value()), key=msg.key())
        producer.poll(0)
    # The consumer's next positions become part of the transaction (not consumer.commit()).
    producer.send_offsets_to_transaction(consumer.position(consumer.assignment()),
                                         consumer.consumer_group_metadata(), 30)
    producer.commit_transaction(30)


def process_at_least_once(consumer, producer, records, sink: str, pace_ms: float) -> None:
    """One batch: totals produced and flushed first, offsets committed afterwards."""
    for msg in records:
        time.sleep(pace_ms / 1000)
        producer.produce(sink, transform(msg.value()), key=msg.key())
        producer.poll(0)
    if producer.flush(30):
        raise RuntimeError("totals not delivered within 30 s")
    consumer.commit(asynchronous=False)  # a crash before this line: the batch is done again


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labkit.chaos.processor", description=__doc__.split("\n")[0])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--group", required=True)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--transactional-id")
    mode.add_argument("--no-transactions", action="store_true")
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--pace-ms", type=float, default=0)
    parser.add_argument("--max-seconds", type=float, default=120)
    args = parser.parse_args(argv)
    try:
        from ..toollogin import login_for
        LOGIN.update((login_for(args.bootstrap) or ({},))[0])
        n = run(args.bootstrap, args.input, args.output, args.group, args.transactional_id,
                args.batch, args.pace_ms, args.max_seconds)
    except Exception as exc:  # one line for whoever reads the process's output
        print(f"processor failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return 1
    print(f"done: {n} batches", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
