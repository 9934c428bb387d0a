"""Honest model I/O against the fake server over real HTTP: replies that are not the protocol
are exit 6 with one line naming what came back, retry notices appear as they happen, and a
context-length error's stated limit sets the retry's size."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from helpers import SCRIPT, run_cli
from support.fake_openai import FakeOpenAI, count_tokens

from repopack.errors import ModelError
from repopack.model.client import ClientConfig, RetryPolicy, complete_chat, stream_chat

QUESTION = "Where is compute_invoice_total defined?"
MESSAGES = [{"role": "user", "content": "Say hello."}]


@pytest.fixture
def pyapp(fixture_repo) -> Path:
    return fixture_repo("pyapp")


def config_for(fake: FakeOpenAI) -> ClientConfig:
    return ClientConfig.resolve(base_url=fake.base_url, api_key="sk-test-123", model="fake-model",
                                retry=RetryPolicy(attempts=2, initial_delay=0.01, max_delay=0.01))


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("repopack: ")]


NOT_PROTOCOL = [
    pytest.param("this is not json", "application/json",
                 "HTTP 200 from {url} is not an event stream: application/json body 'this is not json'; "
                 "is the endpoint OpenAI-compatible?", id="non-json-200"),
    pytest.param("<!DOCTYPE html><html><body><h1>Sign in</h1></body></html>", "text/html; charset=utf-8",
                 "HTTP 200 from {url} is not an event stream: text/html body '<!DOCTYPE html><html><body><h1>Sign "
                 "in</h1></body></html>'; is the base URL an API endpoint? OpenAI-compatible URLs usually end in /v1",
                 id="html-200"),
    pytest.param("data: {not json}\n\n", "text/event-stream",
                 "a stream event from {url} is not JSON: data: '{{not json}}'", id="broken-sse-line"),
    pytest.param('data: {"id": "x", "object": "chat.completion.chunk"}\n\ndata: [DONE]\n\n', "text/event-stream",
                 "a stream event from {url} is not a chat completion chunk (no 'choices'): "
                 "'{{\"id\": \"x\", \"object\": \"chat.completion.chunk\"}}'", id="sse-missing-choices"),
    pytest.param(": keep-alive\n\n", "text/event-stream",
                 "the event stream from {url} ended without a single chat completion chunk", id="empty-stream"),
    pytest.param('{"id": "x", "object": "chat.completion"}', "application/json",
                 "the reply from {url} has no 'choices': '{{\"id\": \"x\", \"object\": \"chat.completion\"}}'",
                 id="json-missing-choices"),
]


@pytest.mark.parametrize(("body", "content_type", "message"), NOT_PROTOCOL)
def test_a_reply_that_is_not_the_protocol_is_exit_6_with_one_line(
        pyapp: Path, fake_openai: FakeOpenAI, body: str, content_type: str, message: str) -> None:
    fake_openai.script(raw_body=body, raw_content_type=content_type)
    result = run_cli("ask", str(pyapp), QUESTION, env={"OPENAI_BASE_URL": fake_openai.base_url})
    assert result.returncode == 6
    assert result.stdout == ""
    assert error_lines(result.stderr) == ["repopack: error: " + message.format(url=fake_openai.base_url)]
    assert "Traceback" not in result.stderr
    assert len(fake_openai.chat_requests) == 1  # a broken reply is not retried into a bill


@pytest.mark.parametrize(("body", "content_type", "what"), [
    ("this is not json", "application/json", "is not a JSON chat reply: application/json body 'this is not json'"),
    ("<html><body>Login</body></html>", "text/html", "is not a JSON chat reply: text/html body '<html>"),
    ('{"choices": [{"index": 0, "finish_reason": "stop"}]}', "application/json", "has no 'choices[0].message'"),
    ('{"error": {"message": "quota exceeded"}}', "application/json", "answered 200 with an error: 'quota exceeded'"),
    ('{"choices": [{"message": {"content": 42}}]}', "application/json", "has a non-text 'content': '42'"),
])
def test_non_streaming_replies_that_are_not_the_protocol_are_model_errors(
        fake_openai: FakeOpenAI, body: str, content_type: str, what: str) -> None:
    fake_openai.script(raw_body=body, raw_content_type=content_type)
    with pytest.raises(ModelError) as caught:
        complete_chat(config_for(fake_openai), MESSAGES)
    assert what in str(caught.value)
    assert type(caught.value) is ModelError and caught.value.exit_code == 6


def test_a_server_that_ignores_stream_true_still_answers(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(raw_body='{"choices": [{"index": 0, "message": {"role": "assistant", "content": "whole"}, '
                                '"finish_reason": "stop"}], "usage": {"prompt_tokens": 3, "completion_tokens": 1}}')
    events = list(stream_chat(config_for(fake_openai), MESSAGES))
    assert [(e.kind, e.text, e.input_tokens) for e in events] == [("text", "whole", None), ("usage", "", 3)]


def test_each_retry_notice_appears_before_the_next_request_is_sent(pyapp: Path, fake_openai: FakeOpenAI) -> None:
    """Two 429s: the first notice is on stderr before the server sees the second request."""
    fake_openai.script(["fine now"], statuses=[429, 429], retry_after=1.0)
    proc = subprocess.Popen([str(SCRIPT), "ask", str(pyapp), QUESTION], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**_env(), "OPENAI_BASE_URL": fake_openai.base_url})
    seen: list[tuple[float, str]] = []
    assert proc.stderr is not None and proc.stdout is not None
    for line in proc.stderr:  # each line stamped as it arrives
        seen.append((time.time(), line.rstrip("\n")))
    out = proc.stdout.read()
    proc.wait(timeout=60)
    assert proc.returncode == 0, seen
    assert out == "fine now\n"
    notices = [(t, line) for t, line in seen if line.startswith("notice:")]
    assert [line for _, line in notices] == [
        f"notice: HTTP 429 from {fake_openai.base_url}; retrying in 1.0s (attempt 2 of 4)",
        f"notice: HTTP 429 from {fake_openai.base_url}; retrying in 1.0s (attempt 3 of 4)"]
    requests = fake_openai.chat_requests
    assert len(requests) == 3
    assert requests[0].time < notices[0][0] < requests[1].time < notices[1][0] < requests[2].time


def test_the_last_failed_attempt_is_announced_before_giving_up(pyapp: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(statuses=[429] * 4, retry_after=0)
    result = run_cli("ask", str(pyapp), QUESTION, env={"OPENAI_BASE_URL": fake_openai.base_url})
    assert result.returncode == 9
    lines = result.stderr.splitlines()
    notices = [line for line in lines if line.startswith("notice:")]
    assert notices[-1] == f"notice: HTTP 429 from {fake_openai.base_url} on attempt 4 of 4; giving up"
    assert len(notices) == 4
    assert lines[-1] == (f"repopack: error: rate limited (HTTP 429) from {fake_openai.base_url} after 4 attempts; "
                         "wait and try again")


def test_review_retry_notices_stream_too(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(['{"summary": "ok", "findings": []}'], statuses=[503])
    heard: list[tuple[float, str]] = []
    result = complete_chat(config_for(fake_openai), MESSAGES, on_retry=lambda m: heard.append((time.time(), m)))
    assert result.text == '{"summary": "ok", "findings": []}'
    first, second = fake_openai.chat_requests
    assert len(heard) == 1 and heard[0][1].startswith("HTTP 503 from ")
    assert first.time < heard[0][0] < second.time


def test_a_stated_context_limit_sets_the_retry_and_the_counted_retry_fits(pyapp: Path,
                                                                           fake_openai: FakeOpenAI) -> None:
    """"maximum context length is 700 tokens": the retried request, counted, is at most 700 tokens."""
    fake_openai.script(["short answer"], token_limit=700)
    result = run_cli("ask", str(pyapp), QUESTION, env={"OPENAI_BASE_URL": fake_openai.base_url})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "short answer\n"
    first, second = fake_openai.chat_requests
    assert count_tokens(first.body) > 700 >= count_tokens(second.body)
    (notice,) = [line for line in result.stderr.splitlines() if line.startswith("notice:")]
    assert notice.endswith("(the server's limit: 700 tokens)")
    assert "Question: Where is compute_invoice_total defined?" in second.prompt_text
    assert second.prompt_text.count("<file path=") < first.prompt_text.count("<file path=")


def test_a_stated_limit_too_small_for_the_question_is_exit_10(pyapp: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(token_limit=50)
    result = run_cli("ask", str(pyapp), QUESTION, env={"OPENAI_BASE_URL": fake_openai.base_url})
    assert result.returncode == 10
    assert len(fake_openai.chat_requests) == 2
    assert error_lines(result.stderr) == [
        f"repopack: error: the prompt is longer than 'gpt-4.1' accepts at {fake_openai.base_url}: lower --budget"]


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
