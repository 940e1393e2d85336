"""Afrikaans and isiXhosa: every string in the catalogues translated, the catalogues in step with the code,
and pages that really show the translations (words written here by hand, not read from the catalogues).

A failure of the first two says what to do: `make messages` after marking a string, then translate what it
added in locale/af and locale/xh (locale/README.md).
"""

import ast
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse

from casework import permissions
from tests.security import matrix

ROOT = Path(settings.BASE_DIR)
LANGUAGES = ("af", "xh")
# What `make messages` leaves out (the Makefile's MESSAGES_IGNORE): copied nowhere, extracted from nowhere.
NOT_SOURCE = {".venv", ".git", "tests", "bench", "staticfiles", "test-artifacts", "docs", "deploy", "locale"}
NOT_SOURCE_FILES = ("*.egg-info", "icd10_*.txt")
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%[sdif]|\{\w*\}|</?\w+[^>]*>")


# ------------------------------------------------------------------ reading a .po file


def _unquote(text: str) -> str:
    body = text.strip()[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def read_po(path: Path) -> list[dict]:
    """Entries of a .po file: ctx, id, plural, strs (list), flags; obsolete (#~) entries are left out."""
    entries, entry, field = [], None, None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if entry and entry["id"] is not None:
                entries.append(entry)
            entry, field = None, None
            continue
        if line.startswith("#~"):
            continue
        entry = entry or {"ctx": None, "id": None, "plural": None, "strs": {}, "flags": set()}
        if line.startswith("#,"):
            entry["flags"].update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif match := re.match(r"^(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d+)\])?\s+(\".*\")$", line):
            key, index, value = match.group(1), match.group(2), _unquote(match.group(3))
            field = (key, int(index or 0))
            if key == "msgstr":
                entry["strs"][field[1]] = value
            else:
                entry[{"msgctxt": "ctx", "msgid": "id", "msgid_plural": "plural"}[key]] = value
        elif line.startswith('"') and field:
            if field[0] == "msgstr":
                entry["strs"][field[1]] += _unquote(line)
            else:
                entry[{"msgctxt": "ctx", "msgid": "id", "msgid_plural": "plural"}[field[0]]] += _unquote(line)
    return entries


def catalogue(lang: str, root: Path = ROOT) -> list[dict]:
    return read_po(root / "locale" / lang / "LC_MESSAGES" / "django.po")


def key(entry: dict) -> tuple:
    return (entry["ctx"], entry["id"], entry["plural"])


def shown(entry: dict) -> str:
    return repr(entry["id"]) + (f" (context {entry['ctx']!r})" if entry["ctx"] else "")


# ------------------------------------------------------------------ the catalogues


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_entry_is_translated_and_none_is_fuzzy(lang):
    entries = catalogue(lang)
    header, messages = entries[0], entries[1:]
    assert header["id"] == "" and "fuzzy" not in header["flags"], "the header is fuzzy: msgfmt would skip it"
    assert f"Language: {lang}\\n" in header["strs"][0].replace("\n", "\\n")
    assert len(messages) > 900  # the whole UI, not a stub
    untranslated = [shown(e) for e in messages if not all(e["strs"].values()) or len(e["strs"]) < 1]
    fuzzy = [shown(e) for e in messages if "fuzzy" in e["flags"]]
    assert not untranslated, f"{len(untranslated)} untranslated in locale/{lang}: {untranslated[:20]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy in locale/{lang} (check each, then drop the flag): {fuzzy[:20]}"
    plurals = [shown(e) for e in messages if e["plural"] is not None and sorted(e["strs"]) != [0, 1]]
    assert not plurals, f"plural entries without both forms in locale/{lang}: {plurals}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_keep_every_placeholder_and_tag(lang):
    """A lost %(count)s or <strong> would raise or show wrongly only when that message is shown."""
    wrong = []
    for entry in catalogue(lang)[1:]:
        sources = [entry["id"], entry["plural"] or entry["id"]]
        for index, text in entry["strs"].items():
            source = sources[min(index, 1)]
            if sorted(PLACEHOLDER.findall(text)) != sorted(PLACEHOLDER.findall(source)):
                wrong.append(f"{shown(entry)} → {text!r}")
    assert not wrong, f"placeholders or tags differ in locale/{lang}: {wrong[:10]}"


def _copy_source(target: Path) -> None:
    """The files makemessages reads, without the catalogues (so it writes fresh ones beside them)."""

    def skip(directory, names):
        top = Path(directory) == ROOT
        return [
            n
            for n in names
            if (top and n in NOT_SOURCE)
            or n.startswith(".")
            or n == "__pycache__"
            or any(Path(n).match(p) for p in NOT_SOURCE_FILES)
            or ((Path(directory) / n).is_file() and not n.endswith((".py", ".html", ".txt")))
        ]

    shutil.copytree(ROOT, target, ignore=skip)


def test_catalogues_are_in_step_with_the_code(tmp_path, monkeypatch):
    """Extract the strings afresh (as `make messages` does) and compare them with both catalogues: a string
    marked in the code but missing from a catalogue shows in English; one in a catalogue but gone from the
    code is dead weight a translator still reads."""
    source = tmp_path / "src"
    _copy_source(source)
    monkeypatch.chdir(source)
    with override_settings(LOCALE_PATHS=[source / "locale"]):
        call_command("makemessages", locale=["af"], no_location=True, no_obsolete=True, verbosity=0)
    fresh = {key(e) for e in catalogue("af", source)[1:]}
    for lang in LANGUAGES:
        held = {key(e) for e in catalogue(lang)[1:]}
        missing = sorted(repr(k[1]) for k in fresh - held)
        stale = sorted(repr(k[1]) for k in held - fresh)
        assert not missing, (
            f"locale/{lang} lacks {len(missing)} strings of the code (make messages): {missing[:15]}"
        )
        assert not stale, f"locale/{lang} holds {len(stale)} strings the code no longer has: {stale[:15]}"


# ------------------------------------------------------------------ pages in Afrikaans and isiXhosa


@pytest.fixture(scope="module")
def compiled():
    """The .mo files as `make setup` compiles them, when this file runs on its own and they are stale."""
    for lang in LANGUAGES:
        folder = ROOT / "locale" / lang / "LC_MESSAGES"
        po, mo = folder / "django.po", folder / "django.mo"
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            subprocess.run(["msgfmt", "--check-format", "-o", str(mo), str(po)], check=True)
    # A changed LOCALE_PATHS empties Django's cache of loaded catalogues, so the fresh .mo files are read.
    with override_settings(LOCALE_PATHS=list(settings.LOCALE_PATHS)):
        yield


SIGN_IN_PAGE = {
    "af": ["Meld aan by Casetrail", "Gebruikersnaam", "Wagwoord", "Meld aan"],
    "xh": ["Ngena kwi-Casetrail", "Igama lomsebenzisi", "Igama lokugqitha", "Ngena"],
}
WRONG_PASSWORD = {
    "af": "Tik ’n korrekte gebruikersnaam en wagwoord in.",
    "xh": "Faka igama lomsebenzisi kunye negama lokugqitha elichanekileyo.",
}
WATCHER_HOME = {
    "af": ["Meld af", "My opdragte", "Vandag se hofrol", "Kennisgewings"],
    "xh": ["Phuma", "Iifayile zam", "Uluhlu lwanamhlanje", "Izaziso"],
}
ENGLISH = ["Sign out", "My briefs", "Today&#x27;s roll", "Notifications", "Sign in to Casetrail"]


def _visible(response) -> str:
    return response.content.decode()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_sign_in_in_the_chosen_language_shows_translated_menu_and_labels(client, make_user, compiled, lang):
    make_user(permissions.COURT_WATCHER, username="watcher")
    page = client.get(reverse("login"))
    assert 'value="af"' in _visible(page) and 'value="xh"' in _visible(page)  # the switcher, signed out

    # The switcher's own form: the choice is kept (a cookie) and the visitor is sent back to the page.
    chosen = client.post(reverse("set_language"), {"language": lang, "next": reverse("login")})
    assert chosen.status_code == 302 and chosen["Location"] == reverse("login")
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == lang

    page = _visible(client.get(reverse("login")))
    assert f'<html lang="{lang}">' in page
    for words in SIGN_IN_PAGE[lang]:
        assert words in page, words
    refused = client.post(reverse("login"), {"username": "watcher", "password": "wrong"})
    assert WRONG_PASSWORD[lang] in _visible(refused)

    signed_in = client.post(
        reverse("login"), {"username": "watcher", "password": "pw-for-tests"}, follow=True
    )
    home = _visible(signed_in)
    assert signed_in.redirect_chain[-1][0] == reverse("home")
    for words in WATCHER_HOME[lang]:
        assert words in home, words
    for words in ENGLISH:
        assert words not in home, words


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("af", ["Hofrol", "Môre", "Hierdie week", "Geen verhore in hierdie tydperk verwag nie."]),
        ("xh", ["Uluhlu lwenkundla", "Ngomso", "Kule veki", "Akukho matyala alindelekileyo kweli xesha."]),
    ],
)
def test_the_choice_outlives_sign_out_and_reaches_every_page(client, make_user, compiled, lang, expected):
    watcher = make_user(permissions.COURT_WATCHER)
    client.post(reverse("set_language"), {"language": lang, "next": "/"})
    client.force_login(watcher)
    roll = _visible(client.get(reverse("courtwatch:roll")))
    for words in expected:
        assert words in roll, words
    client.post(reverse("logout"))
    assert SIGN_IN_PAGE[lang][0] in _visible(client.get(reverse("login")))


