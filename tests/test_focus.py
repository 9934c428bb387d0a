"""The focused fidelity: big files go in as the definitions that matter, with their line numbers."""

from __future__ import annotations

import json
import re

from helpers import cl100k_count, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repopack.choices import Format, Mode
from repopack.errors import BudgetError
from repopack.packing.fit import Candidate, fit_files
from repopack.packing.focus import build_outlines, focused_text, plan_steps, score_units, unit_shares
from repopack.packing.parse import parse_file
from repopack.packing.tokens import get_tokenizer

TOK = get_tokenizer("cl100k_base")
GUTTER = re.compile(r"^ *(\d+)│ ?(.*)$")
WORDS = ["ledger", "invoice", "carrier", "parcel", "tariff", "voucher", "quota", "refund", "bundle", "cursor",
         "beacon", "margin", "rebate", "escrow", "payout", "summary", "archive", "digest", "mailbox", "roster"]


def big_module(n: int = 175) -> str:
    """A module of many distinct functions (about 20k cl100k tokens at n=175)."""
    parts = ['"""Accounting helpers."""\n\nimport math\nfrom decimal import Decimal\n\nRATE_TABLE = {"std": 0.2}\n']
    for i in range(n):
        a, b = WORDS[i % len(WORDS)], WORDS[(i * 7 + 3) % len(WORDS)]
        name = f"{a}_{b}_{i}"
        parts.append(
            f"\n\ndef {name}(items, factor={i}):\n"
            f'    """Combine the {a} entries with each {b} record (variant {i})."""\n'
            f"    total_{a} = Decimal(0)\n"
            f"    for item in items:\n"
            f"        if item.kind == '{b}':\n"
            f"            total_{a} += Decimal(item.amount) * factor\n"
            f"        elif item.kind == '{a}':\n"
            f"            total_{a} -= Decimal(math.floor(item.amount / {i + 2}))\n"
            f"    checked = [x for x in items if x.code.startswith('{a[:3]}{i}')]\n"
            f"    return total_{a}, len(checked), RATE_TABLE['std']\n"
        )
    return "".join(parts)


def test_a_20k_module_goes_in_as_the_function_the_question_names(make_repo, tmp_path) -> None:
    module = big_module()
    assert cl100k_count(module) >= 20_000
    target = "escrow_payout_53"
    assert f"def {target}(" in module
    files = {"acct/books.py": module, "acct/__init__.py": "from .books import *\n", "README.md": "# Accounting\n"}
    for k in range(6):
        files[f"acct/util{k}.py"] = "".join(f"def helper_{k}_{j}(x):\n    return x * {j}\n\n" for j in range(40))
    root = make_repo(files)
    out = tmp_path / "prompt.xml"
    manifest = tmp_path / "manifest.json"
    result = run_cli("pack", str(root), "--budget", "8k", "--encoding", "cl100k_base", "-q",
                     f"The {target} total is wrong when the factor is zero", "--explain", "-o", str(out),
                     "--manifest", str(manifest))
    assert result.returncode == 0, result.stderr
    prompt = out.read_text(encoding="utf-8")
    assert cl100k_count(prompt) <= 8000
    block = re.search(r'<file path="acct/books.py"[^>]*mode="focused">\n(.*?)</file>', prompt, re.S)
    assert block is not None, prompt[:2000]
    shown = {int(m.group(1)): m.group(2) for m in map(GUTTER.match, block.group(1).splitlines()) if m}
    lines = module.split("\n")
    start = next(n for n, line in enumerate(lines, 1) if line.startswith(f"def {target}("))
    end = start + 9  # signature, docstring, 8 body lines
    for n in range(start, end + 1):
        assert shown.get(n, "") == lines[n - 1].rstrip(), (n, lines[n - 1])
    assert re.search(rf"focused +[\d,]+ +acct/books\.py +\(focused: {target}\b", result.stderr), result.stderr
    entry = next(f for f in json.loads(manifest.read_text())["files"] if f["path"] == "acct/books.py")
    assert entry["mode"] == "focused" and entry["focused"][0] == target


