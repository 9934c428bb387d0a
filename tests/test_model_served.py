"""`GET /v1/models` of a real (fake) endpoint, joined with the registry."""

from __future__ import annotations

import pytest

from repopack.errors import ModelError
from repopack.model.client import ClientConfig
from repopack.model.served import model_ids, served_models


def test_lists_the_servers_models_with_the_registrys_window_and_price(fake_openai) -> None:
    fake_openai.script(models=["local-coder", "llama-4-scout", "gpt-4.1-mini", "llama-4-scout"])
    models = served_models(ClientConfig.resolve(base_url=fake_openai.base_url))
    assert [m.id for m in models] == ["gpt-4.1-mini", "llama-4-scout", "local-coder"]
    mini, scout, local = models
    assert mini.info is not None and (mini.info.window, mini.info.input_per_mtok) == (1_047_576, 0.40)
    assert scout.info is not None and scout.info.window == 10_000_000
    assert local.info is None  # not in the registry: nothing is guessed
    assert [(r.method, r.path) for r in fake_openai.requests] == [("GET", "/v1/models")]


def test_an_endpoint_without_the_route_is_one_clear_error(fake_openai) -> None:
    with pytest.raises(ModelError, match=r"HTTP 404 from .*/v1/nope/models: the endpoint does not list its models"):
        served_models(ClientConfig.resolve(base_url=fake_openai.base_url + "/nope"))


def test_a_closed_port_is_one_clear_error() -> None:
    with pytest.raises(ModelError, match=r"could not connect to http://127\.0\.0\.1:9/v1/models"):
        served_models(ClientConfig.resolve(base_url="http://127.0.0.1:9/v1"), timeout=2)


@pytest.mark.parametrize("data", [None, "gpt-4.1", {"id": "gpt-4.1"}, 3])
def test_a_reply_that_is_not_a_model_list_is_refused(data: object) -> None:
    with pytest.raises(ValueError):
        model_ids(data)


def test_ids_are_deduplicated_and_blank_ones_dropped() -> None:
    assert model_ids([{"id": "b"}, {"id": "A"}, {"id": ""}, {"id": None}, {"id": "b"}]) == ["A", "b"]


def test_ids_sort_numbers_as_numbers() -> None:
    ids = [{"id": i} for i in ("model-10", "model-2", "Model-1", "gpt-4.1", "gpt-4o")]
    assert model_ids(ids) == ["gpt-4.1", "gpt-4o", "Model-1", "model-2", "model-10"]