def test_english_stays_the_default_and_can_be_chosen_back(client, compiled):
    assert "Sign in to Casetrail" in _visible(client.get(reverse("login")))
    client.post(reverse("set_language"), {"language": "xh", "next": "/"})
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    page = _visible(client.get(reverse("login")))
    assert "Sign in to Casetrail" in page and '<html lang="en">' in page


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_on_a_phone_the_switcher_is_one_tap_and_the_signed_in_pages_follow_it(
    live_server, make_user, compiled
):
    from tests.browser import ARTIFACTS, chromium_page, sign_in

    make_user(permissions.COURT_WATCHER, username="watcher.xh")
    with chromium_page(width=390, height=844, mobile=True) as page:
        page.goto(f"{live_server.url}/accounts/login/")
        switcher = page.locator("form.languages")
        for name in ("Afrikaans", "isiXhosa"):
            box = switcher.get_by_role("button", name=name).bounding_box()
            assert box["height"] >= 44 and box["x"] + box["width"] <= 390, (name, box)
        with page.expect_navigation():
            switcher.get_by_role("button", name="isiXhosa").click()
        assert page.locator("h1").inner_text() == "Ngena kwi-Casetrail"
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

        sign_in(page, live_server.url, "watcher.xh", "pw-for-tests")
        menu = page.locator("nav.menu").inner_text()
        assert "Iifayile zam" in menu and "Uluhlu lwanamhlanje" in menu, menu
        assert page.locator("form.languages .current").inner_text() == "isiXhosa"
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(ARTIFACTS / "language-isixhosa-phone.png"), full_page=True)

        with page.expect_navigation():
            page.locator("form.languages").get_by_role("button", name="English").click()
        assert "My briefs" in page.locator("nav.menu").inner_text()


