# ruff: noqa: E501 - one line per planted credential reads best as data
"""A planted corpus of fake credentials, generated at test time from a seed.

Every value is random (none is live), in the shape its provider issues, placed the way
people really leave credentials: quoted and unquoted, in code, config, `.env`-style files,
shell, Dockerfiles, notebooks, kubeconfig, docs.  `build_corpus(seed)` returns the files
and the list of planted values; `exposed(text, plants)` says which of them a text leaks,
verbatim or as a piece of at least `PIECE` characters.
"""

from __future__ import annotations

import base64
import json
import random
import string
from dataclasses import dataclass
from pathlib import Path

PIECE = 12
UPPER = string.ascii_uppercase
LOWER = string.ascii_lowercase
DIGITS = string.digits
ALNUM = UPPER + LOWER + DIGITS
HEX = "0123456789abcdef"
B32 = UPPER + "234567"
URLSAFE = ALNUM + "_-"
B64 = ALNUM + "+/"
BECH32 = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"


@dataclass(frozen=True)
class Plant:
    kind: str
    path: str
    value: str


class _Gen:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def s(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def password(self, n: int = 16) -> str:
        # Mixed classes, no quote, backslash, space, '@', ':' or '/' so it fits any syntax; a
        # leading '=' or '#' would read as an operator or a comment in config files.
        chars = ALNUM + "!#%^*_+-=.~"
        while True:
            value = self.s(chars, n)
            if value[0] not in "=#!" and (any(c in UPPER for c in value) and any(c in LOWER for c in value)
                    and any(c in DIGITS for c in value)):
                return value

    def pem_body(self, lines: int = 8) -> list[str]:
        return [self.s(B64, 64) for _ in range(lines)]

    def jwt(self) -> str:
        header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()
        claims = json.dumps({"sub": self.s(DIGITS, 10), "name": self.s(LOWER, 8), "iat": 1516239022})
        payload = base64.urlsafe_b64encode(claims.encode()).rstrip(b"=").decode()
        return f"{header}.{payload}.{self.s(URLSAFE, 43)}"


def build_corpus(seed: int) -> tuple[dict[str, str], list[Plant]]:
    """(relative path -> file text, planted credentials) for one seed."""
    g = _Gen(seed)
    plants: list[Plant] = []
    files: dict[str, list[str]] = {}

    def plant(kind: str, path: str, value: str) -> str:
        plants.append(Plant(kind, path, value))
        return value

    def add(path: str, *lines: str) -> None:
        files.setdefault(path, []).extend(lines)

    # -- Python settings: quoted provider tokens and keyword assignments ---------------
    py = "app/settings.py"
    add(py, "import os", "", "DEBUG = False",
        f'AWS_ACCESS_KEY_ID = "{plant("aws-access-key", py, "AKIA" + g.s(B32, 16))}"',
        f'AWS_SECRET_ACCESS_KEY = "{plant("aws-secret-key", py, g.s(B64, 40))}"',
        f"SECRET_KEY = '{plant('django-secret-key', py, 'django-insecure-' + g.s(ALNUM + '!@#$%^&*(-_=+)', 50))}'",
        f'STRIPE_KEY = "{plant("stripe-live", py, "sk_live_" + g.s(ALNUM, 99))}"',
        f'GITHUB_TOKEN = "{plant("github-classic", py, "ghp_" + g.s(ALNUM, 36))}"',
        f'DATABASES = {{"default": {{"PASSWORD": "{plant("password-dict", py, g.password())}"}}}}',
        f'ANTHROPIC_API_KEY = "{plant("anthropic", py, "sk-ant-api03-" + g.s(URLSAFE, 93) + "AA")}"',
        f'sentry_dsn = "https://{g.s(HEX, 32)}@o{g.s(DIGITS, 6)}.ingest.sentry.io/{g.s(DIGITS, 7)}"',
        f'DB_URL = "postgres://app:{plant("url-password", py, g.password())}@db.internal:5432/app"',
        "TIMEOUT = 30", "")
    # -- Python code: calls and a notebook-free client ----------------------------------
    client = "app/clients.py"
    add(client, "from openai import OpenAI", "",
        f'client = OpenAI(api_key="{plant("openai", client, "sk-proj-" + g.s(URLSAFE, 64) + "T3BlbkFJ" + g.s(URLSAFE, 64))}")',
        f'hf = login(token="{plant("huggingface", client, "hf_" + g.s(UPPER + LOWER, 34))}")',
        f'maps = "https://maps.googleapis.com/maps/api/js?key={plant("google-api-key-url", client, "AIza" + g.s(URLSAFE, 35))}&callback=init"',
        f'SLACK_WEBHOOK = "{plant("slack-webhook", client, "https://hooks.slack.com/services/T" + g.s(UPPER + DIGITS, 8) + "/B" + g.s(UPPER + DIGITS, 10) + "/" + g.s(ALNUM, 24))}"',
        f"slack = WebClient(token='{plant('slack-bot', client, 'xoxb-' + g.s(DIGITS, 12) + '-' + g.s(DIGITS, 13) + '-' + g.s(ALNUM, 24))}')",
        "")
    # -- JavaScript: camelCase names ----------------------------------------------------
    js = "web/config.js"
    add(js, "export const config = {",
        f'  apiKey: "{plant("generic-apikey-js", js, g.s(ALNUM, 32))}",',
        f"  clientSecret: '{plant('client-secret-js', js, g.password(24))}',",
        f'  sendgrid: "{plant("sendgrid", js, "SG." + g.s(URLSAFE, 22) + "." + g.s(URLSAFE, 43))}",',
        f'  mailgunKey: "{plant("mailgun", js, "key-" + g.s(HEX, 32))}",',
        f'  mailchimp: "{plant("mailchimp", js, g.s(HEX, 32) + "-us" + g.s(DIGITS[1:], 1) + g.s(DIGITS, 1))}",',
        "};",
        f'const session = "{plant("jwt", js, g.jwt())}";',
        "")
    # -- TypeScript ---------------------------------------------------------------------
    ts = "web/payments.ts"
    add(ts, "export class Payments {",
        f'  private readonly webhookSecret = "{plant("stripe-webhook", ts, "whsec_" + g.s(ALNUM, 32))}";',
        f'  private readonly square = "{plant("square", ts, "EAAA" + g.s(URLSAFE, 60))}";',
        f'  private readonly shopify = "{plant("shopify", ts, "shpat_" + g.s(HEX, 32))}";',
        "}", "")
    # -- Go ------------------------------------------------------------------------------
    go = "cmd/server/main.go"
    add(go, "package main", "", "func main() {",
        f'\tpassword := "{plant("password-go", go, g.password())}"',
        f'\tdo := "{plant("digitalocean", go, "dop_v1_" + g.s(HEX, 64))}"',
        f'\tlinear := "{plant("linear", go, "lin_api_" + g.s(ALNUM, 40))}"',
        "\t_ = password", "}", "")
    # -- Ruby ----------------------------------------------------------------------------
    rb = "config/initializers/services.rb"
    add(rb, "Services.configure do |c|",
        f'  c.postman = "{plant("postman", rb, "PMAK-" + g.s(HEX, 24) + "-" + g.s(HEX, 34))}"',
        f'  c.newrelic = "{plant("newrelic", rb, "NRAK-" + g.s(UPPER + DIGITS, 27))}"',
        f'  c.auth_token = "{plant("auth-token-rb", rb, g.s(ALNUM, 40))}"',
        "end", "")
    # -- YAML (unquoted values) -----------------------------------------------------------
    yml = "deploy/values.yaml"
    add(yml, "database:", "  host: db.internal",
        f"  password: {plant('password-yaml-unquoted', yml, g.password())}",
        "gitlab:",
        f"  token: {plant('gitlab', yml, 'glpat-' + g.s(URLSAFE, 20))}",
        f"npm_token: {plant('npm', yml, 'npm_' + g.s(ALNUM, 36))}",
        f"databricks_token: \"{plant('databricks', yml, 'dapi' + g.s(HEX, 32))}\"",
        f"signing_key: {plant('hex-signing-key-yaml', yml, g.s(HEX, 64))}",
        "")
    # -- JSON, with a GCP service account key on one line ----------------------------------
    sa = "deploy/service-account.json"
    key_body = g.pem_body(6)
    add(sa, json.dumps({
        "type": "service_account", "project_id": "demo-" + g.s(LOWER, 6),
        "private_key_id": g.s(HEX, 40),  # identifies the key; not a credential
        "private_key": "-----BEGIN PRIVATE KEY-----\n" + "\n".join(key_body) + "\n-----END PRIVATE KEY-----\n",
        "client_email": "svc@demo.iam.gserviceaccount.com",
    }, indent=2), "")
    plant("gcp-private-key-json", sa, "\n".join(key_body))
    js2 = "config/app.json"
    add(js2, json.dumps({
        "name": "app", "supabase": plant("supabase", js2, "sbp_" + g.s(HEX, 40)),
        "pulumi_access_token": plant("pulumi", js2, "pul-" + g.s(HEX, 40)),
        "db": {"user": "app", "password": plant("password-json", js2, g.password())},
    }, indent=2), "")
    # -- INI and properties ------------------------------------------------------------------
    ini = "config/app.ini"
    add(ini, "[database]", "host = db.internal",
        f"password = {plant('password-ini', ini, g.password())}",
        "[vault]", f"token = {plant('vault', ini, 'hvs.' + g.s(URLSAFE, 90))}", "")
    props = "src/main/resources/application.properties"
    add(props, "spring.datasource.url=jdbc:postgresql://db/app",
        f"spring.datasource.password={plant('password-properties', props, g.password())}",
        f"alibaba.access-key-id={plant('alibaba', props, 'LTAI' + g.s(ALNUM, 20))}",
        "")
    # -- Terraform variables --------------------------------------------------------------------
    tf = "infra/prod.tfvars"
    add(tf, 'region = "eu-west-1"',
        f'client_secret = "{plant("azure-client-secret", tf, g.s(ALNUM + "~._-", 40))}"',
        f'tfc_token = "{plant("terraform-cloud", tf, g.s(ALNUM, 14) + ".atlasv1." + g.s(URLSAFE, 67))}"',
        f'storage = "DefaultEndpointsProtocol=https;AccountName=demo;AccountKey={plant("azure-storage", tf, g.s(B64, 86) + "==")};EndpointSuffix=core.windows.net"',
        "")
    # -- .env-style files ---------------------------------------------------------------------
    env = ".env.example"
    add(env, "APP_ENV=production",
        f"HF_TOKEN={plant('hf-token-env', env, 'hf_' + g.s(UPPER + LOWER, 34))}",
        f"TWILIO_AUTH_TOKEN={plant('twilio-auth-token', env, g.s(HEX, 32))}",
        f"TWILIO_API_KEY={plant('twilio-api-key', env, 'SK' + g.s(HEX, 32))}",
        f"DD_API_KEY={plant('datadog', env, g.s(HEX, 32))}",
        f"WEBHOOK_SIGNING_KEY={plant('hex-signing-key-env', env, g.s(HEX, 64))}",
        f"DB_PASSWORD={plant('password-env', env, g.password())}",
        "")
    env2 = "deploy/prod.env"
    add(env2, f"export API_SECRET={plant('api-secret-env', env2, g.s(B64, 44))}",
        f"PYPI_TOKEN=\"{plant('pypi', env2, 'pypi-AgEIcHlwaS5vcmc' + g.s(URLSAFE, 70))}\"",
        f"AGE_KEY={plant('age', env2, 'AGE-SECRET-KEY-1' + g.s(BECH32, 58))}",
        "")
    # -- Dockerfile --------------------------------------------------------------------------
    docker = "Dockerfile"
    add(docker, "FROM python:3.12-slim",
        f"ENV API_TOKEN={plant('dockerfile-env', docker, g.s(ALNUM, 32))}",
        f"ARG NPM_AUTH_TOKEN {plant('dockerfile-arg', docker, g.s(ALNUM, 36))}",
        "RUN pip install -r requirements.txt", "")
    # -- Shell -----------------------------------------------------------------------------------
    sh = "scripts/deploy.sh"
    add(sh, "#!/bin/sh", "set -e",
        f"curl -u admin:{plant('curl-basic', sh, g.password())} https://ci.internal/api/build",
        f'curl -H "Authorization: Bearer {plant("bearer-header", sh, g.s(ALNUM, 40))}" https://api.internal/v1',
        f"export GITHUB_PAT={plant('github-fine-grained', sh, 'github_pat_' + g.s(ALNUM, 22) + '_' + g.s(ALNUM, 59))}",
        f"mysql --user=root --password={plant('cli-password-flag', sh, g.password())} app",
        f"git clone https://deploy:{plant('url-password-git', sh, g.password())}@git.internal/app.git",
        "")
    ssh = "scripts/bootstrap.sh"
    ssh_body = g.pem_body(5)
    add(ssh, "#!/bin/sh", "cat > ~/.ssh/id_ed25519 <<'EOF'", "-----BEGIN OPENSSH PRIVATE KEY-----",
        *ssh_body, "-----END OPENSSH PRIVATE KEY-----", "EOF", "")
    plant("openssh-private-key", ssh, "\n".join(ssh_body))
    # -- Markdown -------------------------------------------------------------------------------
    md = "docs/setup.md"
    add(md, "# Setup", "", "Use the deploy bot:", "",
        f"    TELEGRAM_BOT_TOKEN={plant('telegram', md, g.s(DIGITS, 10) + ':AA' + g.s(URLSAFE, 33))}",
        "",
        f"Discord alerts go to `{plant('discord-webhook', md, 'https://discord.com/api/webhooks/' + g.s(DIGITS, 18) + '/' + g.s(URLSAFE, 68))}`.",
        "",
        f"The Google OAuth secret is `{plant('google-oauth-secret', md, 'GOCSPX-' + g.s(URLSAFE, 28))}`.", "")
    # -- Jupyter notebook ------------------------------------------------------------------------
    nb = "notebooks/explore.ipynb"
    nb_key = plant("notebook-api-key", nb, g.s(ALNUM, 40))
    nb_gh = plant("notebook-github-oauth", nb, "gho_" + g.s(ALNUM, 36))
    add(nb, json.dumps({
        "cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": 1,
                   "source": ["import requests\n", f'api_key = "{nb_key}"\n', f"gh = '{nb_gh}'\n"]}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1), "")
    # -- kubeconfig ------------------------------------------------------------------------------
    kube = "deploy/kubeconfig"
    pem = "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(g.pem_body(10)) + "\n-----END RSA PRIVATE KEY-----\n"
    client_key = base64.b64encode(pem.encode()).decode()
    add(kube, "apiVersion: v1", "kind: Config", "users:", "- name: admin", "  user:",
        f"    client-key-data: {plant('kube-client-key-data', kube, client_key)}",
        f"    token: {plant('kube-token', kube, g.s(LOWER + DIGITS, 6) + '.' + g.s(LOWER + DIGITS, 16))}",
        "")
    # -- TOML and a Python PEM string --------------------------------------------------------------
    toml = "pyproject.local.toml"
    add(toml, "[tool.deploy]",
        f'doppler_token = "{plant("doppler", toml, "dp.pt." + g.s(ALNUM, 43))}"',
        f'encryption_key = "{plant("base64-encryption-key", toml, g.s(B64, 43) + "=")}"',
        "")
    keys = "app/keys.py"
    rsa = g.pem_body(8)
    add(keys, 'DEPLOY_KEY = """-----BEGIN RSA PRIVATE KEY-----', *rsa, '-----END RSA PRIVATE KEY-----"""', "")
    plant("pem-rsa-python", keys, "\n".join(rsa))
    return {path: "\n".join(lines) for path, lines in files.items()}, plants


def write_corpus(root: Path, seed: int) -> list[Plant]:
    files, plants = build_corpus(seed)
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return plants


def exposed(text: str, plants: list[Plant]) -> list[Plant]:
    """The plants `text` leaks: the whole value, or any piece of it of `PIECE` characters."""
    out = []
    for p in plants:
        if any(_leaks(text, part) for part in p.value.split("\n")):  # a key body: each of its lines
            out.append(p)
    return out


def _leaks(text: str, value: str) -> bool:
    if len(value) <= PIECE:
        return value in text
    return any(value[i:i + PIECE] in text for i in range(len(value) - PIECE + 1))


def kinds(plants: list[Plant]) -> set[str]:
    return {p.kind for p in plants}
