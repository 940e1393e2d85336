"""Fails when a production module is over 600 lines or a function over 60 (issue 13).

Migrations, benchmarks and tests are outside the rule: they read top to bottom, not as rooms.
Usage: python scripts/check_sizes.py [paths…]   (default: the apps and config)
"""

import ast
import sys
from pathlib import Path

MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 60
APPS = ["casework", "referrals", "courtwatch", "reporting", "config", "demo"]


def production_modules(roots: list[str]):
    for root in roots:
        path = Path(root)
        files = [path] if path.suffix == ".py" else sorted(path.rglob("*.py"))
        for f in files:
            if "migrations" not in f.parts:
                yield f


def problems(path: Path) -> list[str]:
    text = path.read_text()
    out = []
    lines = text.count("\n") + 1
    if lines > MAX_MODULE_LINES:
        out.append(f"{path}: {lines} lines (at most {MAX_MODULE_LINES})")
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = node.end_lineno - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                limit = MAX_FUNCTION_LINES
                out.append(f"{path}:{node.lineno}: {node.name} is {length} lines (at most {limit})")
    return out


def main(argv: list[str]) -> int:
    found = [p for f in production_modules(argv or APPS) for p in problems(f)]
    print("\n".join(found) or "sizes: every module and function within bounds")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
