"""The floor plan: layers a newcomer can see, checked. At most 12 modules at the package top,
no source file over 800 lines, no import cycle (imports inside functions counted), no private
name imported across modules, imports inside functions only for optional dependencies, a light
``import crossalign``, the generated Layout current, and every old import path still working
with a warning that names the new one."""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "crossalign"
#: Packages a function may import lazily: the optional extras and the benchmark references.
OPTIONAL = {
    "torch", "torchvision", "timm", "open_clip", "transformers", "av", "duckdb", "jinja2",
    "matplotlib", "h5py", "nibabel", "pynwb", "PIL", "efficientnet_lite_pytorch",
    "distributed", "dask", "sklearn", "rsatoolbox", "tables", "zarr", "pyarrow", "threadpoolctl",
    "visualpriors",
}  # fmt: skip


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> list[tuple[str, list[str], bool]]:
    """(module, imported names, inside a function) for every import of ``path``."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    in_function = {
        id(sub)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for sub in ast.walk(node)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            found.append((base, [a.name for a in node.names], id(node) in in_function))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                found.append((alias.name, [], id(node) in in_function))
    return found


def _graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    for name, path in MODULES.items():
        for module, names, _ in _imports(name, path):
            for target in [module, *(f"{module}.{n}" for n in names)]:
                if target in MODULES and target != name:
                    edges[name].add(target)
    return edges


def test_at_most_12_modules_at_the_top_and_none_over_800_lines():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= 12, top
    long = {n: len(p.read_text().splitlines()) for n, p in MODULES.items()}
    assert {n: k for n, k in long.items() if k > 800} == {}


def _find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        stack.pop()
        return None

    for module in sorted(edges):
        if module not in state and (cycle := visit(module)):
            return cycle
    return None


def test_no_import_cycle_counting_imports_inside_functions():
    assert _find_cycle(_graph()) is None


def test_the_cycle_check_finds_a_planted_cycle():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_private_names_across_modules_and_lazy_imports_only_for_optional_packages():
    private, lazy = [], []
    for name, path in MODULES.items():
        for module, names, inside in _imports(name, path):
            if module.startswith("crossalign") and module != name:
                private += [
                    f"{name}: {module}.{n}"
                    for n in names
                    if n.startswith("_") and not n.startswith("__")
                ]
            if inside and module.split(".")[0] not in OPTIONAL:
                lazy.append(f"{name}: {module}")
    assert private == []
    assert lazy == []


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_import_crossalign_stays_light():
    code = (
        "import sys, crossalign\n"
        "heavy = ['torch', 'sklearn', 'matplotlib', 'duckdb', 'transformers', 'av', 'dask',"
        " 'rsatoolbox', 'jinja2', 'h5py', 'nibabel', 'timm', 'open_clip']\n"
        "print([m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_layout_and_api_page_are_generated_from_the_tree():
    run = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "layout.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout
    readme = (ROOT / "README.md").read_text()
    for name, path in MODULES.items():
        label = path.name if path.name != "__init__.py" else path.parent.name + "/"
        assert label in readme, name


def test_new_paths_import_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        for name in MODULES:
            if not name.endswith("_unpickle_child") and "bench" not in name:
                importlib.import_module(name)


# ----------------------------------------------------------------- state lives in the context
#: Mutable module-level objects that are not caches: the fault-injection counter of the crash
#: tests (active only under CROSSALIGN_FAULT) and the registry of option checks (filled at
#: import by the modules that own each option).
NOT_CACHES = {("_faults.py", "_counts"), ("config.py", "_CHECKS")}
_MUTATORS = {
    "append", "extend", "setdefault", "update", "add", "put", "clear", "pop", "popitem",
    "insert", "remove", "discard", "move_to_end",
}  # fmt: skip
_MUTABLE_CALLS = {"dict", "list", "set", "OrderedDict", "defaultdict", "Choices", "Memos"}


def _module_state(tree: ast.Module) -> dict[str, ast.expr]:
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            out.update({t.id: node.value for t in node.targets if isinstance(t, ast.Name)})
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            out[node.target.id] = node.value
    return out


def _mutated_in_functions(tree: ast.Module, names: set[str]) -> set[str]:
    """Module-level names written into (item assignment or a mutating method) inside a
    function, or rebound there through ``global``."""
    found = set()
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for n in ast.walk(fn):
            if isinstance(n, ast.Global):
                found |= set(n.names)
            targets = n.targets if isinstance(n, ast.Assign) else []
            if isinstance(n, ast.AugAssign | ast.AnnAssign):
                targets = [n.target]
            for t in targets:
                if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name):
                    found.add(t.value.id)
            func = n.func if isinstance(n, ast.Call) else None
            if isinstance(func, ast.Attribute) and func.attr in _MUTATORS:
                found |= {func.value.id} if isinstance(func.value, ast.Name) else set()
    return found & names


def state_violations(source: str, filename: str) -> list[str]:
    """Module-level caches (mutable objects written from functions, or memory objects made at
    import), writes into an object's ``__dict__``, and imports of crossalign modules by
    name (which the layers contract cannot see)."""
    tree = ast.parse(source)
    state = _module_state(tree)
    out = [
        f"{filename}: module-level {name} is written from a function"
        for name in sorted(_mutated_in_functions(tree, set(state)))
        if (Path(filename).name, name) not in NOT_CACHES
    ]
    for name, value in state.items():
        func = value.func if isinstance(value, ast.Call) else None
        called = getattr(func, "id", getattr(func, "attr", None))
        if called in _MUTABLE_CALLS - {"dict", "list", "set"}:
            out.append(f"{filename}: module-level {name} = {called}()")
    for n in ast.walk(tree):
        if isinstance(n, ast.Attribute) and n.attr == "__dict__":
            out.append(f"{filename}:{n.lineno}: __dict__ (an object's attributes written)")
        if isinstance(n, ast.Call) and getattr(n.func, "attr", getattr(n.func, "id", "")) in (
            "import_module",
            "__import__",
        ):
            arg = n.args[0] if n.args else None
            text = ast.unparse(arg) if arg is not None else ""
            if "crossalign" in text:
                out.append(f"{filename}:{n.lineno}: imports a crossalign module by name")
        text = n.value if isinstance(n, ast.Constant) and isinstance(n.value, str) else ""
        if re.fullmatch(r"crossalign(\.\w+)+:\w+", text):
            out.append(f"{filename}:{n.lineno}: names a crossalign function by string")
    return out


def test_no_module_level_cache_no_dict_write_no_import_by_name():
    found = []
    for path in sorted((ROOT / "src" / "crossalign").rglob("*.py")):
        found += state_violations(path.read_text(), str(path.relative_to(ROOT)))
    assert found == []


@pytest.mark.parametrize(
    ("source", "what"),
    [
        ("_SEEN = {}\ndef f(k):\n    _SEEN[k] = 1\n", "module-level _SEEN is written"),
        ("MEMO = []\ndef f(k):\n    MEMO.append(k)\n", "module-level MEMO is written"),
        ("N = 0\ndef f():\n    global N\n    N += 1\n", "module-level N is written"),
        ("from x import Choices\nCHOICES = Choices()\n", "module-level CHOICES = Choices()"),
        ("def f(obj):\n    obj.__dict__.setdefault('m', {})\n", "__dict__"),
        ("import importlib\nimportlib.import_module('crossalign.stats')\n", "by name"),
        ("EXECUTORS = {'dask': 'crossalign.engine.distributed:run'}\n", "by string"),
    ],
)
def test_the_state_check_finds_planted_cases(source, what):
    found = state_violations(source, "planted.py")
    assert len(found) == 1 and what in found[0]


def test_the_modules_started_first_exist():
    from tests.conftest import SLOWEST_MODULES

    missing = [m for m in SLOWEST_MODULES if not (ROOT / m).is_file()]
    assert missing == [], "tests/conftest.py SLOWEST_MODULES names modules that are gone"
