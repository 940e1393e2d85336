"""No two modules of the project import each other, directly or round a longer loop (docs/STYLE.md).

Read from the import graph that import-linter builds (grimp): an import inside a function counts as
much as one at the top of a module, so a cycle cannot hide in a function. The one-way rules between
the apps are import-linter contracts (pyproject.toml, run by scripts/test.sh).
"""

import grimp

PROJECT = ("casework", "referrals", "courtwatch", "reporting", "demo", "config")


def _reachable(graph, start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for imported in graph.find_modules_directly_imported_by(todo.pop()):
            if imported not in seen:
                seen.add(imported)
                todo.append(imported)
    return seen


def import_cycles(graph) -> list[list[str]]:
    """Every set of modules that reach each other through imports (a module importing itself is one
    too), each sorted: the strongly connected components of the graph, read off reachability."""
    reach = {module: _reachable(graph, module) for module in graph.modules}
    cycles = {
        tuple(sorted(other for other in reach[module] if module in reach[other]))
        for module in graph.modules
        if module in reach[module]
    }
    return sorted(list(cycle) for cycle in cycles)


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
