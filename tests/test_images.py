"""Images as context: chosen for the question, counted with each provider's published rule,
sent as data-URL image parts only to models that take them (checked by the fake OpenAI server,
which decodes every part), never with their metadata."""

from __future__ import annotations

import json
import shutil
import struct
import zlib
from pathlib import Path

import pytest
from conftest import FIXTURES, git
from helpers import cl100k_count, run_cli
from support.fake_openai import FakeOpenAI

from repopack.choices import Images
from repopack.model.registry import image_estimate_rule, lookup_model
from repopack.packing.images import choose, image_tokens

QUESTION = "Why does the login screen in the screenshot docs/img/login.png show two submit buttons?"


@pytest.fixture
def webapp(tmp_path: Path) -> Path:
    root = tmp_path / "webapp"
    shutil.copytree(FIXTURES / "webapp", root)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "fixture")
    return root


def rule(model: str):
    return lookup_model(model).images


def test_published_examples_of_each_rule() -> None:
    # OpenAI's worked examples (high detail): 1024x1024 -> 765, 2048x4096 -> 1105 at 768x1536.
    assert image_tokens(rule("gpt-4o"), 1024, 1024) == (765, (768, 768))
    assert image_tokens(rule("gpt-4.1"), 2048, 4096) == (1105, (768, 1536))
    # Patches: 1800x2400 is scaled to 33x44 patches (1,452) before the gpt-4.1-mini multiplier 1.62.
    tokens, size = image_tokens(rule("gpt-4.1-mini"), 1800, 2400)
    assert (size[0] + 31) // 32 * ((size[1] + 31) // 32) == 1452 and tokens == 2353
    # Gemini: 258 for an image up to 384x384, else 258 per 768x768 tile.
    assert image_tokens(rule("gemini-2.5-pro"), 384, 300)[0] == 258
    assert image_tokens(rule("gemini-2.5-pro"), 1024, 700)[0] == 2 * 258
    # Llama 4: one 336 px tile is 144 tokens (+3 image markers); a tiled image adds a global tile.
    assert image_tokens(rule("llama-4-scout"), 300, 300)[0] == 147
    assert image_tokens(rule("llama-4-maverick"), 672, 336)[0] == 3 * 144 + 3
    assert rule("local") is None and lookup_model("some-unknown-model").images is None
    assert image_estimate_rule().name == "openai-tiles"


def test_images_are_chosen_for_what_the_question_needs() -> None:
    images = ["docs/img/login.png", "docs/architecture.png", "docs/img/team.jpg"]
    readme = [("README.md", "![architecture](docs/architecture.png)")]
    assert choose(images, "how is the session cookie signed?", (), readme, Images.AUTO) == []
    assert choose(images, QUESTION, (), readme, Images.AUTO) == [
        ("docs/img/login.png", "named in the question"), ("docs/architecture.png", "referenced from README.md")]
    assert choose(images, "what does the team photo show?", (), [], Images.AUTO) == [
        ("docs/img/team.jpg", "described in the question (team)")]
    assert choose(images, QUESTION, (), readme, Images.NONE) == []
    assert [p for p, _ in choose(images, "anything", (), readme, Images.ALL)] == [
        "docs/architecture.png", "docs/img/login.png", "docs/img/team.jpg"]
    assert choose(images, "explain this", ("docs/img/team.jpg",), [], Images.AUTO) == [
        ("docs/img/team.jpg", "focus file")]
    html = [("docs/index.html", '<img src="img/login.png">')]  # relative to the file that references it
    assert choose(images, "how are ImageField uploads resized? figure out the limits", (), readme, Images.AUTO) == []
    assert choose(images, "which screenshots does the docs page show?", (), html, Images.AUTO)[0] == (
        "docs/img/login.png", "referenced from docs/index.html")


def openai_tiles(width: int, height: int) -> int:
    return image_tokens(rule("gpt-4.1"), width, height)[0]


