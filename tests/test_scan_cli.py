"""`repopack scan`: files, trees and staged changes; text, JSON and SARIF; the pre-commit hook."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import git
from helpers import run_cli

TOKEN = "ghp_" + "Zr8kQ2mW7xLp4vT9bN3cJ6hY1sE5dA0fGuRi"
CONFIG = f'[deploy]\nhost = ci.internal\npassword = Vm7#qK2xR9tLw4Zp\ngithub = "{TOKEN}"\n'


def test_a_tree_with_credentials_exits_1_and_lists_them_without_values(make_repo) -> None:
    root = make_repo({"deploy.ini": CONFIG, "app.py": "def f():\n    return 1\n", ".env": f"TOKEN={TOKEN}\n"})
    result = run_cli("scan", cwd=root)
    assert result.returncode == 1
    assert result.stdout == (".env:1:7: GitHub Token\ndeploy.ini:3:12: Secret Keyword\n"
                             "deploy.ini:4:11: GitHub Token\n")
    assert result.stderr == "found 3 secrets in 2 files: 2 GitHub, 1 password (of 3 scanned)\n"
    assert TOKEN not in result.stdout + result.stderr and "Vm7#qK2xR9tLw4Zp" not in result.stdout + result.stderr


def test_a_clean_tree_exits_0(make_repo) -> None:
    root = make_repo({"app.py": 'PASSWORD_FIELD = "password"\nsecret = settings.SECRET_KEY\n'})
    result = run_cli("scan", str(root))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "no secrets found in 1 files\n")


def test_json_and_sarif(make_repo) -> None:
    root = make_repo({"deploy.ini": CONFIG})
    as_json = run_cli("scan", "--json", str(root / "deploy.ini"))
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert report["files_scanned"] == 1 and report["rules_version"]
    assert report["findings"] == [
        {"path": str(root / "deploy.ini"), "line": 3, "column": 12, "type": "Secret Keyword"},
        {"path": str(root / "deploy.ini"), "line": 4, "column": 11, "type": "GitHub Token"},
    ]
    sarif = run_cli("scan", "--sarif", cwd=root)
    assert sarif.returncode == 1
    log = json.loads(sarif.stdout)
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} == {"secret/github-token", "secret/secret-keyword"}
    assert [(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
             r["locations"][0]["physicalLocation"]["region"]) for r in run["results"]] == [
        ("secret/secret-keyword", "deploy.ini", {"startLine": 3, "startColumn": 12}),
        ("secret/github-token", "deploy.ini", {"startLine": 4, "startColumn": 11}),
    ]
    assert TOKEN not in sarif.stdout


def test_staged_scans_what_the_commit_would_record(make_repo) -> None:
    root = make_repo({"app.py": "x = 1\n"})
    (root / "deploy.ini").write_text(CONFIG, encoding="utf-8")
    assert run_cli("scan", "--staged", cwd=root).returncode == 0  # not staged yet
    git(root, "add", "deploy.ini")
    (root / "deploy.ini").write_text("[deploy]\nhost = ci.internal\n", encoding="utf-8")  # worktree is clean now
    staged = run_cli("scan", "--staged", cwd=root)
    assert staged.returncode == 1
    assert staged.stdout == "deploy.ini:3:12: Secret Keyword\ndeploy.ini:4:11: GitHub Token\n"
    git(root, "add", "deploy.ini")
    assert run_cli("scan", "--staged", cwd=root).returncode == 0


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    missing = run_cli("scan", str(tmp_path / "nope"))
    assert (missing.returncode, missing.stderr) == (4, f"repopack: error: no such file or directory: "
                                                        f"{tmp_path / 'nope'}\n")
    not_git = run_cli("scan", "--staged", cwd=tmp_path)
    assert not_git.returncode == 4 and not_git.stderr.startswith("repopack: error: --staged: ")
    assert "Traceback" not in not_git.stderr


def test_the_pre_commit_hook_is_a_valid_manifest_entry() -> None:
    from pre_commit.clientlib import load_manifest

    hooks = {h["id"]: h for h in load_manifest(str(Path(__file__).parent.parent / ".pre-commit-hooks.yaml"))}
    hook = hooks["repopack-scan"]
    assert hook["entry"] == "repopack scan --staged" and hook["pass_filenames"] is False
