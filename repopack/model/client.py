"""A thin wrapper over the ``openai`` package for any OpenAI-compatible endpoint.

It owns three things the SDK leaves to callers: resolving where to send requests
(explicit values, then ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` / ``REPOPACK_MODEL``),
a bounded retry policy for 429/5xx that honours Retry-After, and turning SDK
exceptions into repopack's errors with messages that say what to do.  The SDK's own
retries are switched off so the policy here is the only one.  The key is never logged
and never part of a message or repr.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import openai

from repopack.config import DEFAULT_MODEL, DEFAULT_TIMEOUT
from repopack.errors import AuthError, ContextOverflowError, ModelError, NoModelConfiguredError, RateLimitError
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

    @property
    def endpoint(self) -> str:
        """Where requests go, for messages (never includes the key)."""
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
        env: dict[str, str] | None = None,
    ) -> ClientConfig:
        """Explicit values win, then the environment; no key and no base URL is an error."""
        environ = os.environ if env is None else env
        base_url = base_url or environ.get("OPENAI_BASE_URL") or None
        api_key = api_key or environ.get("OPENAI_API_KEY") or None
        model = model or repopack_env("model", environ) or DEFAULT_MODEL
        if not api_key:
            if not base_url:
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
        )


@dataclass(frozen=True)
class ChatEvent:
    """A streamed text delta, or (kind="usage") the token counts at the end."""

    kind: Literal["text", "usage"]
    text: str = ""
    input_tokens: int | None = None
    output_tokens: int | None = None


@dataclass(frozen=True)
class ChatResult:
    text: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish_reason: str | None = None


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

    Retries cover only the request itself: once text has been yielded, a failure is
    raised rather than retried, so nothing is ever shown twice.
    """
    own = client is None
    sdk = client or make_openai_client(config)
    try:
        yield from _stream(config, sdk, messages, sleep, on_retry, params)
    finally:
        if own:
            sdk.close()


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

    stream = _with_retries(config, _open, sleep, on_retry)
    usage: Any = None
    try:
        with stream:
            for chunk in stream:
                if getattr(chunk, "usage", None) is not None:
                    usage = chunk.usage
                for choice in chunk.choices or ():
                    text = getattr(choice.delta, "content", None)
                    if text:
                        yield ChatEvent("text", text=text)
    except openai.OpenAIError as exc:
        raise _translate(exc, config) from exc
    if usage is not None:
        yield ChatEvent("usage", input_tokens=usage.prompt_tokens, output_tokens=usage.completion_tokens)


def complete_chat(
    config: ClientConfig,
    messages: Sequence[Message],
    *,
    client: openai.OpenAI | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[str], None] | None = None,
    **params: Any,
) -> ChatResult:
    """One non-streaming chat completion."""
    sdk = client or make_openai_client(config)

    payload: list[Any] = list(messages)

    def _call() -> Any:
        return sdk.chat.completions.create(  # type: ignore[call-overload]
            model=config.model, messages=payload, **params
        )

    try:
        response = _with_retries(config, _call, sleep, on_retry)
    finally:
        if client is None:
            sdk.close()
    choice = response.choices[0] if response.choices else None
    usage = response.usage
    return ChatResult(
        text=(choice.message.content or "") if choice else "",
        input_tokens=usage.prompt_tokens if usage else None,
        output_tokens=usage.completion_tokens if usage else None,
        finish_reason=choice.finish_reason if choice else None,
    )


def _with_retries(
    config: ClientConfig,
    call: Callable[[], Any],
    sleep: Callable[[float], None],
    on_retry: Callable[[str], None] | None,
) -> Any:
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
            if attempt >= attempts or waited + delay > policy.max_total_wait:
                raise _translate(exc, config, attempts=attempt) from exc
            status = exc.status_code
        except openai.OpenAIError as exc:
            raise _translate(exc, config) from exc
        if on_retry is not None:
            on_retry(f"HTTP {status} from {config.endpoint}; retrying in {delay:.1f}s "
                     f"(attempt {attempt + 1} of {attempts})")
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
            return ContextOverflowError(f"the prompt is longer than {config.model!r} accepts at {where}: "
                                        "lower --budget")
        return ModelError(f"HTTP {status} from {where}: {detail}")
    return ModelError(f"the model call to {where} failed: {exc}")
