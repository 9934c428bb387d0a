"""Say what is true: budgets read the same everywhere, advice from the real header, no empty packs
with exit 0, no silent encoding swap, one-line usage and output errors, review's missing token,
Ctrl-C in helper processes, and explain-tests' collection errors."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest
from helpers import run_cli
from support.fake_github import serve_fake_github

from repopack.util.procs import helper_pool


@pytest.fixture
def pyapp(fixture_repo) -> Path:
    return fixture_repo("pyapp")


def packed_line(stderr: str) -> str:
    return next(line for line in stderr.splitlines() if line.startswith("Packed "))


@pytest.mark.parametrize("where", ["env", "repo-config", "user-config"])
def test_32k_is_read_as_a_budget_everywhere(pyapp: Path, tmp_path: Path, where: str) -> None:
    env: dict[str, str] = {}
    if where == "env":
        env["REPOPACK_BUDGET"] = "1.5k"
    elif where == "repo-config":
        (pyapp / ".repopack.toml").write_text('budget = "1.5k"\n', encoding="utf-8")
    else:
        config = Path(os.environ["REPOPACK_CONFIG_DIR"])
        config.mkdir(parents=True, exist_ok=True)
        (config / "config.toml").write_text('budget = "1_500"\n', encoding="utf-8")
    result = run_cli("pack", str(pyapp), "-o", str(tmp_path / "out.xml"), env=env)
    assert result.returncode == 0, result.stderr
    assert " of 1,500 budget " in packed_line(result.stderr)


def test_a_bad_budget_in_the_environment_is_a_config_error(pyapp: Path) -> None:
    result = run_cli("pack", str(pyapp), "-o", "-", env={"REPOPACK_BUDGET": "lots"})
    assert result.returncode == 3
    assert result.stderr.startswith("repopack: error: environment: bad value for 'budget': 'lots'")


def test_minimum_budget_advice_is_the_real_header_and_an_empty_pack_is_an_error(pyapp: Path,
                                                                               tmp_path: Path) -> None:
    out = tmp_path / "out.xml"
    tiny = run_cli("pack", str(pyapp), "--budget", "10", "-o", str(out))
    assert tiny.returncode == 5
    (line,) = tiny.stderr.splitlines()
    header = int(line.split("use --budget ", 1)[1].split(" ", 1)[0])
    assert line == (f"repopack: error: a budget of 10 tokens cannot hold even the prompt header ({header} tokens): "
                    f"use --budget {header} or more; about {line.rsplit('about ', 1)[1].split(' ', 1)[0]} holds the "
                    "top-ranked file too")
    # The advice is true: the header fits at exactly that budget; but a pack of no file is not written.
    just_header = run_cli("pack", str(pyapp), "--budget", str(header), "-o", str(out))
    assert just_header.returncode == 5
    (empty,) = just_header.stderr.splitlines()
    assert empty.startswith(f"repopack: error: a budget of {header} tokens holds the prompt header ({header} "
                            "tokens) but not one file's text: use --budget ")
    assert empty.endswith(" or more (about what the top-ranked file needs); nothing was written")
    assert not out.exists()
    useful = int(empty.split("use --budget ", 1)[1].split(" ", 1)[0])
    enough = run_cli("pack", str(pyapp), "--budget", str(useful), "-o", str(out))
    assert enough.returncode == 0, enough.stderr
    assert "<file path=" in out.read_text(encoding="utf-8")


def test_an_explicit_encoding_that_cannot_be_loaded_is_an_error_unless_the_fallback_is_allowed(
        pyapp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tiktoken

    from repopack.packing import tokens

    def offline(name: str) -> tiktoken.Encoding:
        raise OSError("network is unreachable")

    monkeypatch.setattr(tokens, "_load_with_timeout", offline)  # the download, not the counting
    refused = run_cli("pack", str(pyapp), "--encoding", "o200k_base", "-o", "-")
    assert refused.returncode == 3
    assert refused.stdout == ""
    assert refused.stderr == ("repopack: error: encoding o200k_base cannot be loaded (tiktoken downloads it on "
                              "first use; offline?): use --encoding cl100k_base, which ships offline, or set "
                              "REPOPACK_ENCODING_FALLBACK=1 to count with it instead\n")
    allowed = run_cli("pack", str(pyapp), "--encoding", "o200k_base", "-o", "-",
                      env={"REPOPACK_ENCODING_FALLBACK": "1"})
    assert allowed.returncode == 0, allowed.stderr
    assert "note: encoding o200k_base could not be loaded (offline?); counting with cl100k_base" in allowed.stderr
    default = run_cli("pack", str(pyapp), "-o", "-")  # nothing named: the fallback with a note, as before
    assert default.returncode == 0, default.stderr


@pytest.mark.parametrize(("args", "message"), [
    (("pack", "--bogus"), "repopack: error: No such option '--bogus'. Did you mean '--focus'? (see repopack pack "
                          "--help)"),
    (("pack", "--format", "yaml"), "repopack: error: Invalid value for '--format': 'yaml' is not one of 'xml', "
                                   "'markdown', 'plain'. (see repopack pack --help)"),
    (("ask",), "repopack: error: Missing argument '[PATH] QUESTION'. (see repopack ask --help)"),
    (("frobnicate",), "repopack: error: No such command 'frobnicate'. (see repopack --help)"),
])
def test_usage_errors_are_one_line_with_exit_2(args: tuple[str, ...], message: str) -> None:
    result = run_cli(*args)
    assert (result.returncode, result.stderr) == (2, message + "\n")


def test_bare_repopack_still_shows_the_help() -> None:
    result = run_cli()
    assert result.returncode == 2
    assert "Usage: repopack [OPTIONS] COMMAND [ARGS]..." in result.stderr + result.stdout
    assert "repopack: error:" not in result.stderr


def test_an_output_path_that_is_a_directory_is_an_output_error(pyapp: Path, tmp_path: Path) -> None:
    result = run_cli("pack", str(pyapp), "-o", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"repopack: error: cannot write {tmp_path}: it is a directory; name a file, e.g. {tmp_path / 'prompt.xml'}"]


def test_review_without_a_token_says_there_is_none(pyapp: Path, fake_openai) -> None:
    with serve_fake_github() as github:
        env = {**github.env, "GITHUB_TOKEN": "", "OPENAI_BASE_URL": fake_openai.base_url}
        result = run_cli("review", "--pr", "3", "--no-post", str(pyapp), env=env)
    assert result.returncode == 13
    (line,) = result.stderr.splitlines()
    assert "was refused" not in line
    assert line.endswith("; no GITHUB_TOKEN is set, and GitHub needs one for this (set GITHUB_TOKEN to a token "
                         "that can read the repository)")
    assert fake_openai.requests == []


def _interrupt_myself() -> str:
    os.kill(os.getpid(), signal.SIGINT)
    return "still here"


def test_helper_processes_leave_ctrl_c_to_the_main_process() -> None:
    """A Ctrl-C reaches the whole process group; a helper that took it printed a KeyboardInterrupt traceback."""
    pool = helper_pool(1)
    try:
        assert pool.submit(_interrupt_myself).result(timeout=60) == "still here"
    finally:
        pool.shutdown(cancel_futures=True)


def test_explain_tests_shows_the_collection_error_and_no_running_before_a_usage_error(make_repo) -> None:
    root = make_repo({"tests/test_broken.py": "import yaml_that_is_not_installed\n\n\ndef test_x():\n    pass\n",
                      ".gitignore": ".pytest_cache/\n__pycache__/\n"})
    path = {"PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")}
    result = run_cli("explain-tests", str(root), env=path)
    assert result.returncode != 0
    assert ("collection failure: ModuleNotFoundError: No module named 'yaml_that_is_not_installed'"
            in result.stdout), result.stdout
    usage = run_cli("explain-tests", str(root), "--cmd", "sleep 30")
    assert usage.returncode == 2
    assert usage.stderr == ("repopack: error: --cmd is not pytest, so repopack cannot add a JUnit report to it: make "
                            "the command write one and pass its path with --junit FILE\n")
