"""The one working screen: context on the left, the conversation on the right.

Packing, model calls, applying and undoing run in thread workers that post the
messages nested below; the handlers only update widgets.  Every event carries a
generation or turn number, so results that a newer request superseded are dropped.

Below `WIDE` columns the context pane starts hidden and a one-line strip stands in for
it; ctrl+t (or the palette) shows and hides it at any width, and from then on the
user's choice holds whatever the terminal's size.
"""

from __future__ import annotations

import asyncio
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header, Markdown, Static
from textual.widgets.markdown import MarkdownStream

from repopack.chat.edits import parse_edits
from repopack.choices import Format
from repopack.config import parse_budget
from repopack.errors import RepopackError
from repopack.util.fmt import one_line
from repopack.util.output import write_output
from repopack.util.worktree import own_path

from ..controller import Controller
from ..state import ContextView
from ..threads import in_daemon_thread
from ..widgets import ContextPanel, ContextStrip, ContextTree, Conversation, DiffBlock, PromptInput
from ..widgets.conversation import prose_only
from .model_picker import ModelChoice, ModelPicker
from .value_prompt import ValuePrompt

if TYPE_CHECKING:  # the session stack loads in the first worker, after the first paint
    from repopack.chat.apply import ApplyResult
    from repopack.chat.session import Event

PROGRESS_INTERVAL = 0.2  # seconds between progress messages from a pack
# Packing holds the GIL for seconds on big trees; waiting a moment lets the estimate paint first
# and lets several quick toggles share one pack.
REPACK_DELAY = 0.4
WIDE = 100  # columns from which the context pane shows beside the conversation unless hidden
CANCELLED_NOTE = "answer cancelled (kept in the transcript; not sent with the next question)"