# ------------------------------------------------------------------ strings the extraction would miss

# What xgettext finds in Python (its defaults and makemessages' --keyword list): any other alias of a
# django.utils.translation function marks nothing, and its strings stay English in every language.
EXTRACTED_NAMES = {
    "_",
    "gettext",
    "gettext_lazy",
    "gettext_noop",
    "ngettext",
    "ngettext_lazy",
    "pgettext",
    "pgettext_lazy",
    "npgettext",
    "npgettext_lazy",
}
TRANSLATION_IMPORT = re.compile(r"^\s*from django\.utils\.translation import (\([^)]*\)|[^#\n]+)", re.M)


def _imported(source: str) -> list[tuple[str, str]]:
    """(function, name it is bound to) for each import from django.utils.translation in ``source``."""
    pairs = []
    for names in TRANSLATION_IMPORT.findall(source):
        for part in re.sub(r"#[^\n]*", "", names).strip("()").split(","):
            function, _, alias = part.strip().partition(" as ")
            if function.strip():
                pairs.append((function.strip(), alias.strip() or function.strip()))
    return pairs


def test_translation_functions_are_imported_under_names_xgettext_reads():
    unread = []
    for path in sorted(ROOT.glob("*/**/*.py")):
        if path.relative_to(ROOT).parts[0] in NOT_SOURCE or "migrations" in path.parts:
            continue
        for function, name in _imported(path.read_text(encoding="utf-8")):
            if "gettext" in function and name not in EXTRACTED_NAMES:
                unread.append(f"{path.relative_to(ROOT)}: {function} as {name}")
    assert not unread, f"xgettext does not read these names; import them as _ or by their own name: {unread}"


# ------------------------------------------------------------------ every page, read in isiXhosa

# English words that isiXhosa text never holds: a text on an isiXhosa page with one of them is English
# (a string not marked, or marked under a name xgettext does not read, or translated at import time).
ENGLISH_WORD = re.compile(
    r"\b(the|and|of|to|is|are|not|for|with|this|that|your|you|by|at|from|was|has|have|or|yet|none|"
    r"open|show|date|when|where|who|why|what|there|been|will|can|cannot|must|after|before|every)\b",
    re.I,
)
# Text that stays English on those pages, each with why (and who would change it). The goal is an empty
# list: remove an entry when its text is in words of the page's language.
STILL_ENGLISH = {
    r"The docket had no statements\.": "feedback a court watcher typed (tests/security/world.py): data",
    r"You now watch .+\. Next appearance: .+\.": "a notification is composed in English when it is sent "
    "(courtwatch/services.py): Casetrail keeps no language per user to compose it in",
    r"referred to npa(: .+)?": "attrition steps shown by their code (templates/reporting/attrition.html)",
    r"open": "re-enrolment counts shown by their code (reporting/selectors.py, RE_ENROL_COUNTS)",
}


