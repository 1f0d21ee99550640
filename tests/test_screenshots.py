"""The screenshot check of the rendered book (.ci/screenshots.py): its page list, its defect rules, and its
probe in a real headless Chromium on a small page made to hold one defect of each kind."""

from __future__ import annotations

import importlib.util
import shutil

import pytest
from conftest import REPO

_spec = importlib.util.spec_from_file_location("screenshots", REPO / ".ci" / "screenshots.py")
shots = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(shots)


def test_pages_are_the_toc_in_order_without_index_or_search():
    pages = shots.toc_pages(REPO / "_toc.yml")
    toc = (REPO / "_toc.yml").read_text()
    assert pages[0] == "book/intro"
    assert len(pages) == toc.count("file:") + 1
    assert all(p in toc for p in pages)
    assert not any(p.endswith(("genindex", "search")) for p in pages)


def _measurement(**changes) -> dict:
    m = {"overflow": [], "tables": [], "figures": [], "links": [], "text": "Fine text. © 2025-2026"}
    return m | changes


def test_a_clean_measurement_has_no_defects(tmp_path):
    page = tmp_path / "page.html"
    page.write_text('<h1 id="top">x</h1>')
    m = _measurement(links=[{"href": "#top", "text": "top"}, {"href": "https://example.org", "text": "web"}])
    assert shots.defects(m, page, tmp_path, year=2026) == []


def test_each_rule_reports_its_defect(tmp_path):
    page = tmp_path / "page.html"
    page.write_text('<h1 id="top">x</h1>')
    table = {"table": "t", "narrow": [{"column": 2, "width": 40, "lines": 3, "text": "mae sd"}],
             "headers": ["mae_ratio", "mae ratio"], "nan": 2}  # fmt: skip
    m = _measurement(
        tables=[table],
        figures=[{"src": "a.png", "own": 1400, "shown": 388, "scale": 388 / 1400, "loaded": True},
                 {"src": "b.png", "own": 0, "shown": 0, "scale": 0, "loaded": False}],
        links=[{"href": "missing.html", "text": "gone"}, {"href": "page.html#nowhere", "text": "anchor"}],
        text="# NBVAL_CHECK_OUTPUT\n2 seed(s)\n© 2023",
    )  # fmt: skip
    found = shots.defects(m, page, tmp_path, year=2026)
    kinds = [d["kind"] for d in found]
    assert kinds.count("narrow-column") == 1
    assert kinds.count("shrunk-figure") == 2
    assert kinds.count("link") == 2
    text = " ".join(d["what"] for d in found if d["kind"] == "text")
    for needle in ("mae_ratio", "NaN", "NBVAL_CHECK_OUTPUT", "seed(s)", "2023"):
        assert needle in text
    assert "'mae ratio'" not in text


_PAGE = """<html><head><meta name="viewport" content="width=device-width"></head><body>
<article class="bd-article" style="width: 300px; padding: 0 10px">
<div id="wide" style="width: 500px">wide</div>
<div style="overflow-x: auto"><div style="width: 900px">scrolls, fine</div></div>
<table id="squeezed" style="width: 70px"><tr><td>1</td><td>a long text in a narrow column</td></tr></table>
<img id="small" style="max-width: 100%" src="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'
 width='1000' height='100'%3E%3C/svg%3E">
</article></body></html>"""


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs a headless Chromium")
def test_the_probe_finds_overflow_a_squeezed_column_and_a_shrunk_figure(tmp_path):
    page = tmp_path / "page.html"
    page.write_text(_PAGE)
    browser = shots.Chromium(shots.chromium())
    try:
        m = shots.measure(browser, page, 420)
        [png] = shots.shoot(browser, m["height"], 420, tmp_path / "page.png")
    finally:
        browser.close()
    assert m["width"] == 420  # the phone's width itself, below a headless window's 500 px minimum
    assert [o["element"] for o in m["overflow"]] == ["div#wide"]
    assert m["tables"][0]["narrow"] and m["tables"][0]["narrow"][0]["column"] == 1
    assert m["figures"][0]["own"] == 1000 and m["figures"][0]["scale"] < shots.MIN_SCALE
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