def test_an_expanded_function_brings_the_module_constants_it_uses() -> None:
    text = ('"""M."""\nimport os\nimport re\n\nLIMIT = [\n    1,\n    2,\n]\n\n\n'
            "def far(x):\n    return re.sub(x)\n\n\n"
            "def near(path):\n    size = os.path.getsize(path)\n    return size > LIMIT[0]\n")
    symbols = parse_file("m.py", text)
    [outline] = build_outlines([(text, symbols)], TOK.count_many)
    names = [u.name for u in outline.units]
    scores = [1.0 if n == "near" else 0.0 for n in names]
    plan = plan_steps(outline, unit_shares(outline, scores), lean=True)
    assert plan.labels[0] == "near"
    chosen = [u for u in plan.steps[0]]
    lean = focused_text(text, outline, chosen, lean=True)
    numbers = {int(m.group(1)) for m in map(GUTTER.match, lean.splitlines()) if m}
    # near whole, LIMIT whole, the import it uses; not far, not the unused import
    assert {15, 16, 17, 5, 6, 7, 8, 2} <= numbers
    assert 11 not in numbers and 12 not in numbers and 3 not in numbers


def test_units_are_scored_by_name_body_and_frames() -> None:
    text = "def alpha():\n    return 1\n\n\ndef beta():\n    parse_header()\n    return 2\n\n\ndef gamma():\n    pass\n"
    [outline] = build_outlines([(text, parse_file("x.py", text))], TOK.count_many)
    from repopack.packing.focus import UnitQuery

    by_name = score_units(outline, "x.py", UnitQuery({}, {"alpha": 1.0}, {}, {}))
    assert by_name[0] > 0 and by_name[1] == 0
    by_body = score_units(outline, "x.py", UnitQuery({"header": 2.0}, {}, {}, {}))
    assert by_body[1] > 0 and by_body[0] == 0
    by_frame = score_units(outline, "x.py", UnitQuery({}, {}, {"x.py": (11,)}, {}))
    assert by_frame[2] > 0 and by_frame[0] == by_frame[1] == 0


def label_scores(text: str, path: str, query) -> dict[str, float]:
    """Each unit's score for `query`, by its label."""
    [outline] = build_outlines([(text, parse_file(path, text))], TOK.count_many)
    return dict(zip((u.label for u in outline.units), score_units(outline, path, query), strict=True))


def test_methods_of_a_class_the_question_names_score() -> None:
    from repopack.packing.focus import UnitQuery

    text = ("class Other:\n    def size(self):\n        return 0\n\n\n"
            "class PersonName:\n    def size(self):\n        return len(self.parts)\n")
    scores = label_scores(text, "p.py", UnitQuery({}, {"PersonName": 1.0}, {}, {}))
    assert scores["PersonName.size"] > 0 and scores["Other.size"] == 0


texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(min_value=1, max_value=12), budget=st.integers(min_value=150, max_value=5000),
       fmt=st.sampled_from(list(Format)), junk=texts, seed=st.integers(min_value=0, max_value=10))
def test_focused_packs_never_exceed_the_budget(n, budget, fmt, junk, seed) -> None:
    """Real outlines of generated modules (with arbitrary text mixed in), every fidelity in play."""
    from repopack.packing.fit import Focus
    from repopack.packing.skeleton import skeleton_text

    cands = []
    for i in range(n):
        text = big_module(3 + (i * 5 + seed) % 9) + "\n# " + junk.replace("\n", " ") + "\n"
        symbols = parse_file(f"m{i}.py", text)
        [outline] = build_outlines([(text, symbols)], TOK.count_many)
        skel = skeleton_text(text, symbols)
        scores = [float((k + seed) % 3) for k in range(len(outline.units))]
        shares = unit_shares(outline, scores)
        chains = []
        for lean in (False, True):
            plan = plan_steps(outline, shares, lean, TOK.count(skel))

            def render(k: int, plan=plan, text=text, outline=outline) -> str:
                return focused_text(text, outline, [u for s in plan.steps[:k] for u in s], lean=plan.lean)

            chains.append(Focus(lean, plan.base_tokens, plan.labels, plan.costs, plan.shares, render))
        cands.append(Candidate(f"pkg/m{i}.py", "python", text, TOK.count(text), 0.0, skel, TOK.count(skel),
                               None, tuple(chains)))
    try:
        packed = fit_files(cands, budget, TOK, repo_name="prop", fmt=fmt)
    except BudgetError:
        return
    assert TOK.count(packed.text) == packed.tokens <= budget
    for d in packed.decisions:
        if d.mode == Mode.FOCUSED:
            assert d.focused and f'path="{d.path}"' in packed.text or fmt != "xml"


