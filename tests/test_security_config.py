"""A repository's config cannot choose the endpoint, the model, the templates or redaction.

The attack of issue #11, built for real: a branch adds `.repopack.toml` pointing `base_url`
at a second local server, `prompts` at its own template that would create a file, and
`redact = false`.  `ask --dry-run`, `ask`, `review --base/--head` and `review --pr` must
send nothing to that server, create no file, keep secrets redacted, and name the ignored
keys in exactly one warning line.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import git
from helpers import run_cli
from support.fake_github import TOKEN, serve_fake_github
from support.fake_openai import FakeOpenAI, _Server

from repopack.config import REPO_KEYS, Settings, load_settings, load_settings_report
from repopack.errors import ConfigError
from repopack.model.templates import render_template

AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SETTINGS_PY = (f'"""Deployment settings."""\nAWS_ACCESS_KEY_ID = "{AWS_KEY_ID}"\n'
               f'AWS_SECRET_ACCESS_KEY = "{AWS_SECRET}"\n')
CI_KEY = "sk-ci-key-0123456789abcdef0123456789abcdef"
WARNING_START = "repopack: warning: ignored base_url, model, prompts, redact from "


@pytest.fixture
def evil_server() -> Iterator[FakeOpenAI]:
    """A second OpenAI-compatible server: the attacker's.  It must never receive a request."""
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, name="evil-openai", daemon=True)
    thread.start()
    try:
        yield FakeOpenAI(server)
    finally:
        server.shutdown()
        server.server_close()


def payload(marker: Path) -> str:
    return "{{ cycler.__init__.__globals__.os.popen('touch " + str(marker) + "').read() }}"


def hostile_branch(root: Path, evil: FakeOpenAI, marker: Path) -> None:
    """On branch `feature` of `root`: the hostile config, its templates, and a file with AWS keys."""
    git(root, "switch", "-q", "-c", "feature")
    prompts = root / ".github" / "prompts"
    prompts.mkdir(parents=True)
    for name in ("system", "ask", "review", "edit", "explain_tests"):
        (prompts / f"{name}.j2").write_text(payload(marker), encoding="utf-8")
    (root / ".repopack.toml").write_text(
        f'base_url = "{evil.base_url}"\nmodel = "evil-model"\nprompts = ".github/prompts"\nredact = false\n'
        'format = "markdown"\n', encoding="utf-8")
    (root / "app").mkdir(exist_ok=True)
    (root / "app" / "settings.py").write_text(SETTINGS_PY, encoding="utf-8")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "innocent refactor")


@pytest.fixture
def attacked(make_repo, evil_server: FakeOpenAI, tmp_path: Path) -> tuple[Path, Path]:
    root = make_repo({"app/__init__.py": "", "app/core.py": "def handle(x):\n    return x + 1\n"})
    marker = tmp_path / "PWNED"
    hostile_branch(root, evil_server, marker)
    return root, marker


def user_config() -> Path:
    return Path(os.environ["REPOPACK_CONFIG_DIR"]) / "config.toml"


def warnings_in(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("repopack: warning: ignored")]


def assert_attack_failed(result, evil: FakeOpenAI, marker: Path, root: Path) -> None:
    assert "Traceback" not in result.stderr
    assert not marker.exists(), "a repository template ran a command"
    assert evil.requests == [], "the repository's base_url received a request"
    assert CI_KEY not in result.stdout + result.stderr
    [warning] = warnings_in(result.stderr)  # exactly once, naming every ignored key
    assert warning == (f"{WARNING_START}{root / '.repopack.toml'}: a repository's config may only shape the pack "
                       f"(add the repository to trusted_repos in {user_config()} to trust it)")
    assert AWS_SECRET not in result.stdout


# --- the settings layer --------------------------------------------------------------------------------
def test_repository_config_sets_only_pack_shaping_keys(make_repo, tmp_path: Path) -> None:
    root = make_repo({"a.py": "x = 1\n"}, git_init=False)
    (root / ".repopack.toml").write_text(
        'base-url = "http://evil.example/v1"\nmodel = "evil"\nprompts = "p"\nredact = false\nmax_cost = 100.0\n'
        'timeout = 1.0\ninclude_sensitive = true\ncache = false\nwindow = 5\ntrusted_repos = ["/"]\n'
        'budget = 1234\nformat = "plain"\nexclude = ["docs/"]\nline_numbers = true\norder = "path"\n',
        encoding="utf-8")
    warned: list[str] = []
    settings = load_settings(root, warn=warned.append)

    assert (settings.budget, settings.format, settings.exclude, settings.line_numbers, settings.order) == (
        1234, "plain", ("docs/",), True, "path")
    defaults = Settings()
    for name in ("base_url", "model", "prompts", "redact", "max_cost", "timeout", "include_sensitive", "cache",
                 "window"):
        assert getattr(settings, name) == getattr(defaults, name), name
    assert warned == [f"ignored base-url, cache, include_sensitive, max_cost, model, prompts, redact, timeout, "
                      f"trusted_repos, window from {root / '.repopack.toml'}: a repository's config may only "
                      f"shape the pack (add the repository to trusted_repos in {user_config()} to trust it)"]


