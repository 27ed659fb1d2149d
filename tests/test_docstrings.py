"""The public API is documented where people read it: every function and class of the
top-level namespace has a numpydoc ``Parameters`` section naming each of its parameters
(classes may refer to a documented base), and no docstring cites a document users do not
have."""

from __future__ import annotations

import inspect
import re

import pytest

import crossalign as ca

PUBLIC = [
    name
    for name in ca.__all__
    if inspect.isfunction(getattr(ca, name)) or inspect.isclass(getattr(ca, name))
]


def _parameters(obj) -> list[str]:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return []
    return [
        p.name
        for p in sig.parameters.values()
        if p.name not in ("self", "cls") and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


@pytest.mark.parametrize("name", PUBLIC)
def test_every_parameter_is_documented(name):
    obj = getattr(ca, name)
    doc = inspect.getdoc(obj) or ""
    assert doc, f"{name} has no docstring"
    params = _parameters(obj)
    if not params:
        return
    inherited = re.search(r"Parameters are those of\s+:class:`(\w+)`", doc)
    if inspect.isclass(obj) and inherited:
        doc = inspect.getdoc(getattr(ca, inherited.group(1)))
    assert "Parameters\n----------" in doc, f"{name} has no numpydoc Parameters section"
    section = doc.split("Parameters\n----------", 1)[1]
    section = re.split(r"\n(Returns|Yields|Raises|Examples|Notes|See Also)\n-+", section)[0]
    documented = set()
    for line in section.splitlines():
        if line and not line.startswith(" "):
            documented |= {p.strip() for p in line.split(":")[0].split(",")}
    missing = [p for p in params if p not in documented]
    assert not missing, f"{name}: parameters {missing} are not in its Parameters section"


def test_no_docstring_cites_an_internal_document():
    import importlib
    import pkgutil

    for mod in pkgutil.walk_packages(ca.__path__, "crossalign."):
        module = importlib.import_module(mod.name)
        text = inspect.getsource(module)
        assert "DESIGN section" not in text and "DESIGN.md" not in text, mod.name
