"""The ``labkit`` command: the lab cluster from a terminal (introduced in notebook 00).

    labkit up [--idle-stop MIN] | down [--wipe] | status | kill N | stop N | start N | pause N | resume N
    labkit bootstrap | fetch | logs N | jupyter [--stop-on-exit] [ARGS]
    labkit chaos --fault kill|stop|pause|bounce --trials N --records M [--unsafe]
    labkit dashboard TOPIC [--group G] [--port P]
    labkit connect up | down | status | logs [-n LINES]
    labkit up --secure | user add NAME | client-config NAME   (the secured lab, notebook 12;
        every verb takes --secure; a plain `down` stops the secured lab too)
    labkit doctor [--start]
    labkit bundle DIR [--platform TAG]... [--python-version X.Y] [--extras dev]
    labkit class up --learners N [--listen ADDRESS] | down [--wipe] | status | card N | board [--stuck MIN]

Errors print as a message and a ``Hint:`` line and exit with status 2, never a stack trace.
Ctrl-C, SIGTERM and SIGHUP (a closed terminal) end a command the same way: an interrupted ``up``
stops what it started and says whether a cluster is left running.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys

from . import config
from .cluster import cds, exporter, fetch
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
    if args.unsafe:  # the control exists to show loss: losing nothing means it proved nothing
        if not df["lost"].sum():
            print("The unsafe control lost nothing, so it did not show what it exists to show.",
                  file=sys.stderr)
            return 1
        return 0
    broken = sum(int(df[c].sum()) for c in ("lost", "misplaced", "hw_short", "unresolved", "flush_left"))
    return 1 if broken else 0  # a safe trial losing data, or leaving its books open, fails


def _connect(cluster, args) -> int:
    """``labkit connect up|down|status|logs``: the Connect worker beside the brokers (labkit/connect)."""
    from .connect import worker as connect_worker
    worker = connect_worker(cluster)
    if args.action == "up":
        worker.up(out=sys.stdout)
    elif args.action == "down":
        if worker.stop(out=sys.stdout) == "not running":
            print("No Connect worker was running.")
        return 0
    elif args.action == "logs":
        print(worker.log_tail(args.lines) or "(no log yet)")
        return 0
    st = worker.status()
    pid = f" (pid {st['pid']})" if st["pid"] else ""
    print(f"Kafka Connect {st['version']} worker: {st['state']}{pid}, REST {st['url']}")
    if st["state"] == "stopped":
        print("`labkit connect up` starts it.")
        return 1
    for name, row in worker.client().connectors().iterrows():
        print(f"  {name}: {row['class']} {row['state']} tasks={row['tasks']} topics={row['topics']}")
    return 0


def _interrupted(cluster, signum: int) -> None:
    """Say what an interrupt left behind: a running cluster or none (never a guess)."""
    try:
        up = [r["broker"] for r in cluster.status() if r["state"] != "stopped"]
    except Exception:  # the message must not fail; the verdict then is unknown
        up = None
    name = signal.Signals(signum).name if signum else "interrupt"
    if up is None:
        print(f"{name}: stopped; `labkit status` shows what runs.", file=sys.stderr)
    elif up:
        print(f"{name}: stopped; broker(s) {', '.join(map(str, up))} are still running. "
              "`labkit down` stops them, `labkit up` completes the cluster.", file=sys.stderr)
    else:
        print(f"{name}: stopped; no broker is running (any this command started were stopped).",
              file=sys.stderr)


class _Signalled(KeyboardInterrupt):
    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _raise_interrupt(signum, _frame):
    raise _Signalled(signum)


def _jupyter(cluster, args) -> int:
    """JupyterLab on notebooks/; when it exits, say the cluster still runs (or stop it)."""
    exe = shutil.which("jupyter")
    if not exe:
        raise LabError("JupyterLab was not found on PATH.", hint="`make lab` installs it into .venv.")
    # Ctrl-C belongs to JupyterLab (it asks before it shuts down); this process only waits for it
    signal.signal(signal.SIGINT, lambda *_: None)
    rc = subprocess.run([exe, "lab", "--ServerApp.ip=127.0.0.1", *args.args]).returncode
    if args.stop_on_exit or os.environ.get("LABKIT_STOP_ON_EXIT"):
        cluster.down(out=sys.stdout)
    elif any(r["state"] != "stopped" for r in cluster.status()):
        print(f"\nThe lab cluster is still running at {cluster.bootstrap_servers} (it outlives "
              "JupyterLab, so your topics wait for you).\nStop it with `make down` or "
              "`.venv/bin/labkit down`; `make lab STOP=1` stops it when JupyterLab exits.")
    return rc


def _pick_cluster(args):
    """The plain lab, or with ``--secure`` (and for ``user``/``client-config``) the secured one."""
    if args.secure or args.command in ("user", "client-config"):
        from .cluster.local import LocalCluster
        return LocalCluster(secure=True)
    cluster = get_cluster(args.backend)
    if args.command == "up" and getattr(cluster, "secure", False):
        from .cluster.secure import check_mode
        check_mode(cluster.state_dir, False)  # a plain `up` never starts a secured folder
    return cluster


def _secure_command(cluster, args) -> int:
    """``labkit user add NAME`` and ``labkit client-config NAME`` (notebook 12)."""
    from .cluster import users
    if args.command == "user":
        settings = users.add_user(cluster, args.name)
        print(f"User {args.name} may use topics, groups and transactional ids named '{args.name}.*'.")
        print(f"Password: {settings['sasl.password']}  (`labkit client-config {args.name}` prints it again)")
    else:
        print(users.client_config(cluster, args.name, java=args.java), end="")
    return 0


def _down_secure(cluster, args) -> None:
    """A plain `labkit down` also stops the secured lab beside it (notebook 12), if it has a folder."""
    from . import config
    from .cluster.local import LocalCluster
    folder = config.secure_state_dir().expanduser().resolve()
    if args.secure or getattr(cluster, "backend", "") != "local" or folder == cluster.state_dir \
            or not folder.is_dir():
        return
    print("The secured lab:")
    LocalCluster(state_dir=folder, secure=True).down(wipe=args.wipe, out=sys.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="labkit", description="Run the Kafka lab's 3-broker cluster.")
    parser.add_argument("--backend", help="local (default) or compose; also $LABKIT_BACKEND")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the cluster and wait until it is ready")
    up.add_argument("--idle-stop", type=float, metavar="MINUTES",
                    help="stop the cluster after MINUTES without any client (also $LABKIT_IDLE_STOP)")
    jup = sub.add_parser("jupyter", help="run JupyterLab; on exit, say whether the cluster runs")
    jup.add_argument("--stop-on-exit", action="store_true", help="stop the cluster when it exits")
    jup.add_argument("args", nargs=argparse.REMAINDER, help="passed on to `jupyter lab`")
    down = sub.add_parser("down", help="stop every broker")
    down.add_argument("--wipe", action="store_true", help="also delete the cluster's data")
    sub.add_parser("status", help="each broker's state; exit 1 when one is down")
    for verb, text in (("kill", "SIGKILL a broker"), ("stop", "gracefully stop a broker"),
                       ("start", "start a stopped broker"), ("pause", "SIGSTOP a broker"),
                       ("resume", "SIGCONT a paused broker")):
        sub.add_parser(verb, help=text).add_argument("broker", help="broker id: 1, 2 or 3")
    sub.add_parser("bootstrap", help="print the bootstrap servers")
    sub.add_parser("fetch", help="fetch Kafka's jars and the metrics agent from Maven Central and build their class-data archive (once)")
    logs = sub.add_parser("logs", help="show a broker's log")
    logs.add_argument("broker")
    logs.add_argument("-n", "--lines", type=int, default=40)
    conn = sub.add_parser("connect", help="the Kafka Connect worker (notebook 10): up, down, status, logs")
    conn.add_argument("action", choices=("up", "down", "status", "logs"))
    conn.add_argument("-n", "--lines", type=int, default=40, help="log lines to show (logs)")
    chaos = sub.add_parser("chaos", help="failover trials: write, break a leader, check every ack")
    chaos.add_argument("--fault", choices=("kill", "stop", "pause", "bounce"), default="kill")
    chaos.add_argument("--trials", type=int, default=1)
    chaos.add_argument("--records", type=int, default=2000, help="at least this many per trial")
    chaos.add_argument("--unsafe", action="store_true",
                       help="negative control: acks=1, RF=2, unclean election; can lose data")
    dash = sub.add_parser("dashboard", help="serve the live dashboard as a web page on 127.0.0.1 (Voila)")
    dash.add_argument("topic")
    dash.add_argument("--group", help="a consumer group whose lag to show")
    dash.add_argument("--port", type=int, help="default: the lab's port base - 226 (8866)")
    user = sub.add_parser("user", help="the secured lab (notebook 12): `user add NAME` makes a SCRAM user "
                                       "allowed on topics and groups named 'NAME.*'")
    user.add_argument("action", choices=("add",))
    user.add_argument("name")
    ccfg = sub.add_parser("client-config", help="print the client properties to log in to the secured lab as NAME")
    ccfg.add_argument("name", help="a user made by `labkit user add`, or admin")
    ccfg.add_argument("--java", action="store_true",
                      help="Java client names (sasl.jaas.config), for Kafka's tools' --command-config")
    doc = sub.add_parser("doctor", help="check this machine for the lab: one table of ✔/✘ rows, each ✘ with its fix")
    doc.add_argument("--start", action="store_true", help="also run the cluster once: up, produce, consume, down")
    kit = sub.add_parser("bundle", help="write an offline kit: wheels, Kafka's jars, notebooks, install.sh")
    kit.add_argument("dir")
    kit.add_argument("--platform", action="append", default=[], help="also wheels for this pip platform tag")
    kit.add_argument("--python-version", help="the other platforms' Python (default: this one's)")
    kit.add_argument("--extras", default="dev", help="labkit's extras to include (default: dev, as make lab)")
    from .classroom.command import add_parser as add_class_parser
    add_class_parser(sub)  # `labkit class ...` (issue 20)
    for verb_parser in sub.choices.values():  # `labkit up --backend compose` works as well
        verb_parser.add_argument("--backend", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        verb_parser.add_argument("--secure", action="store_true",
                                 help="the secured lab cluster (SASL/SCRAM and ACLs, notebook 12)")
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "jupyter":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "jupyter":
        args.args = extra + args.args
    if args.command == "up" and args.idle_stop is not None and args.idle_stop <= 0:
        parser.error("--idle-stop needs a positive number of minutes")
    for sig in (signal.SIGTERM, signal.SIGHUP):  # a closed terminal or `kill` ends like Ctrl-C
        signal.signal(sig, _raise_interrupt)

    cluster = None
    try:
        if args.command == "fetch":
            print(fetch.fetch(sys.stderr))
            exporter.fetch_agent(sys.stderr)  # the metrics agent (notebook 11)
            cds.ensure(sys.stderr)
            return 0
        if args.command == "doctor":  # issue 20: the pre-flight check, before any cluster is made
            from . import doctor
            return doctor.run(start=args.start, backend=args.backend)
        if args.command == "bundle":  # issue 20: the offline kit
            from .bundle import bundle
            bundle(args.dir, platforms=tuple(args.platform), python=args.python_version, extras=args.extras)
            return 0
        if args.command == "class":
            from .classroom.command import run as run_class
            return run_class(args)
        cluster = _pick_cluster(args)
        if args.command in ("user", "client-config"):
            return _secure_command(cluster, args)
        if args.command == "chaos":
            return _chaos(cluster, args)
        if args.command == "dashboard":  # notebook 11: the live view for a projector
            from . import clients
            from .observe import webdash
            clients.require_cluster(cluster.bootstrap_servers)
            return webdash.serve(cluster, args.topic, args.group, args.port)
        if args.command == "connect":
            return _connect(cluster, args)
        if args.command == "up":
            cluster.up(out=sys.stdout, **({"idle_stop": args.idle_stop} if args.idle_stop else {}))
            return _status(cluster)
        if args.command == "jupyter":
            return _jupyter(cluster, args)
        if args.command == "down":
            cluster.down(wipe=args.wipe, out=sys.stdout)
            _down_secure(cluster, args)
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
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the report below is not interrupted again
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        if cluster is not None:
            _interrupted(cluster, signum)
        else:
            print("interrupted.", file=sys.stderr)
        return 128 + signum


if __name__ == "__main__":
    sys.exit(main())
