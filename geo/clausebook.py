"""The plan's policy clauses, looked up by the features and layers they apply to.

:class:`ClauseBook` is built once from the plan data's clause list (``layers/clauses.json``
as :func:`layers.load` gives it) and answers the questions the site check, the tiers and the
conflict report ask: which clauses name this feature (by its id, then by its layer's id),
with which effect and scope.  :func:`index_clauses` keeps one book per zone index and
clause list, with the per-feature and per-feature-set answers worked out from it, in a
cache held weakly by the index (nothing is stored on the index itself).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Mapping


def scope_of(clause: Mapping) -> str:
    """Return a clause's scope (``zone`` when it names none)."""
    return clause.get("scope") or "zone"


class ClauseBook:
    """Clauses by the feature or layer ids their ``applies_to`` names.

    Parameters
    ----------
    clauses : iterable of dict
        Policy clauses (``id``, ``effect``, ``scope``, ``applies_to``, ``citation``…).
    plan_titles : mapping, optional
        Seed → ``{"title_zh", "title_en"}`` (:attr:`geo.index.ZoneIndex.plan_titles`), for
        the clause entries of results.

    Notes
    -----
    Lookups keep the data's order; a clause listing a target twice is found twice, as
    the per-target lists always were.
    """

    def __init__(self, clauses: Iterable[Mapping], plan_titles: Mapping | None = None):
        self.clauses = tuple(clauses)
        self.plan_titles = dict(plan_titles or {})
        self._by_target: dict[str, list] = {}
        self._templates: dict[str, list] = {}
        for clause in self.clauses:
            template = self._template(clause)
            for target in clause.get("applies_to") or ():
                self._by_target.setdefault(str(target), []).append(clause)
                self._templates.setdefault(str(target), []).append(template)

    def _template(self, clause: Mapping) -> dict:
        citation = clause.get("citation") or {}
        seed = citation.get("seed")
        return {
            "id": clause["id"],
            "effect": clause.get("effect"),
            "text_zh": clause.get("text_zh"),
            "summary_en": clause.get("summary_en"),
            "scope": scope_of(clause),
            "activity_zh": clause.get("activity_zh"),
            "activity_en": clause.get("activity_en"),
            "citation": citation,
            "plan": {"seed": seed, **self.plan_titles.get(seed, {"title_zh": None,
                                                                   "title_en": None})},
            "zones": [],
        }

    def naming(self, target: str) -> tuple:
        """Return the clauses (source dicts) whose ``applies_to`` names ``target``."""
        return tuple(self._by_target.get(str(target), ()))

    def for_feature(self, feature_id: str, layer_id: str | None = None) -> tuple:
        """Return the clauses naming a feature by its id, then those naming its layer."""
        found = self.naming(feature_id)
        return found if layer_id is None else found + self.naming(layer_id)

    def templates_for(self, feature_id: str, layer_id: str) -> tuple:
        """Return the result entries of :meth:`for_feature` (``zones`` empty; shared: copy).

        Each entry has ``id``, ``effect``, ``text_zh``, ``summary_en``, ``scope``,
        ``activity_zh``, ``activity_en``, ``citation``, ``plan`` and ``zones``.
        """
        return (tuple(self._templates.get(str(feature_id), ()))
                + tuple(self._templates.get(str(layer_id), ())))

    def zone_clauses(self, feature_id: str, effects: Iterable[str] | None = None) -> list:
        """Return the ``zone``-scoped clauses naming a feature id, optionally of some effects."""
        wanted = None if effects is None else set(effects)
        return [c for c in self.naming(feature_id) if scope_of(c) == "zone"
                and (wanted is None or c.get("effect") in wanted)]


class IndexClauses:
    """A :class:`ClauseBook` for one zone index, with the answers worked out from it.

    Attributes
    ----------
    clauses : list
        The clause list it was built for (compared by identity).
    book : ClauseBook
    plans : dict
        The site check's clause plans per touched-feature set (bounded by its owner).
    tiers : dict
        :mod:`geo.tiers` answers per feature set (bounded by its owner).
    official_note : tuple or None
        ``(clause list, note)`` of :func:`geo.sitecheck.official_layers_note`.
    """

    __slots__ = ("clauses", "book", "plans", "tiers", "official_note", "_fids", "_flayers",
                 "_per_feature")

    def __init__(self, index, clauses: list):
        table = index.feature_table
        self.clauses = clauses
        self.book = ClauseBook(clauses, index.plan_titles)
        self.plans: dict = {}
        self.tiers: dict = {}
        self.official_note = None
        self._fids, self._flayers = table.ids, table.layers
        self._per_feature: dict[int, tuple] = {}

    def templates_of(self, f: int) -> tuple:
        """Return the clause entries naming feature ``f`` (internal index): id, then layer."""
        found = self._per_feature.get(f)
        if found is None:
            found = self._per_feature[f] = self.book.templates_for(self._fids[f],
                                                                   self._flayers[f])
        return found


_BY_INDEX: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def index_clauses(index, clauses: list) -> IndexClauses:
    """Return the :class:`IndexClauses` of ``index`` for ``clauses`` (made once per list).

    One per index: a different clause list (by identity) replaces it.  Held weakly by the
    index, so it goes when the index goes (a reload's new index starts afresh).
    """
    found = _BY_INDEX.get(index)
    if found is not None and found.clauses is clauses:
        return found
    made = IndexClauses(index, clauses)
    with _LOCK:
        _BY_INDEX[index] = made
    return made
