"""Every ```python block in docs/*.md and every script in examples/ runs.

The blocks of one page run in order in one shared namespace (a page is one session); blocks
fenced as anything but ``python`` (``text``, ``bash``, ``pycon``...) are not run. Everything runs
in a fresh temporary directory with matplotlib's non-interactive Agg backend, so files a page or
example writes never land in the repository.

Two fence attributes tie what a page shows to what the code does:

* A ```python block followed (blank lines aside) by a ```text title="Output"`` block must print
  exactly that text: the outputs a reader sees are checked, never pasted by hand and left to drift.
* A ```python title="name.py"`` block is a file, not a session step: it is written to the page's
  directory under that name, and after the page's session every ``test_*.py`` file among them is
  run by pytest in a fresh process, as a reader who copies the files would run them.
"""

from __future__ import annotations

import contextlib
import io
import linecache
import os
import re
import runpy
import subprocess
import sys
import warnings
from pathlib import Path

import attrs
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

# A fence opens with ```language and optional attributes (optionally indented, e.g. inside an
# admonition) and closes with a line of three backticks.
_OPEN = re.compile(r"^(?P<indent>[ \t]*)```(?P<language>[\w-]+)(?P<attributes>[^`]*)$")
_TITLE = re.compile(r'title="(?P<title>[^"]*)"')
OUTPUT_TITLE = "Output"

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


@attrs.frozen
class Block:
    """One ```python block: its first line in the page, its code, and what ties it to the page.

    ``file`` is the file name of a block fenced with ``title="name.py"``; ``output`` is the text
    of the ```text title="Output"`` block that follows it, if any.
    """

    line: int
    code: str
    file: str | None = None
    output: str | None = None


@attrs.frozen
class _Fence:
    line: int
    language: str
    title: str | None
    body: str


def _fences(text: str) -> list[_Fence]:
    lines = text.splitlines()
    fences = []
    i = 0
    while i < len(lines):
        match = _OPEN.match(lines[i])
        if match is None:
            i += 1
            continue
        indent = match.group("indent")
        title = _TITLE.search(match.group("attributes"))
        start = i + 1
        i = start
        while i < len(lines) and lines[i].strip() != "```":
            i += 1
        if i == len(lines):
            raise ValueError(f"unclosed ``` block opened at line {start}")
        body = [line[len(indent) :] if line.startswith(indent) else line for line in lines[start:i]]
        fences.append(
            _Fence(
                line=start + 1,
                language=match.group("language"),
                title=None if title is None else title.group("title"),
                body="\n".join(body) + "\n",
            )
        )
        i += 1
    return fences


def python_blocks(text: str) -> list[Block]:
    """Every ```python block of a Markdown text, in order, with its file name and shown output."""
    fences = _fences(text)
    blocks = []
    for i, fence in enumerate(fences):
        if fence.language != "python":
            continue
        following = fences[i + 1] if i + 1 < len(fences) else None
        shown = (
            following is not None
            and following.language == "text"
            and following.title == OUTPUT_TITLE
            and _only_blank_between(text, fence, following)
        )
        file = fence.title if fence.title and fence.title.endswith(".py") else None
        blocks.append(
            Block(
                line=fence.line,
                code=fence.body,
                file=file,
                output=following.body if shown and following is not None else None,
            )
        )
    return blocks


def _only_blank_between(text: str, first: _Fence, second: _Fence) -> bool:
    lines = text.splitlines()
    closing = first.line - 1 + len(first.body.splitlines())
    between = lines[closing + 1 : second.line - 2]
    return all(not line.strip() for line in between)


def test_python_blocks_are_found() -> None:
    text = "a\n```python\nx = 1\n```\n```text\nnot run\n```\n    ```python\n    y = 2\n    ```\n"
    assert python_blocks(text) == [Block(3, "x = 1\n"), Block(9, "y = 2\n")]


def test_outputs_and_files_are_recognised() -> None:
    text = (
        '```python\nprint(1)\n```\n\n```text title="Output"\n1\n```\n'
        '```python title="test_a.py"\nimport a\n```\n'
        "```python\nprint(2)\n```\ntext between\n"
        '```text title="Output"\n2\n```\n'
    )
    assert python_blocks(text) == [
        Block(2, "print(1)\n", output="1\n"),
        Block(9, "import a\n", file="test_a.py"),
        # A shown output must follow its block directly: prose in between breaks the tie.
        Block(12, "print(2)\n"),
    ]


def test_shown_output_is_checked(tmp_path: Path) -> None:
    page = ROOT / "docs" / "example.md"
    wrong = [Block(1, "print('actual')\n", output="shown\n")]
    with pytest.raises(AssertionError, match="shown"):
        run_blocks(wrong, page, {}, tmp_path)


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
    try:
        with emkit.registry.isolated():
            run_blocks(blocks, page, namespace, tmp_path)
    finally:
        plt.close("all")
    run_test_files(blocks, page, tmp_path)


def run_blocks(
    blocks: list[Block], page: Path, namespace: dict[str, object], directory: Path
) -> None:
    """Execute a page's session blocks in order in one namespace; write its file blocks.

    A block with a shown output must print exactly that output.
    """
    for block in blocks:
        if block.file is not None:
            (directory / block.file).write_text(block.code, encoding="utf-8")
            continue
        filename = f"{page.relative_to(ROOT)}:{block.line}"
        # Register the block's source so that a failing block shows its lines in tracebacks.
        linecache.cache[filename] = (len(block.code), None, block.code.splitlines(True), filename)
        compiled = compile(block.code, filename, "exec")
        printed = io.StringIO()
        with warnings.catch_warnings(), contextlib.redirect_stdout(printed):
            # The pages demonstrate behaviour; a warning they trigger on purpose is fine, but
            # a bug in the model (objective going down) must still fail.
            warnings.simplefilter("default")
            warnings.filterwarnings("error", category=_likelihood_decrease())
            exec(compiled, namespace)
        if block.output is not None:
            assert _lines(printed.getvalue()) == _lines(block.output), (
                f"{filename}: the block prints\n{printed.getvalue()}\n"
                f"but the page shows\n{block.output}"
            )


def _lines(text: str) -> list[str]:
    # Trailing spaces and blank lines at the end are invisible on the page.
    return [line.rstrip() for line in text.rstrip().splitlines()]


def run_test_files(blocks: list[Block], page: Path, directory: Path) -> None:
    """Run a page's ``test_*.py`` file blocks with pytest, in a fresh process, as files."""
    tests = [b.file for b in blocks if b.file is not None and Path(b.file).name.startswith("test_")]
    if not tests:
        return
    env = {**os.environ, "PYTHONPATH": str(directory)}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, f"{page.name}: the test files fail\n{run.stdout}{run.stderr}"


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


def test_site_builds_strictly(built_site: Path) -> None:
    """``mkdocs build --strict``: every nav page exists, every link and API entry resolves."""
    assert (built_site / "index.html").is_file()


def _likelihood_decrease() -> type[Warning]:
    from emkit import LikelihoodDecreaseWarning

    return LikelihoodDecreaseWarning
