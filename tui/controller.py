"""The TUI's state over one `Session`: exclusions, pins, budget and model overrides.

Every method that touches the session takes a lock and may block (packing, the model,
the file system), so the app calls them from thread workers only; the pure methods
(`toggle`, `pin`, `estimate`) are cheap and run on the event loop.  No Textual here.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from repopack.apply import ApplyResult
from repopack.client import ClientConfig
from repopack.config import Settings
from repopack.edits import FileEdit
from repopack.errors import NoModelConfiguredError, UsageError
from repopack.pipeline import PackResult
from repopack.session import Event, Session

from .state import (
    ContextView,
    TokenMemory,
    estimate_after_toggle,
    exclude_patterns,
    toggle_exclusion,
    view_from_pack,
)
from .transcript import Transcript

Progress = Callable[[str, int, int], None]

NO_MODEL_HELP = """\
**No model endpoint is configured**, so questions cannot be sent yet; the context on the left is live.

To talk to a model, quit (`ctrl+q`) and start again with one of:

- OpenAI: `export OPENAI_API_KEY=sk-...` then `repopack chat .`
- any OpenAI-compatible server (vLLM, llama.cpp, Ollama, a gateway):
  `repopack chat . --base-url http://localhost:8000/v1 --model NAME`
  (or `OPENAI_BASE_URL=...`; add `OPENAI_API_KEY` if the server wants one)
- or set `base_url` and `model` under `[tool.repopack]` in `pyproject.toml`.
"""


class Controller:
    def __init__(self, session: Session, transcript: Transcript | None = None) -> None:
        self.session = session
        self.base = session.settings
        self.budget = session.settings.budget
        self.model = session.settings.model
        self.excluded: frozenset[str] = frozenset()
        self.pinned: tuple[str, ...] = tuple(session.focus)
        self.memory = TokenMemory()
        self.view: ContextView | None = None
        self.last_result: PackResult | None = None
        self.question = ""  # the conversation's first question: the context is ranked for it
        self.transcript = transcript or Transcript(session.root.name, session.model_name)
        if self.transcript.history:
            session.history = list(self.transcript.history)
            self.question = next((e.text for e in self.transcript.entries if e.role == "user"), "")
        self._lock = threading.Lock()

    # --- read-only --------------------------------------------------------
    @property
    def root(self) -> Path:
        return self.session.root

    @property
    def model_name(self) -> str:
        return self.session.model_name

    @property
    def in_conversation(self) -> bool:
        return bool(self.session.history)

    def model_help(self) -> str | None:
        """Markdown telling how to configure a model, or None when one is configured."""
        settings = self._settings()
        try:
            ClientConfig.resolve(base_url=settings.base_url, model=settings.model, timeout=settings.timeout)
        except NoModelConfiguredError:
            return NO_MODEL_HELP
        return None

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

    def set_model(self, model: str) -> None:
        with self._lock:
            self.model = model
            self.session.client_config = None  # resolved again, for the new model
            self._sync()
        self.transcript.model = self.session.model_name

    def new_conversation(self) -> None:
        with self._lock:
            self.session.reset()
            self.question = ""

    # --- blocking work (thread workers) ------------------------------------
    def pack(self, progress: Progress | None = None) -> ContextView:
        with self._lock:
            self._sync()
            result = self.session.pack(self.question, None, progress)
            return self._remember(result)

    def view_for(self, result: PackResult) -> ContextView:
        return self._remember(result)

    def ask(self, question: str, progress: Progress | None = None) -> Iterator[Event]:
        with self._lock:
            self._sync()
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
        return dataclasses.replace(self.base, budget=self.budget, model=self.model,
                                   exclude=self.base.exclude + exclude_patterns(self.excluded))

    def _sync(self) -> None:
        self.session.settings = self._settings()
        self.session.focus = self.pinned

    def _remember(self, result: PackResult) -> ContextView:
        self.last_result = result
        window = self.session.model_info().window
        self.view = view_from_pack(result, window, self.memory, self.pinned, self.excluded)
        return self.view
