"""Claim ids map to places: one spec module per id family, its sections in id order, and a
planted-bug module and its planted tests beside it, named after the spec module.

Read from the ``@pytest.mark.claim`` markers of ``specs/test_*.py`` (parsed, not imported): a
family prefix (CE, BCE, …) never spans two modules and a module never holds two; within a
module the claims come in numeric order (a test marked with several ids is placed by its
last); every claim of the catalogue (``verify.claims``) has a spec.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from verify.claims import CATALOGUE

ROOT = Path(__file__).resolve().parents[1]
SPEC_MODULES = sorted((ROOT / "specs").glob("test_*.py"))


def _claim_ids(decorator: ast.expr) -> list[str]:
    """The ids of a ``pytest.mark.claim(...)`` decorator, or [] for any other decorator."""
    if not (isinstance(decorator, ast.Call) and ast.unparse(decorator.func) == "pytest.mark.claim"):
        return []
    return [arg.value for arg in decorator.args if isinstance(arg, ast.Constant)]


def claims_in_order(path: Path) -> list[list[str]]:
    """The claim ids of each marked test of a spec module, in the order of the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    marked = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            ids = [i for decorator in node.decorator_list for i in _claim_ids(decorator)]
            if ids:
                marked.append(ids)
    return marked


def family(claim_id: str) -> str:
    return claim_id.rsplit("-", 1)[0]


def number(claim_id: str) -> int:
    return int(claim_id.rsplit("-", 1)[1])


MARKED = {path.name: claims_in_order(path) for path in SPEC_MODULES}
CLAIM_MODULES = {name: marked for name, marked in MARKED.items() if marked}


@pytest.mark.parametrize("module", list(CLAIM_MODULES))
def test_a_spec_module_holds_one_family(module):
    families = sorted({family(i) for ids in CLAIM_MODULES[module] for i in ids})
    assert len(families) == 1, (
        f"claim families in specs/{module}: got {families}, expected one [layout, specs, -, -]"
    )


def test_a_family_lives_in_one_spec_module():
    modules: dict[str, set[str]] = {}
    for module, marked in CLAIM_MODULES.items():
        for ids in marked:
            for claim_id in ids:
                modules.setdefault(family(claim_id), set()).add(module)
    spread = {prefix: sorted(names) for prefix, names in modules.items() if len(names) > 1}
    assert not spread, f"families in several spec modules: got {spread}, expected none [layout]"


@pytest.mark.parametrize("module", list(CLAIM_MODULES))
def test_claim_sections_come_in_id_order(module):
    order = [max(number(i) for i in ids) for ids in CLAIM_MODULES[module]]
    assert order == sorted(order), (
        f"claim order in specs/{module}: got {order}, expected nondecreasing [layout]"
    )


def test_every_catalogued_claim_has_a_spec():
    specified = {i for marked in CLAIM_MODULES.values() for ids in marked for i in ids}
    missing = [claim.id for claim in CATALOGUE if claim.id not in specified]
    assert not missing, f"catalogued claims without a spec: got {missing}, expected none [layout]"


@pytest.mark.parametrize("module", list(CLAIM_MODULES))
def test_planted_bugs_sit_beside_their_planted_tests(module):
    stem = module.removeprefix("test_").removesuffix(".py")
    expected = [f"tests/planted_{stem}.py", f"tests/test_planted_{stem}.py"]
    missing = [name for name in expected if not (ROOT / name).is_file()]
    assert not missing, f"planted modules of specs/{module}: got {missing} missing, expected none"
