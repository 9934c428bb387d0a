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
from repopack.tui.widgets import DiffBlock, PromptInput
from textual.pilot import Pilot

SIZE = (120, 36)
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
+TAX_RATE = 0.25
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


def test_main_screen(snap_compare, repo: Path, fake_openai) -> None:
    fake_openai.script([ANSWER])
    app = create_app(repo, base_url=fake_openai.base_url)

    async def run_before(pilot: Pilot) -> None:
        await ask(pilot, "Where are invoice totals computed?",
                  lambda: len(app.controller.transcript.entries) >= 2)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_diff_view(snap_compare, repo: Path, fake_openai) -> None:
    fake_openai.script([DIFF_ANSWER])
    app = create_app(repo, base_url=fake_openai.base_url)

    async def run_before(pilot: Pilot) -> None:
        await ask(pilot, "Raise the tax to 25%", lambda: app.screen.query(DiffBlock))

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_no_model_configured(snap_compare, repo: Path) -> None:
    app = create_app(repo)

    async def run_before(pilot: Pilot) -> None:
        await settle(pilot, lambda: idle(app) and app.screen.query(".help"))
        app.screen.query_one(PromptInput).cursor_blink = False

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
