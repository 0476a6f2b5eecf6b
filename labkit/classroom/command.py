"""``labkit class up | down | status | card N | board``: the instructor's commands (issue 20).

Kept beside the classroom modules so ``labkit/cli.py`` only hands over; errors are LabErrors,
which ``cli.main`` prints as a message and a ``Hint:`` line (exit status 2).
"""
from __future__ import annotations

import sys

from ..errors import LabError


def add_parser(sub) -> None:
    """The ``class`` verb and its options, on ``labkit``'s sub-command parser."""
    klass = sub.add_parser("class", help="a workshop on one secured cluster: up, down, status, card N, board")
    klass.add_argument("action", choices=("up", "down", "status", "card", "board"))
    klass.add_argument("number", nargs="?", type=int, help="card: the learner's number")
    klass.add_argument("--learners", type=int, help="up: how many learners (learner01..learnerNN)")
    klass.add_argument("--listen", metavar="ADDRESS",
                       help="up: also accept learners at ADDRESS (SASL only); default: 127.0.0.1 only")
    klass.add_argument("--wipe", action="store_true", help="down: also delete users, topics and cards")
    klass.add_argument("--stuck", type=float, default=10.0, metavar="MIN",
                       help="board: name learners stuck on an exercise for more than MIN minutes")
    klass.add_argument("--port", type=int, help="board: the web page's port (default: the lab's dashboard port)")


def run(args) -> int:
    """``labkit class ...``: a workshop on one secured cluster (labkit/classroom, issue 20)."""
    from ..cluster.local import LocalCluster
    from . import progress, roster
    cluster = LocalCluster(secure=True)
    if args.action == "up":
        if args.learners is None:
            raise LabError("`labkit class up` needs --learners N.", hint="e.g. `labkit class up --learners 30`.")
        cards = roster.up(args.learners, args.listen, out=sys.stdout, cluster=cluster)
        for path in cards:
            print(f"\n===== {path.stem} =====\n{path.read_text()}", end="")
        print(f"\n{len(cards)} card(s) in {cards[0].parent} (mode 0600: each holds a password). A learner "
              "sets LABKIT_CLASS=<their card>; `labkit class status` shows the class.")
        return 0
    if args.action == "down":
        roster.down(wipe=args.wipe, out=sys.stdout, cluster=cluster)
        return 0
    info = roster.require(cluster)
    if args.action == "board":  # the live board as a web page for the projector (Voilà)
        from . import board
        return board.serve(cluster, args.stuck, port=args.port)
    if args.action == "card":
        if args.number is None:
            raise LabError("`labkit class card` needs a learner number.", hint="e.g. `labkit class card 7`.")
        print(roster.card(args.number, cluster).read_text(), end="")
        return 0
    from ..cli import _status
    rc = _status(cluster)
    print(f"class: {info['learners']} learners; learners connect to {roster.learner_bootstrap(cluster, info)}"
          f"{'' if info.get('listen') else ' (127.0.0.1 only: no --listen)'}; cards in "
          f"{roster.class_dir(cluster.state_dir) / 'cards'}")
    if rc == 0:
        board = progress.table(progress.read(cluster.bootstrap_servers))
        print(board.to_string() if not board.empty else "No exercise verdicts yet.")
    return rc
