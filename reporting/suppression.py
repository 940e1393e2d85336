"""Small-cell suppression that cannot be undone by subtraction, applied alike to the page, API and CSV.

A count of 1–4 is withheld (``None``; the page prints "<5") and named in its row's ``suppressed`` list.
Withholding it alone is not enough: a total minus the shown parts gives it back. So every answer is
described as a set of counts tied by additive identities (a total is the sum of its parts: a chart's
bars and its total, ``verdicts = convictions + acquittals``, a column and the total row), and more
counts are withheld until no withheld count is determined by what is shown:

1. Primary: a count of 1–4 (kind ``small``; a reader knows it is 1–4).
2. A total of 1–4 withholds all its parts, zeros too (``small_or_zero``: every part is then under 5,
   so "<5" stays true, and "the rest are zero" would otherwise give the small ones away).
3. Complementary: while some withheld count could be worked out, withhold the cheapest set of shown
   counts (the smallest first, "the next-smallest") that gives it room to move (``complementary``;
   a reader can tell it is at least 5 — it would be "<5" otherwise, so the check assumes that).
   Totals that another grouping of the same period shows (``public``) are never chosen: hiding them
   here would protect nothing.
4. If no shown count can give it room (say parts 1 and 5 under a known total 6: the 5 can only grow),
   every shown count of its identities is withheld, zeros too (``withheld``: any value), then of the
   whole answer.

"Cannot be worked out" is checked exactly. The identities of every report form a network (each count
is an edge between the two identities it belongs to; conservation at each identity is the sum), so the
withheld counts consistent with the shown ones differ from the true ones by circulations: a withheld
count can take another value if and only if it lies on a cycle of withheld counts along which each can
move one step within what a reader knows of it (1–4, 0–4, at least 5, at least 0). Rates are withheld
when their numerator or denominator is withheld or the denominator is under 5. Zero is shown (except
under rule 2): "none happened" discloses nobody.

``tests/reporting/test_complementary_suppression.py`` checks this by brute force over random tables.
"""

import heapq
import itertools
from collections import defaultdict
from collections.abc import Hashable, Iterable

from .permissions import MIN_DENOMINATOR, SMALL_CELL_MAX

SMALL = "small"
SMALL_OR_ZERO = "small_or_zero"
COMPLEMENTARY = "complementary"
WITHHELD = "withheld"
INFINITE = float("inf")
# What a reader who knows this rule can tell of a withheld count, by kind.
DOMAIN = {SMALL: (1, SMALL_CELL_MAX), SMALL_OR_ZERO: (0, SMALL_CELL_MAX), COMPLEMENTARY: (5, INFINITE)}
DOMAIN[WITHHELD] = (0, INFINITE)
OUTSIDE = ("outside",)  # the node standing for "no further identity"


def is_small(n) -> bool:
    return n is not None and 0 < n <= SMALL_CELL_MAX


def rate(numerator, denominator):
    if not denominator:
        return None
    return round(numerator / denominator, 4)


class NotANetwork(ValueError):
    """The identities given cannot be drawn as a network (a count in three identities, or an odd cycle)."""