def _still_english(text: str) -> bool:
    return any(re.fullmatch(pattern, text) for pattern in STILL_ENGLISH)


class _VisibleText(HTMLParser):
    """Text nodes and the attributes a person reads (placeholder, aria-label, title), without scripts."""

    def __init__(self):
        super().__init__()
        self.found, self._hidden = [], 0

    def handle_starttag(self, tag, attrs):
        self._hidden += tag in ("script", "style", "code")
        self.found += [
            " ".join(v.split()) for k, v in attrs if k in ("placeholder", "aria-label", "title") and v
        ]

    def handle_endtag(self, tag):
        self._hidden -= tag in ("script", "style", "code")

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.found.append(" ".join(data.split()))


def _page_urls(side) -> list[str]:
    """The HTML pages of the permission matrix, filled with the world's scope A (as the page checks do)."""
    urls = []
    for route, cases in matrix.PAGE_ROUTES.items():
        case = next((c for c in cases if c.method == "GET"), None)
        if case is None or route.endswith((".csv", ".json")) or route in ("health/", "ready/", "api/docs/"):
            continue
        path = route
        if "<" in path:
            obj = getattr(side, case.obj, None) if case.obj else None
            if obj is None:
                continue
            path = re.sub(r"<(pk|id)>", str(obj.pk), path)
            path = re.sub(r"<code>", str(getattr(obj, "code", obj.pk)), path)
        query = "&".join(f"{k}={v}" for k, v in case.query.items())
        urls.append("/" + path + (f"?{query}" if query else ""))
    return urls


def _place_names() -> set[str]:
    """Proper names (districts, hospitals, stations, courts, suburbs) are the same in every language."""
    from casework.models import Court, District, Facility, Station, Suburb

    return {
        name
        for model in (District, Facility, Station, Court, Suburb)
        for name in model.objects.values_list("name", flat=True)
    }


@pytest.mark.django_db
def test_every_page_for_every_role_reads_in_isixhosa(compiled):
    from tests.security.world import build_world
    from tests.security.world import sign_in as signed_in

    world = build_world()
    names, english, loads = _place_names(), {}, 0
    for role in matrix.SIGNED_IN:
        client = signed_in(Client(), world.users[role])
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "xh"
        for url in _page_urls(world.a):
            response = client.get(url)
            assert response.status_code < 500, f"{role} {url}: {response.status_code} in isiXhosa"
            if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
                continue
            loads += 1
            parser = _VisibleText()
            parser.feed(response.content.decode())
            for text in parser.found:
                if ENGLISH_WORD.search(text) and text not in names and not _still_english(text):
                    english.setdefault(text, f"{role} {url}")
    assert loads > 100
    assert not english, "English on isiXhosa pages (mark it, then make messages):\n" + "\n".join(
        f"{where}: {text!r}" for text, where in sorted(english.items())
    )


def _eager_calls(node, names: set[str], in_function: bool = False) -> list[int]:
    """Lines where one of ``names`` is called outside any function (so when the module is imported)."""
    lines = []
    for child in ast.iter_child_nodes(node):
        inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        call = isinstance(child, ast.Call) and isinstance(child.func, ast.Name)
        if not inside and call and child.func.id in names:
            lines.append(child.lineno)
        lines += _eager_calls(child, names, inside)
    return lines


def test_no_string_is_translated_once_at_import():
    """gettext() at module or class level runs once, in English, and the page never changes language:
    there gettext_lazy is needed."""
    eager = []
    for path in sorted(ROOT.glob("*/**/*.py")):
        if path.relative_to(ROOT).parts[0] in NOT_SOURCE or "migrations" in path.parts:
            continue
        source = path.read_text(encoding="utf-8")
        eager_functions = ("gettext", "ngettext", "pgettext", "npgettext")
        names = {name for function, name in _imported(source) if function in eager_functions}
        if names:
            eager += [f"{path.relative_to(ROOT)}:{line}" for line in _eager_calls(ast.parse(source), names)]
    assert not eager, f"translated at import, so always English: {eager}"


def test_no_f_string_is_marked_for_translation():
    """_(f"…") is looked up after the values are filled in, so no catalogue ever holds it: use
    _("… %(name)s …") % {"name": …} instead."""
    marked = []
    for path in sorted(ROOT.glob("*/**/*.py")):
        if path.relative_to(ROOT).parts[0] in NOT_SOURCE or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            is_marking = isinstance(node, ast.Call) and getattr(node.func, "id", "") in EXTRACTED_NAMES
            if is_marking and node.args and isinstance(node.args[0], ast.JoinedStr):
                marked.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not marked, f"f-strings marked for translation (never translated): {marked}"
