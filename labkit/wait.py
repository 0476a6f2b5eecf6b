"""One way to wait: poll a real condition until it holds or a stated timeout passes.

Every wait in labkit goes through ``wait_for``, so each timeout names what it waited for and for
how long, in the same words, as a ``LabError`` with a hint. Notebooks use it too (notebook 01
introduces it), instead of a ``sleep`` that hopes the cluster is ready.
"""
from __future__ import annotations

import time
from typing import Callable, TypeVar

from .errors import LabError

T = TypeVar("T")


class WaitTimeout(LabError):
    """A wait that ran out of time; ``until`` turns it into ``None``, other errors pass through."""


def wait_for(what: str, condition: Callable[[], T], timeout: float, interval: float = 0.2,
             hint: str = "", retry_on: tuple[type[BaseException], ...] = (),
             on_timeout: Callable[[], str] | None = None) -> T:
    """Call ``condition`` until it returns something truthy, and return that.

    ``what`` completes the sentence "waited N s for ...". Exceptions in ``retry_on`` count as
    "not yet" (a broker that is still starting); any other exception ends the wait at once.
    ``on_timeout`` may add detail to the error (a broker's last log lines). The loop is bounded
    by ``timeout`` seconds whatever ``condition`` does, as long as each call returns.
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            result = condition()
            if result:
                return result
        except retry_on as exc:
            last_error = exc
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error})" if last_error is not None else ""
            raise WaitTimeout(f"Waited {timeout:.0f} s for {what}, in vain{detail}.",
                           hint=hint or "is every broker running? `labkit status` shows them; "
                                        "`labkit up` starts what is stopped.",
                           log_tail=on_timeout() if on_timeout else "")
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))


def until(condition: Callable[[], T], timeout: float, interval: float = 0.2) -> T | None:
    """Like ``wait_for`` but answers ``None`` on timeout instead of raising (a bounded "maybe").

    Only the timeout becomes ``None``: a LabError raised by ``condition`` itself reaches the caller.
    """
    try:
        return wait_for("a condition", condition, timeout, interval)
    except WaitTimeout:
        return None