class Table:
    """Counts tied by identities ``total = sum(parts)``; ``suppress()`` says which to withhold and why.

    A count may sit in at most two identities (as it does in every report here); one implied by the
    others (the verdicts column of the conviction-rate table) is left out.
    """

    def __init__(self):
        self.values: dict[Hashable, int] = {}
        self.public: set = set()
        self.virtual: set = set()
        self.identities: list[tuple[Hashable, list]] = []

    def count(self, key, value: int, *, public: bool = False) -> None:
        """A published count. ``public``: also published by another grouping of the same period."""
        self.values[key] = int(value)
        if public:
            self.public.add(key)

    def unpublished(self, key, value: int) -> None:
        """A count that is never shown but ties others (removals not attributable to police: removals −
        police-attributable, which says police-attributable ≤ removals)."""
        self.values[key] = int(value)
        self.virtual.add(key)

    def identity(self, total, parts: Iterable) -> None:
        self.identities.append((total, list(parts)))

    # ------------------------------------------------------------------ the network

    def _roles(self) -> dict:
        """key → [(identity index, is total)]."""
        roles = defaultdict(list)
        for i, (total, parts) in enumerate(self.identities):
            roles[total].append((i, True))
            for p in parts:
                roles[p].append((i, False))
        return roles

    def _orientation(self, roles: dict) -> dict[int, int]:
        """Orient each identity (+1: its total enters, its parts leave; -1: the reverse) so that every
        count enters one identity and leaves the other: a two-colouring."""
        links = defaultdict(list)
        for key, rs in roles.items():
            if len(rs) > 2:
                raise NotANetwork(f"{key!r} is in {len(rs)} identities")
            if len(rs) == 2:
                (a, ta), (b, tb) = rs
                same = ta != tb  # a total in one and a part in the other: the same orientation
                links[a].append((b, same))
                links[b].append((a, same))
        sign: dict[int, int] = {}
        for start in range(len(self.identities)):
            if start not in sign:
                sign[start] = 1
                _colour_from(start, links, sign)
        return sign

    def _edges(self) -> dict:
        """key → (tail, head): flow on the edge leaves tail and enters head; each identity is a node."""
        roles = self._roles()
        sign = self._orientation(roles)
        edges = {}
        for key in self.values:
            enters, leaves = OUTSIDE, OUTSIDE
            for i, is_total in roles.get(key, []):
                if is_total == (sign[i] == 1):
                    enters = ("identity", i)
                else:
                    leaves = ("identity", i)
            edges[key] = (leaves, enters)
        return edges

    # ------------------------------------------------------------------ suppression

    def _primary(self, preset: dict | None) -> dict:
        """Rules 1 and 2: the preset kinds, the small counts, and (downwards) the parts of a total withheld
        as under 5, which are under 5 too (a part that is itself a total passes it on): a reader cannot
        tell their zeros from their small counts."""
        kinds: dict = {k: kind for k, kind in (preset or {}).items() if k in self.values}
        for key, v in self.values.items():
            if key in self.virtual:
                kinds[key] = WITHHELD
            elif key not in kinds and is_small(v):
                kinds[key] = SMALL
        under_five = True
        while under_five:
            under_five = False
            for total, parts in self.identities:
                if kinds.get(total) not in (SMALL, SMALL_OR_ZERO):
                    continue
                for p in parts:
                    if p not in self.virtual and kinds.get(p) in (None, SMALL):
                        kinds[p] = SMALL_OR_ZERO
                        under_five = True
        return kinds

    def _withhold_around(self, net: "_Network", kinds: dict, key) -> None:
        """Rule 4. Nothing shown can give ``key`` room (the bounds "<5" and "at least 5" pin it). Withhold
        as "any value" the shown counts of its identities, then their withheld ones too (a reader no longer
        knows they are under 5), then the same across the table, sparing the shared totals; for a count of
        1-4, at last those too (a last resort no table in the tests reaches)."""
        scopes = [(net.nodes_of(key), False), (net.nodes_of(key), True), (None, False), (None, True)]
        for nodes, withheld_too in [*scopes, ("all", True)]:
            for k in net.keys_at(None if nodes == "all" else nodes):
                if kinds.get(k) == WITHHELD or (k in kinds and not withheld_too):
                    continue
                if k in self.public and nodes != "all":
                    continue
                kinds[k] = WITHHELD
                net.hide(k, WITHHELD)
            if net.free(key):
                return

    def _protect(self, net: "_Network", kinds: dict, key) -> None:
        """Rules 3 and 4 for one withheld count that could be worked out."""
        path = net.cheapest_release(key, self.public)
        if path is not None:  # a cycle through ``key`` now exists
            for k in path:
                kinds[k] = COMPLEMENTARY
                net.hide(k, COMPLEMENTARY)
        elif is_small(self.values[key]):
            self._withhold_around(net, kinds, key)
        # else: a zero under a small total pinned by a shown zero: shown at the end, as it is known

    def suppress(self, preset: dict | None = None) -> dict:
        """{key: kind} of the counts to withhold (virtual counts are not listed). ``preset``: kinds
        decided elsewhere (the total row, shared by every grouping)."""
        kinds = self._primary(preset)
        if len(kinds) == len(self.virtual):
            return {}
        net = _Network(self._edges(), self.values, kinds)
        order = {k: i for i, k in enumerate(self.values)}

        def rank(k):  # the smallest first: each then takes the next-smallest with it
            return (self.values[k], order[k])

        for key in sorted((k for k in kinds if k not in self.virtual), key=rank):
            if not net.free(key):
                self._protect(net, kinds, key)
        # A withheld count that can be worked out anyway is shown: a zero under a total of zero, say.
        # (Showing it tells a reader nothing new, so no other count loses its room.) Never a 1-4.
        for k in list(kinds):
            if k not in self.virtual and not is_small(self.values[k]) and not net.free(k):
                del kinds[k]
                net.show(k)
        return {k: kind for k, kind in kinds.items() if k not in self.virtual}


