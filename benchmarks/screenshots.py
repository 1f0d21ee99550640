"""Screenshots of every page of the built book at desktop and phone width, and what spills past the page.

Build the book first (``jupyter-book build . -W -n --keep-going``), then::

    python benchmarks/screenshots.py --out /tmp/goldlab_shots

It needs a headless Chromium (Debian: ``apt-get install chromium``) and nothing else: each page is copied
with a small script appended that measures, after the page has loaded, every element of the page's content
wider than its box (a table or output cut at the page's edge, or spilling past it, outside a scrolling
box), and ``chromium --headless --dump-dom`` returns what it measured. ``--screenshot`` then takes the
whole page at that width; the PNG is cut into screen-sized parts (``<page>-<width>-<n>.png``) so that
each can be read. ``report.md`` in the output folder lists, for each page and width, the page's height,
each element wider than its box (the off-screen sidebars of a phone left out), each output that
scrolls sideways and each figure the page shrinks; the command exits with status 1 when any element is
wider than its box (for CI).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

Image.MAX_IMAGE_PIXELS = None  # whole pages are tall

#: Desktop and phone widths in CSS pixels.
WIDTHS: tuple[int, ...] = (1400, 420)
#: Height of one cut part of a screenshot, in pixels.
PART = 1800
#: The tallest page screenshot taken (Chromium's limit is near 16,384 px per side of a tile).
TALLEST = 16_000

_PROBE = r"""
<script>
window.addEventListener("load", () => setTimeout(() => {
  const page = document.documentElement.clientWidth;
  const scrolls = (el) => {
    for (let a = el.parentElement; a; a = a.parentElement) {
      const o = getComputedStyle(a).overflowX;
      if (o === "auto" || o === "scroll") return true;
    }
    return false;
  };
  const root = document.querySelector("main") || document.body;
  const found = [];
  for (const el of root.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || scrolls(el) || el.closest(".bd-sidebar-primary, .bd-sidebar-secondary")) continue;
    const o = getComputedStyle(el).overflowX;
    const cut = el.scrollWidth > el.clientWidth + 2 && o !== "auto" && o !== "scroll";
    const spills = r.right > page + 2;
    if (!cut && !spills) continue;
    const cls = typeof el.className === "string" ? el.className.trim() : "";
    const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
      (cls ? "." + cls.split(/\s+/).join(".") : "");
    found.push({element: name, box: Math.round(el.clientWidth || r.width), content: el.scrollWidth,
                right: Math.round(r.right), cut: cut, text: (el.innerText || "").slice(0, 80)});
  }
  // keep the outermost of nested findings: an inner element spilling with its parent is one defect
  const outer = found.filter((f, i) => i === 0 || !found.slice(0, i).some(
    (g) => g.text && f.text && g.text.includes(f.text) && g.content >= f.content));
  const shrunk = [...root.querySelectorAll("img")].filter((i) => i.naturalWidth > i.width * 1.25)
    .map((i) => ({src: i.src.split("/").pop(), natural: i.naturalWidth, shown: i.width}));
  const boxes = root.querySelectorAll(".cell_output *, .pst-scrollable-table-container");
  const scrolled = [...boxes].filter((el) => {
    const o = getComputedStyle(el).overflowX;
    return (o === "auto" || o === "scroll") && el.scrollWidth > el.clientWidth + 2;
  }).map((el) => ({element: el.tagName.toLowerCase() + "." +
                     String(el.className).trim().split(/\s+/).join("."), box: el.clientWidth,
                   content: el.scrollWidth, text: (el.innerText || "").slice(0, 60)}));
  const pre = document.createElement("pre");
  pre.id = "goldlab-probe";
  pre.textContent = JSON.stringify({page: page, height: document.documentElement.scrollHeight,
                                    wide: outer, scrolled: scrolled, shrunk: shrunk});
  document.body.appendChild(pre);
}, 500));
</script>
"""


def chromium() -> str:
    """The path of a Chromium binary, or a clear error saying how to install one."""
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if path := shutil.which(name):
            return path
    raise SystemExit("no Chromium found: install one (Debian: apt-get install chromium)")


def pages(html: Path) -> list[Path]:
    """Every chapter page of the built book (the book's own pages, not the index or the search page)."""
    found = sorted([*html.glob("book/*.html"), *html.glob("notebooks/*.html")])
    if not found:
        raise SystemExit(f"no pages under {html}/book or {html}/notebooks: build the book first")
    return found


def _run(browser: str, width: int, height: int, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
        "--virtual-time-budget=8000", f"--window-size={width},{height}", *args,
    ]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)


