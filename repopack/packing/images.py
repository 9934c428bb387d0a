"""Images as context: which pictures of a repository a question needs, what they cost, and the
bytes a multimodal model is sent.

Candidates are the repository's png, jpg/jpeg, gif and webp files (SVGs are text: they are
packed, and secret-scanned, like any other file, and never rendered).  With `--images auto`
(the default) images are considered only when the question asks for them: it names an image
file or talks about a screenshot, diagram, picture, …  Then an image goes in when the
question names or describes it, when a top-ranked packed file (Markdown, RST, HTML or code)
references it, or when it is a focus file; `--images all` also adds the rest, `none` nothing.

Each image is counted with its model's published rule, kept as data in the model registry
(`image_rules` in models.json, each with its source), after downscaling to the largest size
that rule uses: sending more pixels buys nothing.  A model whose registry entry has no image
rule is sent no image part; its images stay paths.  The bytes sent are re-encoded from the
pixels (no EXIF, text chunks or other metadata), with caps on file size and pixel count.
"""

from __future__ import annotations

import base64
import io
import math
import os
import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from repopack.choices import Images
from repopack.util.names import fs_name

if TYPE_CHECKING:
    from repopack.config import Settings
    from repopack.packing.fit import Packed
    from repopack.packing.rank import Signals
    from repopack.packing.tokens import Tokenizer
    from repopack.packing.walk import SkippedFile

IMAGE_EXTENSIONS = frozenset({"png", "jpg", "jpeg", "gif", "webp"})
MAX_IMAGE_BYTES = 20_000_000  # OpenAI's per-image limit; larger files are not read
MAX_IMAGE_PIXELS = 50_000_000  # decoding more is refused (decompression bombs)
MAX_IMAGE_SHARE = 0.5  # images may take at most this share of the budget
REFERENCE_HORIZON = 20  # references count from this many top-ranked packed files

# Words that mean the question is about a picture.  Words that are as often about code
# ("image" in ImageField, "figure out", "graph", "plot", "chart", "icon") do not count: a
# question using them gets images only when it names the file.
_IMAGE_WORDS = re.compile(
    r"\b(screenshots?|screen ?shots?|screen ?grabs?|diagrams?|pictures?|photos?|photographs?|mock-?ups?|"
    r"wireframes?|illustrations?|png|jpe?g|gif|webp)\b", re.IGNORECASE)
