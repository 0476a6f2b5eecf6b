"""A learner's lab in class mode: ``LABKIT_CLASS=<card file>`` (issue 20).

The card (``roster.card_text``) is a client properties file: the class cluster's bootstrap
servers and the learner's SCRAM login. ``lk.start()`` then returns a lab on that cluster, with
the external backend's rules (no broker control: kill/stop/pause are refused with a LabError),
and two visible differences:

- ``lab.name("orders")`` is ``"learner07.orders"``: the learner's ACLs cover only names starting
  ``learner07.``, and 30 learners running the same notebook never meet. The lessons name their
  exercise topics and groups through ``lab.name``; outside class mode it returns the name as is.
- every exercise check also publishes its verdict to the instructor's board (``progress``).

Nothing is renamed behind the learner's back: a name not passed through ``lab.name`` is used as
written (and the class cluster's ACLs refuse it, with a hint saying why).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from ..cluster.external import ExternalCluster, read_properties
from ..errors import LabError


class ClassCluster(ExternalCluster):
    """The class cluster seen by one learner, from their card (``LABKIT_CLASS``)."""

    class_mode = True

    def __init__(self, card: str | Path | None = None):
        raw = card or os.environ.get("LABKIT_CLASS", "")
        if not str(raw).strip():
            raise LabError("No class card given.", hint="set LABKIT_CLASS to the card file your instructor "
                                                        "gave you (learnerNN.card).")
        self.card = Path(raw).expanduser()
        try:
            settings = read_properties(self.card)
        except LabError as exc:
            raise LabError(f"Your class card {self.card} cannot be used: {exc.message}",
                           hint="check LABKIT_CLASS: it names the card file your instructor gave you.") from None
        bootstrap, user = settings.get("bootstrap.servers"), settings.get("sasl.username")
        if not bootstrap or not user:
            raise LabError(f"{self.card} is not a class card: it lacks "
                           f"{'bootstrap.servers' if not bootstrap else 'sasl.username'}.",
                           hint="use the learnerNN.card file from `labkit class up` unchanged.")
        super().__init__(bootstrap, client_config=self.card)
        self.learner = user
        self.prefix = f"{user}."

    def up(self, out=sys.stderr, idle_stop: float | None = None) -> list[dict]:
        """Log in once with the card's credentials: a wrong card is a LabError naming it, in seconds."""
        try:
            rows = super().up(out=_Quiet())
        except LabError as exc:
            raise LabError(f"The class cluster did not accept your class card {self.card}: {exc.message}",
                           hint="is the class running (ask your instructor), and is this card the latest "
                                "one they gave you? A card is valid until the class is wiped.") from None
        # Kafka's tool shims and child processes (`!kafka-topics.sh ...`) see the same cluster and login
        # (labkit/toollogin.py reads these two); the card is the truth, over anything set before
        os.environ["LABKIT_BOOTSTRAP"] = self.bootstrap_servers
        os.environ["LABKIT_CLIENT_CONFIG"] = str(self.card)
        # said even under lk.start(quiet=True): the learner must know their verdicts are shared
        print(f"Class mode: {self.learner} on the class cluster at {self.bootstrap_servers}; your topics "
              f"and groups start with '{self.prefix}' (lab.name(\"orders\") -> \"{self.prefix}orders\"), "
              "and each exercise check shares its verdict with your instructor.", file=sys.stdout)
        return rows


class _Quiet:
    def write(self, _text: str) -> None:
        pass

    def flush(self) -> None:
        pass


def name(cluster, base: str) -> str:
    """``base`` with the learner's prefix in class mode (once), ``base`` itself otherwise."""
    prefix = getattr(cluster, "prefix", "") or ""
    if not isinstance(base, str):
        raise LabError(f"lab.name() takes a topic or group name, not {type(base).__name__}.",
                       hint='e.g. lab.name("orders").')
    return base if not prefix or base.startswith(prefix) else prefix + base
