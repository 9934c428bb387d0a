"""`RepopackApp`: the Textual application behind `repopack chat`."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from .commands import FileCommands
from .controller import Controller
from .screens.main import MainScreen
from .transcript import transcript_dir


class RepopackApp(App[Path | None]):
    """Returns the path of the saved transcript (None when nothing was asked)."""

    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {FileCommands}
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]

    DEFAULT_MODE = "chat"

    def __init__(self, controller: Controller) -> None:
        super().__init__()
        self.controller = controller
        self.transcript_path: Path | None = None
        # A mode's screen gets its CSS_PATH loaded; a `get_default_screen` screen would not.
        self.add_mode(self.DEFAULT_MODE, lambda: MainScreen(controller))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if not isinstance(screen, MainScreen):
            return
        yield SystemCommand("Show or hide the context pane", "The files in the context and their tokens (ctrl+t)",
                            screen.action_toggle_pane)
        yield SystemCommand("Re-pack the context", "Walk, rank and fit again (from the cache)", screen.action_repack)
        yield SystemCommand("Change the token budget", "Set the budget for the packed context",
                            screen.action_change_budget)
        yield SystemCommand("Change the model or endpoint", "Pick from the models the endpoint serves (ctrl+o)",
                            screen.action_change_model)
        yield SystemCommand("Undo the last apply", "Restore the files the last applied edit changed",
                            screen.action_undo)
        yield SystemCommand("Copy the packed context", "To the clipboard and .repopack/context.*",
                            screen.action_copy_context)
        yield SystemCommand("New conversation", "Forget the conversation; the next question is sent fresh",
                            screen.action_new_conversation)
        yield SystemCommand("Cancel the answer", "Stop the answer that is streaming", screen.action_cancel_answer)
        yield SystemCommand("Save the transcript now", "Write the conversation as Markdown",
                            self.action_save_transcript)

    def save_transcript(self) -> Path | None:
        transcript = self.controller.transcript
        if not transcript.has_questions:
            return None
        try:
            self.transcript_path = transcript.save(transcript_dir(self.controller.root))
        except OSError as exc:
            self.notify(f"could not save the transcript: {exc.strerror or exc}", severity="error")
            return None
        return self.transcript_path

    def action_save_transcript(self) -> None:
        path = self.save_transcript()
        self.notify(f"Transcript saved to {path}" if path else "Nothing to save yet: ask a question first.")

    async def action_quit(self) -> None:
        self.exit(self.save_transcript())
