"""No two modules of the project import each other, directly or round a longer loop (docs/STYLE.md).

Read from the import graph that import-linter builds (grimp): an import inside a function counts as
much as one at the top of a module, so a cycle cannot hide in a function. The one-way rules between
the apps are import-linter contracts (pyproject.toml, run by scripts/test.sh).
"""

import grimp

PROJECT = ("casework", "referrals", "courtwatch", "reporting", "demo", "config")


def import_cycles(graph) -> list[list[str]]:
    """Every set of modules that reach each other through imports (Tarjan's strongly connected
    components with more than one module, or a module importing itself), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles = []

    def visit(root: str) -> None:
        # Iterative, so a deep import chain cannot hit the recursion limit.
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, targets = work[-1]
            target = next(targets, None)
            if target is not None:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph.find_modules_directly_imported_by(target)))))
                elif target in on_stack:
                    low[module] = min(low[module], index[target])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[module])
            if low[module] == index[module]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == module:
                        break
                if len(component) > 1 or module in graph.find_modules_directly_imported_by(module):
                    cycles.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return sorted(cycles)


def _describe(graph, cycle: list[str]) -> str:
    members = set(cycle)
    lines = []
    for importer in cycle:
        for imported in sorted(graph.find_modules_directly_imported_by(importer) & members):
            for detail in graph.get_import_details(importer=importer, imported=imported):
                lines.append(
                    f"    {importer}:{detail['line_number']} imports {imported}: {detail['line_contents']}"
                )
    return " <-> ".join(cycle) + "\n" + "\n".join(lines)


def test_the_cycle_finder_finds_a_loop_and_names_its_modules():
    graph = grimp.ImportGraph()
    for importer, imported in [
        ("a.x", "a.y"),
        ("a.y", "a.z"),
        ("a.z", "a.x"),
        ("a.z", "a.w"),
        ("a.v", "a.v"),
    ]:
        graph.add_import(importer=importer, imported=imported, line_number=1, line_contents="import")
    assert import_cycles(graph) == [["a.v"], ["a.x", "a.y", "a.z"]]


def test_no_two_modules_of_the_project_import_each_other():
    graph = grimp.build_graph(*PROJECT, include_external_packages=False, cache_dir=None)
    cycles = import_cycles(graph)
    assert not cycles, "Import cycles (move the shared part down):\n" + "\n".join(
        _describe(graph, c) for c in cycles
    )