def _colour_from(start: int, links: dict, sign: dict[int, int]) -> None:
    """Give every identity linked to ``start`` the sign its link asks for; a clash is no network."""
    stack = [start]
    while stack:
        a = stack.pop()
        for b, same in links[a]:
            want = sign[a] if same else -sign[a]
            if b not in sign:
                sign[b] = want
                stack.append(b)
            elif sign[b] != want:
                raise NotANetwork("the identities do not orient consistently")


class _Network:
    """The counts as edges between identities; a withheld count's one-step moves are residual arcs."""

    def __init__(self, edges: dict, values: dict, kinds: dict):
        self.edges = edges
        self.values = values
        self.kinds = {}
        self.at = defaultdict(list)  # node → keys with an end there
        self.arcs = defaultdict(dict)  # node → {key: [nodes a one-step move of that withheld key reaches]}
        self.known_free = set()  # once free, free for good: withholding more only widens what fits
        for key, (tail, head) in edges.items():
            self.at[tail].append(key)
            if head != tail:
                self.at[head].append(key)
        for k, kind in kinds.items():
            self.hide(k, kind)

    def hide(self, key, kind) -> None:
        for node in self.edges[key]:
            self.arcs[node].pop(key, None)
        self.kinds[key] = kind
        for a, b in self._moves(key):
            self.arcs[a].setdefault(key, []).append(b)

    def show(self, key) -> None:
        for node in self.edges[key]:
            self.arcs[node].pop(key, None)
        del self.kinds[key]

    def nodes_of(self, key):
        return set(self.edges[key])

    def keys_at(self, nodes):
        if nodes is None:
            return list(self.edges)
        return [k for n in nodes for k in self.at[n]]

    def _moves(self, key, kind=None):
        """(from, to) steps the count can take by one within its domain: up moves flow tail → head."""
        lo, hi = DOMAIN[kind or self.kinds[key]]
        v = self.values[key]
        tail, head = self.edges[key]
        out = []
        if v + 1 <= hi:
            out.append((tail, head))
        if v - 1 >= lo:
            out.append((head, tail))
        return out

    def _reachable(self, start, goal, skip) -> bool:
        if start == goal:
            return True
        seen, stack = {start}, [start]
        while stack:
            node = stack.pop()
            for k, targets in self.arcs[node].items():
                if k == skip:
                    continue
                for b in targets:
                    if b not in seen:
                        if b == goal:
                            return True
                        seen.add(b)
                        stack.append(b)
        return False

    def free(self, key) -> bool:
        """Whether the withheld count can take another value consistent with everything shown."""
        if key in self.known_free:
            return True
        tail, head = self.edges[key]
        if tail == head or any(self._reachable(b, a, key) for a, b in self._moves(key)):
            self.known_free.add(key)  # in no identity (nothing ties it), or on a cycle
            return True
        return False

    def cheapest_release(self, key, excluded: set):
        """The shown counts (each at least 5, none excluded) whose withholding lets ``key`` move: the
        smallest total, by Dijkstra over withheld counts (free) and candidates (cost = their value)."""
        best = None
        for a, b in self._moves(key):  # one way that works is enough (the other costs a second search)
            best = self._dijkstra(b, a, key, excluded)
            if best is not None:
                break
        if best is not None:
            self.known_free.add(key)
            self.known_free.update(best[1])
        return None if best is None else best[1]

    def _dijkstra(self, start, goal, skip, excluded):
        if not hasattr(self, "_candidates"):  # a shown count's moves as a complement, by node
            self._candidates = defaultdict(list)
            for k, v in sorted(self.values.items(), key=lambda kv: kv[1]):
                if v >= 5:
                    for a, b in self._moves(k, COMPLEMENTARY):
                        self._candidates[a].append((k, b))
        tie = itertools.count()
        heap = [(0, next(tie), start)]
        best = {start: 0}
        came = {}  # node → (previous node, key withheld to get there or None)
        done = set()
        while heap:
            cost, _, node = heapq.heappop(heap)
            if node in done:
                continue
            if node == goal:
                path = []
                while node != start:
                    node, k = came[node]
                    if k is not None:
                        path.append(k)
                return cost, tuple(path)
            done.add(node)
            steps = [(k, b, 0, None) for k, bs in self.arcs[node].items() if k != skip for b in bs]
            steps += [
                (k, b, self.values[k], k)
                for k, b in self._candidates[node]
                if k != skip and k not in self.kinds and k not in excluded
            ]
            for _k, b, extra, add in steps:
                if b not in done and cost + extra < best.get(b, INFINITE):
                    best[b] = cost + extra
                    came[b] = (node, add)
                    heapq.heappush(heap, (cost + extra, next(tie), b))
        return None


