"""Honest CI (issue 11, finding 6): under CI=true a missing part fails the run, not hides as an xfail."""

import sys
from pathlib import Path

import pytest

from config.celery import app

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parent.parent

CONFTEST = """
from tests import ci_gate
ci_gate.MISSING.update(ci_gate.parts(on_postgres=True, redis_url="redis://here"))
from tests.ci_gate import (
    pytest_collection_modifyitems, pytest_configure, pytest_runtest_logreport, pytest_runtest_setup,
    pytest_sessionfinish, pytest_sessionstart, pytest_terminal_summary,
)
"""

BROWSER_TEST = """
import pytest

@pytest.mark.browser
def test_a_page_in_chromium():
    pass

def test_plain():
    pass
"""

SKIPPING_TEST = """
import pytest

def test_skipped_for_no_reason_ci_accepts():
    pytest.skip("not today")

@pytest.mark.xfail(reason="known", run=False)
def test_never_run():
    pass

@pytest.mark.ci_may_skip("the tool lives outside the repository")
def test_allowed_to_skip():
    pytest.skip("no tool here")

def test_plain():
    pass
"""


def run(pytester, monkeypatch, source: str, *, ci: bool):
    """A throwaway pytest run, in a subprocess whose PATH has no chromium, with the project's CI gate."""
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_tiny=source)
    monkeypatch.setenv("PATH", str(pytester.mkdir("bin")))
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setenv("CI", "true" if ci else "false")
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    return pytester.run(sys.executable, "-m", "pytest", "-p", "no:django", "-p", "no:cacheprovider", "-rA")


def test_under_ci_a_browser_test_without_chromium_fails_the_run(pytester, monkeypatch):
    result = run(pytester, monkeypatch, BROWSER_TEST, ci=True)

    assert result.ret == 1
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*CI=true but Debian's chromium is not installed*"])


def test_outside_ci_a_browser_test_without_chromium_is_skipped_with_its_reason(pytester, monkeypatch):
    result = run(pytester, monkeypatch, BROWSER_TEST, ci=False)

    assert result.ret == 0
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*Debian's chromium is not installed*"])


def test_under_ci_any_skip_or_xfail_not_marked_as_allowed_fails_the_run_and_is_listed(pytester, monkeypatch):
    result = run(pytester, monkeypatch, SKIPPING_TEST, ci=True)

    assert result.ret == 1
    result.assert_outcomes(passed=1, skipped=2, xfailed=1)
    result.stdout.fnmatch_lines(
        [
            "*CI=true: skipped or xfailed without ci_may_skip (the run fails)*",
            "test_tiny.py::test_skipped_for_no_reason_ci_accepts: skip (Skipped: not today)",
            "test_tiny.py::test_never_run: xfail ([[]NOTRUN] known)",
        ]
    )
    assert "test_allowed_to_skip:" not in result.stdout.str()


def test_a_task_that_fails_in_a_test_raises_there_instead_of_being_swallowed():
    @app.task(name="tests.ci_gate.explode", shared=False)
    def explode():
        raise ValueError("the task's own error")

    with pytest.raises(ValueError, match="the task's own error"):
        explode.apply()
