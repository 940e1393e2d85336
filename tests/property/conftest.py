"""Prints how many examples and steps each property machine ran, so the figure can be recorded."""

from .machine import RUNS, TOOK


def pytest_terminal_summary(terminalreporter):
    if not RUNS:
        return
    terminalreporter.section("property machines")
    for name, run in sorted(RUNS.items()):
        terminalreporter.write_line(
            f"{name}: {int(run['examples'])} examples, {int(run['steps'])} steps "
            f"({int(run['refused'])} refused), {run['seconds']:.1f} s"
        )
        took = ", ".join(f"{k} {v}" for k, v in sorted(TOOK[name].items()))
        terminalreporter.write_line(f"  succeeded: {took}")
