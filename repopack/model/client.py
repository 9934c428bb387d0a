"""A thin wrapper over the ``openai`` package for any OpenAI-compatible endpoint.

It owns three things the SDK leaves to callers: resolving where to send requests
(explicit values, then ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` / ``REPOPACK_MODEL``),
a bounded retry policy for 429/5xx that honours Retry-After, and turning SDK
exceptions into repopack's errors with messages that say what to do.  The SDK's own
retries are switched off so the policy here is the only one.  The key is never logged
and never part of a message or repr.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import openai

from repopack.config import DEFAULT_MODEL, DEFAULT_TIMEOUT
from repopack.errors import AuthError, ContextOverflowError, ModelError, NoModelConfiguredError, RateLimitError
from repopack.model.recording import Recording, request_body
from repopack.model.replies import (
    ChatResult,
    chat_result,
    dump,
    int_or_none,
    not_protocol,
    snippet,
    stated_context_limit,
)
from repopack.util.env import env as repopack_env

DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Local servers (vLLM, llama.cpp, Ollama) ignore the key, but the SDK wants one.
LOCAL_DUMMY_KEY = "sk-repopack-local-no-key"

NO_MODEL_MESSAGE = (
    "no model endpoint configured: set OPENAI_API_KEY (and OPENAI_BASE_URL for a non-OpenAI host), "
    "pass --api-key/--base-url, or set base_url in the user config (config.toml)"
)

Message = dict[str, Any]


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff for 429 and 5xx."""

    attempts: int = 4  # total tries, including the first
    initial_delay: float = 1.0
    max_delay: float = 20.0
    max_total_wait: float = 60.0


@dataclass(frozen=True)
class ClientConfig:
    base_url: str | None
    api_key: str = field(repr=False)
    model: str
    timeout: float = DEFAULT_TIMEOUT
    max_retries: int = 3
    retry: RetryPolicy = RetryPolicy()
    recording: Recording | None = None  # --record / --replay

    @property
    def endpoint(self) -> str:
        """Where requests go, for messages (never includes the key)."""
        if self.recording is not None and self.recording.mode == "replay":
            return f"the recordings in {self.recording.directory}"
        return self.base_url or DEFAULT_BASE_URL

    @classmethod
    def resolve(
        cls,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        model: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        record: str | None = None,
        replay: str | None = None,
        env: dict[str, str] | None = None,
    ) -> ClientConfig:
        """Explicit values win, then the environment; no key and no base URL is an error
        (unless every reply comes from a recording: `replay`)."""
        environ = os.environ if env is None else env
        base_url = base_url or environ.get("OPENAI_BASE_URL") or None
        api_key = api_key or environ.get("OPENAI_API_KEY") or None
        model = model or repopack_env("model", environ) or DEFAULT_MODEL
        recording = Recording.resolve(record, replay, environ)
        if not api_key:
            if not base_url and (recording is None or recording.mode != "replay"):
                raise NoModelConfiguredError(NO_MODEL_MESSAGE)
            api_key = LOCAL_DUMMY_KEY
        policy = retry or RetryPolicy()
        if max_retries is not None:
            policy = RetryPolicy(max_retries + 1, policy.initial_delay, policy.max_delay, policy.max_total_wait)
        return cls(
            base_url=base_url,
            api_key=api_key,
            model=model,
            timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
            max_retries=policy.attempts - 1,
            retry=policy,
            recording=recording,
        )


@dataclass(frozen=True)
class ChatEvent:
    """A streamed text delta, (kind="usage") the token counts at the end, or (kind="notice") a retry."""

    kind: Literal["text", "usage", "notice"]
    text: str = ""
    input_tokens: int | None = None
    output_tokens: int | None = None
    notice: str = ""  # kind="notice": what happened (``text`` stays empty, so joining texts is the answer)