def test_ask_sends_exactly_the_screenshot_and_the_readme_diagram(webapp: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(["The form appends the submit button again after an error."])
    result = run_cli("ask", str(webapp), QUESTION, "--budget", "4000", "--json", "--explain",
                     env={"OPENAI_BASE_URL": fake_openai.base_url})
    assert result.returncode == 0, result.stderr
    request = fake_openai.requests[-1]
    # The fake server decoded every image part: a screenshot (downscaled to OpenAI's 768 px short
    # side) and the diagram the README shows; not the unrelated photo; no metadata left.
    assert [(i.mime, i.size) for i in request.images] == [("image/png", (1228, 768)), ("image/png", (900, 600))]
    assert not any(i.has_metadata for i in request.images)
    assert "qa-bot@internal.example" not in json.dumps(request.body)
    record = json.loads(result.stdout)
    assert [(i["path"], i["attached"]) for i in record["images"]] == [
        ("docs/img/login.png", True), ("docs/architecture.png", True)]
    # Counted tokens, images included, stay within the budget: the estimate and a recount.
    text_tokens = sum(cl100k_count(part["text"]) for m in request.body["messages"]
                      for part in (m["content"] if isinstance(m["content"], list) else [{"text": m["content"]}])
                      if "text" in part)
    image_total = openai_tiles(1280, 800) + openai_tiles(900, 600)
    assert sum(i["tokens"] for i in record["images"]) == image_total == 1105 + 765
    assert record["estimated_input_tokens"] <= 4000
    assert text_tokens + image_total <= 4000
    assert "docs/img/login.png  (1280x800; named in the question)" in result.stderr
    assert "Sending 4 files (4 full) and 2 images" in result.stderr


def test_a_model_without_image_support_gets_no_image_part(webapp: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(["ok"])
    result = run_cli("ask", str(webapp), QUESTION, "--model", "local", "--budget", "4000", "--explain",
                     env={"OPENAI_BASE_URL": fake_openai.base_url})
    assert result.returncode == 0, result.stderr
    request = fake_openai.requests[-1]
    assert request.images == []
    assert all(isinstance(m["content"], str) for m in request.body["messages"])
    assert "images: local is not registered as accepting images: they stay paths and are not sent" in result.stderr
    assert "docs/img/login.png" in request.prompt_text  # listed by path


def test_no_images_unless_the_question_or_the_flag_asks(webapp: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(["ok"])
    asked = run_cli("ask", str(webapp), "How is the password checked?",
                    env={"OPENAI_BASE_URL": fake_openai.base_url})
    assert asked.returncode == 0, asked.stderr
    assert fake_openai.requests[-1].images == []
    every = run_cli("ask", str(webapp), "How is the password checked?", "--images", "all", "--max-images", "2",
                    env={"OPENAI_BASE_URL": fake_openai.base_url})
    assert every.returncode == 0, every.stderr
    assert len(fake_openai.requests[-1].images) == 2
    off = run_cli("ask", str(webapp), QUESTION, "--images", "none", env={"OPENAI_BASE_URL": fake_openai.base_url})
    assert off.returncode == 0 and fake_openai.requests[-1].images == []


def test_exif_is_stripped_from_a_photo(webapp: Path, fake_openai: FakeOpenAI) -> None:
    from PIL import Image

    with Image.open(webapp / "docs/img/team.jpg") as original:
        assert original.getexif()  # the fixture carries a camera maker and an artist
    fake_openai.script(["ok"])
    result = run_cli("ask", str(webapp), "What does the team photo show?",
                     env={"OPENAI_BASE_URL": fake_openai.base_url})
    assert result.returncode == 0, result.stderr
    received = fake_openai.requests[-1].images
    assert [(i.mime, i.size) for i in received] == [("image/jpeg", (640, 480)), ("image/png", (900, 600))]
    assert not any(i.has_metadata for i in received)


def _png_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 4)) + \
        chunk(b"IEND", b"")


def test_pack_lists_images_and_refuses_a_pixel_bomb(webapp: Path, tmp_path: Path) -> None:
    (webapp / "docs/img/bomb.png").write_bytes(_png_claiming(100_000, 100_000))  # Pillow refuses it
    (webapp / "docs/img/big.png").write_bytes(_png_claiming(10_000, 10_000))  # Pillow only warns: over our cap
    out, manifest = tmp_path / "out.md", tmp_path / "manifest.json"
    result = run_cli("pack", str(webapp), "-q", QUESTION + " Compare it with bomb.png and big.png.",
                     "--format", "markdown", "-o", str(out), "--manifest", str(manifest), "--budget", "6000",
                     "--explain")
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    assert "- ![docs/img/login.png](docs/img/login.png) (1280x800, 5,939 bytes, 1,105 tokens as an image part)" in text
    images = json.loads(manifest.read_text(encoding="utf-8"))["images"]
    assert [(i["path"], i["width"], i["height"], i["tokens"]) for i in images] == [
        ("docs/img/login.png", 1280, 800, 1105), ("docs/architecture.png", 900, 600, 765)]
    assert "docs/img/bomb.png  (not a readable image within the size and pixel caps)" in result.stderr
    assert "docs/img/big.png  (not a readable image within the size and pixel caps)" in result.stderr
    assert "DecompressionBomb" not in result.stderr


def test_the_tui_lists_images_with_their_cost_and_a_toggle_takes_one_out(webapp: Path, fake_openai: FakeOpenAI,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from repopack.tui.controller import Controller
    from repopack.tui.state import STATE_IMAGE

    from repopack.config import Settings

    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    fake_openai.script(["First answer.", "Second answer."])
    controller = Controller(webapp, Settings(budget=4000))
    list(controller.ask(QUESTION))
    assert [i.size for i in fake_openai.requests[-1].images] == [(1228, 768), (900, 600)]
    view = controller.view_for(controller.session.last_pack)  # what the context tree draws
    images = {p: r.tokens for p, r in view.rows.items() if r.state == STATE_IMAGE}
    assert images == {"docs/img/login.png": 1105, "docs/architecture.png": 765}
    assert view.meter.used == controller.session.last_pack.packed.tokens + 1105 + 765

    controller.toggle("docs/img/login.png")  # "x" on the row in the tree
    view = controller.pack()
    assert view.rows["docs/img/login.png"].state == "excluded"
    list(controller.ask("And the diagram?"))
    assert [i.size for i in fake_openai.requests[-1].images] == [(900, 600)]  # the next request has one image


@pytest.mark.asyncio
async def test_the_tui_tree_shows_image_tokens_and_x_takes_an_image_out(webapp: Path, fake_openai: FakeOpenAI,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from repopack.tui.factory import create_app
    from repopack.tui.widgets import ContextTree, PromptInput
    from rich.style import Style

    monkeypatch.setenv("REPOPACK_ENCODING", "cl100k_base")
    fake_openai.script(["First answer.", "Second answer."])
    app = create_app(webapp, base_url=fake_openai.base_url, budget=4000)

    async def until(condition, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, "timed out waiting for the app"
            await pilot.pause(0.02)

    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: app.controller.view is not None and not app.workers)
        app.screen.query_one(PromptInput).focus()
        await pilot.press(*("space" if ch == " " else ch for ch in "what is wrong in the login screenshot?"))
        await pilot.press("enter")
        await until(lambda: len(fake_openai.chat_requests) == 1 and not app.workers
                    and "docs/img/login.png" in app.controller.view.rows)
        assert [i.size for i in fake_openai.chat_requests[-1].images] == [(1228, 768), (900, 600)]
        tree = app.screen.query_one(ContextTree)
        await until(lambda: tree.context_view is not None and "docs/img/login.png" in tree.context_view.rows)
        tree.focus()

        def on_login() -> bool:  # the folders open first; the cursor lands once their lines are laid out
            tree.select_path("docs/img/login.png")
            return tree.cursor_node is not None and tree.cursor_node.data == "docs/img/login.png"

        await until(on_login)
        label = tree.render_label(tree.cursor_node, Style(), Style()).plain
        assert label == "▣ login.png  1,105 image"
        await pilot.press("x")
        await until(lambda: app.controller.view.rows["docs/img/login.png"].state == "excluded" and not app.workers
                    and not app.controller.view.meter.estimated)
        app.screen.query_one(PromptInput).focus()
        await pilot.press(*("space" if ch == " " else ch for ch in "and the diagram?"))
        await pilot.press("enter")
        await until(lambda: len(fake_openai.chat_requests) == 2 and not app.workers)
        assert [i.size for i in fake_openai.chat_requests[-1].images] == [(900, 600)]


def test_an_unknown_model_is_sent_no_image_and_told_how_tokens_were_estimated(webapp: Path,
                                                                               fake_openai: FakeOpenAI) -> None:
    fake_openai.script(["ok"])
    result = run_cli("ask", str(webapp), QUESTION, "--model", "my-local-vlm", "--window", "32000", "--explain",
                     "--budget", "4000", env={"OPENAI_BASE_URL": fake_openai.base_url})
    assert result.returncode == 0, result.stderr
    assert fake_openai.requests[-1].images == []
    estimate = "images: tokens counted with an estimate for a model the registry does not know: openai-tiles"
    assert estimate in result.stderr
    assert "images: my-local-vlm is not registered as accepting images" in result.stderr


def test_svg_text_is_packed_and_secret_scanned_never_rendered(webapp: Path, tmp_path: Path) -> None:
    key = "AKIAIOSFODNN7EXAMPLE"
    (webapp / "assets/badge.svg").write_text(f'<svg xmlns="http://www.w3.org/2000/svg"><!-- aws_key="{key}" -->'
                                             '<script>alert(1)</script></svg>\n')
    out = tmp_path / "out.xml"
    result = run_cli("pack", str(webapp), "-o", str(out), "-q", "what does the badge diagram show?")
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    assert '<file path="assets/badge.svg"' in text and key not in text and "[REDACTED" in text
    assert "assets/badge.svg:1" in result.stderr  # reported as a redacted secret
