"""Failing tests → failures with traceback frames → ranking signals, and the model's explanation.

`run_tests` runs the test command (by default pytest, writing a JUnit XML report into a
temporary file) under a timeout; `read_junit` reads any JUnit XML report.  Each failure
keeps its traceback and the frames in it that point into the repository, innermost
last, so `failure_signals` can rank with those frames and the test file as focus.
Nothing here modifies the repository: fixes are only proposed.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from repopack.chat.session import Session
from repopack.errors import RepoError, UsageError
from repopack.model.templates import render_template
from repopack.packing.pipeline import PackResult, pack_repo
from repopack.packing.rank import Signals
from repopack.packing.scan import redact_text

TIMEOUT_EXIT = 124  # the status `timeout(1)` uses when it kills the command
# "path/to/file.py:12: in func" / "path/to/file.py:12: AssertionError" (pytest) and
# 'File "path/to/file.py", line 12, in func' (Python's own traceback format).
_PYTEST_FRAME = re.compile(r"^(?P<path>[^\s:][^:\n]*?\.[A-Za-z0-9]+):(?P<line>\d+):(?: |$)", re.MULTILINE)
_NATIVE_FRAME = re.compile(r'^\s*File "(?P<path>[^"\n]+)", line (?P<line>\d+)', re.MULTILINE)
_OUTPUT_TAIL = 30


@dataclass(frozen=True)
class Failure:
    name: str  # tests/test_calc.py::test_add
    kind: str  # failure | error
    message: str
    traceback: str
    file: str | None  # the test file, repo-relative
    line: int | None
    frames: tuple[tuple[str, int], ...]  # repo-relative (path, line), innermost last
    duplicates: int = 0  # other failures with the same cause

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.file and self.line else (self.file or "")

    @property
    def cause_key(self) -> tuple[str, ...]:
        """Failures raised at the same place with the same first message line share a cause."""
        first = self.message.strip().splitlines()[0] if self.message.strip() else ""
        where = f"{self.frames[-1][0]}:{self.frames[-1][1]}" if self.frames else self.name
        return (where, first)


@dataclass(frozen=True)
class TestRun:
    command: tuple[str, ...]  # as the user gave it (without the report options repopack adds)
    returncode: int
    failures: tuple[Failure, ...]
    output: str  # combined stdout and stderr of the test command (empty when only a report was read)
    seconds: float
    timed_out: bool = False

    @property
    def output_tail(self) -> str:
        return "\n".join(self.output.rstrip().splitlines()[-_OUTPUT_TAIL:])


def _relative(root: Path, path: str) -> str | None:
    """A repo-relative POSIX path for a traceback path, or None when it is outside the repository."""
    candidate = Path(path)
    if not candidate.is_absolute():
        candidate = root / candidate
    try:
        rel = candidate.resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        return None
    return PurePosixPath(*rel.parts).as_posix() if (root / rel).is_file() else None


def traceback_frames(text: str, root: Path) -> tuple[tuple[str, int], ...]:
    """Frames of a traceback that point into the repository, in order (innermost last), without repeats."""
    found: list[tuple[int, str, int]] = []
    for pattern in (_PYTEST_FRAME, _NATIVE_FRAME):
        for match in pattern.finditer(text):
            found.append((match.start(), match.group("path"), int(match.group("line"))))
    frames: list[tuple[str, int]] = []
    for _pos, path, line in sorted(found):
        rel = _relative(root, path)
        if rel is not None and (rel, line) not in frames:
            frames.append((rel, line))
    return tuple(frames)


def _test_file(root: Path, case: ET.Element, frames: Sequence[tuple[str, int]]) -> tuple[str | None, int | None]:
    line = case.get("line")
    number = int(line) + 1 if line and line.isdigit() else None  # pytest writes the 0-based line
    if case.get("file"):
        rel = _relative(root, case.get("file", ""))
        if rel is not None:
            return rel, number
    classname = case.get("classname") or ""
    parts = classname.split(".")
    for k in range(len(parts), 0, -1):
        rel = _relative(root, "/".join(parts[:k]) + ".py")
        if rel is not None:
            return rel, number
    return (frames[0][0], frames[0][1]) if frames else (None, None)


def read_junit(path: Path, root: Path) -> list[Failure]:
    """Failures and errors of a JUnit XML report (pytest's, or any xunit tool's)."""
    try:
        tree = ET.parse(path)
    except (OSError, ET.ParseError) as exc:
        raise RepoError(f"cannot read the JUnit report {path}: {exc}") from None
    failures = []
    for case in tree.iter("testcase"):
        for kind in ("failure", "error"):
            node = case.find(kind)
            if node is None:
                continue
            text = node.text or ""
            message = node.get("message") or (text.strip().splitlines()[-1] if text.strip() else kind)
            message = _with_exception(message, text)
            frames = traceback_frames(text, root)
            file, line = _test_file(root, case, frames)
            classname = case.get("classname") or ""
            test = case.get("name") or "?"
            name = f"{file}::{test}" if file else (f"{classname}.{test}" if classname else test)
            failures.append(Failure(name, kind, message.strip(), text.strip(), file, line, frames))
            break
    return failures


_EXCEPTION_LINE = re.compile(r"^(?:E\s+)?((?:[A-Za-z_][\w]*\.)*[A-Za-z_]\w*(?:Error|Exception|Exit|Interrupt)\b.*)$")


def _with_exception(message: str, text: str) -> str:
    """A message that names no exception ("collection failure") gets the exception the report
    holds, e.g. "collection failure: ModuleNotFoundError: No module named 'yaml'"."""
    if re.search(r"\w(?:Error|Exception)\b", message):
        return message
    for line in reversed(text.splitlines()):
        found = _EXCEPTION_LINE.match(line.strip())
        if found:
            return f"{message.rstrip(': ')}: {found.group(1).strip()}"
    return message


def deduplicate(failures: Sequence[Failure], limit: int) -> list[Failure]:
    """One failure per cause (with a count of the others), at most `limit`."""
    firsts: dict[tuple[str, ...], Failure] = {}
    for f in failures:
        key = f.cause_key
        if key in firsts:
            firsts[key] = dataclasses.replace(firsts[key], duplicates=firsts[key].duplicates + 1)
        else:
            firsts[key] = f
    return list(firsts.values())[:limit]


def is_pytest(command: Sequence[str]) -> bool:
    names = [PurePosixPath(part).name for part in command]
    return any(n in ("pytest", "py.test") for n in names) or any(
        command[i] == "-m" and command[i + 1] == "pytest" for i in range(len(command) - 1))


def default_command() -> list[str]:
    """pytest from PATH (the user's environment) when there is one, else this interpreter's."""
    found = shutil.which("pytest")
    return [found] if found else [sys.executable, "-m", "pytest"]


def command_argv(command: str | None, junit: Path | None) -> list[str]:
    """The command to run, checked before anything runs: usage errors come before "Running …"."""
    try:
        argv = shlex.split(command) if command else [*default_command(), "-q"]
    except ValueError as exc:
        raise UsageError(f"--cmd {command!r}: {exc}") from None
    if not argv:
        raise UsageError("--cmd is empty")
    if junit is None and not is_pytest(argv):
        raise UsageError("--cmd is not pytest, so repopack cannot add a JUnit report to it: make the command "
                         "write one and pass its path with --junit FILE")
    return argv


def run_tests(root: Path, command: str | None = None, junit: Path | None = None,
              timeout: float = 600.0) -> TestRun:
    """Run the tests in `root` and collect failures; with only `junit`, read that report instead."""
    if command is None and junit is not None:
        failures = read_junit(junit, root)
        return TestRun((), 1 if failures else 0, tuple(failures), "", 0.0)
    argv = command_argv(command, junit)
    shown = tuple(argv)
    with tempfile.TemporaryDirectory(prefix="repopack-tests-") as tmp:
        report = junit
        if report is None:
            report = Path(tmp) / "junit.xml"
            argv += [f"--junitxml={report}", "-o", "junit_family=xunit1"]
        started = time.monotonic()
        try:
            proc = subprocess.run(argv, cwd=root, capture_output=True, text=True, timeout=timeout,
                                  env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}, errors="replace")
        except FileNotFoundError:
            raise UsageError(f"cannot run {argv[0]!r}: not found (pass --cmd, e.g. --cmd '.venv/bin/python -m "
                             f"pytest -q')") from None
        except subprocess.TimeoutExpired as exc:
            output = _text(exc.stdout) + _text(exc.stderr)
            return TestRun(shown, TIMEOUT_EXIT, (), output, timeout, timed_out=True)
        seconds = time.monotonic() - started
        failures = read_junit(report, root) if report.is_file() else []
    return TestRun(shown, proc.returncode, tuple(failures), proc.stdout + proc.stderr, seconds)


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode("utf-8", "replace")


# --- context and question ------------------------------------------------------------------------
def failure_signals(failure: Failure) -> Signals:
    """Rank with the traceback's frames and the test file as focus, and the error text as the query."""
    focus = (failure.file,) if failure.file else ()
    query = "\n".join(filter(None, [failure.name, failure.message, failure.traceback]))
    return Signals(query=query, focus=focus, frames=failure.frames)


def failure_for_prompt(failure: Failure) -> dict[str, str]:
    """The failure as the template sees it, redacted (tracebacks can show secrets from the environment)."""
    def clean(text: str) -> str:
        return redact_text(failure.file or "traceback", text).text

    name = failure.name + (f" (and {failure.duplicates} more failing the same way)" if failure.duplicates else "")
    return {"name": name, "location": failure.location, "message": clean(failure.message),
            "traceback": clean(failure.traceback)}


@dataclass(frozen=True)
class Explanation:
    failure: Failure
    pack: PackResult
    messages: tuple[dict[str, str], ...]


def prepare_explanation(session: Session, failure: Failure, command: Sequence[str] = (),
                        progress: Callable[[str, int, int], None] | None = None) -> Explanation:
    """Pack the context for one failure (line-numbered, redacted) and build the messages."""
    def prompt(context: str) -> str:
        return render_template("explain_tests", session.prompts_dir, context=context,
                               failures=[failure_for_prompt(failure)], command=shlex.join(command))

    settings = dataclasses.replace(session.settings, line_numbers=True)
    budget = session.budget_for(prompt(""))
    pack = pack_repo(session.root, dataclasses.replace(settings, budget=budget), failure_signals(failure), progress)
    messages = ({"role": "system", "content": session.system_prompt()}, {"role": "user", "content": prompt(pack.text)})
    return Explanation(failure, pack, messages)


def explain_stream(session: Session, explanation: Explanation) -> Iterator[str]:
    """The model's answer as it streams (root cause and a fix as a diff); nothing is applied."""
    from repopack.model.client import stream_chat

    session.check_cost(session.estimate(explanation.messages)[1])
    for event in stream_chat(session.config(), list(explanation.messages)):
        if event.kind == "text":
            yield event.text
