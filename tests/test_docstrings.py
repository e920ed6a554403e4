"""The API reference is generated from the docstrings, so the docstrings are held to its standard.

* No docstring in emkit uses a Sphinx role (``:class:`X```, ``:func:`f```, ...): the API page is
  rendered by mkdocstrings, which shows them as raw text. Cross-references are autorefs links,
  ``[`X`][emkit.module.X]``.
* Every public method of the classes the teaching pages teach from has a numpydoc docstring with
  a Parameters section naming every argument, and a Returns section when it returns something
  (mkdocstrings hides members without a docstring, so an undocumented method is missing from the
  page).
* Every ``Class.member`` of an emkit class that a docs page or the README cites exists and is
  documented: by its own docstring, or (an attrs field) in its class's Attributes or Parameters
  section.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import emkit
from emkit.families.bernoulli import Bernoulli
from emkit.families.canonical import CanonicalFamily
from emkit.families.gaussian import Gaussian
from emkit.families.poisson import Poisson
from emkit.mixture import FiniteMixture, MixtureStats
from emkit.protocols import ExponentialFamily, LatentVariableModel

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "emkit"
PAGES = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]

SPHINX_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|mod|data|exc|obj|const|ref):`")

#: The classes the teaching pages build on: every public method needs a full docstring.
TAUGHT_CLASSES = [
    FiniteMixture,
    MixtureStats,
    CanonicalFamily,
    Gaussian,
    Bernoulli,
    Poisson,
    LatentVariableModel,
    ExponentialFamily,
]


# -- (a) no Sphinx roles ---------------------------------------------------------------------------
def docstrings(source: str) -> Iterator[tuple[int, str]]:
    """``(line, text)`` of every docstring of a module: of the module, its classes and functions,
    and the attribute docstrings (a string statement after an assignment)."""
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        for statement in body:
            if (
                isinstance(statement, ast.Expr)
                and isinstance(statement.value, ast.Constant)
                and isinstance(statement.value.value, str)
            ):
                yield statement.lineno, statement.value.value


def sphinx_roles(source: str) -> list[str]:
    """``line: role`` of every Sphinx role in the docstrings of ``source``."""
    found = []
    for line, text in docstrings(source):
        for match in SPHINX_ROLE.finditer(text):
            found.append(f"{line + text.count(chr(10), 0, match.start())}: {match.group(0)}")
    return found


def test_sphinx_role_detector_finds_roles() -> None:
    source = 'def f():\n    """See :class:`Gaussian` and\n    :py:func:`emkit.fit`."""\n'
    assert sphinx_roles(source) == ["2: :class:`", "3: :py:func:`"]
    assert sphinx_roles('"""See [`Gaussian`][emkit.families.gaussian.Gaussian]."""') == []


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_no_sphinx_roles_in_docstrings(path: Path) -> None:
    roles = sphinx_roles(path.read_text(encoding="utf-8"))
    assert not roles, (
        f"{path.relative_to(ROOT)} has Sphinx roles in docstrings, which the API page shows as "
        "raw text; write [`Name`][emkit.module.Name] (or ``Name`` for a private target): "
        + ", ".join(roles)
    )


# -- (b) full docstrings of the taught classes -----------------------------------------------------
def section(doc: str, title: str) -> list[str] | None:
    """The lines of a numpydoc section (``title`` underlined by dashes), or None without one."""
    lines = inspect.cleandoc(doc).splitlines()
    for i, line in enumerate(lines[:-1]):
        if line.strip() == title and re.fullmatch(r"\s*-{3,}\s*", lines[i + 1]):
            body = []
            for rest in lines[i + 2 :]:
                if rest.strip() and re.fullmatch(r"\s*-{3,}\s*", rest):
                    body.pop()  # the next section's title
                    break
                body.append(rest)
            return body
    return None


def documented_names(doc: str, title: str) -> set[str]:
    """Names of the entries of a section: ``name : type`` or ``name`` lines at its left edge
    (``a, b : float`` documents both)."""
    lines = section(doc, title) or []
    names: set[str] = set()
    for line in lines:
        if line.strip() and not line[0].isspace():
            head = line.split(" : ", 1)[0]
            names.update(name.strip().lstrip("*") for name in head.split(","))
    return names


def public_members(cls: type) -> Iterator[tuple[str, Any]]:
    """The public methods and properties ``cls`` defines itself (inherited ones are checked on
    the class that defines them)."""
    for name, value in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(value, staticmethod | classmethod):
            value = value.__func__
        if inspect.isfunction(value) or isinstance(value, property):
            yield name, value


def docstring_problems(name: str, member: Any) -> list[str]:
    """What the docstring of one method (or property) lacks."""
    doc = member.__doc__
    if not doc or not doc.strip():
        return [f"{name}: no docstring"]
    if isinstance(member, property):
        return []
    problems = []
    signature = inspect.signature(member)
    arguments = [
        p.name
        for p in signature.parameters.values()
        if p.name not in ("self", "cls") and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    if arguments:
        if section(doc, "Parameters") is None:
            problems.append(f"{name}: no Parameters section (takes {', '.join(arguments)})")
        else:
            missing = [a for a in arguments if a not in documented_names(doc, "Parameters")]
            if missing:
                problems.append(f"{name}: Parameters does not document {', '.join(missing)}")
    returns = signature.return_annotation
    if returns not in (None, "None", inspect.Signature.empty) and section(doc, "Returns") is None:
        problems.append(f"{name}: no Returns section (returns {returns})")
    return problems


def test_docstring_checker_finds_gaps() -> None:
    def bare(self: Any, X: Any) -> Any:
        """Summary only."""

    def partial(self: Any, X: Any, weights: Any = None) -> Any:
        """Summary.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)

        Returns
        -------
        out : float
        """

    def complete(self: Any, X: Any, weights: Any = None) -> None:
        """Summary.

        Parameters
        ----------
        X, weights : arrays
        """

    assert docstring_problems("bare", bare) == [
        "bare: no Parameters section (takes X)",
        "bare: no Returns section (returns Any)",
    ]
    assert docstring_problems("partial", partial) == [
        "partial: Parameters does not document weights"
    ]
    assert docstring_problems("complete", complete) == []
    assert docstring_problems("none", lambda self: None) == ["none: no docstring"]


@pytest.mark.parametrize("cls", TAUGHT_CLASSES, ids=lambda c: c.__name__)
def test_public_methods_of_taught_classes_have_full_docstrings(cls: type) -> None:
    members = list(public_members(cls))
    assert members, f"{cls.__name__} has no public methods"
    problems = [p for name, member in members for p in docstring_problems(name, member)]
    assert not problems, f"{cls.__module__}.{cls.__name__}: " + "; ".join(problems)


# -- (c) what the pages cite exists and is documented ----------------------------------------------
def emkit_classes() -> dict[str, type]:
    """Every public class of emkit by name (the modules' ``__all__``)."""
    classes: dict[str, type] = {}
    modules = ["emkit"] + [
        module_name
        for module_name in (
            ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            for path in PACKAGE.rglob("*.py")
        )
        if "._" not in module_name and not module_name.startswith("emkit.cli")
    ]
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ImportError:  # an optional dependency (dask, matplotlib) is missing
            continue
        for public in getattr(module, "__all__", []):
            value = getattr(module, public, None)
            if isinstance(value, type):
                classes.setdefault(public, value)
                # Also by the path an autorefs link names (two classes may share a name, e.g.
                # the model emkit.regression.RegressionMixture and its estimator).
                classes.setdefault(f"{name}.{public}", value)
    return classes


CITATION = re.compile(r"`([A-Z][A-Za-z0-9_]*)\.([a-z_][A-Za-z0-9_]*)[`(]")
LINK = re.compile(r"\]\[(emkit(?:\.[A-Za-z_][A-Za-z0-9_]*)+)\]")


def cited_members(text: str, classes: dict[str, type]) -> set[tuple[str, str]]:
    """``(class name, member)`` of every ``Class.member`` a page cites for an emkit class: as
    code (``Class.member`` or ``Class.member(...)``) or as an autorefs link to a member."""
    cited = {
        (cls, member) for cls, member in CITATION.findall(text) if cls in classes and cls != "emkit"
    }
    for identifier in LINK.findall(text):
        parts = identifier.split(".")
        owner = ".".join(parts[:-1])
        if len(parts) >= 3 and parts[-2][0].isupper():
            if owner in classes:
                cited.add((owner, parts[-1]))
            elif parts[-2] in classes:
                cited.add((parts[-2], parts[-1]))
    return cited


def member_problem(cls: type, member: str) -> str | None:
    """Why ``cls.member`` is not documented, or None when it is."""
    for owner in cls.__mro__:
        if member in vars(owner):
            value = vars(owner)[member]
            break
    else:
        fields = getattr(cls, "__attrs_attrs__", ())
        if not any(field.name == member for field in fields):
            return f"{cls.__name__}.{member} does not exist"
        owner, value = cls, None
    if isinstance(value, staticmethod | classmethod):
        value = value.__func__
    if inspect.isfunction(value) or isinstance(value, property):
        return None if value.__doc__ and value.__doc__.strip() else f"{owner.__name__}.{member}"
    # A field or class attribute: documented in its class's Attributes or Parameters section.
    doc = owner.__doc__ or ""
    if member in documented_names(doc, "Attributes") | documented_names(doc, "Parameters"):
        return None
    return f"{owner.__name__}.{member} (not in its class's Attributes or Parameters)"


def test_citation_checker_finds_unknown_members() -> None:
    classes = {"FiniteMixture": FiniteMixture, "FitResult": emkit.FitResult}
    text = (
        "[`FiniteMixture.e_step`][emkit.mixture.FiniteMixture.e_step] calls "
        "`FiniteMixture.log_likelihood(X)`; `FitResult.history` and `Other.thing`."
    )
    cited = cited_members(text, classes)
    assert cited == {
        ("FiniteMixture", "e_step"),
        ("FiniteMixture", "log_likelihood"),
        ("FitResult", "history"),
    }
    problems = {member_problem(classes[c], m) for c, m in cited} - {None}
    assert problems == {"FiniteMixture.log_likelihood does not exist"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_cited_members_exist_and_are_documented(page: Path) -> None:
    classes = emkit_classes()
    cited = cited_members(page.read_text(encoding="utf-8"), classes)
    problems = sorted(
        problem
        for cls, member in cited
        if (problem := member_problem(classes[cls], member)) is not None
    )
    assert not problems, (
        f"{page.relative_to(ROOT)} cites members of emkit classes that do not exist or have no "
        "docstring (so the API page does not show them): " + ", ".join(problems)
    )
