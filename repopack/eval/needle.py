"""Needle in a repository: how deep into a packed prompt a model still finds a fact.

For each context size the repository is packed for real (ranked, fitted, redacted, as
xml).  For each depth a code-shaped fact, a uniquely named constant with a random
value, is written into a file of that pack at the line nearest that relative position
of the context (0 = the first line of the first file, 1 = the last line of the last
file).  The model is asked for the value; a trial counts as found when the answer
contains the value exactly.  Requests go in order: sizes, then depths, then trials.

The effective context is the largest size at which that size and every smaller size
tested reached the threshold at every depth.  Nothing here prints: progress goes out
through a callback.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from repopack.choices import Format
from repopack.config import Settings
from repopack.errors import ContextOverflowError, UsageError
from repopack.model.client import ClientConfig, complete_chat
from repopack.model.effective import DEFAULT_THRESHOLD, Measurement
from repopack.model.registry import ModelInfo, estimate_cost
from repopack.packing.fit import Packed
from repopack.packing.pipeline import pack_repo
from repopack.packing.render import block_wrapper, escape_body, render_header
from repopack.packing.tokens import Tokenizer, get_tokenizer

ANSWER_TOKENS = 256  # max_tokens per answer: the value is short, but some models think first
MESSAGE_FRAMING = 16  # tokens a chat template adds around two messages (upper bound)
REACHED_SHARE = 0.9  # a context shorter than this share of its size is "short": the repo is too small

SYSTEM_PROMPT = ("You answer questions about the code repository in the user's message. "
                 "Reply with the exact value asked for and nothing else.")
QUESTION = ("\n\nQuestion: what is the value of the constant `{name}` defined in the repository above? "
            "Reply with the value only.")

_WORDS_A = ("amber", "brisk", "cobalt", "dusky", "ember", "fallow", "gilded", "hollow", "ivory", "jagged",
            "kindled", "lunar", "mossy", "nimble", "opal", "pewter", "quiet", "russet", "sable", "tidal",
            "umber", "velvet", "wintry", "zephyr")
_WORDS_B = ("anchor", "bramble", "cinder", "dovetail", "falcon", "garnet", "harbor", "lantern", "marble",
            "nettle", "orchard", "pylon", "quarry", "rivet", "saddle", "thistle", "vellum", "warden")
_WORDS_C = ("checksum", "salt", "token", "seed", "cipher", "nonce", "serial", "passcode", "signature")
_VALUE_CHARS = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: exact matching, not OCR


@dataclass(frozen=True)
class Needle:
    name: str
    value: str
    language: str | None

    @property
    def line(self) -> str:
        """The planted line, shaped like a constant of the file's language."""
        n, v = self.name, self.value
        lang = self.language
        if lang in ("javascript", "typescript", "tsx", "vue", "svelte"):
            return f'export const {n} = "{v}";'
        if lang == "go":
            return f'const {n} = "{v}"'
        if lang == "rust":
            return f'pub const {n}: &str = "{v}";'
        if lang == "java":
            return f'public static final String {n} = "{v}";'
        if lang == "csharp":
            return f'public const string {n} = "{v}";'
        if lang in ("c", "cpp"):
            return f'#define {n} "{v}"'
        if lang == "php":
            return f'const {n} = "{v}";'
        if lang == "lua":
            return f'local {n} = "{v}"'
        if lang == "bash":
            return f'{n}="{v}"'
        if lang in ("kotlin", "scala", "swift"):
            return f'val {n} = "{v}"' if lang != "swift" else f'let {n} = "{v}"'
        return f'{n} = "{v}"'


def make_needle(seed: int, size: int, depth: float, trial: int, language: str | None = None) -> Needle:
    """The needle of one trial: the same seed, size, depth and trial always give the same needle."""
    rng = random.Random(f"{seed}:{size}:{depth:g}:{trial}")
    name = "_".join(rng.choice(words) for words in (_WORDS_A, _WORDS_B, _WORDS_C)).upper()
    value = "".join(rng.choice(_VALUE_CHARS) for _ in range(4)) + "-" + "".join(
        rng.choice(_VALUE_CHARS) for _ in range(4))
    return Needle(f"{name}_{rng.randrange(10, 100)}", value, language)


@dataclass(frozen=True)
class Spot:
    """Where in the context a needle goes: a line start inside a file body."""

    offset: int  # character offset in the context text
    path: str
    language: str | None


def line_starts(packed: Packed) -> list[Spot]:
    """Every line start (and body end) inside the file bodies of a packed context, in text order."""
    doc = packed.document
    text = packed.text
    pos = len(render_header(doc))
    spots: list[Spot] = []
    for block in doc.blocks:
        head, tail = block_wrapper(block, doc.fmt)
        body = escape_body(block.body, doc.fmt)
        start = pos + len(head)
        if text[start:start + len(body)] != body:
            raise RuntimeError(f"rendered context does not match its document at {block.path}")
        spots.append(Spot(start, block.path, block.language))
        spots.extend(Spot(start + i + 1, block.path, block.language)
                     for i, ch in enumerate(body) if ch == "\n")
        pos = start + len(body) + len(tail)
    return spots