def measure(browser: str, page: Path, width: int) -> dict:
    """The page's width and height at ``width`` and its elements wider than their box (see the probe)."""
    probe = page.with_name(page.stem + ".probe.html")
    text = page.read_text(encoding="utf-8")
    probe.write_text(text.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    for _ in range(3):  # a loaded machine may time the page out: try again
        out = _run(browser, width, 900, "--dump-dom", probe.as_uri()).stdout
        found = re.search(r'<pre id="goldlab-probe">(.*?)</pre>', out, re.S)
        if found is not None:
            break
    probe.unlink()
    if found is None:
        raise RuntimeError(f"{page}: the probe did not report at width {width} (page did not load?)")
    raw = found.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
    return json.loads(raw.replace("&amp;", "&"))


def shoot(browser: str, page: Path, width: int, height: int, out: Path) -> list[Path]:
    """A whole-page screenshot at ``width``, cut into parts of :data:`PART` pixels."""
    whole = out / f"{page.parent.name}-{page.stem}-{width}.png"
    _run(browser, width, min(height, TALLEST), f"--screenshot={whole}", page.as_uri())
    if not whole.exists():
        raise RuntimeError(f"{page}: Chromium wrote no screenshot at width {width}")
    parts = []
    with Image.open(whole) as img:
        for n, top in enumerate(range(0, img.height, PART)):
            part = out / f"{whole.stem}-{n}.png"
            img.crop((0, top, img.width, min(top + PART, img.height))).save(part)
            parts.append(part)
    whole.unlink()
    return parts


def report(results: dict[str, dict[int, dict]]) -> str:
    """Markdown: for each page and width, its height and the elements wider than their box."""
    lines = ["# Rendered pages: elements wider than their box, sideways scrolls, shrunk figures", ""]
    for name, by_width in results.items():
        for width, m in by_width.items():
            lines.append(f"## {name} at {width} px (page {m['height']} px tall)")
            lines += [
                f"- `{w['element']}`: {w['content']} px of content in {w['box']} px"
                f"{' (cut)' if w['cut'] else ''}, right edge at {w['right']} px: "
                f"{w['text'].splitlines()[0] if w['text'] else ''!r}"
                for w in m["wide"]
            ] or ["- nothing wider than its box"]
            lines += [
                f"- scrolls sideways: `{w['element']}`, {w['content']} px of content in {w['box']} px: "
                f"{w['text'].splitlines()[0] if w['text'] else ''!r}"
                for w in m.get("scrolled", [])
            ]
            lines += [
                f"- figure `{i['src']}` shrunk ×{i['shown'] / i['natural']:.2f} "
                f"({i['natural']} px shown in {i['shown']} px)"
                for i in m.get("shrunk", [])
            ]
            lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure and screenshot every page; write ``report.md``; status 1 when anything is too wide."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=Path("_build/html"), help="the built book")
    parser.add_argument("--out", type=Path, required=True, help="folder for the PNGs and report.md")
    parser.add_argument("--widths", type=int, nargs="+", default=list(WIDTHS))
    parser.add_argument("--pages", nargs="*", help="page stems to take (default: every page)")
    parser.add_argument("--no-shots", action="store_true", help="measure only")
    args = parser.parse_args(argv)
    browser = chromium()
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[int, dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        shutil.copytree(args.html, site)
        for page in pages(site):
            if args.pages and page.stem not in args.pages:
                continue
            name = f"{page.parent.name}/{page.stem}"
            results[name] = {}
            for width in args.widths:
                m = measure(browser, page, width)
                results[name][width] = m
                if not args.no_shots:
                    shoot(browser, page, width, m["height"], args.out)
                print(f"{name} at {width}px: {m['height']} px tall, {len(m['wide'])} too wide")
    (args.out / "report.md").write_text(report(results), encoding="utf-8")
    (args.out / "report.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    return int(any(m["wide"] for by in results.values() for m in by.values()))


if __name__ == "__main__":
    sys.exit(main())
