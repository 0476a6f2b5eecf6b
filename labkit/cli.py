"""The ``labkit`` command: the lab cluster from a terminal (introduced in notebook 00).

    labkit up | down [--wipe] | status | kill N | stop N | start N | pause N | resume N
    labkit bootstrap | fetch | logs N
    labkit chaos --fault kill|stop|pause|bounce --trials N --records M [--unsafe]

Errors print as a message and a ``Hint:`` line and exit with status 2, never a stack trace.
"""
from __future__ import annotations

import argparse
import sys

from . import config
from .cluster import fetch
from .cluster import get_cluster
from .errors import LabError


def _status(cluster) -> int:
    rows = cluster.status()
    where = getattr(cluster, "state_dir", "")
    print(f"Kafka {config.KAFKA_VERSION} lab cluster ({cluster.backend}){f' in {where}' if where else ''}")
    print(f"{'broker':>6}  {'state':8} {'pid':>8}  {'port':>5}  role")
    for r in rows:
        role = "active controller" if r["controller"] else ""
        pid = r["pid"] or "-"
        print(f"{r['broker']:>6}  {r['state']:8} {pid:>8}  {r['port']:>5}  {role}")
    down = [r["broker"] for r in rows if r["state"] != "running"]
    if down:
        print(f"Not running: broker(s) {', '.join(map(str, down))}. `labkit up` starts them.")
        return 1
    print(f"bootstrap servers: {cluster.bootstrap_servers}")
    return 0


def _chaos(cluster, args) -> int:
    """Failover trials as a table, ending with the one summary line (labkit.chaos)."""
    from . import chaos as failover
    from .lab import Lab

    print(failover.table_header(), flush=True)
    df = failover.run_trials(Lab(cluster), args.fault, args.trials, args.records, args.unsafe,
                             out=sys.stdout)
    print(failover.summary(df))
    return 1 if df["lost"].sum() and not args.unsafe else 0  # a safe trial losing data fails


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="labkit", description="Run the Kafka lab's 3-broker cluster.")
    parser.add_argument("--backend", help="local (default) or compose; also $LABKIT_BACKEND")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start the cluster and wait until it is ready")
    down = sub.add_parser("down", help="stop every broker")
    down.add_argument("--wipe", action="store_true", help="also delete the cluster's data")
    sub.add_parser("status", help="each broker's state; exit 1 when one is down")
    for verb, text in (("kill", "SIGKILL a broker"), ("stop", "gracefully stop a broker"),
                       ("start", "start a stopped broker"), ("pause", "SIGSTOP a broker"),
                       ("resume", "SIGCONT a paused broker")):
        sub.add_parser(verb, help=text).add_argument("broker", help="broker id: 1, 2 or 3")
    sub.add_parser("bootstrap", help="print the bootstrap servers")
    sub.add_parser("fetch", help="fetch Kafka's jars from Maven Central (once)")
    logs = sub.add_parser("logs", help="show a broker's log")
    logs.add_argument("broker")
    logs.add_argument("-n", "--lines", type=int, default=40)
    chaos = sub.add_parser("chaos", help="failover trials: write, break a leader, check every ack")
    chaos.add_argument("--fault", choices=("kill", "stop", "pause", "bounce"), default="kill")
    chaos.add_argument("--trials", type=int, default=1)
    chaos.add_argument("--records", type=int, default=2000, help="at least this many per trial")
    chaos.add_argument("--unsafe", action="store_true",
                       help="negative control: acks=1, RF=2, unclean election; can lose data")
    for verb_parser in sub.choices.values():  # `labkit up --backend compose` works as well
        verb_parser.add_argument("--backend", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    try:
        if args.command == "fetch":
            print(fetch.fetch(sys.stderr))
            return 0
        cluster = get_cluster(args.backend)
        if args.command == "chaos":
            return _chaos(cluster, args)
        if args.command == "up":
            cluster.up(out=sys.stdout)
            return _status(cluster)
        if args.command == "down":
            cluster.down(wipe=args.wipe, out=sys.stdout)
        elif args.command == "status":
            return _status(cluster)
        elif args.command == "bootstrap":
            print(cluster.bootstrap_servers)
        elif args.command == "logs":
            print(cluster.log_tail(cluster.check_node(args.broker), args.lines) or "(no log yet)")
        elif args.command == "start":
            print(cluster.start(args.broker, out=sys.stdout))
        else:
            print(getattr(cluster, args.command)(args.broker))
        return 0
    except LabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: brokers already started keep running; `labkit down` stops them.",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
