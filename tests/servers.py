"""Real servers for tests: free ports, finding binaries, starting a private redis-server.

A module of its own (not conftest) so that fixtures in any folder can import it by name.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI") == "true"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find(binary: str, extra_dirs: tuple[str, ...] = ()) -> str | None:
    found = shutil.which(binary)
    if found:
        return found
    for d in extra_dirs:
        candidate = Path(d) / binary
        if candidate.exists():
            return str(candidate)
    return None


def skip_or_fail(reason: str) -> None:
    """Skip with the reason; in CI (.ci/run installs the servers) a missing one is a broken CI: fail."""
    if IN_CI:
        pytest.fail(f"CI must provide this: {reason}")
    pytest.skip(reason)


def require(binary: str, install_hint: str, extra_dirs: tuple[str, ...] = ()) -> str:
    found = find(binary, extra_dirs)
    if found is None:
        skip_or_fail(f"{binary} is not installed ({install_hint})")
        raise AssertionError  # unreachable: skip_or_fail raises
    return found


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM if pytest itself is killed, so no server outlives a broken run."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start_redis(port: int, folder: str) -> subprocess.Popen[bytes]:
    """A private, non-persistent redis-server on 127.0.0.1:``port``, answering when this returns."""
    binary = require("redis-server", "apt-get install redis-server")
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            folder,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )
    try:
        wait_port(port)
    except RuntimeError:
        proc.kill()
        raise
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(10)


# -- the app on a real port, and a real browser ------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"  # Debian's chromium (.ci/run installs it); never a browser download
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextlib.contextmanager
def serve_in_thread(app: object) -> Iterator[str]:
    """Serve ``app`` with uvicorn (lifespan on) on a free loopback port; yields its base URL."""
    import threading

    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on")  # type: ignore[arg-type]
    )
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    """Headless Debian Chromium driven by Playwright (skips locally, fails in CI, when it is missing)."""
    if not Path(CHROMIUM).exists():
        skip_or_fail(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
