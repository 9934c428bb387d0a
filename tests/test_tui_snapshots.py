"""Visual snapshots of the chat TUI (pytest-textual-snapshot; `--snapshot-update` accepts changes).

Deterministic by construction: a fixed terminal size, a copy of fixtures/pyapp (always
named "pyapp"), the offline cl100k encoding, a scripted fake model, no clock in the
header and the input cursor's blink off.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from repopack.tui.app import RepopackApp
from repopack.tui.factory import create_app
from repopack.tui.screens import ModelPicker
from repopack.tui.widgets import DiffBlock, PromptInput
from textual.pilot import Pilot
from textual.widgets import Input

LAPTOP = (80, 24)  # the smallest terminal the layout is made for: the context pane starts hidden
WIDE = (160, 45)
ANSWER = """Invoice totals are computed in `pyapp/billing.py`:

- `line_total` multiplies unit price by quantity;
- `compute_invoice_total` adds **TAX_RATE** and rounds to cents.
"""
DIFF_ANSWER = """Raise the rate in one place:

```diff
--- a/pyapp/billing.py
+++ b/pyapp/billing.py
@@ -5,3 +5,3 @@
 from pyapp.models import Invoice, LineItem
 
-TAX_RATE = 0.2
+TAX_RATE = 0.25  # the rate finance agreed for the next quarter, applied to every invoice total
```
"""


@pytest.fixture(autouse=True)
def _offline_encoding(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPOPACK_ENCODING", "cl100k_base")


@pytest.fixture
def repo(fixture_repo: Callable[[str], Path]) -> Path:
    return fixture_repo("pyapp")


async def settle(pilot: Pilot, condition: Callable[[], object], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the app"
        await pilot.pause(0.02)
    await pilot.pause(0.1)


def idle(app: RepopackApp) -> bool:
    view = app.controller.view
    return view is not None and not view.meter.estimated and not app.workers


async def ask(pilot: Pilot, question: str, done: Callable[[], object]) -> None:
    app = pilot.app
    assert isinstance(app, RepopackApp)
    await settle(pilot, lambda: idle(app))
    prompt = app.screen.query_one(PromptInput)
    prompt.cursor_blink = False
    prompt.value = question
    await pilot.press("enter")
    await settle(pilot, lambda: done() and idle(app))


@pytest.mark.parametrize("size", [LAPTOP, WIDE], ids=["80x24", "160x45"])
def test_main_screen(snap_compare, repo: Path, fake_openai, size: tuple[int, int]) -> None:
    fake_openai.script([ANSWER])
    app = create_app(repo, base_url=fake_openai.base_url)

    async def run_before(pilot: Pilot) -> None:
        await ask(pilot, "Where are invoice totals computed?",
                  lambda: len(app.controller.transcript.entries) >= 2)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", [LAPTOP, WIDE], ids=["80x24", "160x45"])
def test_diff_view(snap_compare, repo: Path, fake_openai, size: tuple[int, int]) -> None:
    """The long added line wraps inside the code column; Tab focused the block: outlined, keys named."""
    fake_openai.script([DIFF_ANSWER])
    app = create_app(repo, base_url=fake_openai.base_url)

    async def run_before(pilot: Pilot) -> None:
        await ask(pilot, "Raise the tax to 25%", lambda: app.screen.query(DiffBlock))
        await pilot.press("tab")
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_diff_applied(snap_compare, repo: Path, fake_openai) -> None:
    """After `a`: the border and the label say applied, the buttons are disabled."""
    fake_openai.script([DIFF_ANSWER])
    app = create_app(repo, base_url=fake_openai.base_url)

    async def run_before(pilot: Pilot) -> None:
        await ask(pilot, "Raise the tax to 25%", lambda: app.screen.query(DiffBlock))
        await pilot.press("tab", "a")
        block = app.screen.query_one(DiffBlock)
        await settle(pilot, lambda: block.has_class("-applied") and idle(app))
        app.clear_notifications()

    assert snap_compare(app, terminal_size=LAPTOP, run_before=run_before)


def test_context_pane_shown_at_80_columns(snap_compare, repo: Path) -> None:
    app = create_app(repo)

    async def run_before(pilot: Pilot) -> None:
        await settle(pilot, lambda: idle(app) and app.screen.query(".help"))
        app.clear_notifications()
        app.screen.query_one(PromptInput).cursor_blink = False
        await pilot.press("ctrl+t")

    assert snap_compare(app, terminal_size=LAPTOP, run_before=run_before)


def test_no_model_configured(snap_compare, repo: Path) -> None:
    app = create_app(repo)

    async def run_before(pilot: Pilot) -> None:
        await settle(pilot, lambda: idle(app) and app.screen.query(".help"))
        app.screen.query_one(PromptInput).cursor_blink = False

    assert snap_compare(app, terminal_size=LAPTOP, run_before=run_before)


def test_model_picker(snap_compare, repo: Path, fake_openai) -> None:
    """The endpoint's models with the registry's window and prices; the hint wraps, never cut off."""
    fake_openai.script(models=["gpt-4.1", "gpt-4.1-mini", "llama-4-scout", "local-coder"])
    app = create_app(repo, base_url=fake_openai.base_url)

    async def run_before(pilot: Pilot) -> None:
        await settle(pilot, lambda: idle(app))
        await pilot.press("ctrl+o")
        await settle(pilot, lambda: isinstance(app.screen, ModelPicker) and app.screen.served)
        for field in app.screen.query(Input):
            field.cursor_blink = False
        # The fake server's port changes from run to run; the field is edited (not submitted) to a fixed URL.
        app.screen.query_one("#endpoint", Input).value = "http://localhost:8000/v1"

    assert snap_compare(app, terminal_size=LAPTOP, run_before=run_before)