def test_map_of_a_repository_lists_many_files_within_the_budget(make_repo) -> None:
    files = {f"pkg/mod{i}.py": "".join(f"def fn_{i}_{j}(a, b):\n    return a + b * {j}\n\n" for j in range(30))
             for i in range(60)}
    files["pkg/__init__.py"] = "".join(f"from .mod{i} import fn_{i}_0\n" for i in range(60))
    root = make_repo(files)
    result = run_cli("map", str(root), "--budget", "2000")
    assert result.returncode == 0, result.stderr
    assert cl100k_count(result.stdout) <= 2000
    sections = re.findall(r"^(pkg/\S+):$", result.stdout, re.M)
    assert len(sections) >= 40
    assert "import" not in result.stdout
    assert re.search(r"^⋮ left out for the budget: \d+ definitions", result.stdout, re.M)
    everything = run_cli("map", str(root))
    assert len(re.findall(r"^(pkg/\S+):$", everything.stdout, re.M)) == 60
    assert "left out" not in everything.stdout


def test_diff_hunks_pick_the_changed_definition(make_repo, tmp_path) -> None:
    module = big_module(60)
    root = make_repo({"acct/books.py": module, "acct/other.py": "def other():\n    return 1\n"})
    target = "quota_voucher_46"
    assert f"def {target}(" in module
    at = module.index(f"def {target}(")
    edited = module[:at] + module[at:].replace("= Decimal(0)", "= Decimal(1)", 1)
    assert edited != module
    (root / "acct/books.py").write_text(edited, encoding="utf-8")
    out = tmp_path / "p.xml"
    result = run_cli("pack", str(root), "--diff", "HEAD", "--budget", "3000", "--encoding", "cl100k_base",
                     "--explain", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert re.search(rf"acct/books\.py +\(focused: {target}\b", result.stderr), result.stderr
    line = next(n for n, text in enumerate(edited.split("\n"), 1) if text.startswith(f"def {target}("))
    assert re.search(rf"^ *{line + 2}│     total_quota = Decimal\(1\)$", out.read_text(encoding="utf-8"), re.M)


def test_a_6000_path_tree_does_not_eat_an_8k_pack() -> None:
    from repopack.packing.pipeline import file_value

    top = "".join(f"def handler_{j}(request):\n    return respond(request, code={j})\n\n" for j in range(120))
    cands = [Candidate("app/handlers.py", "python", top, TOK.count(top), 1.0, None, None, file_value(0))]
    for i in range(6000):
        text = f"VALUE_{i} = {i}\n"
        cands.append(Candidate(f"pkg{i % 40}/sub{i % 7}/module_{i}.py", "python", text, TOK.count(text), 0.0,
                               None, None, file_value(i + 1)))
    packed = fit_files(cands, 8000, TOK, repo_name="big")
    assert packed.tokens <= 8000
    assert packed.decisions[0].mode == Mode.FULL
    tree = packed.text[packed.text.index("<directory_structure>"):packed.text.index("</directory_structure>")]
    assert TOK.count(tree) < 8000 // 4
    assert re.search(r"^\.\.\. \d+ more files not listed \(budget\)$", tree, re.M)


def test_map_redacts_secrets_in_signatures(make_repo) -> None:
    key = "AKIAIOSFODNN7EXAMPLE"
    root = make_repo({"cloud.py": f'def connect(key_id="{key}", region="eu"):\n    return key_id, region\n'})
    result = run_cli("map", str(root))
    assert result.returncode == 0, result.stderr
    assert "def connect(" in result.stdout
    assert key not in result.stdout


def test_markdown_and_plain_label_focused_files(make_repo, tmp_path) -> None:
    root = make_repo({"acct/books.py": big_module(60), "acct/other.py": "def other():\n    return 1\n"})
    for fmt, label in (("markdown", "### acct/books.py (focused)"), ("plain", "File: acct/books.py (focused)")):
        out = tmp_path / f"p.{fmt}"
        result = run_cli("pack", str(root), "--format", fmt, "--budget", "2500", "--encoding", "cl100k_base",
                         "-q", "quota_voucher_46 is wrong", "-o", str(out))
        assert result.returncode == 0, result.stderr
        assert label in out.read_text(encoding="utf-8")


def long_function(n: int = 60) -> str:
    """One function of about 4k tokens: a chain of distinct steps, each a statement of its body."""
    steps = []
    for i in range(n):
        a, b = WORDS[i % len(WORDS)], WORDS[(i * 3 + 1) % len(WORDS)]
        steps.append(f"    # step {i}: the {a} pass over each {b}\n"
                     f"    for row in rows_{a}:\n"
                     f"        if row.kind == '{b}' and row.count > {i}:\n"
                     f"            state['{a}_{i}'] = row.value * {i + 1}\n"
                     f"        elif row.kind == '{a}':\n"
                     f"            state['{b}_{i}'] = row.value - {i + 2}\n")
    steps[41] = steps[41].replace("row.value - ", "row.value // ").replace("# step 41:", "# step 41 (zebrawood):")
    return ('"""Batch settlement."""\n\n\ndef settle(rows, state):\n    """Run every settlement step."""\n'
            + "".join(steps) + "    return state\n")


def test_a_long_definition_is_split_into_blocks_that_cover_its_body() -> None:
    text = long_function()
    [outline] = build_outlines([(text, parse_file("s.py", text))], TOK.count_many)
    blocks = [u for u in outline.units if u.kind == "block"]
    assert len(blocks) >= 10
    settle = next(k for k, u in enumerate(outline.units) if u.name == "settle")
    assert outline.units[settle].runs == () and all(b.outer == settle for b in blocks)
    assert all(b.tokens <= 600 for b in blocks)
    covered = [n for b in blocks for a, z in b.runs for n in range(a, z + 1)]
    body = [n for n, line in enumerate(text.split("\n"), 1) if n > 5 and line.strip()]
    assert sorted(covered) == sorted(set(covered)) and set(body) <= set(covered)
    # each block starts with a statement of the body's own indentation: here the step comments
    lines = text.split("\n")
    assert all(lines[b.first - 1].startswith("    # step") for b in blocks)


def test_the_block_of_a_long_function_that_the_question_names_goes_in(make_repo, tmp_path) -> None:
    text = long_function()
    assert cl100k_count(text) > 3000
    root = make_repo({"batch/settle.py": text, "batch/__init__.py": "from .settle import settle\n",
                      "batch/other.py": "def other():\n    return 1\n"})
    out = tmp_path / "p.xml"
    result = run_cli("pack", str(root), "--budget", "1500", "--encoding", "cl100k_base", "--explain",
                     "-q", "settle divides instead of subtracting in the zebrawood step", "-o", str(out))
    assert result.returncode == 0, result.stderr
    prompt = out.read_text(encoding="utf-8")
    assert cl100k_count(prompt) <= 1500
    lines = text.split("\n")
    wanted = next(n for n, line in enumerate(lines, 1) if "row.value // " in line)
    assert re.search(rf"^ *{wanted}│ ?{re.escape(lines[wanted - 1])}$", prompt, re.M), prompt
    assert "row.value - 2\n" not in prompt  # the first step's block stays elided
    assert re.search(r"batch/settle\.py +\(focused: settle lines \d+-\d+", result.stderr), result.stderr


def test_a_file_whose_definitions_match_the_question_is_worth_more() -> None:
    from repopack.packing.pipeline import evidence_factor, file_value

    assert file_value(3, 0.8, evidence_factor(1.0)) > file_value(3, 0.8, evidence_factor(0.1))
    assert file_value(3, 0.8, evidence_factor(None)) < file_value(3, 0.8, evidence_factor(1.0))
    assert file_value(0) == 1.0 and file_value(1) < file_value(0) and file_value(5, 0.9) > file_value(5, 0.3)


def test_a_file_whose_text_matches_the_question_is_worth_more(tmp_path, monkeypatch) -> None:
    from repopack.config import Settings
    from repopack.packing import pipeline
    from repopack.packing.rank import Signals

    assert pipeline.file_value(2, 0.6, 0.5, lexical=1.0) > pipeline.file_value(2, 0.6, 0.5, lexical=0.2)
    assert pipeline.file_value(2, 0.6, 0.5, lexical=0.0) == pipeline.file_value(2, 0.6, 0.5)
    # The ranking's lexical share reaches the fitter: the file whose text matches best is worth
    # more than its rank and score alone say (its evidence factor is at most 1).
    (tmp_path / "ledger.py").write_text("def settle(rows):\n" + "".join(
        f"    # settle the ledger rows, then reconcile balance {i}\n    rows = [r for r in rows if r]\n"
        for i in range(60)) + "    return rows\n")
    (tmp_path / "util.py").write_text("def helper():\n    return 1\n")
    (tmp_path / "notes.py").write_text("def reconcile():\n    return 'balance'\n")
    captured = {}
    real = pipeline._candidates

    def spy(index, ranking, budget, signals=None):
        captured["ranking"] = ranking
        captured["cands"] = real(index, ranking, budget, signals)
        return captured["cands"]

    monkeypatch.setattr(pipeline, "_candidates", spy)
    pipeline.pack_repo(tmp_path, Settings(budget=2000, cache=False),
                       Signals(query="how does the ledger reconcile the balance when rows settle"))
    ranking, cands = captured["ranking"], captured["cands"]
    by_path = {c.path: c for c in cands}
    best = max(ranking, key=lambda r: r.signals.get("lexical", 0.0))
    assert best.path == "ledger.py" and best.signals["lexical"] > 0.5
    rank = next(k for k, r in enumerate(ranking) if r.path == "ledger.py")
    assert by_path["ledger.py"].value > pipeline.file_value(rank, best.score / ranking[0].score, 1.0)


def labelled_go_loop(n: int = 40) -> str:
    """A Go function whose body is one labelled loop of short, deeply nested lines (about 2.5k tokens)."""
    cases = []
    for i in range(n):
        a = WORDS[i % len(WORDS)]
        cases.append(f"\t\t\tif x == {i} {{\n\t\t\t\tif y > {i} {{\n\t\t\t\t\tz{i}++\n"
                     f"\t\t\t\t\t{a}(z{i})\n\t\t\t\t}}\n\t\t\t}}\n")
    return ("package main\n\nfunc scan(rows []int) {\n\tvar y int\nLoop:\n\tfor _, x := range rows {\n"
            "\t\tif x < 0 {\n\t\t\tbreak Loop\n\t\t} else {\n" + "".join(cases) + "\t\t}\n\t}\n}\n")


def test_blocks_are_sized_by_what_their_numbered_lines_cost() -> None:
    # Short deeply indented lines cost their gutter and indentation too, and a label at column 0
    # does not make the whole loop one block: no block of the function comes near its 2k tokens.
    text = labelled_go_loop()
    [outline] = build_outlines([(text, parse_file("scan.go", text))], TOK.count_many)
    blocks = [u for u in outline.units if u.kind == "block"]
    assert sum(b.tokens for b in blocks) > 1500
    assert len(blocks) >= 5 and max(b.tokens for b in blocks) <= 500, [b.tokens for b in blocks]


def test_naming_a_class_scores_its_constructor() -> None:
    from repopack.packing.focus import UnitQuery

    text = ("class Grid:\n    def __init__(self, x):\n        self.x = list(x)\n\n"
            "    def size(self):\n        return len(self.x)\n\n\n"
            "class Other:\n    def __init__(self):\n        pass\n")
    scores = label_scores(text, "g.py", UnitQuery({"grid": 1.0}, {"Grid": 1.0}, {}, {}))
    assert scores["Grid.__init__"] > 2 * scores["Grid.size"] > 0 and scores["Other.__init__"] == 0


def test_credit_along_a_call_is_split_among_the_definitions_of_its_name() -> None:
    from repopack.packing.focus import spread_along_calls

    hot = "def run(entry):\n    return entry.path()\n"
    one = "class A:\n    def path(self):\n        return 1\n"
    two = "class B:\n    def path(self):\n        return 2\n\n\nclass C:\n    def path(self):\n        return 3\n"
    outlines = build_outlines([(t, parse_file(f"{k}.py", t)) for k, t in enumerate((hot, one, two))], TOK.count_many)
    alone = [[10.0], [0.0] * len(outlines[1].units)]
    spread_along_calls(outlines[:2], alone, [1.0, 1.0])
    shared = [[10.0], [0.0] * len(outlines[1].units), [0.0] * len(outlines[2].units)]
    spread_along_calls(outlines, shared, [1.0, 1.0, 1.0])
    path_a = next(k for k, u in enumerate(outlines[1].units) if u.name == "path")
    assert shared[1][path_a] == alone[1][path_a] / 3 > 0


def test_the_blank_lines_around_an_expanded_function_are_numbered() -> None:
    # A fix that adds a function next to the one it changes inserts after a blank line: that line is shown.
    text = ("import os\n\n\ndef first():\n    return os.sep\n\n\ndef second():\n    return 2\n\n\n"
            "def third():\n    return 3\n")
    [outline] = build_outlines([(text, parse_file("m.py", text))], TOK.count_many)
    second = next(k for k, u in enumerate(outline.units) if u.name == "second")
    shown = {int(m.group(1)) for m in (GUTTER.match(line) for line in
             focused_text(text, outline, [second], lean=True).split("\n")) if m}
    assert {7, 8, 9, 10} <= shown and not shown & {4, 5, 12, 13}


def test_a_lean_focused_file_can_show_all_its_imports() -> None:
    # A fix often adds an import: the whole import block is one step of a lean focused file.
    text = ("import os\nimport sys\nfrom decimal import Decimal\n\n\n"
            "def total(xs):\n    return sum(Decimal(x) for x in xs)\n\n\ndef other():\n    return 1\n")
    [outline] = build_outlines([(text, parse_file("t.py", text))], TOK.count_many)
    shares = unit_shares(outline, [1.0 if u.name == "total" else 0.0 for u in outline.units])
    plan = plan_steps(outline, shares, lean=True)
    assert "imports" in plan.labels and "total" in plan.labels
    steps = [u for step in plan.steps for u in step]
    shown = {int(m.group(1)) for m in (GUTTER.match(line) for line in
             focused_text(text, outline, steps, lean=True).split("\n")) if m}
    assert {1, 2, 3, 6, 7} <= shown
    only_total = [u for step, label in zip(plan.steps, plan.labels, strict=True) if label == "total" for u in step]
    shown = {int(m.group(1)) for m in (GUTTER.match(line) for line in
             focused_text(text, outline, only_total, lean=True).split("\n")) if m}
    assert 3 in shown and not shown & {1, 2}  # without the step, only the import the function uses


def test_a_member_of_a_matching_class_shares_in_its_match() -> None:
    from repopack.packing.focus import UnitQuery

    text = ("class SelectModel:\n    \"\"\"Keeps the selected option in sync.\"\"\"\n    options = []\n\n"
            "    def created(self, el):\n        self.el = el\n\n\n"
            "class Other:\n    \"\"\"Unrelated.\"\"\"\n\n    def created(self, el):\n        self.el = el\n")
    scores = label_scores(text, "v.py", UnitQuery({"selected": 2.0, "sync": 2.0}, {}, {}, {}))
    assert scores["SelectModel.created"] > 0 and scores["Other.created"] == 0
