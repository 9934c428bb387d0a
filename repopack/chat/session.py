"""A conversation about a repository: the one API the CLI, the TUI, review and the test
explainer use.

`Session.ask(question)` packs context ranked for the question (redacted), sends it to
the model with a stable prefix (system prompt, then the packed context, then the
question) so providers' prompt caches hit, and yields events as the answer streams.
Follow-up questions append to the history and reuse the first context.  Edits in the
answer can be applied safely with `Session.apply` and undone with `Session.undo`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repopack.chat.apply import AllowUnpacked, ApplyResult, apply_edits, sha256_hex
from repopack.chat.edits import FileEdit, parse_edits
from repopack.chat.undo import undo_last
from repopack.config import DEFAULT_BUDGET, DEFAULT_MAX_COST, DEFAULT_MODEL, Settings
from repopack.errors import ContextOverflowError, CostLimitError
from repopack.model.client import ChatEvent, ClientConfig, stream_chat
from repopack.model.effective import measured_context
from repopack.model.registry import ModelInfo, default_budget, estimate_cost, lookup_model
from repopack.model.templates import render_template
from repopack.packing.fit import BLOCK_MODES
from repopack.packing.pipeline import PackResult, pack_repo
from repopack.packing.rank import Signals
from repopack.packing.redaction import Redaction
from repopack.packing.tokens import get_tokenizer
from repopack.packing.walk import decode_text, resolve_root
from repopack.util.env import env
from repopack.util.names import fs_name

Message = dict[str, Any]  # content: text, or text and image parts for a multimodal model
OVERFLOW_SHRINK = 0.6  # after a context-length error, retry once with this share of the budget
MIN_BUDGET = 2000
MIN_SHRUNK_BUDGET = 256  # below this not even the prompt header fits


def shrunk_budget(budget: int, packed_tokens: int) -> int:
    """The budget for the one retry after a context-length error.

    Shrinks what was actually packed, not the nominal budget: a small repository packed
    whole under a million-token budget must still get a smaller second prompt.
    """
    return max(MIN_SHRUNK_BUDGET, int(min(budget, packed_tokens) * OVERFLOW_SHRINK))


OVERFLOW_MARGIN = 0.95  # aim this far under a stated limit: tokenizers differ a little between servers


def overflow_target(exc: ContextOverflowError, counted: int) -> int | None:
    """Tokens (as we count them) the retried request may have, from the limit the server stated.

    When the server also said how long it found the prompt, its count and ours give the
    exchange rate between its units and ours; otherwise its limit is taken as our units.
    None when the server named no limit, or named one our own count already meets (then
    its tokenizer and ours disagree by an unknown amount).
    """
    if exc.limit is None:
        return None
    if exc.requested:
        return max(1, int(counted * exc.limit / exc.requested * OVERFLOW_MARGIN))
    if counted <= exc.limit:
        return None
    return max(1, int(exc.limit * OVERFLOW_MARGIN))


def _cents_up(cost: float) -> str:
    """$0.4712 -> '0.48': the smallest --max-cost that lets this call through."""
    import math

    return f"{math.ceil(cost * 100) / 100:.2f}"


def _stated(exc: ContextOverflowError) -> str:
    return f" (the server's limit: {exc.limit:,} tokens)" if exc.limit is not None else ""


@dataclass(frozen=True)
class PackedEvent:
    """The context is ready (sent next, unless this is a dry run)."""

    result: PackResult
    budget: int
    estimated_input_tokens: int
    estimated_cost: float | None
    budget_note: str = ""  # how a budget the user did not give was chosen


@dataclass(frozen=True)
class TokenEvent:
    text: str


@dataclass(frozen=True)
class NoticeEvent:
    """Something the user should know: a retry, a shrink, a fallback."""

    message: str


@dataclass(frozen=True)
class UsageEvent:
    input_tokens: int | None
    output_tokens: int | None
    cost: float | None


@dataclass(frozen=True)
class EditsEvent:
    edits: tuple[FileEdit, ...]


@dataclass(frozen=True)
class DoneEvent:
    answer: str


Event = PackedEvent | TokenEvent | NoticeEvent | UsageEvent | EditsEvent | DoneEvent


@dataclass
class Session:
    """One conversation about one repository.  Not thread-safe: one ask at a time."""

    root: Path
    settings: Settings
    client_config: ClientConfig | None = None  # resolved lazily: packing needs no model
    history: list[Message] = field(default_factory=list)
    last_pack: PackResult | None = None
    focus: tuple[str, ...] = ()
    prompts_dir: Path | None = None
    # Asked when a call's estimated cost is above the limit: (cost, limit) -> go ahead?  None refuses.
    confirm_cost: Callable[[float, float], bool] | None = None
    _hashes: dict[str, str] = field(default_factory=dict, repr=False)
    _redacted_paths: set[str] = field(default_factory=set, repr=False)
    _first_turn: tuple[str, bool] | None = field(default=None, repr=False)  # (question, allow_edits)
    _image_urls: dict[tuple[str, tuple[int, int]], str] = field(default_factory=dict, repr=False)

    @classmethod
    def open(cls, path: str | Path, settings: Settings, client_config: ClientConfig | None = None) -> Session:
        prompts = Path(settings.prompts) if settings.prompts else None
        return cls(resolve_root(path), settings, client_config, prompts_dir=prompts)

    # --- model -------------------------------------------------------------
    def config(self) -> ClientConfig:
        if self.client_config is None:
            self.client_config = ClientConfig.resolve(base_url=self.settings.base_url, model=self.settings.model,
                                                      timeout=self.settings.timeout)
        return self.client_config

    @property
    def model_name(self) -> str:
        if self.client_config is not None:
            return self.client_config.model
        return self.settings.model or env("model") or DEFAULT_MODEL

    def model_info(self) -> ModelInfo:
        return lookup_model(self.model_name, self.settings.window)

    # --- context -----------------------------------------------------------
    def system_prompt(self) -> str:
        return render_template("system", self.prompts_dir, repo_name=self.root.name)

    def budget_for(self, question: str) -> int:
        return self.budget_choice(question)[0]

    def budget_choice(self, question: str) -> tuple[int, str]:
        """(tokens, how they were chosen): the user's budget (no note), else the model's measured
        effective context, else a moderate default, never more than the window leaves after the
        answer, the system prompt and the question."""
        if self.settings.budget is not None:
            return self.settings.budget, ""
        tok = get_tokenizer(self.settings.encoding)
        overhead = tok.count(self.system_prompt()) + tok.count(question) + 200
        info = self.model_info()
        reserve = min(self.settings.reserve_output, info.max_output)
        window_left = max(MIN_BUDGET, default_budget(info, reserve, overhead))
        measured = measured_context(self.model_name)
        if measured is not None:  # `repopack eval needle` found where this model stops finding facts
            budget = max(MIN_BUDGET, min(window_left, measured.usable_budget - overhead))
            return budget, (f"the measured effective context of {self.model_name} ({measured.label}, "
                            "`repopack eval needle`); --budget overrides it")
        if window_left <= DEFAULT_BUDGET:
            return window_left, f"what the {info.window:,}-token window of {self.model_name} leaves"
        return DEFAULT_BUDGET, (f"the default, as {self.model_name}'s effective context is not measured: "
                                "`repopack eval needle` measures it, --budget overrides it")

    def cost_limit(self) -> tuple[float, bool]:
        """(USD, whether the user set it) above which a model call is confirmed or refused."""
        limit = self.settings.max_cost
        return (DEFAULT_MAX_COST, False) if limit is None else (limit, True)

    def check_cost(self, cost: float | None) -> None:
        """Refuse a call estimated above the limit, unless ``confirm_cost`` (a terminal) says go."""
        limit, explicit = self.cost_limit()
        if cost is None or cost <= limit:
            return
        if self.confirm_cost is not None and self.confirm_cost(cost, limit):
            return
        if explicit:
            raise CostLimitError(f"estimated cost ${cost:.4f} is above --max-cost ${limit:.4f}; "
                                 f"lower --budget or raise --max-cost")
        raise CostLimitError(f"estimated cost ${cost:.4f} is above the default limit of ${limit:.2f}; lower "
                             f"--budget, or raise the limit with --max-cost {_cents_up(cost)} (or max_cost in "
                             "the user config)")

    def pack(self, question: str, budget: int | None = None, progress: Callable[[str, int, int], None] | None = None,
             focus: Sequence[str] = ()) -> PackResult:
        settings = dataclasses.replace(self.settings, budget=budget or self.budget_for(question),
                                       model=self.model_name)  # the model decides how images are counted
        signals = Signals(query=question, focus=tuple(focus) or self.focus)
        result = pack_repo(self.root, settings, signals, progress)
        self._remember(result)
        return result

    def _remember(self, result: PackResult) -> None:
        self.last_pack = result
        self._redacted_paths = set(result.redactions)
        self._hashes = {}
        for d in result.packed.decisions:
            if d.mode in BLOCK_MODES:
                try:
                    self._hashes[d.path] = sha256_hex((self.root / fs_name(d.path)).read_bytes())
                except OSError:
                    continue

    def user_message(self, question: str, context: str | None, allow_edits: bool) -> str:
        return render_template("ask", self.prompts_dir, context=context or "", question=question,
                               focus=list(self.focus), allow_edits=allow_edits)

    def messages_for(self, question: str, context: str | None, allow_edits: bool) -> list[Message]:
        if self.history:
            return [*self.history, {"role": "user", "content": self.user_message(question, None, allow_edits)}]
        return [{"role": "system", "content": self.system_prompt()},
                {"role": "user", "content": self._with_images(self.user_message(question, context, allow_edits),
                                                              context is not None)}]

    def _with_images(self, text: str, has_context: bool) -> str | list[dict[str, Any]]:
        """The user message's content: the text, then one image part per image the pack attaches
        (only when the model's registry entry accepts images: see packing/images.py)."""
        refs = self.last_pack.images.sent if (has_context and self.last_pack is not None) else ()
        if not refs:
            return text
        from repopack.packing.images import encode

        parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
        for ref in refs:
            key = (ref.path, ref.sent_size)
            if key not in self._image_urls:
                self._image_urls[key] = encode(self.root, ref)
            parts.append({"type": "image_url", "image_url": {"url": self._image_urls[key]}})
        return parts

    def content_tokens(self, content: str | list[dict[str, Any]]) -> int:
        """Tokens of a message's content: its text, plus the image tokens of attached images."""
        tok = get_tokenizer(self.settings.encoding)
        if isinstance(content, str):
            return tok.count(content)
        text = sum(tok.count(part.get("text", "")) for part in content if part.get("type") == "text")
        images = self.last_pack.images.tokens if self.last_pack is not None else 0
        return text + images

    def estimate(self, messages: Sequence[Message]) -> tuple[int, float | None]:
        tokens = sum(self.content_tokens(m["content"]) + 4 for m in messages)
        info = self.model_info()
        reserve = min(self.settings.reserve_output, info.max_output)
        return tokens, estimate_cost(info, tokens, reserve)

    # --- asking ------------------------------------------------------------
    def ask(self, question: str, *, allow_edits: bool = True, dry_run: bool = False,
            progress: Callable[[str, int, int], None] | None = None) -> Iterator[Event]:
        """Pack (first turn), check cost, send, stream; shrink once on context overflow."""
        budget, note = self.budget_choice(question)
        first_turn = not self.history
        result = self.pack(question, budget, progress) if first_turn else self.last_pack
        for attempt in range(2):
            context = result.text if (first_turn and result is not None) else None
            messages = self.messages_for(question, context, allow_edits)
            tokens, cost = self.estimate(messages)
            if result is not None and (first_turn or attempt):
                yield PackedEvent(result, budget, tokens, cost, note if not attempt else "")
            if dry_run:
                return
            self.check_cost(cost)
            try:
                yield from self._send(messages, question, context, allow_edits)
                return
            except ContextOverflowError as exc:
                if attempt or not first_turn:
                    raise
                target = overflow_target(exc, tokens)
                overhead = self.estimate(self.messages_for(question, "", allow_edits))[0]
                if target is None:  # the server named no limit: shrink what was packed
                    budget = shrunk_budget(budget, result.packed.tokens if result is not None else budget)
                else:
                    budget = max(MIN_SHRUNK_BUDGET, target - overhead)
                result = self.pack(question, budget, progress)
                if target is not None:
                    result, budget = self._fit_request(question, result, budget, target, allow_edits, progress)
                yield NoticeEvent(f"the model rejected the prompt as too long; retrying once with a budget of "
                                  f"{budget:,} tokens{_stated(exc)}")

    def _fit_request(self, question: str, result: PackResult, budget: int, target: int, allow_edits: bool,
                     progress: Callable[[str, int, int], None] | None) -> tuple[PackResult, int]:
        """Re-pack until the whole request, as counted, is at most ``target`` tokens (the template
        around the context and the message framing cost a little more than the budget alone)."""
        for _ in range(3):
            counted = self.estimate(self.messages_for(question, result.text, allow_edits))[0]
            if counted <= target or budget <= MIN_SHRUNK_BUDGET:
                break
            budget = max(MIN_SHRUNK_BUDGET, budget - (counted - target))
            result = self.pack(question, budget, progress)
        return result, budget

    def _send(self, messages: list[Message], question: str, context: str | None,
              allow_edits: bool) -> Iterator[Event]:
        parts: list[str] = []
        usage: ChatEvent | None = None
        for event in stream_chat(self.config(), messages):
            if event.kind == "notice":  # a retry, shown before its wait
                yield NoticeEvent(event.notice)
            elif event.kind == "text":
                parts.append(event.text)
                yield TokenEvent(event.text)
            else:
                usage = event
        answer = "".join(parts)
        if not self.history:
            self._first_turn = (question, allow_edits)
        self.history = [*messages, {"role": "assistant", "content": answer}]
        info = self.model_info()
        if usage is not None:
            cost = estimate_cost(info, usage.input_tokens or 0, usage.output_tokens or 0)
            yield UsageEvent(usage.input_tokens, usage.output_tokens, cost)
        else:
            tok = get_tokenizer(self.settings.encoding)
            inp = sum(self.content_tokens(m["content"]) for m in messages)
            out = tok.count(answer)
            yield UsageEvent(inp, out, estimate_cost(info, inp, out))
        edits = tuple(parse_edits(answer))
        if edits:
            yield EditsEvent(edits)
        yield DoneEvent(answer)

    # --- edits -------------------------------------------------------------
    def apply(self, edits: Sequence[FileEdit], allow_unpacked: AllowUnpacked = False) -> ApplyResult:
        """Apply inside the root only, refusing files changed since they were packed, and files the
        model never saw unless `allow_unpacked` says yes (True, or a function asked per path)."""
        packed = set(self._hashes) if self.last_pack is not None else None
        return apply_edits(self.root, edits, expected_hashes=self._hashes, redaction_lookup=self._redaction_for,
                           packed=packed, allow_unpacked=allow_unpacked)

    def _redaction_for(self, path: str) -> Redaction | None:
        """The packed file's redaction with its secret values, re-scanned from disk (never cached)."""
        if path not in self._redacted_paths:
            return None
        try:
            raw = (self.root / fs_name(path)).read_bytes()
        except OSError:
            return None
        from repopack.packing.scan import redact_text

        return redact_text(path, decode_text(raw)[0])

    def undo(self) -> list[str]:
        return undo_last(self.root)

    def replace_context(self, result: PackResult) -> None:
        """Carry a new pack for the rest of the conversation (files toggled, focus pinned, budget
        changed): the first user message is rebuilt around it, the turns after it are kept."""
        self._remember(result)
        if len(self.history) >= 2 and self._first_turn is not None:
            question, allow_edits = self._first_turn
            message = self.user_message(question, result.text, allow_edits)
            self.history[1] = {"role": "user", "content": self._with_images(message, True)}

    def reset(self) -> None:
        self.history = []
        self.last_pack = None
        self._first_turn = None