class MainScreen(Screen[None]):
    CSS_PATH = "main.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (WIDE, "-wide")]
    # The footer shows these in this order and cuts what does not fit: the most needed first.
    BINDINGS = [
        Binding("escape", "cancel_answer", "Cancel"),
        Binding("ctrl+q", "app.quit", "Quit"),
        Binding("ctrl+s", "copy_context", "Copy"),
        Binding("ctrl+n", "new_conversation", "New"),
        Binding("ctrl+t", "toggle_pane", "Files"),
        Binding("ctrl+o", "change_model", "Model"),
        Binding("ctrl+b", "change_budget", "Budget"),
        Binding("ctrl+z", "undo", "Undo"),
        Binding("ctrl+r", "repack", "Re-pack", show=False),
        Binding("pageup", "scroll_conversation(-1)", "Scroll up", show=False),
        Binding("pagedown", "scroll_conversation(1)", "Scroll down", show=False),
    ]

    # --- messages from workers ------------------------------------------------
    class ContextPacked(Message):
        def __init__(self, view: ContextView, generation: int) -> None:
            super().__init__()
            self.view = view
            self.generation = generation

    class PackProgress(Message):
        def __init__(self, text: str, generation: int) -> None:
            super().__init__()
            self.text = text
            self.generation = generation

    class PackFailed(Message):
        def __init__(self, error: str, generation: int) -> None:
            super().__init__()
            self.error = error
            self.generation = generation

    class ModelHelp(Message):
        """No model is configured: how to configure one (Markdown)."""

        def __init__(self, markdown: str) -> None:
            super().__init__()
            self.markdown = markdown

    class AnswerEvent(Message):
        def __init__(self, turn: int, event: Event, view: ContextView | None) -> None:
            super().__init__()
            self.turn = turn
            self.event = event
            self.view = view

    class AnswerEnded(Message):
        def __init__(self, turn: int, error: str | None) -> None:
            super().__init__()
            self.turn = turn
            self.error = error

    class EditApplied(Message):
        def __init__(self, block: DiffBlock, result: ApplyResult | None, error: str | None) -> None:
            super().__init__()
            self.block = block
            self.result = result
            self.error = error

    class Undone(Message):
        def __init__(self, paths: list[str], error: str | None) -> None:
            super().__init__()
            self.paths = paths
            self.error = error

    class ContextCopied(Message):
        def __init__(self, text: str, target: Path | None, error: str | None) -> None:
            super().__init__()
            self.text = text
            self.target = target
            self.error = error

    # --- set-up -----------------------------------------------------------------
    def __init__(self, controller: Controller) -> None:
        super().__init__()
        self.controller = controller
        self._generation = 0
        self._turn = 0
        self._answering = False
        self._stream: MarkdownStream | None = None
        self._status: Static | None = None  # the "sending…" line of the running turn
        self._applied: list[list[DiffBlock]] = []
        self._repack_timer: Timer | None = None
        self._partial: list[str] = []  # the running answer's text so far
        self._context_choice: bool | None = None  # the user's show/hide; None follows the width

    def compose(self) -> ComposeResult:
        yield Header(icon="◆")
        with Horizontal(id="body"):
            yield ContextPanel(self.controller.root.name, id="context")
            with Vertical(id="chat"):
                yield ContextStrip(id="strip")
                yield Conversation(id="conversation")
                yield PromptInput([e.text for e in self.controller.transcript.entries if e.role == "user"],
                                  id="prompt")
        yield Footer()

    def on_mount(self) -> None:
        self._update_titles()
        conversation = self.query_one(Conversation)
        for entry in self.controller.transcript.entries:
            if entry.role == "user":
                conversation.add_question(entry.text)
            elif entry.role == "assistant":
                edits = parse_edits(entry.text)
                conversation.start_answer(prose_only(entry.text) if edits else entry.text)
                conversation.add_diffs(edits)  # still applicable after a resume
            else:
                conversation.add_notice(entry.text, error=entry.role == "error")
        if self.controller.transcript.entries:
            conversation.add_notice("(resumed: follow-up questions continue this conversation)")
        for warning in self.controller.warnings:
            conversation.add_notice(f"warning: {warning}")
            self.notify(warning, severity="warning", timeout=10)
        self._show_view(None, "packing…")
        self._set_context_shown(self.app.size.width >= WIDE)
        self.query_one(PromptInput).focus()
        self.call_after_refresh(self._start)  # paint first: loading and packing a big tree take seconds

    def _start(self) -> None:
        self._check_model()
        self.repack()

    @work(group="start", exit_on_error=False)
    async def _check_model(self) -> None:
        help_text = await in_daemon_thread(self.controller.model_help, "repopack-model-check")
        if help_text:
            self.post_message(self.ModelHelp(help_text))

    def on_main_screen_model_help(self, message: ModelHelp) -> None:
        self.query_one(Conversation).add_help(message.markdown)
        self.notify("No model endpoint configured: the context works, questions need an endpoint.",
                    severity="warning", timeout=6)

    def _update_titles(self) -> None:
        self.app.title = f"repopack · {self.controller.root.name}"
        self.app.sub_title = f"{self.controller.model_name} · {self.controller.budget_label()}"

    # --- the context pane ---------------------------------------------------------
    def _show_view(self, view: ContextView | None, status: str = "") -> None:
        self.query_one(ContextPanel).show_view(view, status)
        self.query_one(ContextStrip).show_view(view, status)

    @property
    def context_shown(self) -> bool:
        return bool(self.query_one(ContextPanel).display)

    def _set_context_shown(self, shown: bool) -> None:
        panel = self.query_one(ContextPanel)
        if not shown and panel.has_focus_within:
            self.query_one(PromptInput).focus()
        panel.display = shown
        self.query_one(ContextStrip).display = not shown

    def on_resize(self, event: events.Resize) -> None:
        if self._context_choice is None:
            self._set_context_shown(event.size.width >= WIDE)

    def action_toggle_pane(self) -> None:
        shown = not self.context_shown
        self._context_choice = shown
        self._set_context_shown(shown)
        if shown:
            self.query_one(ContextTree).focus()

    def action_scroll_conversation(self, pages: int) -> None:
        conversation = self.query_one(Conversation)
        if pages < 0:
            conversation.scroll_page_up()
        else:
            conversation.scroll_page_down()

    # --- packing ----------------------------------------------------------------
    def repack(self, delay: float = 0.0) -> None:
        """Pack again; with a delay, quick successive changes (toggling several files) share one pack."""
        self._generation += 1
        if self._repack_timer is not None:
            self._repack_timer.stop()
            self._repack_timer = None
        if delay:
            generation = self._generation
            self._repack_timer = self.set_timer(delay, lambda: self._pack(generation))
        else:
            self._pack(self._generation)

    @work(exclusive=True, group="pack", exit_on_error=False)
    async def _pack(self, generation: int) -> None:
        last = [0.0]

        def progress(stage: str, done: int, total: int) -> None:
            now = time.monotonic()
            if now - last[0] >= PROGRESS_INTERVAL:
                last[0] = now
                self.post_message(self.PackProgress(f"{stage} {done:,}/{total:,}", generation))

        try:
            view = await in_daemon_thread(lambda: self.controller.pack(progress), "repopack-pack")
        except Exception as exc:  # noqa: BLE001 - shown to the user, never a crash
            self.post_message(self.PackFailed(one_line(exc), generation))
            return
        self.post_message(self.ContextPacked(view, generation))

    def on_main_screen_context_packed(self, message: ContextPacked) -> None:
        if message.generation == self._generation:
            self._show_view(message.view)

    def on_main_screen_pack_progress(self, message: PackProgress) -> None:
        if message.generation == self._generation:
            self._show_view(self.controller.view, message.text)

    def on_main_screen_pack_failed(self, message: PackFailed) -> None:
        if message.generation == self._generation:
            self._show_view(self.controller.view, "packing failed")
            self.report_error(message.error)

    # --- context control ----------------------------------------------------------
    def on_context_tree_toggle_requested(self, message: ContextTree.ToggleRequested) -> None:
        try:
            view = self.controller.toggle(message.path)
        except RepopackError as exc:
            self.notify(one_line(exc), severity="warning")
            return
        self._show_view(view, "re-packing…")
        self._note_context_change()
        self.repack(REPACK_DELAY)

    def on_context_tree_pin_requested(self, message: ContextTree.PinRequested) -> None:
        pinned = self.controller.pin(message.path)
        self.notify(f"{'Pinned' if pinned else 'Unpinned'} {message.path} as focus")
        self._show_view(self.controller.view, "re-ranking…")
        self._note_context_change()
        self.repack(REPACK_DELAY)

    def _note_context_change(self) -> None:
        if self.controller.in_conversation:
            self.notify("The next question goes with the new context (ctrl+n starts afresh).", timeout=4)

    def action_repack(self) -> None:
        self._show_view(self.controller.view, "re-packing…")
        self.repack()

    def action_change_budget(self) -> None:
        current = str(self.controller.budget) if self.controller.budget else ""

        def done(value: str | None) -> None:
            if value is None:
                return
            try:
                budget = parse_budget(value) if value else None
            except RepopackError as exc:
                self.notify(one_line(exc).replace("--budget", "the budget"), severity="error")
                return
            self.controller.set_budget(budget)
            self._update_titles()
            self.action_repack()

        self.app.push_screen(ValuePrompt("Token budget", current,
                                         "e.g. 32000, 32k or 1.5m; empty fits the model's window"), done)

    def action_change_model(self) -> None:
        def done(choice: ModelChoice | None) -> None:
            if choice is None:
                return
            endpoint_before = self.controller.endpoint
            try:
                self.controller.set_model(choice.model, choice.base_url)
            except RepopackError as exc:
                self.notify(one_line(exc), severity="error")
                return
            self._update_titles()
            if self.controller.endpoint != endpoint_before:
                self.query_one(Conversation).remove_children(".help")
                self._check_model()
            info = self.controller.session.model_info()
            if not info.known:
                self.notify(f"{choice.model} is not in the model registry: {info.note or 'window guessed'}",
                            severity="warning")
            self.action_repack()

        self.app.push_screen(ModelPicker(self.controller.model_name, self.controller.endpoint,
                                         self.controller.served_models), done)

    async def action_new_conversation(self) -> None:
        if self._answering:
            await self.action_cancel_answer()
        self.controller.new_conversation()
        self.query_one(Conversation).remove_children()
        self.controller.transcript.add("notice", "new conversation")
        self.notify("New conversation: the next question is sent with the current context.")
        self.action_repack()

    # --- asking -------------------------------------------------------------------
    def on_input_submitted(self, event: PromptInput.Submitted) -> None:
        if event.input.id != "prompt":
            return
        event.stop()
        question = event.value.strip()
        if not question:
            return
        if self._answering:
            self.notify("An answer is still streaming; Esc cancels it.", severity="warning")
            return
        prompt = self.query_one(PromptInput)
        prompt.value = ""
        prompt.remember(question)
        conversation = self.query_one(Conversation)
        conversation.add_question(question)
        self.controller.transcript.add("user", question)
        self._turn += 1
        self._answering = True
        self.refresh_bindings()
        self._stream = None
        self._partial = []
        first = not self.controller.in_conversation
        self._status = conversation.add_notice("packing the context for this question…" if first
                                               else f"asking {self.controller.model_name}…")
        self._ask(self._turn, question)

    @work(group="answer", exit_on_error=False)
    async def _ask(self, turn: int, question: str) -> None:
        from repopack.chat.session import PackedEvent

        cancelled = threading.Event()

        def stream() -> None:
            with closing(self.controller.ask(question)) as events:
                for event in events:
                    if cancelled.is_set():
                        return
                    view = self.controller.view_for(event.result) if isinstance(event, PackedEvent) else None
                    self.post_message(self.AnswerEvent(turn, event, view))

        error = None
        try:
            await in_daemon_thread(stream, "repopack-ask")
        except asyncio.CancelledError:
            cancelled.set()  # the thread stops at the next streamed chunk
            raise
        except Exception as exc:  # noqa: BLE001 - shown to the user, never a crash
            error = one_line(exc)
        self.post_message(self.AnswerEnded(turn, error))

    async def on_main_screen_answer_event(self, message: AnswerEvent) -> None:
        from repopack.chat.session import DoneEvent, EditsEvent, NoticeEvent, PackedEvent, TokenEvent, UsageEvent

        if message.turn != self._turn:
            return
        event = message.event
        conversation = self.query_one(Conversation)
        if isinstance(event, PackedEvent):
            assert message.view is not None
            self._generation += 1  # this pack supersedes any display pack still running
            self._show_view(message.view)
            cost = f", about ${event.estimated_cost:.4f}" if event.estimated_cost is not None else ""
            if self._status is not None:
                self._status.update(f"sending {event.estimated_input_tokens:,} tokens to "
                                    f"{self.controller.model_name}{cost}…")
        elif isinstance(event, TokenEvent):
            if self._stream is None:
                self._stream = Markdown.get_stream(conversation.start_answer())
            self._partial.append(event.text)
            await self._stream.write(event.text)
        elif isinstance(event, NoticeEvent):
            conversation.add_notice(event.message)
            self.controller.transcript.add("notice", event.message)
        elif isinstance(event, UsageEvent):
            parts = []
            if event.input_tokens is not None:
                parts.append(f"{event.input_tokens:,} in")
            if event.output_tokens is not None:
                parts.append(f"{event.output_tokens:,} out")
            if event.cost is not None:
                parts.append(f"${event.cost:.4f}")
            if parts:
                conversation.add_usage(" · ".join(parts))
        elif isinstance(event, EditsEvent):
            await self._finish_stream()
            answer = conversation.query(".answer").last(Markdown) if conversation.query(".answer") else None
            if answer is not None:
                await answer.update(prose_only("".join(self._partial)))  # each diff shows once, in its block
            conversation.add_diffs(event.edits)
        elif isinstance(event, DoneEvent):
            self._partial = []
            self.controller.transcript.add("assistant", event.answer)

    async def on_main_screen_answer_ended(self, message: AnswerEnded) -> None:
        if message.turn != self._turn:
            return
        await self._finish_stream()
        self._answering = False
        self.refresh_bindings()
        if self._status is not None:
            self._status.remove()
            self._status = None
        if message.error:
            self.report_error(message.error)

    async def _finish_stream(self) -> None:
        if self._stream is not None:
            stream, self._stream = self._stream, None
            await stream.stop()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_answer":
            return self._answering  # shown in the footer only while an answer streams
        return True

    async def action_cancel_answer(self) -> None:
        if not self._answering:
            return
        self.workers.cancel_group(self, "answer")
        self._turn += 1  # whatever the cancelled worker still posts is ignored
        self._answering = False
        self.refresh_bindings()
        await self._finish_stream()
        if self._status is not None:
            self._status.remove()
            self._status = None
        partial, self._partial = "".join(self._partial), []
        if partial.strip():
            self.controller.transcript.add("assistant", partial)
        note = CANCELLED_NOTE if partial.strip() else "answer cancelled before any text arrived"
        self.query_one(Conversation).add_notice(note)
        self.controller.transcript.add("notice", note)

    # --- edits ----------------------------------------------------------------------
    def on_diff_block_decided(self, message: DiffBlock.Decided) -> None:
        block = message.block
        self._focus_after(block)
        if not message.apply:
            self.controller.transcript.add("notice", f"rejected the edit of {block.edit.path}")
            return
        self._apply(block)

    async def on_diff_block_left(self, message: DiffBlock.Left) -> None:
        if self._answering:  # Esc on an earlier answer's edit still stops the answer that streams
            await self.action_cancel_answer()
        self.query_one(PromptInput).focus()

    def on_prompt_input_edits_wanted(self, message: PromptInput.EditsWanted) -> None:
        pending = next((b for b in self.query(DiffBlock) if not b.decided), None)
        if pending is None:
            self.focus_next()
            return
        pending.focus()
        pending.scroll_visible()

    def _focus_after(self, block: DiffBlock) -> None:
        """The next edit still waiting for a decision, else the question box."""
        if not block.has_focus:
            return
        blocks = list(self.query(DiffBlock))
        later = blocks[blocks.index(block) + 1:] + blocks[:blocks.index(block)]
        pending = next((b for b in later if not b.decided), None)
        if pending is not None:
            pending.focus()
            pending.scroll_visible()
        else:
            self.query_one(PromptInput).focus()

    @work(thread=True, group="edits", exit_on_error=False)
    def _apply(self, block: DiffBlock) -> None:
        try:
            result = self.controller.apply([block.edit])
        except Exception as exc:  # noqa: BLE001 - shown to the user, never a crash
            self.post_message(self.EditApplied(block, None, one_line(exc)))
            return
        self.post_message(self.EditApplied(block, result, None))

    def on_main_screen_edit_applied(self, message: EditApplied) -> None:
        block, result = message.block, message.result
        if message.error or result is None:
            block.mark(f"failed: {message.error}", decided=False)
            self.report_error(f"could not apply {block.edit.path}: {message.error}")
            return
        if result.rejected:
            reason = "; ".join(r.reason for r in result.rejected)
            block.mark(f"not applied: {reason}", decided=False)
            self.report_error(f"could not apply {block.edit.path}: {reason}")
            return
        block.mark("applied · ctrl+z undoes", applied=True)
        self._applied.append([block])
        self.controller.transcript.add("notice", f"applied the edit of {', '.join(result.applied)}")
        self.notify(f"Applied {', '.join(result.applied)}")
        self.action_repack()

    def action_undo(self) -> None:
        self._undo()

    @work(thread=True, group="edits", exit_on_error=False)
    def _undo(self) -> None:
        try:
            paths = self.controller.undo()
        except Exception as exc:  # noqa: BLE001 - shown to the user, never a crash
            self.post_message(self.Undone([], one_line(exc)))
            return
        self.post_message(self.Undone(paths, None))

    def on_main_screen_undone(self, message: Undone) -> None:
        if message.error:
            self.notify(message.error, severity="warning")
            return
        if self._applied:
            for block in self._applied.pop():
                block.mark("undone", decided=False)
        text = f"undid the last apply: restored {', '.join(message.paths)}"
        self.notify(text[0].upper() + text[1:])
        self.controller.transcript.add("notice", text)
        self.action_repack()

    # --- context out ----------------------------------------------------------------
    def action_copy_context(self) -> None:
        text = self.controller.context_text()
        if text is None:
            self.notify("The context is still being packed.", severity="warning")
            return
        self._save_context(text)

    @work(thread=True, group="io", exit_on_error=False)
    def _save_context(self, text: str) -> None:
        try:
            # Never through a link the repository committed (.repopack -> elsewhere): inside the work tree only.
            target = own_path(self.controller.root, f".repopack/context{Format(self.controller.base.format).extension}")
            write_output(text, str(target))
        except (OSError, RepopackError) as exc:
            self.post_message(self.ContextCopied(text, None, one_line(exc)))
            return
        self.post_message(self.ContextCopied(text, target, None))

    def on_main_screen_context_copied(self, message: ContextCopied) -> None:
        self.app.copy_to_clipboard(message.text)
        tokens = self.controller.view.meter.used if self.controller.view else 0
        where = f" and saved to {message.target.relative_to(self.controller.root)}" if message.target else ""
        self.notify(f"Copied the packed context ({tokens:,} tokens) to the clipboard{where}")
        if message.error:
            self.notify(f"could not save the context: {message.error}", severity="error")

    # --- errors -----------------------------------------------------------------------
    def report_error(self, text: str) -> None:
        """A notification and a transcript line; never an exception."""
        self.notify(text, severity="error", timeout=8)
        self.query_one(Conversation).add_notice(f"error: {text}", error=True)
        self.controller.transcript.add("error", text)