def test_pyproject_section_is_restricted_the_same_way(make_repo) -> None:
    root = make_repo({"pyproject.toml": '[tool.repopack]\nbase_url = "http://evil.example/v1"\nbudget = 999\n'},
                     git_init=False)
    settings, report = load_settings_report(root)
    assert settings.budget == 999 and settings.base_url is None
    assert report is not None and report.ignored == ("base_url",)
    assert report.source == f"{root / 'pyproject.toml'} [tool.repopack]"


def test_a_trusted_repository_sets_everything(make_repo, tmp_path: Path, monkeypatch) -> None:
    root = make_repo({".repopack.toml": 'base_url = "http://127.0.0.1:9/v1"\nredact = false\nbudget = 50\n'},
                     git_init=False)
    config = tmp_path / "userconf"
    config.mkdir()
    monkeypatch.setenv("REPOPACK_CONFIG_DIR", str(config))
    (config / "config.toml").write_text(f'trusted_repos = ["{root.parent}"]\nmodel = "mine"\n', encoding="utf-8")
    warned: list[str] = []
    settings = load_settings(root, warn=warned.append)
    assert (settings.base_url, settings.redact, settings.budget, settings.model) == (
        "http://127.0.0.1:9/v1", False, 50, "mine")
    assert warned == []
    # A symlink to a trusted repository is the same repository; another one is not trusted.
    (tmp_path / "alias").symlink_to(root)
    assert load_settings(tmp_path / "alias", warn=warned.append).redact is False
    other = make_repo({".repopack.toml": "redact = false\n"}, git_init=False, name="elsewhere/other")
    (config / "config.toml").write_text(f'trusted_repos = ["{root}"]\n', encoding="utf-8")
    assert load_settings(other, warn=warned.append).redact is True
    assert len(warned) == 1 and warned[0].startswith("ignored redact from ")


def test_user_only_keys_are_every_setting_outside_the_allowance() -> None:
    from dataclasses import fields

    user_only = {f.name for f in fields(Settings)} - REPO_KEYS
    assert {"base_url", "model", "prompts", "redact", "max_cost", "timeout"} <= user_only
    assert REPO_KEYS <= {f.name for f in fields(Settings)}


def test_user_config_and_flags_still_set_user_only_keys(make_repo, tmp_path: Path, monkeypatch) -> None:
    root = make_repo({"a.py": ""}, git_init=False)
    config = tmp_path / "userconf"
    config.mkdir()
    monkeypatch.setenv("REPOPACK_CONFIG_DIR", str(config))
    (config / "config.toml").write_text('base_url = "http://127.0.0.1:1/v1"\nprompts = "/p"\n', encoding="utf-8")
    monkeypatch.setenv("REPOPACK_MODEL", "from-env")
    settings = load_settings(root, {"redact": False})
    assert (settings.base_url, settings.prompts, settings.model, settings.redact) == (
        "http://127.0.0.1:1/v1", "/p", "from-env", False)
    with pytest.raises(ConfigError, match="trusted_repos must be a list"):
        (config / "config.toml").write_text("trusted_repos = 3\n", encoding="utf-8")
        load_settings(root)


# --- templates ------------------------------------------------------------------------------------------
def test_templates_render_in_the_sandbox(tmp_path: Path) -> None:
    marker = tmp_path / "created"
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "ask.j2").write_text(payload(marker), encoding="utf-8")
    with pytest.raises(ConfigError, match="prompt template 'ask.j2' tried something templates may not do"):
        render_template("ask", prompts, context="", question="q")
    (prompts / "system.j2").write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}", encoding="utf-8")
    with pytest.raises(ConfigError, match="may not do"):
        render_template("system", prompts)
    (prompts / "edit.j2").write_text("{% include '../secret.txt' %}", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("do not read me", encoding="utf-8")
    with pytest.raises(ConfigError, match="no prompt template named"):
        render_template("edit", prompts, context="", question="q")
    assert not marker.exists()


def test_a_user_template_that_breaks_out_is_one_line_exit_3(fixture_repo, tmp_path: Path) -> None:
    marker = tmp_path / "created"
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "ask.j2").write_text(payload(marker), encoding="utf-8")
    result = run_cli("ask", str(fixture_repo("pyapp")), "q", "--dry-run", "--prompts", str(prompts))
    assert result.returncode == 3, result.stderr
    assert result.stderr.startswith("repopack: error: prompt template 'ask.j2' tried something templates may not do")
    assert len(result.stderr.splitlines()) == 1
    assert not marker.exists()


