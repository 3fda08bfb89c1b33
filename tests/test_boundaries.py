"""The architecture's arrows, read from the imports of every production file (README,
"Architecture"). A forbidden arrow fails with the file, the line, the import and the rule
it breaks. Imports under ``if TYPE_CHECKING:`` and inside functions count too: an arrow
is an arrow wherever it is written.

I/O packages, which the workflow (deterministic, replayed by Temporal) must not import:
the entry points (``lincah``), the HTTP layer (``api``), the designer, the stores and
what reads or writes them (``eventstore``, ``projections``, ``commands``, ``audit``), and
the infrastructure packages (``accounts``, ``face``, ``documents``), of which it may
import only the ``contract`` modules: the dataclasses and names of the activities it
calls, no I/O. ``activities`` it calls by reference; ``config`` and ``domain`` are pure.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIPPED_DIRS = frozenset({"tests", "node_modules", "build", "var"})

IO_PACKAGES = frozenset(
    {
        "lincah",
        "api",
        "designer",
        "eventstore",
        "projections",
        "commands",
        "audit",
        "accounts",
        "face",
        "documents",
        "notifications",
        "portal",
        "backup",
    }
)
CONTRACTS = frozenset({"face.contract", "documents.contract"})
"""Modules of I/O packages the workflow may import: activity contracts, no I/O."""
INFRASTRUCTURE = frozenset(
    {
        "eventstore",
        "projections",
        "commands",
        "audit",
        "accounts",
        "face",
        "documents",
        "notifications",
        "backup",
    }
)
"""Used by the API, the activities and the entry points; never the other way round."""
MAX_WORKFLOW_LINES = 400


@dataclass(frozen=True)
class Rule:
    name: str
    applies: Callable[[str], bool]
    """Whether the rule holds for the importing package."""
    allowed: Callable[[str], bool]
    """Whether the rule lets it import this module (dotted, absolute)."""


def _top(module: str) -> str:
    return module.split(".")[0]


RULES = (
    Rule(
        "domain imports nothing of Lincah but domain",
        lambda src: src == "domain",
        lambda m: _top(m) == "domain",
    ),
    Rule(
        "config is the leaf everything may import: it imports only config, domain and crypto",
        lambda src: src == "config",
        lambda m: _top(m) in ("config", "domain", "crypto"),
    ),
    Rule(
        "crypto (the ciphers) imports nothing of Lincah but crypto",
        lambda src: src == "crypto",
        lambda m: _top(m) == "crypto",
    ),
    Rule(
        "workflows imports no I/O package (only face.contract and documents.contract of them)",
        lambda src: src == "workflows",
        lambda m: _top(m) not in IO_PACKAGES or m in CONTRACTS,
    ),
    Rule(
        "api imports no activities (the infrastructure packages and commands instead)",
        lambda src: src == "api",
        lambda m: _top(m) != "activities",
    ),
    Rule(
        "nothing imports lincah: it holds entry points only",
        lambda src: src != "lincah",
        lambda m: _top(m) != "lincah",
    ),
    Rule(
        "designer imports only designer (its API client) and domain",
        lambda src: src == "designer",
        lambda m: _top(m) in ("designer", "domain"),
    ),
    Rule(
        "portal imports only portal, config and domain.wording (the texts it shares with the"
        " designer): it reaches Lincah over HTTP, as the designer does",
        lambda src: src == "portal",
        lambda m: (
            _top(m) in ("portal", "config")
            or m == "domain.wording"
            or m.startswith("domain.wording.")
        ),
    ),
    Rule(
        "infrastructure imports none of its users (api, activities, workflows, designer)",
        lambda src: src in INFRASTRUCTURE,
        lambda m: _top(m) not in ("api", "activities", "workflows", "designer"),
    ),
)


def packages(root: Path) -> set[str]:
    return {
        p.name
        for p in root.iterdir()
        if p.is_dir() and p.name not in SKIPPED_DIRS and (p / "__init__.py").exists()
    }


def production_files(root: Path) -> Iterator[Path]:
    for package in sorted(packages(root)):
        yield from sorted((root / package).rglob("*.py"))


def imports(path: Path, root: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module) for every import of the file, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = list(path.relative_to(root).with_suffix("").parts)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            if module and "." not in module:
                # ``from domain import wording`` imports the module domain.wording (or a
                # name of domain's __init__: the same package either way).
                for alias in node.names:
                    yield node.lineno, f"{module}.{alias.name}"
            else:
                yield node.lineno, module


def violations(root: Path) -> list[str]:
    ours = packages(root)
    found = []
    for path in production_files(root):
        rel = path.relative_to(root)
        src = rel.parts[0]
        for line, module in imports(path, root):
            if _top(module) not in ours or _top(module) == src:
                continue
            for rule in RULES:
                if rule.applies(src) and not rule.allowed(module):
                    found.append(f"{rel}:{line} imports {module}: {rule.name}")
    return found


def long_workflow_files(root: Path) -> list[str]:
    out = []
    for path in sorted((root / "workflows").rglob("*.py")):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_WORKFLOW_LINES:
            out.append(f"{path.relative_to(root)}: {lines} lines (at most {MAX_WORKFLOW_LINES})")
    return out


def test_the_checkout_keeps_its_boundaries():
    broken = violations(ROOT)
    assert not broken, "forbidden imports:\n  " + "\n  ".join(broken)


def test_no_workflow_file_is_over_400_lines():
    long = long_workflow_files(ROOT)
    assert not long, "split these workflow files:\n  " + "\n  ".join(long)


# -- the check itself can fail -------------------------------------------------------


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for package in ("domain", "config", "workflows", "api", "lincah", "designer", "face",
                    "activities", "eventstore", "portal"):  # fmt: skip
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("file", "text", "rule"),
    [
        ("domain/state.py", "from api.errors import STATUS\n", "domain imports nothing"),
        ("config/settings.py", "import eventstore.port\n", "config is the leaf"),
        ("workflows/steps.py", "from face.store import FaceStore\n", "workflows imports no I/O"),
        ("workflows/run.py", "from eventstore import port\n", "workflows imports no I/O"),
        ("api/face.py", "from activities.face import FaceActivities\n", "api imports no"),
        ("activities/face.py", "from lincah.worker import WORKFLOWS\n", "nothing imports lincah"),
        ("designer/app.py", "from api.security import STAFF\n", "designer imports only"),
        ("face/store.py", "from api import deps\n", "infrastructure imports none"),
        ("portal/app.py", "from domain.state import ApplicationState\n", "portal imports only"),
        ("domain/wording.py", "from designer import i18n\n", "domain imports nothing"),
        ("portal/pages.py", "from domain.validation import Problem\n", "portal imports only"),
        (
            "domain/steps.py",
            "import typing\nif typing.TYPE_CHECKING:\n    from config import settings\n",
            "domain imports nothing",
        ),
    ],
)
def test_a_forbidden_arrow_is_named_with_file_import_and_rule(tmp_path, file, text, rule):
    root = _tree(tmp_path, {file: text})
    [found] = violations(root)
    assert found.startswith(f"{file}:")
    assert " imports " in found and rule in found


def test_allowed_arrows_pass(tmp_path):
    root = _tree(
        tmp_path,
        {
            "workflows/face.py": "from face.contract import FaceCheck\nfrom domain import state\n",
            "api/face.py": "from face.store import FaceStore\nfrom workflows import face\n",
            "lincah/cli.py": "from lincah import up\nfrom api import main\n",
            "designer/app.py": "from designer import client\nfrom domain import definition\n",
            "domain/state.py": "from . import events\nfrom domain.events import X\n",
            "portal/app.py": "from portal import i18n\nfrom config.settings import Settings\n",
            "designer/checks.py": "from domain.wording.problems import explain\n",
            "portal/client.py": "from domain.wording.problems import explain\n",
            "portal/i18n.py": "from domain import wording\n",
        },
    )
    assert violations(root) == []


def test_a_long_workflow_file_is_named(tmp_path):
    root = _tree(tmp_path, {"workflows/long.py": "x = 1\n" * 401})
    assert long_workflow_files(root) == ["workflows/long.py: 401 lines (at most 400)"]


def test_every_package_is_installed():
    """``pip install .`` ships only the packages pyproject names; a package left out
    works from the checkout and breaks on an installed machine."""
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for package in packages(ROOT)
        for init in (ROOT / package).rglob("__init__.py")
    }
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"