_IMAGE_LINK = re.compile(r"[\w./@%+-]+\.(?:png|jpe?g|gif|webp)\b", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset({"img", "image", "images", "screenshot", "screenshots", "assets", "static", "docs", "doc", "png",
                   "jpg", "jpeg", "gif", "webp", "the", "and", "of", "in", "a", "media", "pics", "pictures"})


@dataclass(frozen=True)
class ImageRule:
    """One provider's image-token rule (see `image_tokens`)."""

    name: str
    kind: str  # tiles | patches | gemini | llama4
    params: Mapping[str, float] = field(default_factory=dict)
    source: str = ""

    def describe(self) -> str:
        return f"{self.name} ({self.source})" if self.source else self.name


def is_image(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return "." in name and name.rsplit(".", 1)[-1].lower() in IMAGE_EXTENSIONS


def _fit(w: int, h: int, max_w: float, max_h: float) -> tuple[int, int]:
    scale = min(1.0, max_w / w, max_h / h)
    return max(1, math.floor(w * scale)), max(1, math.floor(h * scale))


def image_tokens(rule: ImageRule, width: int, height: int) -> tuple[int, tuple[int, int]]:
    """(tokens, (width, height) worth sending) for an image of this size under `rule`."""
    p = rule.params
    if rule.kind == "tiles":  # OpenAI high detail: fit a square, shortest side to 768, 512 px tiles
        w, h = _fit(width, height, p["fit"], p["fit"])
        short = min(w, h)
        if short > p["short_side"]:
            w, h = _fit(w, h, w * p["short_side"] / short, h * p["short_side"] / short)
        tiles = math.ceil(w / p["tile"]) * math.ceil(h / p["tile"])
        return int(p["base"] + p["per_tile"] * tiles), (w, h)
    if rule.kind == "patches":  # OpenAI gpt-4.1-mini/nano: 32 px patches, capped, times a multiplier
        size, cap = p["patch"], p["max_patches"]
        w, h = width, height
        if math.ceil(w / size) * math.ceil(h / size) > cap:
            shrink = math.sqrt(cap * size * size / (w * h))
            across = w * shrink / size
            shrink *= math.floor(across) / across
            w, h = max(1, math.floor(w * shrink)), max(1, math.floor(h * shrink))
        patches = math.ceil(w / size) * math.ceil(h / size)
        return math.ceil(patches * p.get("multiplier", 1.0)), (w, h)
    if rule.kind == "gemini":  # 258 for a small image, else 258 per 768 px tile
        w, h = _fit(width, height, p["max_side"], p["max_side"])
        if w <= p["small"] and h <= p["small"]:
            return int(p["small_tokens"]), (w, h)
        return int(p["per_tile"] * math.ceil(w / p["tile"]) * math.ceil(h / p["tile"])), (w, h)
    if rule.kind == "llama4":  # 336 px tiles in the grid that keeps most resolution, + a global tile
        tile, most = p["tile"], int(p["max_tiles"])
        best: tuple[float, int, int, int] | None = None
        for cols in range(1, most + 1):
            for rows in range(1, most // cols + 1):
                keep = min(1.0, cols * tile / width, rows * tile / height)
                key = (keep, -(cols * rows), cols, rows)
                if best is None or key > best:
                    best = key
        assert best is not None
        keep, _, cols, rows = best
        w, h = max(1, math.floor(width * keep)), max(1, math.floor(height * keep))
        tiles = cols * rows + (1 if cols * rows > 1 else 0)
        return int(p["per_tile"] * tiles + p.get("per_image", 0)), (w, h)
    raise ValueError(f"unknown image rule kind {rule.kind!r}")


@dataclass(frozen=True)
class ImageRef:
    """A chosen image: where it is, how big, what it costs, why it is in."""

    path: str
    width: int
    height: int
    bytes: int
    tokens: int  # 0 when it is not sent (a model without images): a path only
    sent_size: tuple[int, int]
    why: str
    sent: bool


@dataclass(frozen=True)
class ImagePlan:
    images: tuple[ImageRef, ...] = ()
    left_out: tuple[tuple[str, str], ...] = ()  # (path, reason)
    rule: str = ""  # how the tokens were counted
    note: str = ""  # why nothing is sent, when nothing is

    @property
    def tokens(self) -> int:
        return sum(i.tokens for i in self.images)

    @property
    def sent(self) -> tuple[ImageRef, ...]:
        return tuple(i for i in self.images if i.sent)

    def text_budget(self, budget: int | None, fmt: str, tokenizer: Tokenizer) -> int | None:
        """What the budget leaves for text once the images and their listing are paid for."""
        if budget is None or not self.images:
            return budget
        return max(1, budget - self.tokens - tokenizer.count(render_section(self, fmt)))

    def explain_lines(self) -> list[str]:
        lines = []
        for i in self.images:
            state = f"sent at {i.sent_size[0]}x{i.sent_size[1]}" if i.sent else "path only"
            lines.append(f"{'image':>6} {state:<8} {i.tokens:>7,}  {i.path}  ({i.width}x{i.height}; {i.why})")
        lines += [f"{'image':>6} {'left out':<8} {'':>7}  {path}  ({why})" for path, why in self.left_out]
        if self.images or self.left_out:
            lines.append(f"images: tokens counted with {self.rule}")
        if self.note:
            lines.append(f"images: {self.note}")
        return lines


def probe(root: Path, rel: str) -> tuple[int, int] | None:
    """Width and height from the image header; None for a file Pillow cannot read or that is too big."""
    from PIL import Image, UnidentifiedImageError

    full = os.path.join(root, fs_name(rel))
    try:
        if os.path.getsize(full) > MAX_IMAGE_BYTES:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)  # too big: refused, not a warning line
            with Image.open(full) as img:
                w, h = img.size
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning,
            ValueError):
        return None
    if w <= 0 or h <= 0 or w * h > MAX_IMAGE_PIXELS:
        return None
    return w, h


def encode(root: Path, ref: ImageRef) -> str:
    """A data URL of the image at its sent size, re-encoded from pixels only (no metadata)."""
    from PIL import Image

    with Image.open(os.path.join(root, fs_name(ref.path))) as img:
        img.seek(0)  # the first frame of an animation
        has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
        pixels = img.convert("RGBA" if has_alpha else "RGB")
    if pixels.size != ref.sent_size:
        pixels = pixels.resize(ref.sent_size, Image.Resampling.LANCZOS)
    clean = Image.new(pixels.mode, pixels.size)
    clean.paste(pixels)
    out = io.BytesIO()
    lossless = has_alpha or ref.path.lower().endswith((".png", ".gif"))
    if lossless:
        clean.save(out, format="PNG", optimize=True)
    else:
        clean.save(out, format="JPEG", quality=90)
    mime = "image/png" if lossless else "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(out.getvalue()).decode('ascii')}"


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def _name_words(path: str) -> set[str]:
    stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return {w for w in _WORD.findall(re.sub(r"([a-z])([A-Z])", r"\1 \2", stem).lower()) if w not in _STOP}


def _references(texts: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Root-relative image paths the texts link to (`![login](docs/img/login.png)`, or
    `<img src="img/login.png">` relative to the file), each with the first file that does."""
    found: dict[str, str] = {}
    for source, text in texts:
        base = source.rsplit("/", 1)[0] if "/" in source else ""
        for link in _IMAGE_LINK.findall(text):
            link = link.split("://", 1)[-1] if "://" in link else link
            for candidate in (link.lstrip("/"), os.path.normpath(os.path.join(base, link)).replace(os.sep, "/")):
                found.setdefault(candidate, source)
    return found


def asks_for_images(question: str, images: Sequence[str]) -> bool:
    lowered = question.lower()
    return bool(_IMAGE_WORDS.search(question)) or any(p.rsplit("/", 1)[-1].lower() in lowered for p in images)


def choose(images: Sequence[str], question: str, focus: Sequence[str], texts: Sequence[tuple[str, str]],
           mode: Images) -> list[tuple[str, str]]:
    """(path, why) for the images worth packing, best first."""
    if mode == Images.NONE or not images:
        return []
    if mode == Images.AUTO and not asks_for_images(question, images) and not set(focus) & set(images):
        return []
    lowered = question.lower()
    qwords = _words(question)
    references = _references(texts)
    scored: list[tuple[int, int, str, str]] = []
    for order, path in enumerate(images):
        name = path.rsplit("/", 1)[-1].lower()
        overlap = _name_words(path) & qwords
        if path in focus:
            scored.append((0, order, path, "focus file"))
        elif path.lower() in lowered or name in lowered:
            scored.append((1, order, path, "named in the question"))
        elif overlap and _IMAGE_WORDS.search(question):
            scored.append((2, order, path, f"described in the question ({', '.join(sorted(overlap))})"))
        elif (source := references.get(path)) is not None:
            scored.append((3, order, path, f"referenced from {source}"))
        elif mode == Images.ALL:
            scored.append((4, order, path, "--images all"))
    return [(path, why) for _, _, path, why in sorted(scored)]


def rule_from(data: Mapping[str, Any], name: str, overrides: Mapping[str, Any] | None = None) -> ImageRule:
    entry = dict(data[name])
    entry.update(overrides or {})
    kind = entry.pop("kind")
    source = entry.pop("source", "")
    return ImageRule(name, kind, {k: float(v) for k, v in entry.items()}, source)


def plan(root: Path, candidates: Sequence[tuple[str, str]], rule: ImageRule, *, accepts: bool, budget: int | None,
         max_images: int, model: str) -> ImagePlan:
    """Measure the chosen images and keep those the budget (at most half of it) and --max-images allow."""
    cap = None if budget is None else int(budget * MAX_IMAGE_SHARE)
    spent = 0
    chosen: list[ImageRef] = []
    left: list[tuple[str, str]] = []
    for path, why in candidates:
        if len(chosen) >= max_images:
            left.append((path, f"over --max-images {max_images}"))
            continue
        size = probe(root, path)
        if size is None:
            left.append((path, "not a readable image within the size and pixel caps"))
            continue
        tokens, sent = image_tokens(rule, *size)
        if not accepts:
            tokens = 0
        if cap is not None and spent + tokens > cap:
            left.append((path, f"{tokens:,} tokens would pass the image share of the budget ({cap:,})"))
            continue
        spent += tokens
        nbytes = os.path.getsize(os.path.join(root, fs_name(path)))
        chosen.append(ImageRef(path, size[0], size[1], nbytes, tokens, sent, why, accepts))
    note = "" if accepts else f"{model} is not registered as accepting images: they stay paths and are not sent"
    return ImagePlan(tuple(chosen), tuple(left), rule.describe(), note)


def render_section(plan: ImagePlan, fmt: str) -> str:
    """The images part of the prompt: each image's path and size (markdown: a relative link)."""
    if not plan.images:
        return ""
    def label(i: ImageRef) -> str:
        what = f"{i.width}x{i.height}, {i.bytes:,} bytes"
        return what + (f", {i.tokens:,} tokens as an image part" if i.sent else ", path only")
    if fmt == "markdown":
        lines = [f"- ![{i.path}]({i.path}) ({label(i)})" for i in plan.images]
        return "## Images\n\n" + "\n".join(lines) + "\n\n"
    if fmt == "plain":
        return "Images\n" + "\n".join(f"{i.path} ({label(i)})" for i in plan.images) + "\n\n"
    rows = "".join(f'<image path="{i.path}" width="{i.width}" height="{i.height}" bytes="{i.bytes}" '
                   f'tokens="{i.tokens}" attached="{"yes" if i.sent else "no"}"/>\n' for i in plan.images)
    return f"<images>\n{rows}</images>\n"


def plan_for(root: Path, settings: Settings, signals: Signals, skipped: Iterable[SkippedFile],
             ranked_texts: Callable[[int], Sequence[tuple[str, str]]]) -> ImagePlan:
    """The images for this pack: candidates are the image files the walk set aside as binary."""
    mode = Images(settings.images)
    if mode == Images.NONE:
        return ImagePlan()
    paths = [s.path for s in skipped if is_image(s.path) and s.reason == "binary"]
    if not paths:
        return ImagePlan()
    question = signals.query or ""
    if mode == Images.AUTO and not asks_for_images(question, paths) and not set(signals.focus) & set(paths):
        return ImagePlan()
    from repopack.model.registry import image_estimate_rule, lookup_model
    from repopack.util.env import env

    texts = [(p, t) for p, t in ranked_texts(REFERENCE_HORIZON)]
    chosen = choose(paths, question, signals.focus, texts, mode)
    if not chosen:
        return ImagePlan()
    from repopack.config import DEFAULT_MODEL

    info = lookup_model(settings.model or env("model") or DEFAULT_MODEL, settings.window)
    rule = info.images or image_estimate_rule()
    result = plan(root, chosen, rule, accepts=info.images is not None, budget=settings.budget,
                  max_images=settings.max_images, model=info.name)
    if info.images is None and not info.known:
        result = replace(result, rule=f"an estimate for a model the registry does not know: {result.rule}")
    return result


def attach_section(packed: Packed, images: ImagePlan, budget: int | None, tokenizer: Tokenizer) -> Packed:
    """The packed text with the images listed (before the closing tag in xml, at the end otherwise)."""
    section = render_section(images, packed.document.fmt)
    if not section:
        return packed
    text = packed.text
    closing = "</repository>"
    at = text.rfind(closing)
    text = text[:at] + section + text[at:] if packed.document.fmt == "xml" and at >= 0 else text + "\n" + section
    return replace(packed, text=text, tokens=tokenizer.count(text), budget=budget)
