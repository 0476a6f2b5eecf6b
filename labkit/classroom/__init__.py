"""Workshops on one shared cluster: the class, its learners' cards, and the progress board (issue 20).

The instructor runs ``labkit class up --learners 30 [--listen ADDRESS]`` (``roster``): the secured
lab (SASL/SCRAM and ACLs, notebook 12) with users learner01..learner30, each allowed on topics and
groups named ``learnerNN.*`` and to write (only write) the ``_lab.progress`` topic, and one card
file per learner. A learner sets ``LABKIT_CLASS=<their card file>``; ``lk.start()`` then returns a
lab in class mode (``mode``): the card's cluster and login, and ``lab.name("orders")`` gives
``learner07.orders``, the name the lessons use for their exercise topics and groups. Every
exercise check then also publishes its verdict (``progress``); the instructor's ``lab.progress()``
and ``lab.progress_board()`` (``board``) show who finished what and who is stuck.
"""
from __future__ import annotations

PROGRESS_TOPIC = "_lab.progress"
LEARNER_PREFIX = "learner"
