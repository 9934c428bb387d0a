"""`repopack scan`: the secret scanner on its own, for a tree, some files or the staged changes.

Exit 0: nothing found; 1: credentials found (listed by file:line:column and type, never
the value).  `--staged` scans what `git commit` would record (the index), which is what
the pre-commit hook in `.pre-commit-hooks.yaml` runs.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import click

from repopack import __version__
from repopack.cli.app import cli
from repopack.cli.common import stderr_console
from repopack.errors import RepoError
from repopack.packing.redaction import SecretFinding, report_lines
from repopack.packing.walk import MAX_FILE_BYTES, WalkRules, decode_text, walk_repo
from repopack.util.git import GitError, run_git_bytes
from repopack.util.limits import BINARY_SNIFF_BYTES

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


@dataclass(frozen=True)
class ScanReport:
    findings: tuple[SecretFinding, ...]
    files: int


@cli.command("scan")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--staged", is_flag=True, help="Scan the staged changes (what `git commit` would record).")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.option("--sarif", is_flag=True, help="Print the findings as SARIF 2.1.0 (for code scanning).")
def scan_command(paths: tuple[str, ...], staged: bool, as_json: bool, sarif: bool) -> None:
    """Find credentials in PATHS (files or directories; default: the current directory).

    Exits 1 when something is found. Values are never printed.
    """
    from repopack.packing.scan import redact_text

    if staged:
        items = staged_files(Path(paths[0]) if paths else Path("."))
    else:
        items = [item for path in (paths or (".",)) for item in files_under(Path(path))]
    findings: list[SecretFinding] = []
    for rel, text in items:
        findings.extend(redact_text(rel, text).findings)
    report = ScanReport(tuple(findings), len(items))
    if sarif:
        click.echo(json.dumps(sarif_log(report), indent=2))
    elif as_json:
        click.echo(json.dumps(json_report(report), indent=2))
    else:
        for f in report.findings:
            click.echo(f"{f.path}:{f.line}:{f.column}: {f.type}")
    err = stderr_console()
    if report.findings:
        from repopack.packing.secret_rules import group_of

        summary = report_lines(report.findings, group_of, limit=0, see="")[0]
        err.print(summary.replace("redacted", "found", 1) + f" (of {report.files} scanned)", markup=False)
        sys.exit(1)
    err.print(f"no secrets found in {report.files} files", markup=False)


def files_under(path: Path) -> list[tuple[str, str]]:
    """(path as given or relative to a scanned directory, text) of each text file."""
    if not path.exists():
        raise RepoError(f"no such file or directory: {path}")
    if path.is_file():
        return [(path.as_posix(), _read_text(path))] if not _binary(path) else []
    walked = walk_repo(path, WalkRules(include_sensitive=True))  # .env and key files are what matter most here
    prefix = "" if path.resolve() == Path.cwd().resolve() else path.as_posix().rstrip("/") + "/"
    return [(prefix + f.path, f.text) for f in walked.files]


def staged_files(root: Path) -> list[tuple[str, str]]:
    """The staged content of every added, copied, modified or renamed file."""
    names = _git(root, "diff", "--cached", "--name-only", "--diff-filter=ACMR", "--ignore-submodules=dirty",
                 "-z").decode("utf-8", "surrogateescape")
    out: list[tuple[str, str]] = []
    for name in filter(None, names.split("\0")):
        blob = _git(root, "show", f":{name}")
        if len(blob) > MAX_FILE_BYTES or b"\0" in blob[:BINARY_SNIFF_BYTES]:
            continue
        out.append((name, decode_text(blob)[0]))
    return out


def _git(root: Path, *args: str) -> bytes:
    try:
        return run_git_bytes(root, *args, what="--staged", timeout=120)
    except GitError as exc:
        raise RepoError(f"{exc} (is {root} a git repository?)") from None


def _binary(path: Path) -> bool:
    with path.open("rb") as handle:
        return b"\0" in handle.read(BINARY_SNIFF_BYTES)


def _read_text(path: Path) -> str:
    try:
        return decode_text(path.read_bytes())[0]
    except OSError as exc:
        raise RepoError(f"cannot read {path}: {exc.strerror or exc}") from None


def json_report(report: ScanReport) -> dict[str, object]:
    from repopack.packing.scan import rules_version

    return {
        "repopack": __version__,
        "rules_version": rules_version(),
        "files_scanned": report.files,
        "findings": [{"path": f.path, "line": f.line, "column": f.column, "type": f.type} for f in report.findings],
    }


def sarif_log(report: ScanReport) -> dict[str, object]:
    from repopack.packing.scan import rules_version
    from repopack.packing.secret_rules import group_of

    types = sorted({f.type for f in report.findings})
    rule_ids = {t: "secret/" + "-".join(t.lower().split()) for t in types}
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "repopack", "version": __version__, "semanticVersion": __version__,
                "informationUri": "https://pypi.org/project/repopack/",
                "properties": {"rulesVersion": rules_version()},
                "rules": [{"id": rule_ids[t], "name": t, "shortDescription": {"text": f"{t} in source"},
                           "properties": {"group": group_of(t)},
                           "defaultConfiguration": {"level": "error"}} for t in types],
            }},
            "results": [{
                "ruleId": rule_ids[f.type],
                "level": "error",
                "message": {"text": f"{f.type} committed in {f.path}; revoke it and load it from the environment"},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": f.path},
                    "region": {"startLine": f.line, "startColumn": max(f.column, 1)},
                }}],
            } for f in report.findings],
        }],
    }
