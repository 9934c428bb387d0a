"""Settings: one typed object, documented field by field.

Precedence: defaults < user config (<config dir>/config.toml) < repo config
(`[tool.repopack]` in pyproject.toml, or `.repopack.toml`) < `REPOPACK_*` environment <
command-line flags.  Unknown keys are an error that names the file and the key.
API keys are never read from config files (only from the environment or a flag).

Trust: a repository is untrusted input.  Its config may set only what shapes the pack
(`REPO_KEYS`); everything else (endpoint, model, prompt templates, redaction, cost and
time limits, anything that sends data somewhere or runs something) comes only from the
user: flags, environment, the user config.  A repository setting outside `REPO_KEYS` is
dropped and reported once as a one-line warning naming the keys.  The user opts a
repository in with ``trusted_repos = ["~/src/mine", ...]`` in the user config (real paths;
a directory trusts the repositories below it).  A field added to `Settings` is user-only
until it is listed in `REPO_KEYS`.
"""

from __future__ import annotations

import dataclasses
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from repopack.choices import Format, Images, Order
from repopack.errors import ConfigError, UsageError
from repopack.packing.cache import DEFAULT_MAX_BYTES, parse_size
from repopack.util.env import env
from repopack.util.limits import MAX_FILE_BYTES
from repopack.util.paths import config_dir

DEFAULT_MODEL = "gpt-4.1"  # what a command talks to when nothing names a model
DEFAULT_TIMEOUT = 120.0  # seconds per model request
# Without --budget, a conversation packs the model's measured effective context (`repopack eval
# needle`), else this much: long-context benchmarks (RULER, NoLiMa) find most models reliable to
# about 64K tokens, far below their advertised windows, and every token is paid for.
DEFAULT_BUDGET = 64_000
DEFAULT_MAX_COST = 0.25  # USD; above it ask / chat / review / explain-tests ask first (a terminal) or refuse


@dataclass(frozen=True)
class Settings:
    budget: int | None = None  # token budget for the rendered prompt; None packs everything
    format: Format = Format.XML  # how the prompt is rendered: xml | markdown | plain
    include: tuple[str, ...] = ()  # gitignore-style globs; when set, only matching files are packed
    exclude: tuple[str, ...] = ()  # gitignore-style globs that are never packed
    encoding: str | None = None  # tiktoken encoding; default o200k_base with offline fallback
    max_file_bytes: int = MAX_FILE_BYTES  # larger files are skipped and listed
    default_excludes: bool = True  # node_modules, virtualenvs, build output, lock files, minified bundles
    include_sensitive: bool = False  # pack .env, *.pem, id_rsa ... (still redacted)
    line_numbers: bool = False  # prefix full files with line numbers
    order: Order = Order.RELEVANCE_LAST  # where the most relevant files go: relevance-last | relevance-first | path
    redact: bool = True  # redact secrets before any output or model call
    cache: bool = True  # use the on-disk cache of symbols and token counts
    cache_max: int = DEFAULT_MAX_BYTES  # cache size cap in bytes ("500M", "2G"); least recently used goes first
    model: str | None = None  # model name, e.g. gpt-4.1
    base_url: str | None = None  # OpenAI-compatible endpoint
    window: int | None = None  # context window override for unknown/local models
    reserve_output: int = 8192  # tokens kept free for the answer
    max_cost: float | None = None  # USD a model call may cost before it is confirmed or refused (None: the default)
    timeout: float = DEFAULT_TIMEOUT  # seconds per model request
    prompts: str | None = None  # directory of user prompt templates overriding the shipped ones
    images: Images = Images.AUTO  # images for multimodal models: auto (when the question asks) | none | all
    max_images: int = 8  # at most this many images per prompt


_FIELDS = {f.name: f for f in fields(Settings)}
_TOKEN_FIELDS = {"budget", "window", "reserve_output"}  # read like --budget: 20000, 32k, 1.5m
_TUPLES = {"include", "exclude"}
_CHOICES: dict[str, type[Format] | type[Order] | type[Images]] = {"format": Format, "order": Order, "images": Images}

