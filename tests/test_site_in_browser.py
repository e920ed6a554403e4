"""The documentation site as a reader sees it: every page loaded in headless Chromium.

The site is built by ``mkdocs build --strict`` (the ``built_site`` fixture), served on 127.0.0.1
and every page is opened in Debian's Chromium driven by Playwright, with every other host
unreachable, as on a machine without network. A page fails on

* a request that leaves the site (a CDN, web fonts) or a resource that does not load;
* a JavaScript error or a console error;
* a formula the renderer reports as an error, a formula left untypeset, or raw TeX (``$$``,
  ``\\(``, ``\\begin{...}``, ``\\boldsymbol``...) anywhere in the text, the navigation or the
  table of contents;
* an image that does not load;
* a link to a page or anchor of the site that does not exist;
* content wider than the window that does not scroll inside its own block (a cut-off formula).

Chromium and Playwright are installed by ``.ci/run``; where either is missing the test is skipped,
except under CI (``CI=true``), where it fails.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

# How long a page may take to load and typeset its formulas, in milliseconds.
PAGE_TIMEOUT_MS = 60_000
# The window the pages are checked in: a laptop screen.
VIEWPORT = {"width": 1280, "height": 900}

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")

# TeX that survives only when math was not typeset: delimiters, environments and the macros the
# pages use. Searched in text outside code blocks (code may legitimately show TeX).
RAW_TEX = re.compile(
    r"\$\$|\\\(|\\\)|\\\[|\\\]|\\begin\{|\\end\{"
    r"|\\(?:frac|mathbf|boldsymbol|sum|prod|ln|log|mathrm|mathcal|mathbb|theta|pi|mu|eta|gamma)(?![A-Za-z])"
    r"|\$[^$\s][^$\n]*\$"
)

# Run in the page once MathJax has finished: everything the checks need, from the live DOM.
_INSPECT = """
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const skip = new Set(["PRE", "CODE", "SCRIPT", "STYLE", "TEXTAREA", "MJX-CONTAINER"]);
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    let hidden = false;
    for (let el = node.parentElement; el; el = el.parentElement) {
      if (skip.has(el.tagName)) { hidden = true; break; }
    }
    if (!hidden && node.textContent.trim()) texts.push(node.textContent);
  }
  const article = document.querySelector("article");
  const overflow = [];
  if (article) {
    const right = article.getBoundingClientRect().right;
    for (const el of article.querySelectorAll("mjx-container, img, table")) {
      let scroller = null;
      for (let p = el.parentElement; p && p !== article; p = p.parentElement) {
        const x = getComputedStyle(p).overflowX;
        if (x === "auto" || x === "scroll") { scroller = p; break; }
      }
      // A block keeps its width and lets its content spill; an inline box grows with it.
      const spills = el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1;
      if (scroller === null && (spills || el.getBoundingClientRect().right > right + 1)) {
        overflow.push(el.outerHTML.slice(0, 120));
      }
    }
  }
  return {
    errors: Array.from(document.querySelectorAll("mjx-merror, [data-mjx-error]"),
                       (e) => e.getAttribute("data-mjx-error") || e.textContent),
    untypeset: Array.from(document.querySelectorAll(".arithmatex"))
      .filter((e) => !e.querySelector("mjx-container"))
      .map((e) => e.textContent.slice(0, 120)),
    texts: texts,
    images: Array.from(document.images)
      .filter((img) => !(img.complete && img.naturalWidth > 0))
      .map((img) => img.getAttribute("src")),
    links: Array.from(document.querySelectorAll("a[href]"), (a) => a.href),
    ids: Array.from(document.querySelectorAll("[id]"), (e) => e.id),
    pageWidth: document.documentElement.scrollWidth,
    windowWidth: document.documentElement.clientWidth,
    overflow: overflow,
  };
}
"""


@attrs.frozen
class PageReport:
    """What one page showed: its problems, the links it makes and the anchors it offers."""

    problems: list[str]
    links: list[str]
    ids: frozenset[str]


def _chromium() -> str | None:
    configured = os.environ.get("EMKIT_CHROMIUM")
    if configured:
        return configured
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found is not None:
            return found
    return None


def _require(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; .ci/run installs it, so under CI this is an error")
    pytest.skip(reason)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def served_site(built_site: Path) -> Iterator[str]:
    """The built site served on 127.0.0.1 (an ephemeral port): its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(built_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def site_pages(site: Path) -> list[str]:
    """Every page of the built site, as a URL path relative to the site root."""
    pages = []
    for index in sorted(site.rglob("index.html")):
        relative = index.parent.relative_to(site).as_posix()
        pages.append("" if relative == "." else f"{relative}/")
    return pages


@pytest.fixture(scope="module")
def page_reports(built_site: Path, served_site: str) -> dict[str, PageReport]:
    """Every page loaded once in Chromium: what each showed."""
    chromium = _chromium()
    _require(chromium is not None, "Chromium is not installed (Debian: apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _require(False, "Playwright is not installed (pip install -e '.[docs]')")
        raise
    reports = {}
    origin = served_site.rstrip("/")
    with sync_playwright() as playwright:
        browser = _launch(playwright, chromium)
        try:
            for path in site_pages(built_site):
                reports[path] = _inspect(browser, served_site + path, origin)
            # The checks must be able to fail: a page with one defect of each kind.
            reports[PROBE] = _inspect(browser, served_site + PROBE, origin, html=PROBE_HTML)
        finally:
            browser.close()
    return reports


def _launch(playwright: Any, chromium: str | None) -> Any:
    # Root (as in CI containers) cannot use Chromium's sandbox. Every host but the local server
    # resolves to nothing: the site must work offline.
    return playwright.chromium.launch(
        executable_path=chromium,
        args=["--no-sandbox", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"],
    )


# A page that is not part of the site, served in its place at this path, with the site's own
# math set-up and one planted defect of each kind the checks look for.
PROBE = "planted-defects.html"
PROBE_HTML = """<!doctype html>
<html><head>
<script src="javascripts/mathjax.js"></script>
<script src="javascripts/mathjax/tex-chtml-full.js"></script>
</head><body><article>
<p>Fine: <span class="arithmatex">\\(\\boldsymbol\\mu_k\\)</span>.</p>
<p>Unknown macro: <span class="arithmatex">\\(\\notamacro x\\)</span>.</p>
<p>Left as text: $$ x^2 $$ and <span class="arithmatex">\\(\\frac12</span></p>
<div class="arithmatex">\\[ {wide} \\]</div>
<img src="images/no-such-image.png" alt="missing">
<img src="https://example.org/elsewhere.png" alt="remote">
<a href="api/#no-such-anchor">a dead anchor</a>
<a href="no-such-page/">a dead page</a>
</article></body></html>
""".replace("{wide}", " + ".join(f"x_{{{i}}}" for i in range(400)))


def _inspect(browser: Any, url: str, origin: str, html: str | None = None) -> PageReport:
    """Load ``url`` (served by the site, or ``html`` in its place) and report what it shows."""
    problems: list[str] = []
    page = browser.new_page(viewport=VIEWPORT)
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    if html is not None:
        page.route(url, lambda route: route.fulfill(body=html, content_type="text/html"))

    def on_request(request: Any) -> None:
        if not request.url.startswith((origin, "data:", "blob:")):
            problems.append(f"request leaves the site: {request.url}")

    def on_response(response: Any) -> None:
        if response.status >= 400:
            problems.append(f"HTTP {response.status} for {response.url}")

    page.on("request", on_request)
    page.on("response", on_response)
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} ({r.failure})"))
    page.on("pageerror", lambda e: problems.append(f"JavaScript error: {e}"))
    page.on(
        "console",
        lambda m: (
            problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning")
            else None
        ),
    )
    try:
        page.goto(url, wait_until="load")
        seen = page.evaluate(_INSPECT)
    finally:
        page.close()
    problems += [f"formula error: {e}" for e in seen["errors"]]
    problems += [f"formula not typeset: {t!r}" for t in seen["untypeset"]]
    for text in seen["texts"]:
        match = RAW_TEX.search(text)
        if match is not None:
            problems.append(f"raw TeX {match.group(0)!r} in text: {text.strip()[:120]!r}")
    problems += [f"image does not load: {src}" for src in seen["images"]]
    if seen["pageWidth"] > seen["windowWidth"]:
        problems.append(f"page is {seen['pageWidth']}px wide in a {seen['windowWidth']}px window")
    problems += [f"cut off at the right edge: {html}" for html in seen["overflow"]]
    return PageReport(problems=problems, links=seen["links"], ids=frozenset(seen["ids"]))


def _ids(target: str, page_reports: dict[str, PageReport], built_site: Path) -> frozenset[str]:
    if target in page_reports:
        return page_reports[target].ids
    html = (built_site / target / "index.html").read_text(encoding="utf-8")
    return frozenset(re.findall(r'\bid="([^"]+)"', html))


def test_every_page_of_the_site_is_checked(built_site: Path) -> None:
    pages = site_pages(built_site)
    # Home, the teaching pages and the API reference at least: a site walk that found nothing
    # would make every other test here pass vacuously.
    for expected in ("", "em-first-principles/", "exponential-families/", "api/"):
        assert expected in pages


def test_raw_tex_is_recognised() -> None:
    for raw in ("$$", r"\(x\)", r"\begin{aligned}", r"\boldsymbol\mu", "$x_n$", r"\frac12"):
        assert RAW_TEX.search(f"before {raw} after"), raw
    for fine in ("costs $5 or more", "a (parenthesis)", "C:\\Users", "x \\ y"):
        assert not RAW_TEX.search(fine), fine


def test_planted_defects_are_found(page_reports: dict[str, PageReport]) -> None:
    problems = "\n".join(page_reports[PROBE].problems)
    assert "formula error" in problems
    assert "notamacro" in problems
    assert "boldsymbol" not in problems
    assert "raw TeX '$$'" in problems
    assert "formula not typeset" in problems
    assert "cut off at the right edge: <mjx-container" in problems
    assert "HTTP 404" in problems
    assert "image does not load: images/no-such-image.png" in problems
    assert "request leaves the site: https://example.org/elsewhere.png" in problems


def test_pages_render_cleanly(page_reports: dict[str, PageReport]) -> None:
    broken = {
        path or "/": r.problems for path, r in page_reports.items() if r.problems and path != PROBE
    }
    assert not broken, "\n".join(
        f"{path}:\n  " + "\n  ".join(problems) for path, problems in broken.items()
    )


def dead_links(
    page_reports: dict[str, PageReport], built_site: Path, served_site: str
) -> list[str]:
    """Links of these pages to a page, anchor or file of the site that does not exist."""
    pages = site_pages(built_site)
    broken = []
    for path, report in page_reports.items():
        for link in report.links:
            if not link.startswith(served_site):
                continue
            parsed = urllib.parse.urlsplit(link[len(served_site) :])
            target = urllib.parse.unquote(parsed.path)
            if target == "" or target.endswith("/"):
                if target not in pages:
                    broken.append(f"{path or '/'} links to a missing page: {link}")
                elif parsed.fragment and parsed.fragment not in _ids(
                    target, page_reports, built_site
                ):
                    broken.append(f"{path or '/'} links to a missing anchor: {link}")
            elif not (built_site / target).is_file():
                broken.append(f"{path or '/'} links to a missing file: {link}")
    return broken


def test_internal_links_and_anchors_resolve(
    page_reports: dict[str, PageReport], built_site: Path, served_site: str
) -> None:
    site = {path: report for path, report in page_reports.items() if path != PROBE}
    broken = dead_links(site, built_site, served_site)
    assert not broken, "\n".join(broken)
    planted = dead_links({PROBE: page_reports[PROBE]}, built_site, served_site)
    planted_targets = sorted(line.rsplit(": ", 1)[1][len(served_site) :] for line in planted)
    assert planted_targets == ["api/#no-such-anchor", "no-such-page/"]
