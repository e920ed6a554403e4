"""The README's promises: its commands match CI and its Python example runs as written."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def test_readme_opens_with_install_and_run_then_install_and_test() -> None:
    first = _blocks("bash")[0].strip().splitlines()
    assert README.index("```bash") < 20
    assert len(first) == 2
    assert "pip install" in first[0]
    assert "emkit fit" in first[0]
    assert "pip install" in first[1]
    assert "pytest" in first[1]


def test_ci_runs_exactly_the_readme_test_command() -> None:
    test_command = _blocks("bash")[0].strip().splitlines()[1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_command in ci


def test_readme_python_examples_run_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the example saves a model file
    namespace: dict[str, object] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # select() may warn on some candidates
        for block in _blocks("python"):
            exec(compile(block, "README.md", "exec"), namespace)
    assert (tmp_path / "faithful.json").exists()