# ------------------------------------------------------------------ applying the kinds to rows


def apply(row: dict, fields: Iterable[str], kinds: dict, key) -> dict:
    """Blank the withheld fields of one row (``kinds`` keyed by ``key(field)``); list them under
    ``suppressed`` and, of those, the ones withheld only to protect others under ``complementary``."""
    out = dict(row)
    withheld, complementary = [], []
    for f in fields:
        kind = kinds.get(key(f))
        if kind is None:
            continue
        out[f] = None
        withheld.append(f)
        if kind in (COMPLEMENTARY, WITHHELD):
            complementary.append(f)
    if withheld:
        out["suppressed"] = out.get("suppressed", []) + withheld
    if complementary:
        out["complementary"] = out.get("complementary", []) + complementary
    return out


def with_rates(row: dict, raw: dict, rates: dict[str, tuple[str, str]], *, suppress: bool) -> dict:
    """Add ``rates`` (name → (numerator, denominator)) computed from the raw counts; withheld when
    either count is withheld in ``row`` or the denominator is under 5."""
    out = dict(row)
    for name, (num, den) in rates.items():
        value = rate(raw[num], raw[den])
        if (
            suppress
            and value is not None
            and (out[num] is None or out[den] is None or raw[den] < MIN_DENOMINATOR)
        ):
            value = None
            out["suppressed"] = out.get("suppressed", []) + [name]
        out[name] = value
    return out


def finish_row(row: dict, *, counts: list[str], rates: dict[str, tuple[str, str]], suppress: bool) -> dict:
    """One row on its own (no identities with other rows): its small counts withheld, then its rates.
    Reports whose rows add up use ``Table`` instead."""
    kinds = {f: SMALL for f in counts if suppress and is_small(row.get(f))}
    return with_rates(apply(row, counts, kinds, lambda f: f), row, rates, suppress=suppress)


def suppress_count(n, suppress: bool):
    """One bare count with no identity (a spike's observed count): ``None`` when small."""
    return None if suppress and is_small(n) else n


# ------------------------------------------------------------------ the tables the reports publish

TOTAL = ("total",)  # never a group code


def series_table(counts: dict) -> Table:
    """A chart's bars and its total (the total is the same in every grouping of the period: public)."""
    t = Table()
    for key, n in counts.items():
        t.count(("cell", key), n)
    t.count(TOTAL, sum(counts.values()), public=True)
    t.identity(TOTAL, [("cell", key) for key in counts])
    return t


