"""Rules checked once and kept compiled, per rulebook.

Checking a rule's grammar costs far more than judging it, and a catalogue's rules rarely change, so
each rule is checked once and kept compiled. Two lookups find it again: by the rule object (confirmed
by comparing it with a snapshot, so a rule edited in place is checked anew) and by its content (a
type-exact frozen copy, so equal rules read afresh from the database share one compiled form). Equal
sub-rules are one object, so within one call each is judged once.
"""

from __future__ import annotations

import copy
import datetime as dt
import pickle
import threading
from typing import Any

from kb.eligibility.rulebook import Rulebook, check_rule
from kb.eligibility.verdicts import Rule


class _Uncacheable(Exception):
    """A rule holding a value that cannot be pickled; it is checked and compiled on every call."""


def _content_key(value: Any) -> bytes:
    """Return bytes equal only for rules that read back identically.

    Unlike `==`, this tells 1, 1.0 and True apart, and a list from a tuple, as the grammar does;
    and it is cheaper than any walk in Python.
    """
    try:
        return pickle.dumps(value, protocol=5)
    except (pickle.PicklingError, TypeError, AttributeError, RecursionError) as error:
        raise _Uncacheable from error


class Cond:
    """A compiled condition: field, op and value, with its explanations made once per (negation, date)."""

    __slots__ = ("field", "op", "value", "explain", "ref", "as_of", "texts", "if_missing", "confirm_unstated")

    def __init__(self, node: Rule) -> None:
        """Hold the condition's field, op, a copy of its value and its optional keys; no explanation made yet."""
        self.field, self.op, self.value = node["field"], node["op"], copy.deepcopy(node["value"])
        self.explain, self.ref, self.as_of = node.get("explain", NO_TEXT), node.get("ref"), node.get("as_of", NO_TEXT)
        self.texts: dict[tuple[bool, dt.date], str] = {}  # explanations by (negated, date), made once
        self.if_missing = node.get("if_missing", NO_TEXT)
        # A condition firms rarely state and rarely fail (行业不在负面清单): unstated, it is one to confirm, not asked.
        self.confirm_unstated = node.get("unstated") == "confirm"


class Unencoded:
    """A compiled official condition the rule does not encode: its name, explanation, reference and source."""

    __slots__ = ("name", "explain", "ref", "source")

    def __init__(self, node: Rule) -> None:
        """Hold the condition's name, reference, source and explanation (the name when it has none)."""
        self.name, self.ref, self.source = node["unencoded"], node.get("ref"), node.get("source")
        self.explain = node.get("explain") or node["unencoded"]


class Branch:
    """A compiled `all` (a conjunction) or `any` of child nodes."""

    __slots__ = ("conjunction", "children")

    def __init__(self, conjunction: bool, children: tuple[Any, ...]) -> None:
        """Hold whether it is an `all` and its compiled children."""
        self.conjunction, self.children = conjunction, children


class Not:
    """A compiled `not` of one child node."""

    __slots__ = ("child",)

    def __init__(self, child: Any) -> None:
        """Hold the compiled child."""
        self.child = child


class CategoryRef:
    """A compiled reference to a derived category, by its name."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        """Hold the category's name."""
        self.name = name


NO_TEXT = object()
Node = Any  # Cond | Branch | Not | CategoryRef


class Compiled:
    """A checked rule (or its problems), with a snapshot to confirm an in-place edit did not change it."""

    __slots__ = ("root", "problems", "snapshot")

    def __init__(self, root: Node | None, problems: list[str], snapshot: Any) -> None:
        """Hold the compiled root (None for a rule with problems), the problems and the rule's snapshot."""
        self.root, self.problems, self.snapshot = root, problems, snapshot


class BookCache:
    """Compiled rules for one rulebook."""

    MAX_ENTRIES = 200_000  # rule objects remembered by identity; cleared beyond this (old revisions)

    def __init__(self, book: Rulebook) -> None:
        """Keep the rulebook, with nothing compiled yet."""
        self.book = book
        self.by_object: dict[int, tuple[Any, Compiled]] = {}
        self.by_content: dict[Any, Compiled] = {}
        self.nodes: dict[Any, Node] = {}
        self.categories: dict[str, Node] = {}
        self.holds: dict[Node, frozenset[str]] = {}

    def compiled(self, rule: Any) -> Compiled:
        """The rule compiled, or its problems: found by the rule object, else by its content, else checked now."""
        seen = self.by_object.get(id(rule))
        if seen is not None and seen[0] is rule and rule == seen[1].snapshot:
            return seen[1]
        try:
            key = _content_key(rule)
        except _Uncacheable:
            problems = check_rule(rule, book=self.book)
            return Compiled(None if problems else self.build(rule, cache=False), problems, None)
        found = self.by_content.get(key)
        if found is None:
            problems = check_rule(rule, book=self.book)
            found = Compiled(None if problems else self.build(rule), problems, copy.deepcopy(rule))
            self.by_content[key] = found
        if len(self.by_object) >= self.MAX_ENTRIES:
            self.by_object.clear()
        self.by_object[id(rule)] = (rule, found)  # holding the rule keeps its id from being reused
        return found

    def build(self, node: Rule, cache: bool = True) -> Node:
        """Compile a node; equal nodes give one object (dispatching on keys as the grammar does)."""
        if cache:
            try:
                key = _content_key(node)
            except _Uncacheable:
                cache = False
            else:
                found = self.nodes.get(key)
                if found is not None:
                    return found
        if "all" in node or "any" in node:
            built: Node = Branch("all" in node, tuple(
                self.build(child, cache) for child in node.get("all") or node.get("any")))
        elif "not" in node:
            built = Not(self.build(node["not"], cache))
        elif "category" in node:
            built = CategoryRef(node["category"])
        elif "unencoded" in node:
            built = Unencoded(node)
        else:
            built = Cond(node)
        if cache:
            self.nodes[key] = built
        return built

    def category(self, name: str) -> Node:
        """The compiled rule of a derived category, compiled on first use."""
        # Category rules were checked when the rulebook was loaded; like before, they are not re-checked.
        found = self.categories.get(name)
        if found is None:
            found = self.categories[name] = self.build(self.book.categories[name].rule)
        return found


_book_caches: dict[int, BookCache] = {}
_book_caches_lock = threading.Lock()


def cache_for(book: Rulebook) -> BookCache:
    """The compiled rules of a rulebook, made on its first use (all are dropped once 16 rulebooks have one)."""
    cache = _book_caches.get(id(book))
    if cache is None or cache.book is not book:
        with _book_caches_lock:
            if len(_book_caches) >= 16:  # rulebooks made in tests; the shipped one is reloaded rarely
                _book_caches.clear()
            cache = _book_caches[id(book)] = BookCache(book)
    return cache
