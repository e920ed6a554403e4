"""Every ```python block in docs/*.md and every script in examples/ runs.

The blocks of one page run in order in one shared namespace (a page is one session); blocks
fenced as anything but ``python`` (``text``, ``bash``, ``pycon``...) are not run. Everything runs
in a fresh temporary directory with matplotlib's non-interactive Agg backend, so files a page or
example writes never land in the repository.
"""

from __future__ import annotations

import linecache
import os
import re
import runpy
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

import emkit

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"

# A line ``--8<-- "path"`` or ``--8<-- "path:section"`` includes a file (or the lines between its
# ``--8<-- [start:section]`` and ``--8<-- [end:section]`` markers), as pymdownx.snippets does
# when the site is built; the test expands it the same way, so the docs show and run the very
# code of the examples.
_SNIPPET = re.compile(
    r'^(?P<indent>[ \t]*)--8<--\s+"(?P<path>[^":]+)(?::(?P<section>[\w-]+))?"\s*$'
)
_MARKER = re.compile(r"--8<--\s+\[(?P<kind>start|end):(?P<section>[\w-]+)\]")

# A fence opens with ```python (optionally indented, e.g. inside an admonition) and closes with
# a line of three backticks at the same indentation.
_OPEN = re.compile(r"^(?P<indent>[ \t]*)```python\s*$")

pytest.importorskip("matplotlib")


def _use_agg() -> None:
    import matplotlib

    matplotlib.use("Agg", force=True)


def expand_snippets(text: str) -> str:
    """Replace every snippet line of a Markdown text by the lines it includes."""
    out = []
    for line in text.splitlines():
        match = _SNIPPET.match(line)
        if match is None:
            out.append(line)
            continue
        source = (ROOT / match.group("path")).read_text(encoding="utf-8").splitlines()
        section = match.group("section")
        if section is not None:
            bounds = {
                (m.group("kind"), m.group("section")): i
                for i, src in enumerate(source)
                if (m := _MARKER.search(src)) is not None
            }
            if ("start", section) not in bounds or ("end", section) not in bounds:
                raise ValueError(f"section {section!r} not marked in {match.group('path')}")
            source = source[bounds["start", section] + 1 : bounds["end", section]]
        indent = match.group("indent")
        out.extend(indent + src for src in source if _MARKER.search(src) is None)
    return "\n".join(out) + "\n"


def python_blocks(text: str) -> list[tuple[int, str]]:
    """``(line number, code)`` of every ```python block of a Markdown text, in order."""
    lines = text.splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        match = _OPEN.match(lines[i])
        if match is None:
            i += 1
            continue
        indent = match.group("indent")
        start = i + 1
        i = start
        while i < len(lines) and lines[i].strip() != "```":
            i += 1
        if i == len(lines):
            raise ValueError(f"unclosed ```python block opened at line {start}")
        body = [line[len(indent) :] if line.startswith(indent) else line for line in lines[start:i]]
        blocks.append((start + 1, "\n".join(body) + "\n"))
        i += 1
    return blocks


def test_python_blocks_are_found() -> None:
    text = "a\n```python\nx = 1\n```\n```text\nnot run\n```\n    ```python\n    y = 2\n    ```\n"
    assert python_blocks(text) == [(3, "x = 1\n"), (9, "y = 2\n")]


def test_snippets_are_expanded() -> None:
    text = expand_snippets('```python\n--8<-- "examples/custom_family.py:family"\n```\n')
    assert "class Exponential(CanonicalFamily):" in text
    assert "--8<--" not in text


PAGES = sorted(DOCS.glob("*.md"))
SCRIPTS = sorted(EXAMPLES.glob("*.py"))


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_docs_page_runs(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _use_agg()
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": f"docs.{page.stem}"}
    blocks = python_blocks(expand_snippets(page.read_text(encoding="utf-8")))
    # A page may register a plugin family or model; keep that out of other tests.
    with emkit.registry.isolated():
        run_blocks(blocks, page, namespace, plt)


def run_blocks(
    blocks: list[tuple[int, str]], page: Path, namespace: dict[str, object], plt: Any
) -> None:
    """Execute a page's Python blocks in order in one namespace, closing figures at the end."""
    try:
        for line, code in blocks:
            filename = f"{page.relative_to(ROOT)}:{line}"
            # Register the block's source so that a failing block shows its lines in tracebacks.
            linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
            compiled = compile(code, filename, "exec")
            with warnings.catch_warnings():
                # The pages demonstrate behaviour; a warning they trigger on purpose is fine, but
                # a bug in the model (objective going down) must still fail.
                warnings.simplefilter("default")
                warnings.filterwarnings("error", category=_likelihood_decrease())
                exec(compiled, namespace)
    finally:
        plt.close("all")


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_example_runs(script: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _use_agg()
    import matplotlib.pyplot as plt

    out = tmp_path / "figures"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(script), str(out)])
    try:
        runpy.run_path(str(script), run_name="__main__")
    finally:
        plt.close("all")
    assert list(out.glob("*.png")), f"{script.name} wrote no figure into {out}"


def test_api_page_documents_every_public_name() -> None:
    import importlib

    import emkit

    api = (DOCS / "api.md").read_text(encoding="utf-8")
    modules = re.findall(r"^::: (\S+)", api, flags=re.MULTILINE)
    documented = set(modules)
    for name in modules:
        documented.update(
            f"emkit.{n}" for n in getattr(importlib.import_module(name), "__all__", ())
        )
    missing = [
        name
        for name in emkit.__all__
        if not name.startswith("__") and f"emkit.{name}" not in documented
    ]
    assert not missing, f"docs/api.md documents no module that exports {missing}"


def test_site_builds_strictly(tmp_path: Path) -> None:
    """``mkdocs build --strict``: every nav page exists, every link and API entry resolves."""
    for module in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python"):
        pytest.importorskip(module)
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stdout + build.stderr


def _likelihood_decrease() -> type[Warning]:
    from emkit import LikelihoodDecreaseWarning

    return LikelihoodDecreaseWarning
