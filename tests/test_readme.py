"""The README stays a short user's document, and the documentation's relative links lead somewhere."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MAX_README_LINES = 300
#: Markdown links and images: [text](target) / ![alt](target "title"); the target up to a space or ")"
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)


def _pages() -> list[Path]:
    return [README, *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "docs").glob("*/*.md"))]


def relative_links(page: Path) -> list[str]:
    """Targets of the page's links that point into the repository (no scheme, no mail, not only an anchor);
    code blocks and inline code are not links."""
    text = FENCE.sub("", page.read_text())
    text = re.sub(r"`[^`\n]*`", "", text)
    targets = []
    for target in LINK.findall(text):
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith(("#", "//")):
            continue  # https:, mailto:, ... and anchors within the page
        targets.append(target)
    return targets


def test_readme_is_at_most_300_lines():
    lines = len(README.read_text().splitlines())
    assert lines <= MAX_README_LINES, (f"README.md has {lines} lines; keep it at most {MAX_README_LINES} and move "
                                       "details to docs/")


@pytest.mark.parametrize("page", _pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_to_existing_files(page: Path):
    broken = []
    for target in relative_links(page):
        path = unquote(target.split("#", 1)[0].split("?", 1)[0])
        if path and not (page.parent / path).exists():
            broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)}: links to missing files: {broken}"


def test_readme_links_into_docs():
    """The README's "where to go next" reaches the docs pages; every docs page is linked from somewhere."""
    linked = {(page.parent / t.split("#", 1)[0]).resolve() for page in _pages() for t in relative_links(page)}
    unlinked = [str(p.relative_to(ROOT)) for p in _pages()[1:] if p.resolve() not in linked]
    assert not unlinked, f"docs pages no page links to: {unlinked}"


def test_link_pattern_finds_links():
    sample = ROOT / "docs" / "measurements" / "README.md"
    assert "2026-12-01-search-quality.md" in relative_links(sample)
