from __future__ import annotations

import json

from helpers import run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from repopack.config import Settings
from repopack.packing.graph import build_graph
from repopack.packing.parse import parse_file
from repopack.packing.pipeline import rank_repo
from repopack.packing.rank import Signals, path_mentions, query_identifiers


def server_repo(make_repo):
    files = {
        "server.py": (
            "from net.http_utils import encode_chunked_body\n\n\n"
            "def stream_response_chunks(payload):\n"
            '    """Write the payload to the socket in chunks."""\n'
            "    for chunk in payload:\n"
            "        yield encode_chunked_body(chunk)\n"
        ),
        "net/__init__.py": "",
        "net/http_utils.py": (
            "def encode_chunked_body(chunk: bytes) -> bytes:\n"
            "    return b'%x\\r\\n' % len(chunk) + chunk + b'\\r\\n'\n"
        ),
    }
    for i in range(40):
        files[f"distract/d{i}.py"] = (
            f"# The response is streamed to the client in chunks; the payload may be large.\n"
            f"# Stream response chunks, payload chunks, response chunks (notes {i}).\n"
            f"def helper_{i}(value):\n    return value + {i}\n"
        )
    return make_repo(files)


def test_named_function_and_its_callee_rank_first(make_repo) -> None:
    root = server_repo(make_repo)
    result = run_cli("rank", ".", "--query", "stream_response_chunks sends the response payload in chunks", "--json",
                     cwd=root)
    assert result.returncode == 0, result.stderr
    ranked = json.loads(result.stdout)
    paths = [r["path"] for r in ranked]
    assert paths[0] == "server.py"
    assert "net/http_utils.py" in paths[:3]
    assert set(ranked[0]) == {"path", "score", "signals"}
    assert ranked[0]["signals"]["mention"] > 0
    assert ranked[paths.index("net/http_utils.py")]["signals"]["graph"] > 0


def test_rank_plain_output_limit_and_focus(make_repo) -> None:
    root = server_repo(make_repo)
    result = run_cli("rank", ".", "--focus", "net/http_utils.py", "--limit", "2", cwd=root)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "net/http_utils.py"
    assert lines[1] == "server.py"  # its only caller, through the graph


def test_rank_needs_a_signal(make_repo) -> None:
    root = server_repo(make_repo)
    result = run_cli("rank", ".", cwd=root)
    assert result.returncode == 2
    assert "rank needs --query" in result.stderr


def test_query_file_and_diff(make_repo, tmp_path) -> None:
    from conftest import git

    root = server_repo(make_repo)
    (root / "net" / "http_utils.py").write_text("def encode_chunked_body(chunk):\n    return chunk\n")
    ranking = rank_repo(root, Settings(), Signals(), diff_base="HEAD")
    assert ranking[0].path == "net/http_utils.py"
    assert ranking[0].signals["focus"] > 0
    git(root, "commit", "-qam", "change")
    qf = tmp_path / "q.txt"
    qf.write_text("encode_chunked_body\n")
    result = run_cli("rank", ".", "--query-file", str(qf), "--limit", "1", cwd=root)
    assert result.stdout.strip() == "net/http_utils.py"


def test_traceback_paths_are_mentions() -> None:
    paths = ["src/pkg/schema.py", "src/pkg/fields.py", "docs/schema.md", "tests/test_schema.py"]
    text = 'Traceback:\n  File "/env/lib/python3.7/site-packages/pkg/schema.py", line 628, in validate\n'
    found = path_mentions(text, paths)
    assert set(found) == {0}
    dotted = path_mentions("see pkg.fields.Nested for details", paths)
    assert set(dotted) == {1}


def test_query_identifiers_weight_code_like_names_higher() -> None:
    weights = query_identifiers("The `parse_args` call fails when QuerySet.bulk_create runs handleClick()")
    assert weights["parse_args"] == 1.0
    assert weights["bulk_create"] == 1.0
    assert weights["handleClick"] == 1.0
    assert weights["fails"] == 0.3


