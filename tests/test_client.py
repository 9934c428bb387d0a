"""The chat client against a real local OpenAI-compatible server (tests/support/fake_openai.py)."""

from __future__ import annotations

import pytest
from support.fake_openai import FakeOpenAI

from repopack.errors import AuthError, ContextOverflowError, ModelError, NoModelConfiguredError, RateLimitError
from repopack.model.client import LOCAL_DUMMY_KEY, ChatEvent, ClientConfig, RetryPolicy, complete_chat, stream_chat

FAST = RetryPolicy(attempts=3, initial_delay=0.01, max_delay=0.05, max_total_wait=1.0)
MESSAGES = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Say hello."}]


def config_for(fake: FakeOpenAI, **kw: object) -> ClientConfig:
    return ClientConfig.resolve(base_url=fake.base_url, api_key="sk-test-123", model="fake-model",
                                retry=FAST, **kw)  # type: ignore[arg-type]


def test_streaming_yields_deltas_then_usage(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(["Hello from a streaming fake model."], chunk_size=5)
    events = list(stream_chat(config_for(fake_openai), MESSAGES))

    texts = [e.text for e in events if e.kind == "text"]
    assert texts == ["Hello", " from", " a st", "reami", "ng fa", "ke mo", "del."]
    assert events[-1] == ChatEvent("usage", input_tokens=len("You are terse.\nSay hello.") // 4,
                                   output_tokens=len("Hello from a streaming fake model.") // 4)
    (request,) = fake_openai.chat_requests
    assert request.body["stream"] is True
    assert request.body["stream_options"] == {"include_usage": True}
    assert request.body["model"] == "fake-model"
    assert request.body["messages"] == MESSAGES
    assert request.headers["authorization"] == "Bearer <redacted>"


def test_complete_chat_non_streaming(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(["first", "second"])
    config = config_for(fake_openai)
    assert complete_chat(config, MESSAGES).text == "first"
    result = complete_chat(config, MESSAGES)
    assert (result.text, result.finish_reason) == ("second", "stop")
    assert [r.body.get("stream") for r in fake_openai.chat_requests] == [None, None]


def test_429_with_retry_after_then_success(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(["ok after retries"], statuses=[429, 500], retry_after=0.02)
    notes: list[str] = []
    sleeps: list[float] = []
    text = "".join(e.text for e in stream_chat(config_for(fake_openai), MESSAGES,
                                               on_retry=notes.append, sleep=sleeps.append))
    assert text == "ok after retries"
    assert len(fake_openai.chat_requests) == 3
    assert sleeps == [0.02, 0.02]  # Retry-After honoured (500 has none: backoff 0.01*2 = 0.02)
    assert notes[0].startswith("HTTP 429 from http://127.0.0.1:")
    assert notes[1].startswith("HTTP 500 from http://127.0.0.1:")


def test_persistent_429_becomes_rate_limit_error(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(statuses=[429] * 10)
    with pytest.raises(RateLimitError, match=r"rate limited \(HTTP 429\) .* after 3 attempts"):
        list(stream_chat(config_for(fake_openai), MESSAGES, sleep=lambda s: None))
    assert len(fake_openai.chat_requests) == 3


def test_retry_wait_is_capped_in_total(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(statuses=[429] * 10, retry_after=30)
    policy = RetryPolicy(attempts=10, initial_delay=1, max_delay=30, max_total_wait=45)
    config = ClientConfig.resolve(base_url=fake_openai.base_url, model="m", retry=policy)
    sleeps: list[float] = []
    with pytest.raises(RateLimitError):
        complete_chat(config, MESSAGES, sleep=sleeps.append)
    assert sleeps == [30.0]  # a second 30 s wait would pass the 45 s cap


def test_401_is_auth_error_with_a_fix(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(statuses=[401])
    with pytest.raises(AuthError) as info:
        list(stream_chat(config_for(fake_openai), MESSAGES))
    assert str(info.value) == (f"the endpoint refused the API key (HTTP 401 from {fake_openai.base_url}): "
                               "check OPENAI_API_KEY or --api-key")
    assert "sk-test-123" not in str(info.value)
    assert len(fake_openai.chat_requests) == 1  # never retried


def test_404_names_the_model(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(statuses=[404])
    with pytest.raises(AuthError, match="the model 'fake-model' or the base URL is unknown"):
        complete_chat(config_for(fake_openai), MESSAGES)


def test_context_length_exceeded(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(["fits"], context_limit=30)
    config = config_for(fake_openai)
    with pytest.raises(ContextOverflowError, match="lower --budget"):
        list(stream_chat(config, [{"role": "user", "content": "x" * 31}]))
    assert complete_chat(config, [{"role": "user", "content": "x" * 30}]).text == "fits"


def test_echo_half_mode_returns_prompt_prefix(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(echo_half=True)
    assert complete_chat(config_for(fake_openai), [{"role": "user", "content": "abcdefgh"}]).text == "abcd"


def test_connection_refused_is_model_error() -> None:
    config = ClientConfig.resolve(base_url="http://127.0.0.1:9/v1", model="m", retry=FAST)
    with pytest.raises(ModelError, match=r"could not connect to http://127.0.0.1:9/v1"):
        complete_chat(config, MESSAGES)


def test_timeout_is_model_error(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(["slow " * 20], chunk_size=1, chunk_delay=0.5)
    config = ClientConfig.resolve(base_url=fake_openai.base_url, model="m", timeout=0.2, retry=FAST)
    with pytest.raises(ModelError, match="timed out after 0.2s"):
        list(stream_chat(config, MESSAGES))


def test_resolve_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(NoModelConfiguredError, match="set OPENAI_API_KEY"):
        ClientConfig.resolve()
    monkeypatch.setenv("OPENAI_BASE_URL", "http://localhost:8000/v1")
    monkeypatch.setenv("REPOPACK_MODEL", "llama-4-scout")
    local = ClientConfig.resolve()
    assert (local.base_url, local.api_key, local.model) == ("http://localhost:8000/v1", LOCAL_DUMMY_KEY,
                                                            "llama-4-scout")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    explicit = ClientConfig.resolve(api_key="sk-explicit", model="gpt-4.1")
    assert (explicit.api_key, explicit.model) == ("sk-explicit", "gpt-4.1")
    assert "sk-explicit" not in repr(explicit)
