"""The contract every cluster backend honours (local JVMs, docker compose), and what they share.

``Cluster`` holds the behaviour a learner sees the same on either backend (notebooks 00 and 06):
the status rows, the active controller, port checks, broker control by id (kill, stop, start,
pause, resume) with the same messages and bounded waits, and ``heal``. A backend overrides only
what differs: how it finds a broker's state and pid, reads its ``quorum-state``, and carries out
each verb (``_kill``, ``_stop``, ``_start``, ``_pause``, ``_resume``).
"""
from __future__ import annotations

import sys
import time
from contextlib import nullcontext

from .. import clients, config
from ..errors import LabError
from ..wait import wait_for
from . import procs, ready

STATES = ("running", "paused", "stopped")  # what status() reports (local may add "exiting")


def check_node(node) -> int:
    """The broker id as an int, or a LabError naming the brokers there are (every backend)."""
    try:
        node = int(node)
    except (TypeError, ValueError):
        node = -1
    if node not in config.NODES:
        raise LabError(f"There is no broker {node}: the lab cluster has brokers "
                       f"{', '.join(map(str, config.NODES))}.",
                       hint="pick one of those ids; `labkit status` lists them.")
    return node


def port_hint(owner: str) -> str:
    """What to do about a lab port another program holds; names the other backend when it is one."""
    if "docker-proxy" in owner or "com.docker" in owner:
        return ("the lab cluster on Docker (compose) holds it: stop it with "
                "`labkit --backend compose down`, or give this lab other ports with LABKIT_PORT_BASE.")
    if "kafka.Kafka" in owner:
        return ("the local lab cluster holds it: stop it with `labkit --backend local down`, "
                "or give this lab other ports with LABKIT_PORT_BASE (for example 29092).")
    return "stop what holds it, or give the lab other ports with LABKIT_PORT_BASE (for example 29092)."


