"""Find Debian's Chromium for the browser test, installing it with apt when it is missing.

Playwright's own browser build cannot be downloaded here, so the test drives the distribution's
Chromium through ``executable_path``. ``ensure()`` answers (path, "") when Chromium can be had and
(None, reason) when it cannot; every step it takes is printed, and every command is bounded.
Run ``python tests/browser/chromium.py`` to install it by hand.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time

# LABKIT_CHROMIUM names another Chromium (not installed for you); Debian's is the default
CHROMIUM = os.environ.get("LABKIT_CHROMIUM", "/usr/bin/chromium")
PACKAGES = ["chromium", "chromium-driver"]
# Flags for a container without a GPU, a sandbox or a way out: background fetches only get refused.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _run(cmd: list[str], timeout: float) -> tuple[bool, str]:
    print(f"[chromium] $ {' '.join(cmd)}  (at most {timeout:.0f} s)", flush=True)
    t0 = time.monotonic()
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return False, f"`{' '.join(cmd)}` took longer than {timeout:.0f} s"
    except OSError as exc:
        return False, f"`{cmd[0]}` could not run: {exc}"
    print(f"[chromium]   exit {done.returncode} after {time.monotonic() - t0:.1f} s", flush=True)
    if done.returncode:
        return False, f"`{' '.join(cmd)}` failed: {(done.stderr or done.stdout).strip()[-400:]}"
    return True, ""


def ensure(timeout: float = 900.0) -> tuple[str | None, str]:
    """Chromium's path, installing the Debian packages first if needed (root and apt only)."""
    if os.access(CHROMIUM, os.X_OK):
        return CHROMIUM, ""
    if CHROMIUM != "/usr/bin/chromium":
        return None, f"LABKIT_CHROMIUM={CHROMIUM} is not an executable file"
    if not shutil.which("apt-get"):
        return None, f"{CHROMIUM} is missing and this machine has no apt-get to install it"
    if os.geteuid() != 0:
        return None, f"{CHROMIUM} is missing; installing it needs root: apt-get install -y {' '.join(PACKAGES)}"
    t0 = time.monotonic()
    print(f"[chromium] {CHROMIUM} is missing: installing {' '.join(PACKAGES)} with apt", flush=True)
    lock = ["-o", "DPkg::Lock::Timeout=120"]  # another apt may be running; wait for it, bounded
    ok, why = _run(["apt-get", *lock, "update"], timeout / 3)
    if ok:
        ok, why = _run(["apt-get", *lock, "install", "-y", *PACKAGES],
                       max(60.0, timeout - (time.monotonic() - t0)))
    if not ok:
        return None, why
    if not os.access(CHROMIUM, os.X_OK):
        return None, f"apt installed {PACKAGES} but {CHROMIUM} is still missing"
    print(f"[chromium] installed in {time.monotonic() - t0:.0f} s", flush=True)
    return CHROMIUM, ""


if __name__ == "__main__":
    path, reason = ensure()
    print(path or f"no chromium: {reason}")
    raise SystemExit(0 if path else 1)
