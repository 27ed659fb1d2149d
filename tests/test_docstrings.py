"""The public API is documented where people read it: every public function, class and
method of every module (the names in each module's ``__all__``) passes numpydoc's validation
for a docstring (GL08) and a ``Parameters`` section that documents every parameter, nothing
else, in signature order (PR01, PR02, PR03); our own reading of the sections must agree; no
docstring cites a document users do not have."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import re

import pytest

import crossalign as ca

SECTION = "Parameters\n----------"


def _modules():
    for mod in pkgutil.walk_packages(ca.__path__, "crossalign."):
        last = mod.name.rsplit(".", 1)[-1]
        if last.startswith("_") or mod.name == "crossalign.skill":  # private, deprecated alias
            continue
        yield importlib.import_module(mod.name)


def _public_objects():
    seen = set()
    for module in [ca, *_modules()]:
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)) or id(obj) in seen:
                continue
            if obj.__module__.startswith("crossalign.") and obj.__module__ != module.__name__:
                continue  # documented where it is defined
            seen.add(id(obj))
            yield f"{obj.__module__}.{obj.__qualname__}", obj
            if inspect.isclass(obj):
                yield from _methods(obj)


def _methods(cls):
    fields = {f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else set()
    for name, value in vars(cls).items():
        if name.startswith("_") or name in fields:
            continue
        func = value.__func__ if isinstance(value, classmethod | staticmethod) else value
        if inspect.isfunction(func):
            yield f"{cls.__module__}.{cls.__qualname__}.{name}", func


PUBLIC = dict(_public_objects())


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


def _documented(doc: str) -> set[str]:
    section = doc.split(SECTION, 1)[1]
    section = re.split(r"\n(Returns|Yields|Raises|Examples|Notes|See Also)\n-+", section)[0]
    names = set()
    for line in section.splitlines():
        if line and not line.startswith(" "):
            names |= {p.strip() for p in line.split(":")[0].split(",")}
    return names


def _contract(qualname: str, obj) -> str:
    """The docstring that documents ``obj``: its own, a referred base class's, or for an
    overriding method the documented method of a base class."""
    doc = inspect.getdoc(obj) or ""
    if SECTION in doc:
        return doc
    referred = re.search(r"Parameters are those of\s+:class:`(\w+)`", doc)
    if inspect.isclass(obj) and referred:
        return inspect.getdoc(getattr(ca, referred.group(1))) or ""
    owner_name, _, method = qualname.rpartition(".")
    owner = next((o for q, o in PUBLIC.items() if q == owner_name and inspect.isclass(o)), None)
    if owner is not None:
        for base in owner.__mro__[1:]:
            base_doc = inspect.getdoc(vars(base).get(method)) if method in vars(base) else None
            if base_doc and SECTION in base_doc:
                return base_doc
    return doc


def test_the_check_covers_the_whole_api():
    assert len(PUBLIC) > 300
    assert "crossalign.data.representations.Representations.from_dataset" in PUBLIC
    assert "crossalign.metrics.predictivity.Predictivity" in PUBLIC


@pytest.mark.parametrize("qualname", sorted(PUBLIC))
def test_every_parameter_is_documented(qualname):
    obj = PUBLIC[qualname]
    assert inspect.getdoc(obj), f"{qualname} has no docstring"
    params = _parameters(obj)
    if not params:
        return
    doc = _contract(qualname, obj)
    assert SECTION in doc, f"{qualname} has no numpydoc Parameters section"
    missing = [p for p in params if p not in _documented(doc)]
    assert not missing, f"{qualname}: parameters {missing} are not in its Parameters section"


CHECKED = ("GL08", "PR01", "PR02", "PR03")


@pytest.mark.parametrize("qualname", sorted(PUBLIC))
def test_numpydoc_validation(qualname):
    import warnings

    from numpydoc.validate import validate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        errors = [(code, msg) for code, msg in validate(qualname)["errors"] if code in CHECKED]
    assert not errors, f"{qualname}: {errors}"


def test_no_docstring_cites_an_internal_document():
    for module in _modules():
        text = inspect.getsource(module)
        assert "DESIGN section" not in text and "DESIGN.md" not in text, module.__name__