def spot_at(spots: Sequence[Spot], depth: float, length: int) -> Spot:
    """The spot nearest ``depth`` (0..1) of a text of ``length`` characters; ties go to the earlier one."""
    if not spots:
        raise UsageError("the packed context holds no file to plant a needle in; use a larger size")
    target = depth * length
    return min(spots, key=lambda s: (abs(s.offset - target), s.offset))


def plant(text: str, spot: Spot, needle: Needle) -> str:
    return text[:spot.offset] + needle.line + "\n" + text[spot.offset:]


def needle_messages(context: str, needle: Needle) -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": context + QUESTION.format(name=needle.name)}]


def is_local_endpoint(base_url: str | None) -> bool:
    """Loopback, private-network and .local hosts: a model you run yourself, which costs nothing per call."""
    if not base_url:
        return False
    host = (urlparse(base_url).hostname or "").lower()
    if host == "localhost" or host.endswith((".localhost", ".local")):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_private or ip.is_unspecified


@dataclass(frozen=True)
class NeedlePlan:
    sizes: tuple[int, ...]
    depths: tuple[float, ...]
    trials: int = 1
    threshold: float = DEFAULT_THRESHOLD
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.sizes or not self.depths:
            raise UsageError("give at least one size and one depth")
        if any(not 0.0 <= d <= 1.0 for d in self.depths):
            raise UsageError("depths are shares of the context between 0 (start) and 1 (end)")
        if self.trials < 1:
            raise UsageError("--trials must be at least 1")
        if not 0.0 < self.threshold <= 1.0:
            raise UsageError("--threshold is a share between 0 and 1, e.g. 0.9")

    @property
    def requests(self) -> int:
        return len(self.sizes) * len(self.depths) * self.trials


@dataclass(frozen=True)
class Estimate:
    requests: int
    input_tokens: int  # upper bound: every prompt at its full size
    output_tokens: int  # upper bound: every answer at ANSWER_TOKENS
    cost: float | None  # USD at list price; 0 for a local endpoint; None when the price is unknown
    local: bool


def estimate_run(plan: NeedlePlan, info: ModelInfo, base_url: str | None) -> Estimate:
    inputs = sum(plan.sizes) * len(plan.depths) * plan.trials
    outputs = plan.requests * ANSWER_TOKENS
    local = is_local_endpoint(base_url)
    cost = 0.0 if local else estimate_cost(info, inputs, outputs)
    return Estimate(plan.requests, inputs, outputs, cost, local)


@dataclass(frozen=True)
class Trial:
    size: int
    depth: float
    trial: int
    name: str
    value: str
    path: str  # the file the needle was planted in
    actual_depth: float  # where it landed, as a share of the context's characters
    prompt_tokens: int
    found: bool
    latency_s: float
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost: float | None = None
    answer: str = ""  # the first 200 characters
    error: str | None = None


@dataclass(frozen=True)
class Cell:
    size: int
    depth: float
    trials: int
    found: int
    mean_latency_s: float
    cost: float | None
    prompt_tokens: int

    @property
    def accuracy(self) -> float:
        return self.found / self.trials if self.trials else 0.0


