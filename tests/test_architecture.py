"""docs/architecture.md's layer picture is the code's: imports go only upwards, never in a cycle,
and never reach for another module's private names."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "emkit"
ARCHITECTURE = ROOT / "docs" / "architecture.md"


def documented_layers() -> list[str]:
    """The layer names of the text block under '## Layers', top to bottom (an indented line
    continues the description above it)."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    section = text.split("## Layers", 1)[1]
    block = re.search(r"```text\n(.*?)```", section, re.S)
    assert block is not None, "docs/architecture.md: no ```text block under '## Layers'"
    lines = block.group(1).splitlines()
    return [line.split()[0] for line in lines if line.strip() and not line[0].isspace()]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str:
    """``emkit.sources.arrays`` -> ``sources``; ``emkit`` (the package root) -> ``emkit``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "emkit"


MODULES = {
    module_name(path): path
    for path in sorted(PACKAGE.rglob("*.py"))
    if module_name(path) not in ("emkit", "emkit.__main__")
}


def emkit_imports(path: Path) -> list[tuple[str, list[str], int]]:
    """``(module, imported names, line)`` of every import of an emkit module in a file,
    including imports inside functions (the lazy ones)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("emkit"):
            names = [alias.name for alias in node.names]
            submodules = [f"{node.module}.{name}" for name in names]
            if all(name in MODULES for name in submodules):
                found.extend((name, [], node.lineno) for name in submodules)
            else:
                found.append((node.module, names, node.lineno))
        elif isinstance(node, ast.Import):
            found.extend(
                (alias.name, [], node.lineno)
                for alias in node.names
                if alias.name.startswith("emkit")
            )
    return found


def test_every_module_has_a_documented_layer() -> None:
    layers = documented_layers()
    assert len(layers) == len(set(layers)), f"a layer is listed twice: {layers}"
    missing = sorted({layer_of(m) for m in MODULES} - set(layers))
    assert not missing, f"docs/architecture.md lists no layer for {missing}"
    stale = sorted(set(layers) - {layer_of(m) for m in MODULES})
    assert not stale, f"docs/architecture.md lists layers that do not exist: {stale}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_only_upwards(module: str) -> None:
    order = {name: rank for rank, name in enumerate(documented_layers())}
    mine = order[layer_of(module)]
    for imported, _, line in emkit_imports(MODULES[module]):
        assert imported != "emkit", (
            f"{module} (line {line}) imports the package root; import the module that "
            "defines the name instead"
        )
        theirs = order[layer_of(imported)]
        assert theirs <= mine, (
            f"{module} (line {line}) imports {imported}, from the lower layer "
            f"{layer_of(imported)!r}; docs/architecture.md puts {layer_of(module)!r} above it"
        )


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_names_of_other_modules(module: str) -> None:
    for imported, names, line in emkit_imports(MODULES[module]):
        private = [n for n in names if n.startswith("_") and not n.startswith("__")]
        assert not private, f"{module} (line {line}) imports private {private} from {imported}"


def test_no_import_cycles() -> None:
    graph = {
        module: sorted({imported for imported, _, _ in emkit_imports(path)} & set(MODULES))
        for module, path in MODULES.items()
    }
    done: set[str] = set()

    def visit(module: str, trail: list[str]) -> None:
        if module in trail:
            cycle = [*trail[trail.index(module) :], module]
            raise AssertionError(f"import cycle: {' -> '.join(cycle)}")
        if module in done:
            return
        for imported in graph[module]:
            visit(imported, [*trail, module])
        done.add(module)

    for module in graph:
        visit(module, [])


def test_the_check_can_fail(tmp_path: Path) -> None:
    """A module importing from below is caught (the check is not vacuous)."""
    bad = tmp_path / "bad.py"
    bad.write_text("from emkit.cli import main\n", encoding="utf-8")
    imports = emkit_imports(bad)
    order = {name: rank for rank, name in enumerate(documented_layers())}
    assert [order[layer_of(m)] > order["stats"] for m, _, _ in imports] == [True]
