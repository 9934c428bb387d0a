"""The TUI's state over one `Session`: exclusions, pins, budget and model overrides.

Every method that touches the session takes a lock and may block (packing, the model,
the file system), so the app calls them from thread workers only; the pure methods
(`toggle`, `pin`, `estimate`) are cheap and run on the event loop.  No Textual here.

The session (and with it the model client and the ranking stack, ~1 s of imports) is
opened on first use, in a worker, so the first screen does not wait for it.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from repopack.config import DEFAULT_MODEL, Settings
from repopack.errors import NoModelConfiguredError, UsageError
from repopack.util.env import env
from repopack.util.progress import Progress

from .state import (
    ContextView,
    TokenMemory,
    estimate_after_toggle,
    exclude_patterns,
    toggle_exclusion,
    view_from_pack,
)
from .transcript import Transcript

if TYPE_CHECKING:
    from repopack.chat.apply import ApplyResult
    from repopack.chat.edits import FileEdit
    from repopack.chat.session import Event, Session
    from repopack.model.served import ServedModel
    from repopack.packing.pipeline import PackResult


NO_MODEL_HELP = """\
**No model endpoint is configured**, so questions cannot be sent yet; the context is live.

- Press `ctrl+o` and fill in the endpoint of any OpenAI-compatible server
  (vLLM, llama.cpp, Ollama, a gateway), e.g. `http://localhost:8000/v1`, then pick a model.
- Or quit (`ctrl+q`) and start again with `export OPENAI_API_KEY=sk-...` (OpenAI), or
  `repopack chat . --base-url http://localhost:8000/v1 --model NAME` (or `OPENAI_BASE_URL=...`;
  add `OPENAI_API_KEY` if the server wants one), or set `base_url` and `model` in your
  user config (`config.toml`).