def cross_table(cells: dict, rows: list, columns: list) -> Table:
    """A two-way table (``cells[(row, column)]``) with its margins (``("row", r)``, ``("column", c)``,
    published as charts of their own) and its total (public)."""
    t = Table()
    for r in rows:
        for c in columns:
            t.count(("cell", (r, c)), cells.get((r, c), 0))
    for r in rows:
        t.count(("row", r), sum(cells.get((r, c), 0) for c in columns))
        t.identity(("row", r), [("cell", (r, c)) for c in columns])
    for c in columns:
        t.count(("column", c), sum(cells.get((r, c), 0) for r in rows))
        t.identity(("column", c), [("cell", (r, c)) for r in rows])
    t.count(TOTAL, sum(cells.get((r, c), 0) for r in rows for c in columns), public=True)
    t.identity(TOTAL, [("row", r) for r in rows])
    t.identity(TOTAL, [("column", c) for c in columns])
    return t


def grouped_table(
    rows: dict, total: dict, *, row_identities: list[tuple[str, list[str]]], unpublished=()
) -> Table:
    """Rows of counts (``rows[group][field]``) each obeying ``row_identities`` (``verdicts =
    convictions + acquittals``), and a total row, the column sums, shared by every grouping (public).

    ``unpublished`` fields tie others but are not shown (eligible but known to police). Column
    identities are written for the fields that are not a row identity's total (those follow from them).
    """
    t = Table()
    fields = list(total)
    for g, row in rows.items():
        for f in fields:
            (t.unpublished if f in unpublished else t.count)((g, f), row[f])
        for whole, parts in row_identities:
            t.identity((g, whole), [(g, p) for p in parts])
    for f in fields:
        if f in unpublished:
            t.unpublished((TOTAL, f), total[f])
        else:
            t.count((TOTAL, f), total[f], public=bool(rows))  # alone, its counts protect each other
    for whole, parts in row_identities:
        t.identity((TOTAL, whole), [(TOTAL, p) for p in parts])
    totals = {w for w, _ in row_identities}
    if rows:
        for f in fields:
            if f not in totals:
                t.identity((TOTAL, f), [(g, f) for g in rows])
    return t


def suppress_grouped(rows: dict, total: dict, **spec) -> dict:
    """{(group or TOTAL, field): kind}: the total row decided on its own first (so it is withheld the
    same way in every grouping of the period), then the rows around it."""
    preset = grouped_table({}, total, **spec).suppress()
    return grouped_table(rows, total, **spec).suppress(preset)


WITHHELD_MARK = "x"


def shown(row: dict, field: str):
    """What a page or chart prints for a count: the count, ``None`` ("<5"), or "x" (withheld only so
    that a small count cannot be worked out, or withheld as any value)."""
    if field in row.get("complementary", ()):
        return WITHHELD_MARK
    return row.get(field)


# ------------------------------------------------------------------ groupings nested in coarser ones
# A chart by facility sits inside the chart by health sub-district of the same period and filters (a
# suburb inside its SAPS station precinct, a precinct inside its cluster, a court inside its district),
# and a reader may open both: a sub-district's figure minus its shown facilities would give back a
# facility withheld alone among them. So the finer chart is suppressed with the coarser ones' figures as
# known (each parent = the sum of its children, public), after the coarser charts are decided on their
# own, exactly as they are when asked for directly: neither gives away what the other withholds.


def fold(counts: dict, parent_of: dict) -> dict:
    """The counts summed into their parents (a child with no parent in the map goes to ``""``)."""
    out: dict = defaultdict(int)
    for key, n in counts.items():
        out[parent_of.get(key, "")] += n
    return dict(out)


def _canonical(counts: dict) -> dict:
    """The same counts in one order whatever order they came in (the largest first, then by key), so a
    grouping is withheld alike when asked for directly and when a finer one is protected against it."""
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0]))))


def _level_key(level: int, key):
    return ("cell", key) if level == 0 else ("level", level, key)


