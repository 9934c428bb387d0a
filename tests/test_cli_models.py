"""`repopack models`: the registry as an aligned table and as JSON."""

from __future__ import annotations

import json
import re

from helpers import run_cli

from repopack.cli.models import COLUMNS, Column, format_table
from repopack.model.registry import ModelInfo, list_models

GPT41 = ModelInfo("gpt-4.1", 1_047_576, 32_768, 2.0, 8.0, "openai")
LOCAL = ModelInfo("local", 32_768, 4_096, None, None, "")


def test_table_is_aligned_with_exact_cells() -> None:
    assert format_table([GPT41, LOCAL], COLUMNS[:6]) == [
        "MODEL    PROVIDER     WINDOW  MAX OUTPUT  $/M IN  $/M OUT",
        "gpt-4.1  openai    1,047,576      32,768    2.00     8.00",
        "local    -            32,768       4,096       -        -",
    ]


def test_a_column_is_one_more_spec() -> None:
    columns = [*COLUMNS[:1], Column("EFFECTIVE", lambda m: f"{m.window // 2:,}", "right")]
    assert format_table([GPT41, LOCAL], columns) == [
        "MODEL    EFFECTIVE",
        "gpt-4.1    523,788",
        "local       16,384",
    ]


def test_models_command_lists_every_registry_entry() -> None:
    result = run_cli("models")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    models = list_models()
    assert lines[0].split()[:9] == ["MODEL", "PROVIDER", "WINDOW", "MAX", "OUTPUT", "$/M", "IN", "$/M", "OUT"]
    rows = [re.split(r"\s{2,}", line) for line in lines[1:len(models) + 1]]
    assert [row[0] for row in rows] == [m.name for m in models]
    by_name = {row[0]: row for row in rows}
    assert by_name["gpt-4.1"][1:6] == ["openai", "1,047,576", "32,768", "2.00", "8.00"]
    assert by_name["llama-4-scout"][2] == "10,000,000"
    assert "llama-4-scout: 10M is the model's window" in result.stdout

    as_json = run_cli("models", "--json")
    assert as_json.returncode == 0, as_json.stderr
    records = json.loads(as_json.stdout)
    assert [r["name"] for r in records][:len(models)] == [m.name for m in models]
    assert records[0]["window"] == models[0].window and records[0]["input_per_mtok"] == models[0].input_per_mtok
