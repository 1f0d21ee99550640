"""Screenshots of every page of the built book at desktop and phone width, and its layout defects.

Build the book first, then run the check (``make screenshots`` does both)::

    jupyter-book build . -W -n --keep-going
    python .ci/screenshots.py [--out _build/screenshots] [--pages intro 02_clip] [--report-only]

It needs a headless Chromium (Debian: ``apt-get install chromium``) and Python's standard library only.
One Chromium runs for the whole check, driven over the DevTools protocol on a pipe (see :class:`Chromium`:
``chromium --headless --window-size=420,...`` would lay the page out at 500 px, a headless window's
minimum width). For each page of ``_toc.yml`` (in its order; not genindex or search) and each width (1,400
and 420 px, the phone's with mobile emulation) the page is loaded from the built site, a small script
(:data:`_PROBE`) measures it, and the viewport is then made as tall as the page (at most :data:`TALLEST`
px a part) for a whole-page screenshot, ``<out>/<folder>-<page>-<width>.png``. A per-page summary is
printed.

Defects, each of which makes the command exit with status 1 (``--report-only``: status 0):

* ``overflow``: an element of the article whose right edge passes the content column (the article's
  content box), or whose text a box that hides its overflow cuts, outside any box that scrolls sideways;
* ``narrow-column``: a table column narrower than :data:`MIN_COLUMN` px whose text wraps or is cut;
* ``shrunk-figure``: a figure shown at less than :data:`MIN_SCALE` of its width (its text unreadable),
  or an image that did not load;
* ``text``: text that should never reach a reader (nbval markers, ``seed(s)``, a footer year other than
  this year, tracebacks, reprs of matplotlib objects), ``NaN`` cells in tables and raw snake_case column
  headers (``mae_ratio``);
* ``link``: a link to a file of the site that does not exist, or to an anchor that its page lacks.

``<out>/report.md`` and ``report.json`` list every defect, and also (not defects) each output that
scrolls sideways and each figure the page shrinks below its size.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import os
import re
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

#: Desktop and phone widths in CSS pixels.
WIDTHS: tuple[int, ...] = (1400, 420)
#: The tallest screenshot taken (Chromium draws nothing past about 16,384 px).
TALLEST = 16_000
#: A table column narrower than this (CSS px) whose text wraps or is cut is squeezed.
MIN_COLUMN = 60
#: A figure shown at less than this fraction of its own width is unreadable.
MIN_SCALE = 0.6

_PROBE = r"""(() => {
  const MIN_COLUMN = %(min_column)d, MIN_SCALE = %(min_scale)f;
  const doc = document.documentElement;
  const article = document.querySelector("article.bd-article") || document.querySelector("main") ||
    document.body;
  const column = article.getBoundingClientRect();
  const right = Math.min(column.right - parseFloat(getComputedStyle(article).paddingRight), doc.clientWidth);
  const name = (el) => {
    const cls = typeof el.className === "string" ? el.className.trim() : "";
    return el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
      (cls ? "." + cls.split(/\s+/).slice(0, 3).join(".") : "");
  };
  const text = (el, n) => (el.innerText || el.textContent || "").trim().replace(/\s+/g, " ").slice(0, n);
  const scrolls = (el) => ["auto", "scroll"].includes(getComputedStyle(el).overflowX);
  const inScroller = (el) => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (scrolls(a)) return true;
    }
    return false;
  };
  // overflow: past the column, or wider than its own box, with no sideways-scrolling box around it
  const overflow = [], flagged = new Set();
  for (const el of article.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || inScroller(el)) continue;
    let up = el.parentElement;
    while (up && !flagged.has(up)) up = up.parentElement;
    if (up) continue;  // the outermost element of a nest is the defect
    const o = getComputedStyle(el).overflowX;
    // text cut by a box that hides what passes its edge (overflow: hidden or clip, no scroll bar)
    const cut = el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 2 && ["hidden", "clip"].includes(o) &&
      !["MJX-CONTAINER", "svg"].includes(el.tagName);
    const past = r.right > right + 2;
    if (!cut && !past) continue;
    flagged.add(el);
    overflow.push({element: name(el), box: Math.round(el.clientWidth || r.width), content: el.scrollWidth,
                   right: Math.round(r.right), column: Math.round(right), clipped: o !== "visible",
                   text: text(el, 80)});
  }
  // narrow-column: a column under MIN_COLUMN px whose text wraps onto more lines or is cut
  const lines = (cell) => {
    const tops = [];
    const walk = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    const range = document.createRange();
    for (let t = walk.nextNode(); t; t = walk.nextNode()) {
      if (!t.textContent.trim()) continue;
      range.selectNodeContents(t);
      for (const q of range.getClientRects()) if (q.width > 0) tops.push(q.top);
    }
    const lh = parseFloat(getComputedStyle(cell).fontSize) || 16;
    tops.sort((a, b) => a - b);
    return tops.filter((t, i) => i === 0 || t - tops[i - 1] > lh * 0.6).length;
  };
  const tables = [];
  for (const table of article.querySelectorAll("table")) {
    if (table.getBoundingClientRect().width === 0) continue;
    const narrow = new Map();
    for (const row of table.rows) {
      for (const cell of row.cells) {
        const w = cell.getBoundingClientRect().width;
        if (cell.colSpan > 1 || w === 0 || w >= MIN_COLUMN || !text(cell, 1)) continue;
        const n = lines(cell);
        if (n < 2 && cell.scrollWidth <= cell.clientWidth + 1) continue;
        const old = narrow.get(cell.cellIndex);
        if (!old || n > old.lines) {
          narrow.set(cell.cellIndex, {column: cell.cellIndex, width: Math.round(w), lines: n,
                                      text: text(cell, 40)});
        }
      }
    }
    const heads = [...table.querySelectorAll("thead th, th.col_heading, th.index_name")];
    const empty = ["NaN", "nan", "<NA>", "NaT", "None"];
    tables.push({
      table: name(table) + " (" + text(table, 50) + ")",
      narrow: [...narrow.values()],
      headers: [...new Set(heads.map((h) => text(h, 60)).filter(Boolean))],
      nan: [...table.querySelectorAll("td")].filter((c) => empty.includes(text(c, 10))).length,
    });
  }
  // figures: shown width against the width the image asks for (its width attribute, else its pixels)
  const figures = [...article.querySelectorAll("img")].filter((i) => i.getBoundingClientRect().width > 0)
    .map((i) => {
      const own = parseFloat(i.getAttribute("width")) || i.naturalWidth;
      return {src: decodeURIComponent(i.src.split("/").pop()), own: own, shown: Math.round(i.width),
              scale: own ? i.width / own : 0, loaded: i.complete && i.naturalWidth > 0};
    });
  const scrolled = [...article.querySelectorAll("*")].filter((el) => scrolls(el) &&
      el.scrollWidth > el.clientWidth + 2 && el.getBoundingClientRect().width > 0 && !inScroller(el))
    .map((el) => ({element: name(el), box: el.clientWidth, content: el.scrollWidth, text: text(el, 60)}));
  const links = [...document.querySelectorAll("a[href]")]
    .map((a) => ({href: a.getAttribute("href"), text: text(a, 40)}));
  return {
    width: doc.clientWidth, height: doc.scrollHeight, column: Math.round(column.width),
    overflow: overflow, tables: tables, figures: figures, scrolled: scrolled, links: links,
    text: document.body.innerText,
  };
})()
"""

#: Text that should never reach a reader, each with why.
FORBIDDEN: tuple[tuple[str, str], ...] = (
    (r"NBVAL_\w+", "an nbval marker shown in a cell"),
    (r"\bseed\(s\)", '"seed(s)": say how many seeds'),
    (r"Traceback \(most recent call last\)", "a traceback in an output"),
    (r"<Figure size \d+x\d+ with \d+ Axes>|<matplotlib\.\w+|<Axes: ", "the repr of a matplotlib object"),
)
#: A column header that is a raw Python name (``mae_ratio``) rather than words.
SNAKE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+")


def chromium() -> str:
    """The path of a Chromium binary, or a clear error saying how to install one."""
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if path := shutil.which(name):
            return path
    raise SystemExit("no Chromium found: install one (Debian: apt-get install chromium)")


def toc_pages(toc: Path) -> list[str]:
    """The pages of the book in the order of ``_toc.yml`` (its ``root`` and every ``file``), without their
    suffix: ``["book/intro", "book/setup", ...]``. Only the pages a reader reaches, not genindex or search."""
    found = re.findall(r"^\s*(?:-\s*)?(?:root|file):\s*[\"']?([^\s\"'#]+)", toc.read_text(), re.M)
    if not found:
        raise SystemExit(f"no root or file entries in {toc}")
    return [re.sub(r"\.(ipynb|md|rst)$", "", page) for page in found]


class Chromium:
    """A headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: JSON
    messages, each ended by a NUL byte, on the browser's file descriptors 3 and 4).

    Why not ``chromium --window-size=420,... --screenshot``: a headless window is at least 500 px wide, so
    a phone's width needs ``Emulation.setDeviceMetricsOverride``, which only the protocol reaches."""

    def __init__(self, path: str, timeout: float = 120.0) -> None:
        self.timeout = timeout
        to_browser, self._write = os.pipe()
        self._read, from_browser = os.pipe()

        def wire() -> None:  # in the child, before exec: the pipe's ends become fds 3 and 4
            os.dup2(to_browser, 3)
            os.dup2(from_browser, 4)

        self.proc = subprocess.Popen(
            [path, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--mute-audio",
             "--no-first-run", "--disable-extensions", "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(3, 4), preexec_fn=wire,
        )  # fmt: skip
        os.close(to_browser)
        os.close(from_browser)
        self._buffer = b""
        self._id = 0
        self.events: list[dict] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Page.enable", session=True)

    def _message(self, deadline: float) -> dict:
        """The next message from the browser (raises TimeoutError past ``deadline``)."""
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._read], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer")
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, session: bool = False, **params: object) -> dict:
        """Send one command (to the page's session when ``session``) and return its result."""
        self._id += 1
        message: dict = {"id": self._id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            answer = self._message(deadline)
            if answer.get("id") == self._id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def wait_for(self, event: str) -> None:
        """Wait until the page's session reports ``event`` (e.g. ``Page.loadEventFired``)."""
        deadline = time.monotonic() + self.timeout
        while not any(e.get("method") == event for e in self.events):
            self.events.append(self._message(deadline))
        self.events.clear()

    def open(self, url: str, width: int, height: int) -> None:
        """Load ``url`` in a viewport of ``width`` x ``height`` CSS px (a phone's below 600 px)."""
        self.resize(width, height)
        self.events.clear()
        self.call("Page.navigate", session=True, url=url)
        self.wait_for("Page.loadEventFired")
        time.sleep(0.5)  # the theme's scripts lay out the page after its load event

    def resize(self, width: int, height: int) -> None:
        """Set the viewport to ``width`` x ``height`` CSS px, at one device pixel per CSS px."""
        self.call(
            "Emulation.setDeviceMetricsOverride", session=True, width=width, height=height,
            deviceScaleFactor=1, mobile=width < 600,
        )  # fmt: skip

    def evaluate(self, expression: str) -> object:
        """The value of a JavaScript expression in the page."""
        result = self.call("Runtime.evaluate", session=True, expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"the probe failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, png: Path) -> None:
        """Write what the viewport shows to ``png``."""
        data = self.call("Page.captureScreenshot", session=True, format="png")["data"]
        png.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        """End the browser (the process this object started, and only it)."""
        try:
            self.call("Browser.close")
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self._write)
        os.close(self._read)


def measure(browser: Chromium, page: Path, width: int) -> dict:
    """What the probe measured on ``page`` at ``width`` (see :data:`_PROBE`), in a viewport 900 px tall."""
    browser.open(page.as_uri(), width, 900)
    return browser.evaluate(_PROBE % {"min_column": MIN_COLUMN, "min_scale": MIN_SCALE})


def _anchors(page: Path, cache: dict[Path, set[str]]) -> set[str]:
    """The ids of ``page`` (cached): the anchors a link may point to."""
    if page not in cache:
        cache[page] = set(re.findall(r'\bid="([^"]+)"', page.read_text(encoding="utf-8", errors="replace")))
    return cache[page]


def defects(
    m: dict, page: Path, site: Path, cache: dict[Path, set[str]] | None = None, year: int | None = None
) -> list[dict]:
    """The defects in one measurement ``m`` of ``page`` (as :func:`measure` returns it), each a dict
    ``{"kind", "what"}``.

    Links are resolved against ``page``, in the site folder ``site``; ``year`` is the year a footer may
    name (default: this year; a range ending in it is fine too)."""
    cache = {} if cache is None else cache
    year = year or datetime.date.today().year
    found: list[dict] = []

    def add(kind: str, what: str) -> None:
        found.append({"kind": kind, "what": what})

    for o in m["overflow"]:
        where = f"right edge at {o['right']} px, column ends at {o['column']} px"
        add(
            "overflow",
            f"`{o['element']}`: {o['content']} px of content in {o['box']} px, {where}: {o['text']!r}",
        )
    for t in m["tables"]:
        for c in t["narrow"]:
            add(
                "narrow-column",
                f"{t['table']}: column {c['column']} is {c['width']} px wide, text on {c['lines']} lines: "
                f"{c['text']!r}",
            )
        if t["nan"]:
            add("text", f"{t['table']}: {t['nan']} empty (NaN/None) cells")
        for h in t["headers"]:
            if SNAKE.fullmatch(h):
                add("text", f"{t['table']}: raw column header {h!r}")
    for f in m["figures"]:
        if not f["loaded"]:
            add("shrunk-figure", f"image {f['src']} did not load")
        elif f["scale"] < MIN_SCALE:
            add(
                "shrunk-figure", f"{f['src']}: {f['own']:.0f} px shown in {f['shown']} px (x{f['scale']:.2f})"
            )
    for pattern, why in FORBIDDEN:
        for hit in sorted(set(re.findall(pattern, m["text"]))):
            add("text", f"{why}: {hit!r}")
    for hit in sorted(set(re.findall(r"©\s*((?:\d{4}\s*[-–]\s*)?\d{4})", m["text"]))):
        if not hit.endswith(str(year)):
            add("text", f"footer year {hit!r}, not {year}")
    seen: set[str] = set()
    for a in m["links"]:
        if a["href"] in seen:
            continue
        seen.add(a["href"])
        parts = urlsplit(urljoin(page.as_uri(), a["href"]))
        if parts.scheme != "file":
            continue  # the web is out of reach here; only the site's own links are checked
        target = Path(unquote(parts.path))
        if target.is_dir():
            target = target / "index.html"
        shown = target.relative_to(site) if target.is_relative_to(site) else target
        if not target.exists():
            add("link", f"{a['text']!r} links to {shown}, which the site lacks")
        elif (
            parts.fragment
            and target.suffix == ".html"
            and unquote(parts.fragment) not in _anchors(target, cache)
        ):
            add("link", f"{a['text']!r} links to {shown}#{parts.fragment}, an anchor that page lacks")
    return found


def shoot(browser: Chromium, height: int, width: int, png: Path) -> list[Path]:
    """Screenshots of the whole page just measured: the viewport is made as tall as the page, so that the
    sticky header and the sidebars are drawn once, as a reader sees them. A page taller than
    :data:`TALLEST` px (the API reference) is taken in parts of that height, ``<name>-1.png``, ``-2.png``."""
    tall = max(300, min(height, TALLEST))
    browser.resize(width, tall)
    time.sleep(0.3)
    tops = range(0, height, TALLEST) if height > TALLEST else [0]
    shots = [png] if len(tops) == 1 else [png.with_name(f"{png.stem}-{n}.png") for n, _ in enumerate(tops, 1)]
    for top, shot in zip(tops, shots, strict=True):
        browser.evaluate(f"window.scrollTo(0, {top})")
        time.sleep(0.2)
        browser.screenshot(shot)
    browser.evaluate("window.scrollTo(0, 0)")
    browser.resize(width, 900)
    return shots


def report(results: dict[str, dict[int, dict]]) -> str:
    """Markdown: for each page and width its height, its defects, its sideways scrolls and shrunk figures."""
    lines = ["# Rendered pages: layout defects at desktop and phone width", ""]
    for name, by_width in results.items():
        for width, r in by_width.items():
            lines.append(f"## {name} at {width} px ({r['height']} px tall, column {r['column']} px)")
            lines += [f"- **{d['kind']}** {d['what']}" for d in r["defects"]] or ["- no defects"]
            lines += [
                f"- (scrolls sideways) `{s['element']}`: {s['content']} px in {s['box']} px: {s['text']!r}"
                for s in r["scrolled"]
            ]
            lines += [
                f"- (figure shrunk x{f['scale']:.2f}) {f['src']}: {f['own']:.0f} px in {f['shown']} px"
                for f in r["figures"]
                if f["loaded"] and MIN_SCALE <= f["scale"] < 0.95
            ]
            lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure and screenshot every page; write the report; status 1 when a page has a defect."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=Path("_build/html"), help="the built book")
    parser.add_argument("--toc", type=Path, default=Path("_toc.yml"), help="the book's table of contents")
    parser.add_argument(
        "--out", type=Path, default=Path("_build/screenshots"), help="folder for PNGs, report"
    )
    parser.add_argument("--widths", type=int, nargs="+", default=list(WIDTHS), help="CSS px")
    parser.add_argument("--pages", nargs="*", help="page names to take (e.g. intro 02_clip; default: all)")
    parser.add_argument("--no-shots", action="store_true", help="measure only, take no screenshots")
    parser.add_argument("--report-only", action="store_true", help="exit 0 even when there are defects")
    args = parser.parse_args(argv)
    names = [
        p for p in toc_pages(args.toc) if not args.pages or Path(p).name in args.pages or p in args.pages
    ]
    site = args.html.resolve()
    missing = [p for p in names if not (site / f"{p}.html").exists()]
    if missing:
        raise SystemExit(f"{args.html} lacks {', '.join(missing)}: build the book first")
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[int, dict]] = {}
    cache: dict[Path, set[str]] = {}
    browser = Chromium(chromium())
    try:
        for name in names:
            page = site / f"{name}.html"
            results[name] = {}
            for width in args.widths:
                m = measure(browser, page, width)
                found = defects(m, page, site, cache)
                if not args.no_shots:
                    shoot(browser, m["height"], width, args.out / f"{name.replace('/', '-')}-{width}.png")
                keep = {k: v for k, v in m.items() if k not in ("text", "links")}
                results[name][width] = keep | {"defects": found}
                kinds = " ".join(sorted({d["kind"] for d in found}))
                print(f"{name:24} {width:5} px  {m['height']:6} px tall  {len(found):3} defects  {kinds}")
                for d in found:
                    print(f"    {d['kind']:14} {d['what'][:150]}")
    finally:
        browser.close()
    (args.out / "report.md").write_text(report(results), encoding="utf-8")
    (args.out / "report.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    total = sum(len(r["defects"]) for by in results.values() for r in by.values())
    where = args.out / "report.md"
    print(f"{total} defects on {len(results)} pages at {len(args.widths)} widths; report: {where}")
    return 0 if args.report_only or total == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
