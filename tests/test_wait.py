"""labkit.wait: the one wait helper, its timeout and its bounded "maybe"."""
import time

import pytest

from labkit.errors import LabError
from labkit.wait import WaitTimeout, until, wait_for


def test_wait_for_returns_what_the_condition_found():
    calls = []
    assert wait_for("the third call", lambda: calls.append(1) or len(calls) >= 3 and "found", 5, 0.01) == "found"


def test_wait_for_names_what_it_waited_for_and_how_long():
    t0 = time.monotonic()
    with pytest.raises(WaitTimeout) as err:
        wait_for("the sky to fall", lambda: False, 0.3, 0.05, hint="look up")
    assert time.monotonic() - t0 < 2
    assert "Waited 0 s for the sky to fall" in str(err.value) and "Hint: look up" in str(err.value)
    assert isinstance(err.value, LabError)


def test_retry_on_counts_as_not_yet_and_is_reported():
    def flaky():
        raise ConnectionError("refused")
    with pytest.raises(WaitTimeout, match="last error: refused"):
        wait_for("a port", flaky, 0.2, 0.05, retry_on=(ConnectionError,))


def test_until_is_none_on_timeout_but_lets_a_real_error_through():
    assert until(lambda: None, 0.2, 0.05) is None

    def broken():
        raise LabError("the broker said no", hint="read it")
    with pytest.raises(LabError, match="the broker said no"):
        until(broken, 5, 0.05)  # not swallowed as "timed out"
