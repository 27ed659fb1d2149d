"""Generate the README's Layout section and docs/api.md from the package tree.

Every module's opening docstring says what it owns; this script lists every module once, by
subpackage, with the first sentence of that docstring. ``python tools/layout.py`` rewrites
both files; ``--check`` exits 1 when either is out of date (the test suite runs it).
"""

from __future__ import annotations

import ast
import re
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "crossalign"
START, END = "<!-- layout:start (tools/layout.py) -->", "<!-- layout:end -->"
NAME_WIDTH, WIDTH = 24, 100


def first_sentence(path: Path) -> str:
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    paragraph = " ".join(doc.strip().split("\n\n")[0].split())
    paragraph = re.sub(r":(?:func|class|mod|meth|data):`~[\w.]*?(\w+)`", r"\1", paragraph)
    paragraph = re.sub(r":(?:func|class|mod|meth|data):`([^`]+)`", r"\1", paragraph)
    depth = 0
    for i, char in enumerate(paragraph):
        depth += {"(": 1, ")": -1}.get(char, 0)
        end = char == "." and depth == 0 and paragraph[i + 1 : i + 2] in ("", " ")
        if end and not re.search(r"(e\.g|i\.e|al)$", paragraph[:i]):
            paragraph = paragraph[: i + 1]
            break
    return paragraph.replace("``", "`")


def entries(folder: Path, depth: int = 1) -> list[tuple[int, str, Path]]:
    out: list[tuple[int, str, Path]] = []
    files = sorted(p for p in folder.glob("*.py") if p.name != "__init__.py")
    packages = sorted(p for p in folder.iterdir() if (p / "__init__.py").exists())
    for path in files:
        out.append((depth, path.name, path))
    for pkg in packages:
        out.append((depth, pkg.name + "/", pkg / "__init__.py"))
        out.extend(entries(pkg, depth + 1))
    return out


def layout() -> str:
    lines = ["src/crossalign/"]
    for depth, name, path in entries(PACKAGE):
        indent = "  " * depth
        label = f"{indent}{name}".ljust(NAME_WIDTH)
        text = textwrap.wrap(first_sentence(path), WIDTH - NAME_WIDTH - 1) or [""]
        lines.append(f"{label} {text[0]}".rstrip())
        lines.extend(" " * NAME_WIDTH + " " + more for more in text[1:])
    return "\n".join(lines)


def public_modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if any(p.startswith("_") for p in parts) or parts[-1] == "cli":
            continue
        names.append(".".join(parts))
    return names


def api_page() -> str:
    groups: dict[str, list[str]] = {}
    for name in public_modules():
        parts = name.split(".")
        group = parts[1] if len(parts) > 1 else "crossalign"
        groups.setdefault(group, []).append(name)
    out = [
        "# API reference",
        "",
        "Generated from the docstrings, one section per subpackage (`tools/layout.py` writes",
        "this page from the package tree).",
    ]
    for group in sorted(groups, key=lambda g: (g != "crossalign", g)):
        out += ["", f"## {group}"]
        for name in sorted(groups[group], key=lambda n: (n.count("."), n)):
            out += ["", f"::: {name}"]
    return "\n".join(out) + "\n"


def render_readme(text: str) -> str:
    block = f"{START}\n```\n{layout()}\n```\n{END}"
    if START not in text:
        raise SystemExit(f"README.md has no {START} marker")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return head + block + tail


def main(check: bool) -> int:
    targets = {
        ROOT / "README.md": render_readme((ROOT / "README.md").read_text()),
        ROOT / "docs" / "api.md": api_page(),
    }
    stale = [p for p, new in targets.items() if p.read_text() != new]
    if check:
        for path in stale:
            print(f"{path.relative_to(ROOT)} is out of date: run python tools/layout.py")
        return 1 if stale else 0
    for path in stale:
        path.write_text(targets[path])
    return 0


if __name__ == "__main__":
    sys.exit(main("--check" in sys.argv))