# What a repository's own config may set: only what shapes the pack.  Never the endpoint, the
# model, templates, redaction, limits, or anything that sends data or runs something.
REPO_KEYS = frozenset({
    "budget", "format", "include", "exclude", "encoding", "max_file_bytes", "default_excludes",
    "line_numbers", "order",
})
TRUST_KEY = "trusted_repos"  # user config only: repositories whose config may set everything

Warn = Callable[[str], None]
_warned: set[str] = set()


def reset_warnings() -> None:
    """Start a new command: its warnings are printed again (the CLI group and each MCP call do this)."""
    _warned.clear()


def warn_once(message: str) -> None:
    """The default sink for settings warnings: one line on stderr, once per command."""
    if message not in _warned:
        _warned.add(message)
        print(f"repopack: warning: {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class RepoConfigReport:
    """What a repository's config tried to set that only the user may set."""

    source: str
    ignored: tuple[str, ...]  # key names as written in the file, sorted

    @property
    def message(self) -> str:
        keys = ", ".join(self.ignored)
        return (f"ignored {keys} from {self.source}: a repository's config may only shape the pack "
                f"(add the repository to {TRUST_KEY} in {config_dir() / 'config.toml'} to trust it)")


def _coerce(name: str, value: Any, source: str) -> Any:
    ftype = str(_FIELDS[name].type)
    try:
        if name in _TUPLES:
            if isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                raise TypeError
            return tuple(value)
        if value is None:
            return None
        if name == "cache_max":
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise TypeError
            return parse_size(value)
        if ftype.startswith("bool"):
            if isinstance(value, str):
                low = value.strip().lower()
                if low in ("1", "true", "yes", "on"):
                    return True
                if low in ("0", "false", "no", "off"):
                    return False
                raise ValueError
            if not isinstance(value, bool):
                raise TypeError
            return value
        if ftype.startswith("int"):
            if isinstance(value, bool):
                raise TypeError
            if name in _TOKEN_FIELDS and isinstance(value, str):
                return token_count(value)  # "32k", "1.5m", "20_000" as on the command line
            return int(value)
        if ftype.startswith("float"):
            return float(value)
        if not isinstance(value, str):
            raise TypeError
        if name in _CHOICES:
            choice = _CHOICES[name]
            if value not in tuple(choice):
                raise ConfigError(f"{source}: unknown {name} {value!r}; choose one of {', '.join(tuple(choice))}")
            return choice(value)
        return value
    except (TypeError, ValueError):
        raise ConfigError(f"{source}: bad value for {name!r}: {value!r} (expected {ftype})") from None


def _validate(settings: Settings) -> Settings:
    if settings.budget is not None and settings.budget <= 0:
        raise ConfigError(f"budget must be a positive number of tokens, got {settings.budget}")
    if settings.max_file_bytes <= 0:
        raise ConfigError("max_file_bytes must be positive")
    if settings.max_images < 0:
        raise ConfigError(f"max_images must be 0 or more, got {settings.max_images}")
    return settings


def merge(settings: Settings, values: dict[str, Any], source: str) -> Settings:
    """Apply one layer of settings, rejecting unknown keys by name."""
    changes: dict[str, Any] = {}
    for raw_key, value in values.items():
        key = raw_key.replace("-", "_")
        if key not in _FIELDS:
            known = ", ".join(sorted(k.replace("_", "-") for k in _FIELDS))
            raise ConfigError(f"{source}: unknown key {raw_key!r} (known keys: {known})")
        changes[key] = _coerce(key, value, source)
    return dataclasses.replace(settings, **changes)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None


def repo_config(root: Path) -> tuple[dict[str, Any], str] | None:
    dot = root / ".repopack.toml"
    if dot.is_file():
        data = _read_toml(dot)
        return data.get("tool", {}).get("repopack", data) if "tool" in data else data, str(dot)
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = _read_toml(pyproject)
        except ConfigError:
            return None  # a broken pyproject is the project's business, not a repopack setting
        section = data.get("tool", {}).get("repopack")
        if isinstance(section, dict):
            return section, f"{pyproject} [tool.repopack]"
    return None


def env_config() -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in _FIELDS:
        value = env(name)
        if value is not None:
            values[name] = value
    return values


def _trusted_roots(values: Any, source: str) -> tuple[Path, ...]:
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
        raise ConfigError(f"{source}: {TRUST_KEY} must be a list of repository paths")
    return tuple(Path(v).expanduser().resolve() for v in values)


def is_trusted(root: Path, trusted: tuple[Path, ...]) -> bool:
    real = root.resolve()
    return any(real == t or t in real.parents for t in trusted)


def split_repo_config(values: dict[str, Any], source: str) -> tuple[dict[str, Any], RepoConfigReport | None]:
    """Keep the keys a repository may set; report the others (unknown keys still fail in `merge`)."""
    allowed: dict[str, Any] = {}
    ignored: list[str] = []
    for raw_key, value in values.items():
        key = raw_key.replace("-", "_")
        if key in REPO_KEYS or (key not in _FIELDS and key != TRUST_KEY):
            allowed[raw_key] = value
        else:
            ignored.append(raw_key)
    return allowed, RepoConfigReport(source, tuple(sorted(ignored))) if ignored else None


def load_settings_report(root: Path | None,
                         flags: dict[str, Any] | None = None) -> tuple[Settings, RepoConfigReport | None]:
    """Settings for `root`, and what its repository config was not allowed to set (None: nothing)."""
    settings = Settings()
    trusted: tuple[Path, ...] = ()
    user = config_dir() / "config.toml"
    if user.is_file():
        values = dict(_read_toml(user))
        if TRUST_KEY in values:
            trusted = _trusted_roots(values.pop(TRUST_KEY), str(user))
        settings = merge(settings, values, str(user))
    report = None
    if root is not None:
        found = repo_config(root)
        if found is not None:
            values, source = found
            if not is_trusted(root, trusted):
                values, report = split_repo_config(values, source)
            elif TRUST_KEY in values:
                values = {k: v for k, v in values.items() if k != TRUST_KEY}
            settings = merge(settings, values, source)
    settings = merge(settings, env_config(), "environment")
    if flags:
        settings = merge(settings, {k: v for k, v in flags.items() if v is not None}, "command line")
    return _validate(settings), report


def load_settings(root: Path | None, flags: dict[str, Any] | None = None, *,
                  warn: Warn | None = warn_once) -> Settings:
    """Settings for `root`; a repository setting outside `REPO_KEYS` is dropped and reported to `warn`."""
    settings, report = load_settings_report(root, flags)
    if report is not None and warn is not None:
        warn(report.message)
    return settings


def token_count(text: str) -> int:
    """'20000', '20k', '1.5m', '20_000', '20,000' -> tokens; ValueError for anything else."""
    clean = text.strip().lower().replace("_", "").replace(",", "")
    mult = 1
    if clean.endswith("k"):
        mult, clean = 1000, clean[:-1]
    elif clean.endswith("m"):
        mult, clean = 1_000_000, clean[:-1]
    number = float(clean)
    if number != number or number in (float("inf"), float("-inf")):  # nan, inf
        raise ValueError(text)
    return int(number * mult)


def parse_budget(value: str | None, model: str | None = None, window: int | None = None,
                 flag: str = "--budget") -> int | None:
    """'20000', '20k', '1.5m' -> tokens; 'auto' -> the model's measured effective context (else its window)."""
    if value is None:
        return None
    text = value.strip().lower().replace("_", "").replace(",", "")
    if text == "auto" and flag == "--budget":
        from repopack.model.effective import auto_budget

        return auto_budget(model, window=window).tokens
    try:
        tokens = token_count(text)
    except ValueError:
        raise UsageError(f"{flag} takes a number of tokens like 20000 or 32k, got {value!r}") from None
    if tokens <= 0:
        raise UsageError(f"{flag} must be positive, got {value!r}")
    return tokens