def make_openai_client(config: ClientConfig) -> openai.OpenAI:
    return openai.OpenAI(
        api_key=config.api_key,
        base_url=config.base_url or DEFAULT_BASE_URL,
        timeout=config.timeout,
        max_retries=0,  # retries are ours: bounded, and they respect Retry-After
    )


def stream_chat(
    config: ClientConfig,
    messages: Sequence[Message],
    *,
    client: openai.OpenAI | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[str], None] | None = None,
    **params: Any,
) -> Iterator[ChatEvent]:
    """Yield text deltas as they arrive, then one usage event (when the server sends it).

    A retry is announced as a ``notice`` event (and through ``on_retry``) the moment it is
    decided, before the wait, and so is the last failed attempt before giving up.
    Retries cover only the request itself: once text has been yielded, a failure is
    raised rather than retried, so nothing is ever shown twice.  A reply that is not the
    protocol (not an event stream, an event that is not JSON, no chunk at all) is a
    `ModelError` naming what came back.
    """
    recording = config.recording
    key = recording.key(config.model, messages, params, True) if recording is not None else ""
    if recording is not None and recording.mode == "replay":
        yield from _replayed_stream(recording.load(key), recording)
        return
    own = client is None
    sdk = client or make_openai_client(config)
    kept: list[dict[str, Any]] = []
    try:
        for event in _stream(config, sdk, messages, sleep, on_retry, params):
            if event.kind == "text":
                kept.append({"text": event.text})
            elif event.kind == "usage":
                kept.append({"input_tokens": event.input_tokens, "output_tokens": event.output_tokens})
            yield event
    finally:
        if own:
            sdk.close()
    if recording is not None:
        recording.save(key, request_body(config.model, messages, params, True), {"kind": "stream", "events": kept})


def _replayed_stream(reply: dict[str, Any], recording: Recording) -> Iterator[ChatEvent]:
    events = reply.get("events")
    if reply.get("kind") != "stream" or not isinstance(events, list):
        raise ModelError(f"a recording in {recording.directory} is not a streamed reply")
    for item in events:
        if isinstance(item, dict) and isinstance(item.get("text"), str):
            yield ChatEvent("text", text=item["text"])
        elif isinstance(item, dict):
            yield ChatEvent("usage", input_tokens=int_or_none(item.get("input_tokens")),
                            output_tokens=int_or_none(item.get("output_tokens")))


def _stream(
    config: ClientConfig,
    sdk: openai.OpenAI,
    messages: Sequence[Message],
    sleep: Callable[[float], None],
    on_retry: Callable[[str], None] | None,
    params: dict[str, Any],
) -> Iterator[ChatEvent]:
    payload: list[Any] = list(messages)

    def _open() -> Any:
        return sdk.chat.completions.create(  # type: ignore[call-overload]
            model=config.model,
            messages=payload,
            stream=True,
            stream_options={"include_usage": True},
            **params,
        )

    stream = yield from _retrying(config, _open, sleep, on_retry)
    whole = _unstreamed_reply(stream, config)
    if whole is not None:  # a server that ignores stream=true and answers with one JSON body
        if whole.text:
            yield ChatEvent("text", text=whole.text)
        if whole.input_tokens is not None or whole.output_tokens is not None:
            yield ChatEvent("usage", input_tokens=whole.input_tokens, output_tokens=whole.output_tokens)
        return
    usage: Any = None
    chunks = 0
    try:
        with stream:
            for chunk in stream:
                choices = getattr(chunk, "choices", None)
                chunk_usage = getattr(chunk, "usage", None)
                if not isinstance(choices, list) and chunk_usage is None:
                    raise ModelError(f"a stream event from {config.endpoint} is not a chat completion chunk "
                                     f"(no 'choices'): {snippet(dump(chunk))}")
                chunks += 1
                if chunk_usage is not None:
                    usage = chunk_usage
                for choice in choices or ():
                    text = getattr(getattr(choice, "delta", None), "content", None)
                    if isinstance(text, str) and text:
                        yield ChatEvent("text", text=text)
    except ValueError as exc:  # json.JSONDecodeError from the SDK's SSE decoder
        line = getattr(exc, "doc", None)
        what = f"data: {snippet(line)}" if isinstance(line, str) else str(exc)
        raise ModelError(f"a stream event from {config.endpoint} is not JSON: {what}") from None
    except openai.OpenAIError as exc:
        raise _translate(exc, config) from exc
    if chunks == 0:
        raise ModelError(f"the event stream from {config.endpoint} ended without a single chat completion chunk")
    if usage is not None:
        yield ChatEvent("usage", input_tokens=int_or_none(getattr(usage, "prompt_tokens", None)),
                        output_tokens=int_or_none(getattr(usage, "completion_tokens", None)))