@dataclass(frozen=True)
class NeedleReport:
    model: str
    base_url: str | None
    encoding: str
    plan: NeedlePlan
    trials: tuple[Trial, ...]
    context_tokens: dict[int, int]  # size -> tokens of the packed context (before planting)
    started: str
    finished: str
    repo: str
    extra: dict[str, Any] = field(default_factory=dict)

    def cell(self, size: int, depth: float) -> Cell:
        ts = [t for t in self.trials if t.size == size and t.depth == depth]
        costs = [t.cost for t in ts]
        cost = None if any(c is None for c in costs) else sum(c for c in costs if c is not None)
        return Cell(size, depth, len(ts), sum(t.found for t in ts),
                    sum(t.latency_s for t in ts) / len(ts) if ts else 0.0, cost,
                    max((t.prompt_tokens for t in ts), default=0))

    def reached(self, size: int) -> bool:
        """Whether the repository filled a context of this size (else it is all of the repository)."""
        tokens = max((t.prompt_tokens for t in self.trials if t.size == size), default=0)
        return tokens >= REACHED_SHARE * size

    def row_passes(self, size: int) -> bool:
        return all(self.cell(size, d).accuracy >= self.plan.threshold for d in self.plan.depths)

    @property
    def effective_tokens(self) -> int | None:
        """The largest size that passed with every smaller size passing too (None: even the smallest failed)."""
        best: int | None = None
        for size in sorted(self.plan.sizes):
            if not self.row_passes(size):
                break
            if not self.reached(size):
                # The whole repository is smaller than this size: what passed is its real length.
                best = max(best or 0, max(t.prompt_tokens for t in self.trials if t.size == size))
                break
            best = size
        return best

    @property
    def total_cost(self) -> float | None:
        costs = [t.cost for t in self.trials]
        return None if any(c is None for c in costs) else sum(c for c in costs if c is not None)

    def measurement(self, report_path: str | None = None) -> Measurement:
        return Measurement(model=self.model, effective_tokens=self.effective_tokens,
                           smallest_size=min(self.plan.sizes), largest_size=max(self.plan.sizes),
                           threshold=self.plan.threshold, measured_at=self.finished, base_url=self.base_url,
                           report=report_path)

    def to_json(self) -> dict[str, Any]:
        cells = []
        for size in self.plan.sizes:
            for depth in self.plan.depths:
                c = self.cell(size, depth)
                cells.append({"size": size, "depth": depth, "trials": c.trials, "found": c.found,
                              "accuracy": c.accuracy, "mean_latency_s": round(c.mean_latency_s, 4),
                              "cost_usd": c.cost, "prompt_tokens": c.prompt_tokens, "reached": self.reached(size)})
        return {
            "kind": "repopack-eval-needle", "version": 1, "repo": self.repo, "model": self.model,
            "base_url": self.base_url, "encoding": self.encoding, "sizes": list(self.plan.sizes),
            "depths": list(self.plan.depths), "trials_per_cell": self.plan.trials, "seed": self.plan.seed,
            "threshold": self.plan.threshold, "effective_context": self.effective_tokens,
            "total_cost_usd": self.total_cost, "started": self.started, "finished": self.finished,
            "context_tokens": {str(k): v for k, v in self.context_tokens.items()},
            "cells": cells, "trials": [dataclasses.asdict(t) for t in self.trials],
        }


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _overhead(tokenizer: Tokenizer) -> int:
    probe = make_needle(0, 0, 0.0, 0)
    question = QUESTION.format(name=probe.name + "_" * 8)
    return (tokenizer.count(SYSTEM_PROMPT) + tokenizer.count(question) + tokenizer.count(probe.line + "\n") * 2
            + MESSAGE_FRAMING)


def pack_context(root: Path, settings: Settings, size: int, tokenizer: Tokenizer) -> Packed:
    """A real pack of the repository whose whole prompt, needle and question included, fits ``size``."""
    budget = size - _overhead(tokenizer)
    if budget <= 0:
        raise UsageError(f"size {size} is too small for the needle prompt; use at least 1k")
    packed_settings = dataclasses.replace(settings, budget=budget, format=Format.XML)
    return pack_repo(root, packed_settings).packed


def run_needle(root: Path, settings: Settings, plan: NeedlePlan, config: ClientConfig, info: ModelInfo,
               on_trial: Callable[[Trial], None] | None = None,
               on_stage: Callable[[str], None] | None = None) -> NeedleReport:
    tokenizer = get_tokenizer(settings.encoding)
    local = is_local_endpoint(config.base_url)
    started = _now()
    trials: list[Trial] = []
    context_tokens: dict[int, int] = {}
    for size in plan.sizes:
        if on_stage:
            on_stage(f"packing a {size:,}-token context")
        packed = pack_context(root, settings, size, tokenizer)
        context_tokens[size] = packed.tokens
        spots = line_starts(packed)
        for depth in plan.depths:
            spot = spot_at(spots, depth, len(packed.text))
            for t in range(plan.trials):
                needle = make_needle(plan.seed, size, depth, t, spot.language)
                while needle.name in packed.text:  # vanishingly rare, but a needle must be unique
                    needle = dataclasses.replace(needle, name=needle.name + "_X")
                trial = _ask(config, info, local, tokenizer, packed.text, spot, needle, size, depth, t)
                trials.append(trial)
                if on_trial:
                    on_trial(trial)
    return NeedleReport(config.model, config.base_url, tokenizer.name, plan, tuple(trials), context_tokens,
                        started, _now(), str(root))


def _ask(config: ClientConfig, info: ModelInfo, local: bool, tokenizer: Tokenizer, context: str, spot: Spot,
         needle: Needle, size: int, depth: float, trial: int) -> Trial:
    text = plant(context, spot, needle)
    messages = needle_messages(text, needle)
    prompt_tokens = sum(tokenizer.count(m["content"]) for m in messages) + MESSAGE_FRAMING // 2
    actual = spot.offset / max(1, len(context))
    clock = time.perf_counter()
    try:
        result = complete_chat(config, messages, max_tokens=ANSWER_TOKENS, temperature=0)
    except ContextOverflowError as exc:
        return Trial(size, depth, trial, needle.name, needle.value, spot.path, actual, prompt_tokens, False,
                     time.perf_counter() - clock, cost=0.0 if local else None, error=str(exc))
    latency = time.perf_counter() - clock
    cost: float | None = 0.0 if local else None
    if not local and result.input_tokens is not None and result.output_tokens is not None:
        cost = estimate_cost(info, result.input_tokens, result.output_tokens)
    return Trial(size, depth, trial, needle.name, needle.value, spot.path, actual, prompt_tokens,
                 needle.value in result.text, latency, result.input_tokens, result.output_tokens, cost,
                 result.text[:200])