def nested_table(levels: list[dict], chain: list[dict], bottom: int = 0) -> Table:
    """``levels[i]`` are the bars of grouping ``bottom + i`` (each the one before folded by ``chain[i]``);
    the bottom one is the chart, the coarser ones are published by their own charts (public)."""
    t = Table()
    for i, counts in enumerate(levels):
        for key, n in counts.items():
            t.count(_level_key(bottom + i, key), n, public=i > 0)
    t.count(TOTAL, sum(levels[0].values()), public=True)
    for i, parent_of in enumerate(chain):
        members = defaultdict(list)
        for key in levels[i]:
            members[parent_of.get(key, "")].append(_level_key(bottom + i, key))
        for parent, parts in members.items():
            t.identity(_level_key(bottom + i + 1, parent), parts)
    t.identity(TOTAL, [_level_key(bottom + len(levels) - 1, key) for key in levels[-1]])
    return t


def suppress_nested(counts: dict, chain: list[dict]) -> dict:
    """{("cell", key) or TOTAL: kind} for a chart whose bars nest in coarser groupings: ``chain[0]`` maps
    each bar to its parent, ``chain[1]`` each parent to its own, and so on (facility → sub-district;
    suburb → station → cluster). With no chain it is the plain chart (``series_table``). The coarsest
    grouping is decided first, then each finer one with the coarser ones' kinds as given."""
    levels = [_canonical(counts)]
    for parent_of in chain:
        levels.append(_canonical(fold(levels[-1], parent_of)))
    kinds: dict = {}
    for bottom in range(len(levels) - 1, -1, -1):
        kinds = nested_table(levels[bottom:], chain[bottom:], bottom).suppress(kinds)
    return {k: kind for k, kind in kinds.items() if k == TOTAL or k[0] == "cell"}


def _lone_withheld(rows: dict, coarse_kinds: dict, parent_of: dict, fields, kinds: dict) -> dict:
    """Counts to withhold more so that no parent's figure, shown or withheld, is undone by its children:
    a parent whose children hide only one count of a field (shown parent: parent − the shown children
    gives it) takes its next-smallest shown sibling of at least 5 too; a withheld parent whose children
    all show takes its smallest non-zero child."""
    members = defaultdict(list)
    for g in rows:
        members[parent_of.get(g, "")].append(g)
    extra = {}
    for parent, groups in members.items():
        for f in fields:
            hidden = [g for g in groups if (g, f) in kinds]
            shown_ = sorted((rows[g][f], str(g), g) for g in groups if (g, f) not in kinds)
            parent_withheld = (parent, f) in coarse_kinds
            if not parent_withheld and len(hidden) == 1:
                pick = [g for n, _s, g in shown_ if n >= 5][:1]
            elif parent_withheld and not hidden:
                pick = [g for n, _s, g in shown_ if n > 0][:1]
            else:
                pick = []
            extra.update({(g, f): COMPLEMENTARY for g in pick})
    return extra


def suppress_grouped_nested(rows: dict, total: dict, parent_of: dict, **spec) -> dict:
    """``suppress_grouped`` for rows nested in coarser groups of another report of the same period (courts
    in districts): the parents' rows decided on their own (as that report does), then the rows, then
    for each field and parent a lone withheld child takes a complement (``_lone_withheld``), and the
    rows are protected again around it, until nothing changes. (Rows tied by their own identities are
    no network with their parents, so this is the sibling rule, not the exact check of ``Table``.)"""
    fields = list(total)
    parents: dict = defaultdict(lambda: dict.fromkeys(fields, 0))
    for g, row in rows.items():
        for f in fields:
            parents[parent_of.get(g, "")][f] += row[f]
    coarse_kinds = suppress_grouped(dict(sorted(parents.items(), key=lambda kv: str(kv[0]))), total, **spec)
    preset = grouped_table({}, total, **spec).suppress()
    kinds = grouped_table(rows, total, **spec).suppress(preset)
    forced: dict = {}  # kept withheld even where the table alone would show them again
    while extra := {
        k: kind
        for k, kind in _lone_withheld(rows, coarse_kinds, parent_of, fields, kinds).items()
        if k not in forced
    }:
        forced.update(extra)
        kinds = {**grouped_table(rows, total, **spec).suppress({**kinds, **forced}), **forced}
    return kinds