def _unstreamed_reply(stream: Any, config: ClientConfig) -> ChatResult | None:
    """None for a real event stream; the reply when a server answered one JSON chat completion
    instead; anything else that came back with 200 (a login page, plain text) is an error."""
    response = getattr(stream, "response", None)
    if response is None:
        return None
    content_type = response.headers.get("content-type", "")
    if "event-stream" in content_type.lower():
        return None
    try:
        body = response.read().decode("utf-8", "replace")
    except Exception:  # noqa: BLE001 - the body is only for the message
        body = ""
    finally:
        stream.close()
    try:
        data = json.loads(body)
    except ValueError:
        raise ModelError(not_protocol(config.endpoint, content_type, body, "an event stream")) from None
    return chat_result(data, config.endpoint)


def complete_chat(
    config: ClientConfig,
    messages: Sequence[Message],
    *,
    client: openai.OpenAI | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[str], None] | None = None,
    **params: Any,
) -> ChatResult:
    """One non-streaming chat completion; ``on_retry`` hears of each retry before its wait."""
    recording = config.recording
    key = recording.key(config.model, messages, params, False) if recording is not None else ""
    if recording is not None and recording.mode == "replay":
        reply = recording.load(key)
        if reply.get("kind") != "complete" or not isinstance(reply.get("text"), str):
            raise ModelError(f"a recording in {recording.directory} is not a chat completion")
        return ChatResult(reply["text"], int_or_none(reply.get("input_tokens")),
                          int_or_none(reply.get("output_tokens")), reply.get("finish_reason"))
    result = _complete(config, messages, client, sleep, on_retry, params)
    if recording is not None:
        recording.save(key, request_body(config.model, messages, params, False),
                       {"kind": "complete", "text": result.text, "input_tokens": result.input_tokens,
                        "output_tokens": result.output_tokens, "finish_reason": result.finish_reason})
    return result


def _complete(config: ClientConfig, messages: Sequence[Message], client: openai.OpenAI | None,
              sleep: Callable[[float], None], on_retry: Callable[[str], None] | None,
              params: dict[str, Any]) -> ChatResult:
    sdk = client or make_openai_client(config)

    payload: list[Any] = list(messages)

    def _call() -> Any:
        return sdk.chat.completions.with_raw_response.create(  # type: ignore[call-overload]
            model=config.model, messages=payload, **params
        )

    try:
        raw = _drive(_retrying(config, _call, sleep, on_retry))
        body = _json_reply(raw, config)
    finally:
        if client is None:
            sdk.close()
    return chat_result(body, config.endpoint)


def _json_reply(raw: Any, config: ClientConfig) -> Any:
    content_type = raw.headers.get("content-type", "")
    text = raw.text
    try:
        return json.loads(text)
    except ValueError:
        raise ModelError(not_protocol(config.endpoint, content_type, text, "a JSON chat reply")) from None


Attempts = Generator[ChatEvent, None, Any]


def _drive(attempts: Attempts) -> Any:
    """Run a retrying call to its result (its notices already went to the callback)."""
    while True:
        try:
            next(attempts)
        except StopIteration as done:
            return done.value


