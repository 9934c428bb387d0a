"""The models an OpenAI-compatible endpoint serves (`GET /v1/models`), with what the registry knows.

Used by the chat TUI's model picker; any client of the core may call it.  One request,
no retries (a picker should answer quickly or say why not), the key never in a message.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import openai

from repopack.errors import AuthError, ModelError
from repopack.model.client import ClientConfig, make_openai_client
from repopack.model.registry import ModelInfo, lookup_model

LIST_TIMEOUT = 10.0  # seconds: listing models is small; a slow server should not freeze a picker


@dataclass(frozen=True)
class ServedModel:
    id: str
    info: ModelInfo | None = None  # the registry's entry (window, prices); None when it has none


def served_models(config: ClientConfig, *, timeout: float = LIST_TIMEOUT) -> list[ServedModel]:
    """The endpoint's models, sorted by id, each with its registry entry when there is one."""
    sdk = make_openai_client(dataclasses.replace(config, timeout=min(timeout, config.timeout)))
    where = f"{config.endpoint.rstrip('/')}/models"
    try:
        page = sdk.models.list()
        ids = model_ids(getattr(page, "data", None))
    except openai.APITimeoutError as exc:
        raise ModelError(f"listing the models at {where} timed out after {timeout:g}s") from exc
    except openai.APIConnectionError as exc:
        raise ModelError(f"could not connect to {where}: check the endpoint and that the server is running") from exc
    except openai.APIStatusError as exc:
        if exc.status_code in (401, 403):
            raise AuthError(f"{where} refused the API key (HTTP {exc.status_code}): check OPENAI_API_KEY") from exc
        raise ModelError(f"HTTP {exc.status_code} from {where}: the endpoint does not list its models "
                         f"(type the model's name instead)") from exc
    except (openai.OpenAIError, TypeError, ValueError, AttributeError) as exc:
        raise ModelError(f"{where} did not answer with a model list") from exc
    finally:
        sdk.close()
    return [ServedModel(i, known_info(i)) for i in ids]


def model_ids(data: Any) -> list[str]:
    """The distinct `id`s of a `/models` reply's `data` list, sorted; a reply of another shape is an error."""
    if not isinstance(data, Iterable) or isinstance(data, str | bytes | dict):
        raise ValueError("not a model list")
    ids = {getattr(m, "id", None) if not isinstance(m, dict) else m.get("id") for m in data}
    return sorted((i for i in ids if isinstance(i, str) and i.strip()), key=_natural)


def _natural(name: str) -> list[tuple[int, int | str]]:
    """model-2 before model-10; case does not matter."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", name.lower()) if part]


def known_info(name: str) -> ModelInfo | None:
    info = lookup_model(name)
    return info if info.known else None
