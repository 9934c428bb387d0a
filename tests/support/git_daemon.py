"""A real `git daemon` on 127.0.0.1, started and stopped by the test that uses it.

`requests` counts the upload-pack connections the daemon logged (every ls-remote and every
fetch is one), so a test can prove that a run touched the network not at all.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class GitDaemon:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = free_port()
        self.log: list[str] = []
        self._proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"git://127.0.0.1:{self.port}"

    def start(self) -> GitDaemon:
        self._proc = subprocess.Popen(
            ["git", "daemon", "--reuseaddr", "--export-all", "--verbose", "--listen=127.0.0.1",
             f"--port={self.port}", f"--base-path={self.base}", "--informative-errors", str(self.base)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if any("Ready to rumble" in line for line in self.log):
                return self
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("git daemon did not start: " + " | ".join(self.log))

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        for line in self._proc.stderr:
            self.log.append(line.rstrip("\n"))

    @property
    def requests(self) -> int:
        return sum(1 for line in self.log if "Request upload-pack" in line)

    def wait_logged(self, n: int, timeout: float = 5.0) -> None:
        """The daemon logs a request a moment after serving it."""
        deadline = time.monotonic() + timeout
        while self.requests < n and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._reader is not None:
            self._reader.join(timeout=2)
