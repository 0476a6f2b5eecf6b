"""One exception family for everything a learner can get wrong (introduced in notebook 00).

A ``LabError`` says what went wrong and, on a ``Hint:`` line, what to do next. In Jupyter it
renders as those lines alone, not as a stack trace through labkit's internals.
"""
from __future__ import annotations


class LabError(Exception):
    """A problem the learner can act on: message, hint and, for a broker, its last log lines."""

    def __init__(self, message: str, hint: str = "", log_tail: str = ""):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.log_tail = log_tail

    def __str__(self) -> str:
        parts = [self.message]
        if self.hint:
            parts.append(f"Hint: {self.hint}")
        if self.log_tail:
            parts.append("Last log lines:\n" + self.log_tail)
        return "\n".join(parts)

    def _render_traceback_(self) -> list[str]:
        # IPython calls this instead of printing the traceback: the learner sees the message.
        return [f"LabError: {line}" if i == 0 else line for i, line in enumerate(str(self).splitlines())]


class ClusterDown(LabError):
    """No broker of the lab cluster answers."""


class FetchError(LabError):
    """Kafka's jars could not be fetched, or Java/Maven is missing."""


def no_cluster(bootstrap: str) -> ClusterDown:
    return ClusterDown(
        f"No Kafka broker answers at {bootstrap}.",
        hint="start the lab cluster with `labkit up` in a terminal, or `lab = lk.start()` in a notebook.",
    )
