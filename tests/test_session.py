"""Session: the library API under `ask`, the TUI and review, against the fake OpenAI server."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.fake_openai import FakeOpenAI

from repopack.chat.session import (
    DoneEvent,
    EditsEvent,
    NoticeEvent,
    PackedEvent,
    Session,
    TokenEvent,
    UsageEvent,
    shrunk_budget,
)
from repopack.config import Settings
from repopack.errors import ContextOverflowError, CostLimitError, NoModelConfiguredError
from repopack.model.client import ClientConfig, RetryPolicy

FAST = RetryPolicy(attempts=2, initial_delay=0.0, max_delay=0.0, max_total_wait=1.0)
KEY_ID = "AKIAIOSFODNN7EXAMPLE"
FILES = {
    "billing.py": "def compute_invoice_total(items):\n    return round(sum(items) * 1.2, 2)\n",
    "settings.py": f'REGION = "eu-west-1"\nAWS_ACCESS_KEY_ID = "{KEY_ID}"\nDEBUG = False\n',
}


def session_for(root: Path, fake: FakeOpenAI, **settings: object) -> Session:
    config = ClientConfig.resolve(base_url=fake.base_url, api_key="sk-test", model="gpt-4.1", retry=FAST)
    return Session.open(root, Settings(**settings), config)  # type: ignore[arg-type]


def test_events_arrive_in_order_and_tokens_make_the_answer(make_repo, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(["The total is computed in billing.py:1."], chunk_size=6)
    events = list(session_for(make_repo(FILES), fake_openai).ask("Where is the total computed?"))
    kinds = [type(e).__name__ for e in events]
    tokens = [e for e in events if isinstance(e, TokenEvent)]
    assert kinds == ["PackedEvent", *["TokenEvent"] * len(tokens), "UsageEvent", "DoneEvent"]
    assert len(tokens) == 7
    assert "".join(t.text for t in tokens) == events[-1].answer == "The total is computed in billing.py:1."
    (request,) = fake_openai.chat_requests
    usage = events[-2]
    assert isinstance(usage, UsageEvent)
    assert (usage.input_tokens, usage.output_tokens) == (len(request.prompt_text) // 4, 38 // 4)
    assert usage.cost == pytest.approx((usage.input_tokens * 2 + usage.output_tokens * 8) / 1e6)


def test_follow_up_appends_to_the_history_with_a_stable_prefix(make_repo, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(["first answer", "second answer"])
    session = session_for(make_repo(FILES), fake_openai)
    first = list(session.ask("Where is the total computed?"))
    second = list(session.ask("And what rate is used?"))
    assert sum(isinstance(e, PackedEvent) for e in first) == 1
    assert not any(isinstance(e, PackedEvent) for e in second)  # packed once, reused
    one, two = (r.body["messages"] for r in fake_openai.chat_requests)
    assert two[:2] == one  # byte-identical prefix: providers' prompt caches hit
    assert two[2] == {"role": "assistant", "content": "first answer"}
    assert two[3]["role"] == "user" and "And what rate is used?" in two[3]["content"]
    assert "compute_invoice_total" not in two[3]["content"]
    assert isinstance(second[-1], DoneEvent) and second[-1].answer == "second answer"


def test_a_new_pack_mid_conversation_goes_with_the_next_question(make_repo, fake_openai: FakeOpenAI) -> None:
    import dataclasses

    fake_openai.script(["first answer", "second answer"])
    session = session_for(make_repo({**FILES, "notes.py": "NOTES_MARKER = 1\n"}), fake_openai)
    list(session.ask("Where is the total computed?"))
    session.settings = dataclasses.replace(session.settings, exclude=("notes.py",))
    session.replace_context(session.pack("Where is the total computed?"))
    list(session.ask("And what rate is used?"))
    one, two = (r.body["messages"] for r in fake_openai.chat_requests)
    assert "NOTES_MARKER" in one[1]["content"] and "NOTES_MARKER" not in two[1]["content"]
    assert "Where is the total computed?" in two[1]["content"]
    assert two[2] == {"role": "assistant", "content": "first answer"}
    assert "And what rate is used?" in two[3]["content"]


def test_dry_run_packs_and_sends_nothing(make_repo, fake_openai: FakeOpenAI) -> None:
    events = list(session_for(make_repo(FILES), fake_openai).ask("Where?", dry_run=True))
    assert [type(e) for e in events] == [PackedEvent]
    assert fake_openai.requests == []
    packed = events[0]
    assert isinstance(packed, PackedEvent)
    assert {d.path for d in packed.result.packed.decisions} == {"billing.py", "settings.py"}
    assert packed.estimated_cost is not None and packed.estimated_cost > 0


def test_max_cost_is_checked_before_sending(make_repo, fake_openai: FakeOpenAI) -> None:
    session = session_for(make_repo(FILES), fake_openai, max_cost=0.0001)
    with pytest.raises(CostLimitError, match=r"above --max-cost \$0\.0001"):
        list(session.ask("Where?"))
    assert fake_openai.requests == []


def test_no_endpoint_is_an_error_before_any_request(make_repo) -> None:
    session = Session.open(make_repo(FILES), Settings())
    with pytest.raises(NoModelConfiguredError):
        list(session.ask("Where?"))


def test_context_overflow_shrinks_once_to_the_stated_limit_and_says_so(make_repo, fake_openai: FakeOpenAI) -> None:
    files = {**FILES, "rates.py": "".join(f"RATE_{i} = {i} / 1000  # table entry {i}\n" for i in range(400))}
    root = make_repo(files)
    # The fake counts characters and says "maximum context length is 9000 tokens. However, your
    # messages resulted in N tokens": the retry converts its units into ours by that ratio.
    fake_openai.script(["fits now"], context_limit=9000)
    events = list(session_for(root, fake_openai).ask("Where is compute_invoice_total?"))
    packs = [e for e in events if isinstance(e, PackedEvent)]
    notices = [e for e in events if isinstance(e, NoticeEvent)]
    assert len(packs) == 2
    assert packs[1].budget < packs[0].result.packed.tokens
    assert packs[1].result.packed.tokens <= packs[1].budget
    assert [n.message for n in notices] == [
        f"the model rejected the prompt as too long; retrying once with a budget of {packs[1].budget:,} tokens "
        "(the server's limit: 9,000 tokens)"]
    first, second = fake_openai.chat_requests
    assert len(first.prompt_text) > 9000 >= len(second.prompt_text)
    assert events[-1] == DoneEvent("fits now")


def test_context_overflow_twice_raises(make_repo, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(context_limit=10)
    with pytest.raises(ContextOverflowError):
        list(session_for(make_repo(FILES), fake_openai).ask("Where?"))
    assert len(fake_openai.chat_requests) == 2


def test_shrunk_budget_shrinks_what_was_packed() -> None:
    assert shrunk_budget(1_000_000, 900) == 540  # a small repo under a huge window still shrinks
    assert shrunk_budget(10_000, 50_000) == 6_000
    assert shrunk_budget(300, 300) == 256  # never below what a header needs


def test_apply_keeps_a_redacted_secret_and_undo_restores(make_repo, fake_openai: FakeOpenAI) -> None:
    root = make_repo(FILES)
    original = (root / "settings.py").read_bytes()
    diff = ("```diff\n--- a/settings.py\n+++ b/settings.py\n@@ -1,3 +1,3 @@\n"
            ' REGION = "eu-west-1"\n'
            '-AWS_ACCESS_KEY_ID = "[REDACTED:AWS Access Key]"\n'
            '+AWS_KEY = "[REDACTED:AWS Access Key]"\n'
            " DEBUG = False\n```\n")
    fake_openai.script([diff])
    session = session_for(root, fake_openai)
    events = list(session.ask("Rename the key variable to AWS_KEY"))
    assert KEY_ID not in fake_openai.chat_requests[0].prompt_text
    (edits,) = [e for e in events if isinstance(e, EditsEvent)]
    result = session.apply(edits.edits)
    assert result.applied == ("settings.py",) and result.rejected == ()
    assert (root / "settings.py").read_text() == f'REGION = "eu-west-1"\nAWS_KEY = "{KEY_ID}"\nDEBUG = False\n'
    assert session.undo() == ["settings.py"]
    assert (root / "settings.py").read_bytes() == original


def test_apply_refuses_a_file_changed_since_it_was_packed(make_repo, fake_openai: FakeOpenAI) -> None:
    root = make_repo(FILES)
    fake_openai.script(["```diff\n--- a/billing.py\n+++ b/billing.py\n@@ -1,2 +1,2 @@\n"
                        " def compute_invoice_total(items):\n-    return round(sum(items) * 1.2, 2)\n"
                        "+    return round(sum(items) * 1.25, 2)\n```\n"])
    session = session_for(root, fake_openai)
    (edits,) = [e for e in session.ask("Raise the rate") if isinstance(e, EditsEvent)]
    (root / "billing.py").write_text(FILES["billing.py"] + "# edited meanwhile\n")
    result = session.apply(edits.edits)
    assert result.applied == ()
    assert [str(r) for r in result.rejected] == [
        "billing.py: changed since it was packed; ask again to get a diff against the current file"]
    assert (root / "billing.py").read_text() == FILES["billing.py"] + "# edited meanwhile\n"