def test_graph_resolves_imports_across_languages() -> None:
    sources = {
        "app/main.py": "from app.util import helper\nfrom .models import Thing\n",
        "app/util.py": "def helper():\n    pass\n",
        "app/models.py": "class Thing:\n    pass\n",
        "web/src/index.ts": "import { api } from './lib/api'\nimport './style'\n",
        "web/src/lib/api.ts": "export const api = 1\n",
        "web/src/style/index.ts": "export const s = 1\n",
        "cmd/tool/main.go": 'package main\n\nimport "example.com/proj/internal/store"\n',
        "internal/store/store.go": "package store\n\nfunc Open() {}\n",
        "src/main.c": '#include "util/strings.h"\n',
        "src/util/strings.h": "int slen(const char *s);\n",
        "crates/core/src/lib.rs": "use crate::search::matcher;\n",
        "crates/core/src/search/matcher.rs": "pub fn find() {}\n",
    }
    symbols = [parse_file(p, t) for p, t in sources.items()]
    graph = build_graph(symbols)
    idx = {p: i for i, p in enumerate(graph.paths)}

    def edge(a: str, b: str) -> bool:
        return graph.matrix[idx[a], idx[b]] > 0

    assert edge("app/main.py", "app/util.py")
    assert edge("app/main.py", "app/models.py")
    assert edge("web/src/index.ts", "web/src/lib/api.ts")
    assert edge("web/src/index.ts", "web/src/style/index.ts")
    assert edge("cmd/tool/main.go", "internal/store/store.go")
    assert edge("src/main.c", "src/util/strings.h")
    assert edge("crates/core/src/lib.rs", "crates/core/src/search/matcher.rs")
    assert not edge("app/util.py", "app/main.py")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab._-", min_size=1, max_size=8).filter(lambda n: n not in (".", "..")))
def test_stem_is_pathlibs(name: str) -> None:
    from pathlib import PurePosixPath

    from repopack.packing.rank import _stem

    assert _stem(name) == PurePosixPath(name).stem


def test_a_directory_the_question_names_lifts_its_files() -> None:
    from repopack.packing.rank import directory_mentions

    paths = ["packages/runtime-core/src/hydration.ts", "packages/runtime-dom/src/hydration.ts",
             "packages/shared/src/data.ts", "data/core/x.py", "README.md"]
    found = directory_mentions("fix(runtime-core): avoid re-fetching props in data core", paths)
    assert set(found) == {0}  # compound names only: 'data' and 'core' are as often plain English
    assert 0 < found[0] <= 1.0
    # A name that covers more of the repository says less about each file.
    wide = directory_mentions("in db_utils", [f"db_utils/m{i}.py" for i in range(8)] + ["other.py", "x/y.py"])
    narrow = directory_mentions("in db_utils", ["db_utils/m0.py"] + [f"f{i}.py" for i in range(9)])
    assert narrow[0] > wide[0]
    assert directory_mentions("runtime-core", ["runtime-core/a.py"]) == {}  # every file: no information


def test_a_file_under_the_named_directory_outranks_its_twin(make_repo) -> None:
    body = "export function hydrate(node) {\n  return patchProps(node)\n}\n"
    root = make_repo({"packages/runtime-core/src/hydration.ts": body, "packages/runtime-dom/src/hydration.ts": body,
                      "packages/shared/src/util.ts": "export const x = 1\n"})
    # (the twin's path sorts first, so a tie would put it first)
    ranked = rank_repo(root, Settings(), Signals(query="fix(runtime-dom): hydrate keeps patched props"))
    assert ranked[0].path == "packages/runtime-dom/src/hydration.ts", [r.path for r in ranked]
    twin = next(r for r in ranked if r.path == "packages/runtime-core/src/hydration.ts")
    assert ranked[0].signals.get("mention", 0) > twin.signals.get("mention", 0)


def test_a_directory_named_like_an_identifier_the_code_defines_is_the_identifier(make_repo) -> None:
    from repopack.packing.rank import directory_mentions

    paths = ["lib/query.py", "tests/select_related/__init__.py", "tests/select_related/models.py"]
    assert directory_mentions("select_related() crashes", paths, {"select_related"}) == {}
    assert set(directory_mentions("select_related() crashes", paths)) == {1, 2}
    root = make_repo({"lib/query.py": "def select_related(fields):\n    return list(fields)\n",
                      "tests/select_related/__init__.py": "", "tests/select_related/models.py": "X = 1\n",
                      "lib/other.py": "def other():\n    return 2\n"})
    ranked = rank_repo(root, Settings(), Signals(query="select_related() crashes on a nullable key"))
    assert ranked[0].path == "lib/query.py"
    assert all(r.signals.get("mention", 0) == 0 for r in ranked if r.path.startswith("tests/"))