"""


class Controller:
    def __init__(self, root: Path, settings: Settings, transcript: Transcript | None = None, *,
                 warnings: tuple[str, ...] = ()) -> None:
        self.root = root
        self.base = settings
        self.warnings = warnings  # from loading the settings (e.g. repository keys ignored)
        self.budget = settings.budget
        self.model = settings.model
        self.base_url = settings.base_url  # the endpoint; the user may change it in the app
        self.excluded: frozenset[str] = frozenset()
        self.pinned: tuple[str, ...] = ()
        self.memory = TokenMemory()
        self.view: ContextView | None = None
        self.last_result: PackResult | None = None
        self.question = ""  # the conversation's first question: the context is ranked for it
        self._session: Session | None = None
        self._lock = threading.Lock()
        self.transcript = transcript or Transcript(root.name, self.model_name)
        if self.transcript.history:
            self.question = next((e.text for e in self.transcript.entries if e.role == "user"), "")

    @property
    def session(self) -> Session:
        """The session, opened on first use (blocking: call from a worker)."""
        if self._session is None:
            from repopack.chat.session import Session

            session = Session.open(self.root, self._settings())
            session.history = list(self.transcript.history)
            self._session = session
        return self._session

    # --- read-only --------------------------------------------------------
    @property
    def model_name(self) -> str:
        if self._session is not None:
            return self._session.model_name
        return self.model or env("model") or DEFAULT_MODEL

    @property
    def in_conversation(self) -> bool:
        return bool(self._session.history if self._session is not None else self.transcript.history)

    def model_help(self) -> str | None:
        """Markdown telling how to configure a model, or None when one is configured (may block)."""
        from repopack.model.client import ClientConfig  # the openai SDK: not needed for the first screen

        settings = self._settings()
        try:
            ClientConfig.resolve(base_url=settings.base_url, model=settings.model, timeout=settings.timeout)
        except NoModelConfiguredError:
            return NO_MODEL_HELP
        return None

    @property
    def endpoint(self) -> str | None:
        """Where questions go: the endpoint set here or on the command line, else $OPENAI_BASE_URL."""
        return self.base_url or os.environ.get("OPENAI_BASE_URL") or None

    def served_models(self, base_url: str | None) -> list[ServedModel]:
        """`GET /models` of an endpoint; None: $OPENAI_BASE_URL, else OpenAI's (blocking: call from a worker)."""
        from repopack.model.client import ClientConfig
        from repopack.model.served import served_models

        config = ClientConfig.resolve(base_url=base_url, model=self.model_name, timeout=self.base.timeout)
        return served_models(config)

    def budget_label(self) -> str:
        return f"budget {self.budget:,}" if self.budget else "budget auto"

    def context_text(self) -> str | None:
        return self.last_result.text if self.last_result is not None else None

    # --- cheap changes (event loop) ----------------------------------------
    def toggle(self, target: str) -> ContextView | None:
        """Take a file or folder ("dir/") out of the context, or back in; the estimated view."""
        view = self.view
        if view is not None and target in view.config_excluded:
            raise UsageError(f"{target} is excluded by the repository's configuration (exclude = ...); "
                             f"edit it there to pack this file")
        paths = list(view.rows) if view is not None else []
        self.excluded = toggle_exclusion(self.excluded, target, paths)
        if view is None:
            return None
        self.view = estimate_after_toggle(view, self.excluded)
        return self.view

    def pin(self, path: str) -> bool:
        """Pin or unpin a file as focus (ranked first); True when it is now pinned."""
        if path in self.pinned:
            self.pinned = tuple(p for p in self.pinned if p != path)
            return False
        self.pinned = (*self.pinned, path)
        return True

    def set_budget(self, budget: int | None) -> None:
        self.budget = budget

    def set_model(self, model: str, base_url: str | None = None) -> None:
        """Talk to `model`, at `base_url` when one is given (the endpoint stays otherwise)."""
        if base_url is not None:
            base_url = check_endpoint(base_url)
        with self._lock:
            self.model = model
            if base_url is not None:
                self.base_url = base_url or None
            if self._session is not None:
                self._session.client_config = None  # resolved again, for the new model and endpoint
                self._sync()
        self.transcript.model = self.model_name

    def new_conversation(self) -> None:
        with self._lock:
            self.transcript.history = []
            if self._session is not None:
                self._session.reset()
            self.question = ""

    # --- blocking work (thread workers) ------------------------------------
    def pack(self, progress: Progress | None = None) -> ContextView:
        with self._lock:
            self._sync()
            result = self.session.pack(self.question, None, progress)
            if self.session.history:
                self.session.replace_context(result)  # the next question is asked over this context
                self.transcript.history = list(self.session.history)
            return self._remember(result)

    def view_for(self, result: PackResult) -> ContextView:
        return self._remember(result)

    def ask(self, question: str, progress: Progress | None = None) -> Generator[Event, None, None]:
        with self._lock:
            self._sync()
            self.session.config()  # no endpoint: say so now, before packing for the question
            if not self.session.history:
                self.question = question
            yield from self.session.ask(question, progress=progress)
            self.transcript.history = list(self.session.history)

    def apply(self, edits: Sequence[FileEdit]) -> ApplyResult:
        with self._lock:
            return self.session.apply(edits)

    def undo(self) -> list[str]:
        with self._lock:
            return self.session.undo()

    # --- internals ----------------------------------------------------------
    def _settings(self) -> Settings:
        return dataclasses.replace(self.base, budget=self.budget, model=self.model, base_url=self.base_url,
                                   exclude=self.base.exclude + exclude_patterns(self.excluded))

    def _sync(self) -> None:
        self.session.settings = self._settings()
        self.session.focus = self.pinned

    def _remember(self, result: PackResult) -> ContextView:
        self.last_result = result
        window = self.session.model_info().window
        self.view = view_from_pack(result, window, self.memory, self.pinned, self.excluded)
        return self.view


def check_endpoint(url: str) -> str:
    """An http(s) URL with a host, without trailing slashes ("" stays "": the default endpoint)."""
    url = url.strip()
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        host = None
    if host is None or parts.scheme not in ("http", "https"):
        raise UsageError(f"the endpoint must be an http:// or https:// URL with a host, got {url!r}")
    return url.rstrip("/")