class Cluster:
    """Three KRaft nodes (broker and controller each) that labkit can inspect and break on purpose."""

    backend = "?"
    # the words each verb reports; a backend names its own mechanism (SIGSTOP, docker pause, ...)
    WORDS = {"kill": "killed (SIGKILL)", "pause": "paused (SIGSTOP)", "resume": "resumed (SIGCONT)"}
    port_base: int
    bootstrap_servers: str

    check_node = staticmethod(check_node)

    # ---- what a backend provides --------------------------------------------------------
    def _state(self, node: int) -> str:
        """'running', 'paused' or 'stopped' (local mode may say 'exiting' for a dying JVM)."""
        raise NotImplementedError

    def pid(self, node: int) -> int | None:
        raise NotImplementedError

    def _quorum_state(self, node: int) -> dict | None:
        """Node ``node``'s KRaft ``quorum-state`` document, or None when it cannot be read."""
        raise NotImplementedError

    def log_tail(self, node: int, lines: int = 30) -> str:
        raise NotImplementedError

    def _lock(self, operation: str, out=None):
        """One operation at a time on this cluster (local mode: a file lock); none by default."""
        return nullcontext()

    def _present(self, node: int) -> bool:
        """Whether broker ``node`` runs (or is paused): something to kill, stop or pause."""
        return self._state(node) != "stopped"

    def _answers(self, node: int) -> bool:
        return procs.port_answers(self.port(node))

    # ---- shared: ports, status, controller ----------------------------------------------
    def port(self, node: int) -> int:
        """Broker ``node``'s client port on 127.0.0.1."""
        return config.client_port(node, self.port_base)

    def _port_taken(self, node: int, port: int) -> LabError:
        owner = procs.port_owner(port)
        return LabError(f"Port {port} for broker {node} is already taken{' by ' + owner if owner else ''}.",
                        hint=port_hint(owner))

    def check_ports_free(self, nodes) -> None:
        """A LabError naming the holder (and the other backend, if it is one) for a taken port."""
        for node in nodes:
            port = self.port(node)
            if not procs.port_free(port):
                raise self._port_taken(node, port)

    def status(self) -> list[dict]:
        """One dict per broker: broker, state, pid, port, answers, controller (both backends alike)."""
        controller = self.active_controller()
        rows = []
        for n in config.NODES:
            state = self._state(n)
            running = state != "stopped"
            rows.append({"broker": n, "state": state, "pid": self.pid(n) if running else None,
                         "port": self.port(n), "answers": running and self._answers(n),
                         "controller": n == controller})
        return rows

    def active_controller(self) -> int | None:
        """Id of the active KRaft controller, from the nodes' ``quorum-state`` documents.

        Clients cannot ask this through the metadata API (KRaft reports a random broker there), so
        labkit reads what each controller persists on election: the highest epoch's leader wins.
        """
        present = {n for n in config.NODES if self._state(n) != "stopped"}
        states = [s for s in map(self._quorum_state, sorted(present)) if s]
        leader = ready.leader_from_states(states)
        return leader if leader in present else None

    # ---- broker control by id (notebook 06) ---------------------------------------------
    def _wait_state(self, node: int, wanted: str, what: str, timeout: float = config.TIMEOUTS.kill) -> None:
        wait_for(f"broker {node} to be {what}", lambda: self._state(node) == wanted, timeout, 0.05,
                 hint="`labkit status` shows its state now.", on_timeout=lambda: self.log_tail(node, 10))

    def kill(self, node) -> str:
        """SIGKILL (or ``docker kill``) broker ``node``: a crash, no goodbye to the controller."""
        node = self.check_node(node)
        with self._lock(f"kill {node}"):
            if not self._present(node):
                return f"broker {node} was not running"
            self._kill(node)
            self._wait_state(node, "stopped", "gone after the kill")
            return f"broker {node} {self.WORDS['kill']}"

    def stop(self, node) -> str:
        """Graceful shutdown of broker ``node``: it hands its leaderships over first."""
        node = self.check_node(node)
        with self._lock(f"stop {node}"):
            if not self._present(node):
                return f"broker {node} was not running"
            return f"broker {node}: {self._stop(node)}"

    def start(self, node, out=sys.stderr) -> str:
        """Start broker ``node`` again and return once the cluster metadata lists it."""
        node = self.check_node(node)
        with self._lock(f"start {node}", out):
            if self._present(node):
                return f"broker {node} is already running"
            return f"broker {node} started ({self._start(node, out)}) and registered"

    def _pause_or_resume(self, node, verb: str, wanted: str) -> str:
        node = self.check_node(node)
        with self._lock(f"{verb} {node}"):
            state = self._state(node) if self._present(node) else "stopped"
            if state == "stopped":
                raise LabError(f"Broker {node} is not running, so it cannot be {self.WORDS[verb]}.",
                               hint=f"start it with `labkit start {node}` (lab.start_broker({node})).")
            if state != wanted:  # like SIGSTOP/SIGCONT, doing it twice is harmless
                getattr(self, f"_{verb}")(node)
                self._wait_state(node, wanted, wanted)
            return f"broker {node} {self.WORDS[verb]}"

    def pause(self, node) -> str:
        """Freeze broker ``node``: alive but silent, like a long GC pause or a hung disk."""
        return self._pause_or_resume(node, "pause", "paused")

    def resume(self, node) -> str:
        """Let a paused broker run again."""
        return self._pause_or_resume(node, "resume", "running")

    def heal(self, out=sys.stderr) -> list[dict]:
        """Resume paused brokers and start stopped ones: the whole cluster ready again."""
        with self._lock("heal", out):
            for n in config.NODES:
                if self._state(n) == "paused":
                    self.resume(n)
            return self.up(out=out)

    def _exited(self, node: int) -> bool:
        if self._state(node) == "stopped":
            raise LabError(f"Broker {node} exited during start-up.",
                           hint=f"read its log with `labkit --backend {self.backend} logs {node}`.",
                           log_tail=self.log_tail(node, 15))
        return False

    def wait_listening(self, nodes, timeout: float) -> None:
        """Block until each of ``nodes`` answers on its port; fail at once if one stops again."""
        end = time.monotonic() + timeout
        for node in nodes:
            wait_for(f"broker {node} to listen on port {self.port(node)}",
                     lambda: not self._exited(node) and self._answers(node),
                     max(0.0, end - time.monotonic()), 0.25,
                     hint=f"`labkit --backend {self.backend} logs {node}` shows what it is doing.",
                     on_timeout=lambda: self.log_tail(node, 10))

    def wait_registered(self, node: int, out, timeout: float) -> None:
        """Block until broker ``node`` listens and the cluster metadata lists it (a broker killed a
        moment ago is still listed until its session times out: listening comes first)."""
        self.wait_listening([node], timeout)
        with clients.quiet_admin(self.bootstrap_servers) as admin:
            wait_for(f"broker {node} to register", lambda: not self._exited(node)
                     and node in ready.registered(admin), timeout, 0.25,
                     hint=f"`labkit --backend {self.backend} logs {node}` shows what it is doing.",
                     on_timeout=lambda: self.log_tail(node, 10))
        out.write(f"  broker {node} registered\n")

    # the verbs a backend carries out; the waits around them are above
    def _kill(self, node: int) -> None:
        raise NotImplementedError

    def _stop(self, node: int) -> str:
        raise NotImplementedError

    def _start(self, node: int, out) -> str:
        raise NotImplementedError

    def _pause(self, node: int) -> None:
        raise NotImplementedError

    def _resume(self, node: int) -> None:
        raise NotImplementedError

    def up(self, out=sys.stderr) -> list[dict]:
        raise NotImplementedError

    def down(self, wipe: bool = False, out=sys.stderr) -> None:
        raise NotImplementedError
