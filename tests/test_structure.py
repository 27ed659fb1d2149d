"""The floor plan: layers a newcomer can see, checked. At most 12 modules at the package top,
no source file over 800 lines, no import cycle (imports inside functions counted), no private
name imported across modules, imports inside functions only for optional dependencies, a light
``import crossalign``, the generated Layout current, and every old import path still working
with a warning that names the new one."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from crossalign._aliases import MOVED_MODULES, REMOVED_IN

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "crossalign"
#: Packages a function may import lazily: the optional extras and the benchmark references.
OPTIONAL = {
    "torch", "torchvision", "timm", "open_clip", "transformers", "av", "duckdb", "jinja2",
    "matplotlib", "h5py", "nibabel", "pynwb", "PIL", "efficientnet_lite_pytorch",
    "distributed", "dask", "sklearn", "rsatoolbox", "tables", "zarr", "pyarrow",
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


@pytest.mark.parametrize("old", sorted(MOVED_MODULES))
def test_old_module_paths_import_with_a_warning_naming_the_new_place(old):
    new = MOVED_MODULES[old][0]
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=rf"{old} moved to {new}.*{REMOVED_IN}"):
        module = importlib.import_module(old)
    target = importlib.import_module(new)
    public = [n for n in getattr(target, "__all__", dir(target)) if not n.startswith("_")]
    for name in public[:5]:
        assert getattr(module, name) is getattr(target, name)
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        module.no_such_name  # noqa: B018


def test_from_old_path_import_name_works():
    sys.modules.pop("crossalign.patterns", None)
    with pytest.warns(DeprecationWarning, match="crossalign.analysis.patterns"):
        from crossalign.patterns import cross_region_matrix
    from crossalign.analysis.patterns import cross_region_matrix as new

    assert cross_region_matrix is new


@pytest.mark.parametrize(
    ("old", "name", "new"),
    [
        ("crossalign.stats", "leaderboard", "crossalign.evaluation.summaries"),
        ("crossalign.stats", "paradigm_summary", "crossalign.evaluation.summaries"),
        ("crossalign.stats", "plan_inference", "crossalign.study.plan"),
        ("crossalign.io.loaders", "load_nifti", "crossalign.io.nifti"),
        ("crossalign.io.loaders", "save_xarray", "crossalign.io.xarray_files"),
        ("crossalign.models.adapters", "load_model", "crossalign.models.sources"),
    ],
)
def test_names_moved_out_of_a_module_warn_and_resolve(old, name, new):
    module = importlib.import_module(old)
    with pytest.warns(DeprecationWarning, match=rf"{old}.{name} moved to {new}"):
        obj = getattr(module, name)
    assert obj is getattr(importlib.import_module(new), name)


def test_new_paths_import_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        for name in MODULES:
            if not name.endswith("_unpickle_child") and "bench" not in name:
                importlib.import_module(name)
