"""The planted corpus: credentials never reach a pack or a model request; code is left alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import run_cli
from hypothesis import given, settings
from hypothesis import strategies as st
from support.fake_openai import FakeOpenAI
from support.secret_corpus import build_corpus, exposed, kinds, write_corpus

from repopack.packing import scan
from repopack.packing.redaction import MARKER_RE, marker

SEEDS = (11, 12)
HEX64 = "4c1f9a0e7b3d25a8c6e1f09b7d4a3c2e5f8b1a6d9c0e3f7a2b5d8c1e4f7a0b3d"


def test_the_corpus_is_big_varied_quoted_and_bare() -> None:
    files, plants = build_corpus(SEEDS[0])
    assert len(plants) >= 50 and len(kinds(plants)) >= 40
    types = {Path(p).suffix or Path(p).name for p in files}
    assert len(types) >= 10, types
    quoted = bare = 0
    for plant in plants:
        first = plant.value.split("\n")[0]
        text = files[plant.path]
        at = text.index(first)
        if text[at - 1] in "\"'`":
            quoted += 1
        else:
            bare += 1
    assert quoted >= 15 and bare >= 15


@pytest.mark.parametrize("seed", SEEDS)
def test_no_planted_credential_is_in_the_pack_or_the_request(make_repo, fake_openai: FakeOpenAI, seed: int) -> None:
    files, plants = build_corpus(seed)
    root = make_repo(files)
    packed = run_cli("pack", str(root), "-o", "-")
    assert packed.returncode == 0, packed.stderr
    assert [p.kind for p in exposed(packed.stdout, plants)] == []
    assert exposed(packed.stderr, plants) == []
    assert f"\nredacted {len(plants)} secrets in {len(files)} files: " in packed.stderr

    fake_openai.script(echo_half=True)  # the reply echoes the prompt: it must not leak either
    asked = run_cli("ask", str(root), "Where are the credentials configured?",
                    env={"OPENAI_BASE_URL": fake_openai.base_url})
    assert asked.returncode == 0, asked.stderr
    (request,) = fake_openai.chat_requests
    body = json.dumps(request.body, ensure_ascii=False)
    assert [p.kind for p in exposed(request.prompt_text, plants)] == []
    assert [p.kind for p in exposed(body, plants)] == []
    assert exposed(asked.stdout + asked.stderr, plants) == []


def test_every_file_of_the_corpus_keeps_everything_but_the_credentials() -> None:
    files, plants = build_corpus(SEEDS[1])
    for path, text in files.items():
        red = scan.redact_text(path, text)
        # Put each span's value back: exactly the original text, and only markers were inserted.
        restored = red.text
        for span, value in zip(reversed(red.spans), reversed(red.values), strict=True):
            lines = restored.split("\n")
            line = lines[span.line]
            at = line.rfind(marker(span.type))
            lines[span.line] = line[:at] + value + line[at + len(marker(span.type)):]
            restored = "\n".join(lines)
        assert restored == text
        assert red.text.count("\n") == text.count("\n")


def test_the_python_prefilter_finds_exactly_what_hyperscan_finds(tmp_path: Path) -> None:
    fast = scan._Scanner(scan.load_rules(), engine="hyperscan")
    assert fast.prefilter.engine == "hyperscan" and not fast.prefilter._deferred
    plain = scan._Scanner(scan.load_rules(), engine="python")
    assert plain.prefilter.engine == "python"
    files, _ = build_corpus(SEEDS[0])
    files["app/views.py"] = Path(scan.__file__).read_text(encoding="utf-8")  # plenty of near misses
    for path, text in files.items():
        assert plain.find(path, text) == fast.find(path, text), path


@pytest.mark.parametrize("line", [
    'password1_field_name="password1"',
    'app.config.from_mapping({"SECRET_KEY": "config"})',
    'url = "http://u:p@h/path"',
    "password = get_password(request)",
    "secret_key = settings.SECRET_KEY",
    'api_key = os.environ["API_KEY"]',
    'PASSWORD = "${DB_PASSWORD}"',
    "password: <your-password>",
    'password = "changeme"',
    '"password": "%s" % value',
    'password = "{}".format(x)',
    "token: xxxxxxxxxxxx",
    'DB_PASSWORD: "{{ .Values.db.password }}"',
    "TOKEN=$TOKEN",
    'api_key = "YOUR_API_KEY"',
    'SECRET_KEY = "secret"',
    'password_hash = "pbkdf2_sha256$260000$abc$def"',
    "ENV PASSWORD_FILE=/run/secrets/db",
    'self.password = kwargs.get("password")',
    'password_reset_timeout = "3600"',
    'if password == "hunter2-but-longer":',
    'database_url = "postgres://USER:PASSWORD@HOST:5432/NAME"',
    "auth_token = request.headers['Authorization']",
    'TOKEN_TYPE = "bearer_token_v2"',
    'author = "Guido van Rossum"',
    'session_key_prefix = "sess:"',
    'password = "p@ssw0rd"',
    '"new_password2": " anewpassword",',
])
def test_placeholders_identifiers_calls_and_attributes_are_not_secrets(line: str) -> None:
    for path in ("app/settings.py", "deploy/config.yaml", ".env.example"):
        result = scan.redact_text(path, line + "\n")
        assert result.findings == (), (path, line)
        assert result.text == line + "\n"


@pytest.mark.parametrize(("path", "line", "value"), [
    ("app/settings.py", 'DB_PASSWORD = "Sup3rS3cret!2024"', "Sup3rS3cret!2024"),
    ("config/prod.yaml", "password: P@ssw0rd-Prod-77", "P@ssw0rd-Prod-77"),
    (".env.example", "SIGNING_KEY=" + HEX64, HEX64),
    ("Dockerfile", "ENV API_TOKEN=tok_4Qz8Lm2Xv7Rp", "tok_4Qz8Lm2Xv7Rp"),
    ("scripts/ci.sh", "curl -u deploy:Tr0ub4dor-x9 https://ci.internal", "Tr0ub4dor-x9"),
    ("app/db.py", 'url = "mysql://root:Qm7!zr2Lp@10.0.0.5/app"', "Qm7!zr2Lp"),
    ("app/db.py", 'url = "jdbc:postgresql://db/app?user=app&password=Xq7m2Lp9Rz"', "Xq7m2Lp9Rz"),
    ("conf/settings.xml", "<server><password>Vq9#mL2xR7tz</password></server>", "Vq9#mL2xR7tz"),
    ("deploy.sh", 'curl -H "Authorization: Basic ZGVwbG95OlRyMHViNGRvcg==" https://x', "ZGVwbG95OlRyMHViNGRvcg=="),
    (".env.example", "HEROKU_API_KEY=3f1c9a2e-7b4d-4e8a-9c6f-1d2e3f4a5b6c", "3f1c9a2e-7b4d-4e8a-9c6f-1d2e3f4a5b6c"),
])
def test_realistic_fake_credentials_are_secrets(path: str, line: str, value: str) -> None:
    result = scan.redact_text(path, line + "\n")
    assert value not in result.text
    (span,) = result.spans
    assert line[span.start:span.end] == value


_CONTEXTS = [
    ('key = "', '"'), ("key: '", "'"), ("KEY=", ""), ("  token: ", "  # prod"), ('{"k": "', '"}'),
    ("export VALUE=", ""), ("https://x.example/?k=", "&v=1"), ('call("', '", 3)'), ("`", "`"),
]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), context=st.sampled_from(_CONTEXTS), data=st.data())
def test_a_provider_token_is_redacted_exactly_wherever_it_stands(seed: int, context: tuple[str, str],
                                                                 data: st.DataObject) -> None:
    files, plants = build_corpus(seed)
    tokens = [p for p in plants if p.kind in PROVIDER_KINDS]
    plant = data.draw(st.sampled_from(tokens))
    before, after = context
    line = f"{before}{plant.value}{after}"
    result = scan.redact_text("notes/anything.txt", f"x = 1\n{line}\n")
    (span,) = result.spans
    assert result.text == f"x = 1\n{before}{marker(span.type)}{after}\n"
    assert MARKER_RE.fullmatch(marker(span.type))


PROVIDER_KINDS = {
    "aws-access-key", "stripe-live", "github-classic", "anthropic", "openai", "huggingface", "google-api-key-url",
    "slack-webhook", "slack-bot", "sendgrid", "mailgun", "stripe-webhook", "shopify", "digitalocean", "linear",
    "postman", "newrelic", "gitlab", "npm", "databricks", "supabase", "pulumi", "vault", "alibaba",
    "terraform-cloud", "twilio-api-key", "pypi", "age", "github-fine-grained", "telegram", "discord-webhook",
    "google-oauth-secret", "doppler", "notebook-github-oauth", "jwt", "square",
}


def test_scan_exits_1_and_lists_every_finding_on_the_corpus(tmp_path: Path) -> None:
    plants = write_corpus(tmp_path, SEEDS[0])
    result = run_cli("scan", cwd=tmp_path)
    assert result.returncode == 1
    listed = {line.split(":")[0] for line in result.stdout.splitlines()}
    assert listed == {p.path for p in plants}
    assert len(result.stdout.splitlines()) == len(plants)
    assert exposed(result.stdout + result.stderr, plants) == []
    assert result.stderr.startswith(f"found {len(plants)} secrets in ")


def test_indexing_commands_read_only_redacted_text(make_repo, fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    from conftest import git

    files, plants = build_corpus(SEEDS[0])
    root = make_repo({**files, "app/util.py": "def helper():\n    return 1\n"})
    git(root, "checkout", "-q", "-b", "feature")
    (root / "app/util.py").write_text("def helper():\n    return 2\n", encoding="utf-8")
    cache = tmp_path / "cache-dir"
    env = {"REPOPACK_CACHE_DIR": str(cache), "OPENAI_BASE_URL": fake_openai.base_url}
    outputs = []
    for args in (("pack", str(root), "-o", str(tmp_path / "out.xml")), ("rank", str(root), "-q", "credentials"),
                 ("map", str(root))):
        done = run_cli(*args, env=env)
        assert done.returncode == 0, (args, done.stderr)
        outputs.append(done.stdout + done.stderr)
    fake_openai.script([json.dumps({"summary": "Fine.", "findings": []})])
    reviewed = run_cli("review", "--base", "main", str(root), env=env)
    assert reviewed.returncode == 0, reviewed.stderr
    outputs.append(reviewed.stdout + reviewed.stderr)
    assert [exposed(text, plants) for text in outputs] == [[], [], [], []]
    stored = b"".join(p.read_bytes() for p in cache.rglob("*") if p.is_file())
    assert stored, "the commands used the cache"
    assert exposed(stored.decode("latin-1"), plants) == []


def test_a_verdict_is_keyed_by_what_the_rules_read_of_the_path(make_repo) -> None:
    from repopack.config import Settings
    from repopack.packing.pipeline import pack_repo

    bare = "password = Zq8#rT2mWx9vLk4p\n"  # a bare value is a secret in config, an expression in code
    root = make_repo({"settings.py": bare, "app.ini": bare})
    result = pack_repo(root, Settings(), None)
    assert [(f.path, f.type) for f in result.findings] == [("app.ini", "Secret Keyword")]
    again = pack_repo(root, Settings(), None)  # from the cache: same verdicts, not the other file's
    assert [(f.path, f.type) for f in again.findings] == [("app.ini", "Secret Keyword")]
    assert again.text.count("Zq8#rT2mWx9vLk4p") == 1  # only settings.py's, where it is not a literal


def test_auto_scans_small_inputs_in_python_then_compiles_hyperscan() -> None:
    """A warm pack scans a few changed files: compiling the database would cost more than it saves."""
    auto = scan._Scanner(scan.load_rules())
    plain = scan._Scanner(scan.load_rules(), engine="python")
    files, _ = build_corpus(SEEDS[0])
    seen = 0
    for path, text in files.items():
        assert auto.find(path, text) == plain.find(path, text), path
        seen += len(text.encode("utf-8", "surrogatepass"))
        assert auto.prefilter._deferred is (seen <= scan.HYPERSCAN_AFTER)
    big = "\n".join(files.values()) * (scan.HYPERSCAN_AFTER // max(1, seen) + 1)
    assert auto.find("big.py", big) == plain.find("big.py", big)
    assert not auto.prefilter._deferred and auto.prefilter.engine == "hyperscan"
