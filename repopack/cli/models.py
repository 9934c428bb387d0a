"""`repopack models`: the model registry as a table (or JSON).

The table is a list of `Column`s, so a new column (say, a measured effective context)
is one more entry in `COLUMNS`, with no change to the layout code.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import click

from repopack.cli.app import cli
from repopack.model.effective import measured_label, measured_only_models, measurement_json
from repopack.model.registry import ModelInfo, list_models, lookup_model


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[ModelInfo], str]
    align: Literal["left", "right"] = "left"


def _price(p: float | None) -> str:
    return "-" if p is None else f"{p:.2f}"


COLUMNS: list[Column] = [
    Column("MODEL", lambda m: m.name),
    Column("PROVIDER", lambda m: m.provider or "-"),
    Column("WINDOW", lambda m: f"{m.window:,}", "right"),
    Column("MAX OUTPUT", lambda m: f"{m.max_output:,}", "right"),
    Column("$/M IN", lambda m: _price(m.input_per_mtok), "right"),
    Column("$/M OUT", lambda m: _price(m.output_per_mtok), "right"),
    Column("MEASURED", lambda m: measured_label(m.name), "right"),  # effective context from `repopack eval needle`
]


def format_table(rows: Sequence[ModelInfo], columns: Sequence[Column] = COLUMNS) -> list[str]:
    """Aligned plain-text lines: a header, then one line per model (no trailing spaces)."""
    cells = [[c.header for c in columns]] + [[c.value(m) for c in columns] for m in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = []
    for row in cells:
        padded = [cell.rjust(w) if c.align == "right" else cell.ljust(w)
                  for cell, w, c in zip(row, widths, columns, strict=True)]
        lines.append("  ".join(padded).rstrip())
    return lines


@cli.command("models")
@click.option("--json", "as_json", is_flag=True, help="Print the registry as a JSON list.")
def models_command(as_json: bool) -> None:
    """List the known models: context window, maximum output and list prices (USD per million tokens),
    and the effective context `repopack eval needle` measured (MEASURED; '<8k': missed even at 8k).

    Models not listed still work: pass --window for their context size.
    """
    models = list_models()
    models += [lookup_model(name) for name in measured_only_models([m.name for m in models])]
    if as_json:
        records = [{k: v for k, v in dataclasses.asdict(m).items() if k != "known"}
                   | {"measured": measurement_json(m.name)} for m in models]
        click.echo(json.dumps(records, indent=2))
        return
    for line in format_table(models):
        click.echo(line)
    notes = [m for m in models if m.note]
    if notes:
        click.echo("")
        for m in notes:
            click.echo(f"{m.name}: {m.note}")