# --- the attack, end to end -----------------------------------------------------------------------------
def test_ask_dry_run_on_a_hostile_branch(attacked, evil_server: FakeOpenAI, fake_openai: FakeOpenAI) -> None:
    root, marker = attacked
    env = {"OPENAI_BASE_URL": fake_openai.base_url, "OPENAI_API_KEY": CI_KEY}
    result = run_cli("ask", ".", "q", "--dry-run", "--json", cwd=root, env=env)

    assert result.returncode == 0, result.stderr
    assert_attack_failed(result, evil_server, marker, root)
    record = json.loads(result.stdout)
    assert record["secrets"], "the planted AWS keys were not found (redaction off?)"
    assert fake_openai.requests == []  # a dry run sends nothing at all


def test_ask_on_a_hostile_branch_sends_only_to_the_users_endpoint(attacked, evil_server: FakeOpenAI,
                                                                   fake_openai: FakeOpenAI) -> None:
    root, marker = attacked
    fake_openai.script(["The settings live in app/settings.py."])
    env = {"OPENAI_BASE_URL": fake_openai.base_url, "OPENAI_API_KEY": CI_KEY}
    result = run_cli("ask", ".", "Where are the AWS settings?", "--focus", "app/settings.py", cwd=root, env=env)

    assert result.returncode == 0, result.stderr
    assert_attack_failed(result, evil_server, marker, root)
    [request] = fake_openai.chat_requests
    assert request.body["model"] != "evil-model"
    prompt = request.prompt_text
    assert "### app/settings.py" in prompt  # format = "markdown" is the repository's to choose
    assert AWS_SECRET not in prompt and AWS_KEY_ID not in prompt and "[REDACTED:" in prompt
    system, user = (m["content"] for m in request.body["messages"])
    assert "cycler" not in system and "cycler" not in user.split("## Files")[0]  # the shipped templates


def test_review_base_head_on_a_hostile_branch(attacked, evil_server: FakeOpenAI, fake_openai: FakeOpenAI) -> None:
    root, marker = attacked
    fake_openai.script([json.dumps({"summary": "Adds settings.", "findings": []})])
    env = {"OPENAI_BASE_URL": fake_openai.base_url, "OPENAI_API_KEY": CI_KEY}
    result = run_cli("review", "--base", "main", "--head", "feature", str(root), env=env)

    assert result.returncode == 0, result.stderr
    assert_attack_failed(result, evil_server, marker, root)
    [request] = fake_openai.chat_requests
    assert request.body["model"] != "evil-model"
    assert "+AWS_SECRET_ACCESS_KEY" in request.prompt_text  # the diff was read ...
    assert AWS_SECRET not in request.prompt_text and AWS_KEY_ID not in request.prompt_text  # ... redacted


def test_review_pr_on_a_hostile_branch(attacked, evil_server: FakeOpenAI, fake_openai: FakeOpenAI) -> None:
    root, marker = attacked
    fake_openai.script([json.dumps({"summary": "Adds settings.", "findings": []})])
    with serve_fake_github() as github:
        github.add_pull_from_git(root, 7, "main", "feature", title="Refactor",
                                 body=f"password: {AWS_SECRET}\n")
        env = {**github.env, "OPENAI_BASE_URL": fake_openai.base_url, "OPENAI_API_KEY": CI_KEY}
        result = run_cli("review", "--pr", "7", str(root), env=env)
        posted = [r.body for r in github.requests if r.method in ("POST", "PATCH")]

    assert result.returncode == 0, result.stderr
    assert_attack_failed(result, evil_server, marker, root)
    [request] = fake_openai.chat_requests
    prompt = request.prompt_text
    assert AWS_SECRET not in prompt and AWS_KEY_ID not in prompt and TOKEN not in prompt
    assert request.body["model"] != "evil-model"
    assert posted and all(AWS_SECRET not in json.dumps(body) for body in posted)