def _retrying(
    config: ClientConfig,
    call: Callable[[], Any],
    sleep: Callable[[float], None],
    on_retry: Callable[[str], None] | None,
) -> Attempts:
    """Call with bounded retries; yields a notice before each wait and before giving up."""
    policy = config.retry
    attempts = max(1, min(policy.attempts, config.max_retries + 1))
    waited = 0.0
    attempt = 0
    while True:
        attempt += 1
        try:
            return call()
        except openai.APIStatusError as exc:
            retryable = exc.status_code == 429 or exc.status_code >= 500
            if not retryable:
                raise _translate(exc, config) from exc
            delay = _retry_delay(exc, attempt, policy)
            status = exc.status_code
            if attempt >= attempts or waited + delay > policy.max_total_wait:
                message = (f"HTTP {status} from {config.endpoint} on attempt {attempt} of {attempts}; "
                           "giving up")
                if on_retry is not None:
                    on_retry(message)
                yield ChatEvent("notice", notice=message)
                raise _translate(exc, config, attempts=attempt) from exc
        except openai.OpenAIError as exc:
            raise _translate(exc, config) from exc
        message = (f"HTTP {status} from {config.endpoint}; retrying in {delay:.1f}s "
                   f"(attempt {attempt + 1} of {attempts})")
        if on_retry is not None:
            on_retry(message)
        yield ChatEvent("notice", notice=message)
        sleep(delay)
        waited += delay


def _retry_delay(exc: openai.APIStatusError, attempt: int, policy: RetryPolicy) -> float:
    backoff = min(policy.max_delay, policy.initial_delay * 2 ** (attempt - 1))
    header = exc.response.headers.get("retry-after") if exc.response is not None else None
    if header:
        try:
            return min(policy.max_delay, max(0.0, float(header)))
        except ValueError:
            pass  # an HTTP date: fall back to our own backoff
    return backoff


def _error_code(exc: openai.APIStatusError) -> str:
    code = getattr(exc, "code", None)
    body = exc.body
    if not code and isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            code = inner.get("code") or inner.get("type")
    return str(code or "")


def _is_context_overflow(exc: openai.APIStatusError) -> bool:
    if exc.status_code not in (400, 413, 422):
        return False
    if _error_code(exc) == "context_length_exceeded":
        return True
    message = str(exc.message).lower()
    return any(phrase in message for phrase in (
        "context length", "context_length", "maximum context", "context window", "too many tokens",
        "prompt is too long",
    ))


def _translate(exc: openai.OpenAIError, config: ClientConfig, attempts: int = 1) -> ModelError:
    where = config.endpoint
    if isinstance(exc, openai.APITimeoutError):
        return ModelError(f"the request to {where} timed out after {config.timeout:g}s; "
                          "try again, raise the timeout, or send a smaller --budget")
    if isinstance(exc, openai.APIConnectionError):
        return ModelError(f"could not connect to {where}: check OPENAI_BASE_URL / --base-url "
                          "and that the server is running")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        detail = " ".join(str(exc.message).split())[:200]
        if status in (401, 403):
            return AuthError(f"the endpoint refused the API key (HTTP {status} from {where}): "
                             "check OPENAI_API_KEY or --api-key")
        if status == 404:
            return AuthError(f"HTTP 404 from {where}: the model {config.model!r} or the base URL is unknown "
                             "there; check --model / REPOPACK_MODEL and --base-url (OpenAI-compatible "
                             "URLs usually end in /v1)")
        if status == 429 or status >= 500:
            tries = f"after {attempts} attempt{'s' if attempts != 1 else ''}"
            what = "rate limited" if status == 429 else "server error"
            return RateLimitError(f"{what} (HTTP {status}) from {where} {tries}; wait and try again")
        if _is_context_overflow(exc):
            limit, requested = stated_context_limit(exc)
            return ContextOverflowError(f"the prompt is longer than {config.model!r} accepts at {where}: "
                                        "lower --budget", limit=limit, requested=requested)
        return ModelError(f"HTTP {status} from {where}: {detail}")
    return ModelError(f"the model call to {where} failed: {exc}")
