"""Pick the model, and the endpoint that serves it, from the endpoint's own `GET /v1/models`.

The list shows the registry's window and list prices where it knows the model.  Typing
filters the list; the highlighted row is what Enter picks, and a name the endpoint does
not list is offered as the last row, so any model can still be typed.  The endpoint is a
user setting of this session only: it starts from the command line or $OPENAI_BASE_URL.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label, Static

from repopack.errors import RepopackError
from repopack.util.fmt import format_count

from ..controller import check_endpoint
from ..threads import in_daemon_thread

if TYPE_CHECKING:
    from repopack.model.served import ServedModel

DEFAULT_ENDPOINT_HINT = "https://api.openai.com/v1 (the default); Enter lists its models"
TYPED = "\0typed"  # row key of the "use the name as typed" row


@dataclass(frozen=True)
class ModelChoice:
    model: str
    base_url: str  # "" for the default endpoint


def cell_len(cell: str | Text) -> int:
    return (Text(cell) if isinstance(cell, str) else cell).cell_len


def price_label(model: ServedModel) -> str:
    info = model.info
    if info is None or not info.priced:
        return "–"
    return f"${info.input_per_mtok:.2f} / ${info.output_per_mtok:.2f}"


class ModelPicker(ModalScreen[ModelChoice | None]):
    """Dismisses with the chosen model and endpoint, or None on Esc."""

    CSS_PATH = "model_picker.tcss"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("down", "move(1)", "Next model", show=False),
        Binding("up", "move(-1)", "Previous model", show=False),
    ]

    def __init__(self, current: str, endpoint: str | None,
                 fetch: Callable[[str | None], Sequence[ServedModel]]) -> None:
        super().__init__()
        self.current = current
        self.endpoint = endpoint or ""
        self.fetch = fetch
        self.served: list[ServedModel] = []
        self._listed_endpoint: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = "Model"
            with Horizontal(classes="field"):
                yield Label("Endpoint", classes="field-label")
                yield Input(self.endpoint, placeholder=DEFAULT_ENDPOINT_HINT, id="endpoint", compact=True)
            with Horizontal(classes="field", id="model-field"):
                yield Label("Model", classes="field-label")
                yield Input("", placeholder=f"filter, or type any name (now {self.current})", id="model",
                            compact=True)
            table: DataTable[str | Text] = DataTable(id="models", cursor_type="row", zebra_stripes=True)
            table.can_focus = False  # typing goes to the filter; ↑/↓ move the highlight from there
            yield table
            yield Static("", id="status")
            yield Label("Enter picks · ↑↓ move · Tab: endpoint · Esc cancels", id="hint")

    def on_mount(self) -> None:
        self._fill()
        self.query_one("#model", Input).focus()
        self.list_models(self.endpoint)

    # --- the list ---------------------------------------------------------------
    @work(exclusive=True, group="models", exit_on_error=False)
    async def list_models(self, endpoint: str) -> None:
        from repopack.model.client import DEFAULT_BASE_URL  # the openai SDK: not needed for the first screen

        where = endpoint or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        self._status(f"listing the models at {where}…")
        self._listed_endpoint = endpoint
        try:
            served = await in_daemon_thread(lambda: list(self.fetch(endpoint or None)), "repopack-models")
        except RepopackError as exc:
            self.served = []
            self._fill()
            self._status(f"{exc} — type the model's name", error=True)
            return
        except Exception as exc:  # noqa: BLE001 - shown in the dialog, never a crash
            self.served = []
            self._fill()
            self._status(f"could not list the models: {exc.__class__.__name__}: {exc}", error=True)
            return
        self.served = list(served)
        self._fill(select=self.current)
        count = len(self.served)
        self._status(f"{count} model{'s' if count != 1 else ''} listed by the endpoint" if count
                     else f"{where} lists no models — type the model's name")

    def _status(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#status", Static)
        status.update(Text(text))
        status.set_class(error, "-error")

    def _fill(self, select: str | None = None) -> None:
        table = self.query_one(DataTable)
        typed = self.query_one("#model", Input).value.strip()
        wanted = typed.lower()
        rows: list[tuple[str, tuple[str | Text, ...]]] = []
        for model in self.served:
            if wanted and wanted not in model.id.lower():
                continue
            info = model.info
            rows.append((model.id, ("●" if model.id == self.current else "", model.id,
                                    format_count(info.window) if info is not None else "–", price_label(model))))
        if typed and not any(m.id == typed for m in self.served):
            rows.append((TYPED, ("", Text.assemble((typed, "bold"), (" (as typed)", "italic")), "", "")))
        # Columns sized from the rows each time: widths never lag behind the rows shown.
        table.clear(columns=True)
        for index, (label, key) in enumerate((("", "mark"), ("MODEL", "model"), ("WINDOW", "window"),
                                              ("$/M IN / OUT", "price"))):
            width = max([len(label)] + [cell_len(r[index]) for _, r in rows])
            table.add_column(label, key=key, width=max(width, 1))
        for key, cells in rows:
            table.add_row(*cells, key=key)
        if select is not None:
            keys = [row.key.value for row in table.ordered_rows]
            if select in keys:
                table.move_cursor(row=keys.index(select))

    @on(Input.Changed, "#model")
    def _filter(self) -> None:
        self._fill()

    def action_move(self, step: int) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            table.move_cursor(row=max(0, min(table.row_count - 1, table.cursor_row + step)))

    # --- choosing ---------------------------------------------------------------
    @on(Input.Submitted, "#endpoint")
    def _endpoint_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        endpoint = self._checked_endpoint()
        if endpoint is not None:
            self.list_models(endpoint)
            self.query_one("#model", Input).focus()

    @on(Input.Submitted, "#model")
    def _model_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._pick(self.highlighted())

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self._pick(self._name_for(event.row_key.value))

    def highlighted(self) -> str:
        """The name Enter would pick: the highlighted row, else the text typed, else the current model."""
        table = self.query_one(DataTable)
        if table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            return self._name_for(key)
        return self.query_one("#model", Input).value.strip() or self.current

    def _name_for(self, key: str | None) -> str:
        if key is None or key == TYPED:
            return self.query_one("#model", Input).value.strip() or self.current
        return key

    def _checked_endpoint(self) -> str | None:
        try:
            return check_endpoint(self.query_one("#endpoint", Input).value)
        except RepopackError as exc:
            self._status(str(exc), error=True)
            self.query_one("#endpoint", Input).focus()
            return None

    def _pick(self, name: str) -> None:
        endpoint = self._checked_endpoint()
        if endpoint is not None and name:
            self.dismiss(ModelChoice(name, endpoint))

    def action_cancel(self) -> None:
        self.dismiss(None)
