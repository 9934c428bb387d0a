"""Secret redaction: planted secrets are found, replaced in place, reported without values."""

from __future__ import annotations

from repopack.packing.scan import Redaction, SecretFinding, redact_text, restore_secrets

AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
KEY_BODY = ("MIIEowIBAAKCAQEAvZ3kq8yM0Zr4tqc7x2bXyJ0p1Wq9kQ3lq0h5mQm2ZkVb1Xh8",
            "r7T1oY6Fq0N5b8cW4sR2pL9dK3hJ6gF1eA0zX7vB2nM5kQ8wE4tY1uI3oP6aS9dF")
SOURCE = f'''import os

AWS_ACCESS_KEY_ID = "{AWS_KEY}"
TIMEOUT = 30

DEPLOY_KEY = """-----BEGIN RSA PRIVATE KEY-----
{KEY_BODY[0]}
{KEY_BODY[1]}
-----END RSA PRIVATE KEY-----"""

def connect():
    return os.environ["DB_URL"]
'''


def test_aws_key_and_private_key_are_redacted_in_place() -> None:
    result = redact_text("app/settings.py", SOURCE)

    assert result.findings == (
        SecretFinding("app/settings.py", 3, "AWS Access Key"),
        SecretFinding("app/settings.py", 7, "Private Key"),  # where the key body starts
    )
    assert result.text == SOURCE.replace(AWS_KEY, "[REDACTED:AWS Access Key]").replace(
        KEY_BODY[0], "[REDACTED:Private Key]").replace(KEY_BODY[1], "[REDACTED:Private Key]")
    assert result.text.count("\n") == SOURCE.count("\n")  # line numbers still point at the file


def test_values_never_appear_in_findings_or_repr() -> None:
    result = redact_text("app/settings.py", SOURCE)
    rendered = [repr(result), str(result), *map(str, result.findings), *map(repr, result.findings)]
    for text in rendered:
        assert AWS_KEY not in text
        assert KEY_BODY[0] not in text
    assert str(result.findings[0]) == "app/settings.py:3: AWS Access Key"
    assert AWS_KEY not in result.text


def test_restore_secrets_round_trip() -> None:
    result = redact_text("app/settings.py", SOURCE)
    assert restore_secrets(result.text, result) == SOURCE
    edited = result.text.replace("TIMEOUT = 30", "TIMEOUT = 60")
    assert restore_secrets(edited, result) == SOURCE.replace("TIMEOUT = 30", "TIMEOUT = 60")


def test_restore_leaves_surplus_and_unknown_markers() -> None:
    result = redact_text("a.py", f'K = "{AWS_KEY}"\n')
    text = 'A = "[REDACTED:AWS Access Key]"\nB = "[REDACTED:AWS Access Key]"\nC = "[REDACTED:Other]"\n'
    assert restore_secrets(text, result) == (
        f'A = "{AWS_KEY}"\nB = "[REDACTED:AWS Access Key]"\nC = "[REDACTED:Other]"\n'
    )


def test_token_types() -> None:
    text = (
        'github = "ghp_' + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8" + '"\n'
        'slack = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"\n'
        'stripe = "sk_live_' + "4eC39HqLyjWDarjtT1zdp7dc" + '"\n'
        'url = "postgres://admin:hunter2@db.internal:5432/app"\n'
        'password = "correct-horse-battery"\n'
    )
    result = redact_text("config.py", text)
    assert [(f.line, f.type) for f in result.findings] == [
        (1, "GitHub Token"),
        (2, "Slack Token"),
        (3, "Stripe Access Key"),
        (4, "Basic Auth Credentials"),
        (5, "Secret Keyword"),
    ]
    assert result.text.splitlines()[3] == (
        'url = "postgres://admin:[REDACTED:Basic Auth Credentials]@db.internal:5432/app"'
    )
    assert restore_secrets(result.text, result) == text


def test_ordinary_code_is_not_flagged() -> None:
    text = '''from django.contrib.auth import get_user_model

password = get_password(request)
secret_key = settings.SECRET_KEY
HEADER = "X-Api-Key"
checksum = "d41d8cd98f00b204e9800998ecf8427e"
name = "ThisIsAFairlyLongButOrdinaryIdentifierName"
url = "https://example.com/path/to/resource"
'''
    result = redact_text("app/views.py", text)
    assert result.findings == ()
    assert result.text == text
    assert result == Redaction(text)


def test_crlf_and_non_ascii_keep_line_numbers() -> None:
    text = f'# café ünïcode\r\nx = 1\r\nKEY = "{AWS_KEY}"\r\n'
    result = redact_text("a.py", text)
    assert result.findings == (SecretFinding("a.py", 3, "AWS Access Key"),)
    assert result.text == '# café ünïcode\r\nx = 1\r\nKEY = "[REDACTED:AWS Access Key]"\r\n'


def test_the_rules_version_is_read_without_compiling_and_agrees() -> None:
    from repopack.packing.secret_rules import load_rules, rules_version

    assert rules_version() == load_rules().version


def test_a_malformed_rule_is_named() -> None:
    import pytest

    from repopack.packing.secret_rules import parse_rules

    with pytest.raises(ValueError, match="secret rule broken: .*"):
        parse_rules('version = "1"\n[[rule]]\nid = "broken"\ntype = "X"\nkeywords = ["x"]\nregex = "("\n')
    with pytest.raises(ValueError, match="secret rule anchored: needs either keywords or an anchor"):
        parse_rules('version = "1"\n[[rule]]\nid = "anchored"\ntype = "X"\nkeywords = ["x"]\nanchor = "x"\n'
                    'regex = "x"\n')
