"""Policy clauses a site check applies: verbatim plan text with citations.

The clauses are kept in ``layers/sources/clauses_source.json`` (``id, effect, line,
text_zh, summary_en, applies_to, scope``, and the review's ``decision``/``reason``, which
stay in the source and ``docs/DATA.md``). ``text_zh`` is the plan's words with the PDF's stray
whitespace removed; :func:`build` checks that it occurs at the cited line of the
vendored seed and that every ``applies_to`` id is a feature of the layers. ``effect``
follows the reference catalog's policy ``type``. Clauses the plan states for the whole
city apply to ``admin_220800``. The binding 三区三线 rules (生态保护红线, 永久基本农田,
城镇开发边界) and 基本草原 take effect on layers a bureau imports (:data:`OFFICIAL_LAYERS`):
their ``applies_to`` names those layer ids and ``official_layers`` repeats them, so a
site check can say when they are not loaded.
"""

from __future__ import annotations

import json

from planmap.geo.sitecheck import OFFICIAL_LAYER_NAMES
from planmap.geo.vocab import EFFECTS, SCOPES  # noqa: F401  (re-exported: builders use them)

from .common import SEED, SOURCES, cite

# ``zone``: governs any project inside the zones it applies to (sets a site check's verdict);
# ``activity``: governs only one kind of project there (``activity_zh``/``activity_en``);
# ``citywide``: stated for the whole city (listed in every check, never sets the verdict);
# ``programme``: a measure the government carries out (works, campaigns, systems): listed
# where its zones are touched, never sets the verdict.
# (EFFECTS and SCOPES: geo.vocab)
# Layer ids reserved for the official 三区三线 and basic-grassland data a bureau imports
# (``planmap import FILE --layer eco_redline``); no shipped layer uses them.
OFFICIAL_LAYERS = OFFICIAL_LAYER_NAMES
SOURCE_FILE = SOURCES / "clauses_source.json"
# Clauses of the issue-7 layers; rows may carry a ``seed`` (default 000).
EXTRA_SOURCE_FILES = (SOURCES / "clauses_context.json",
                      # Clauses of the other four plans' layers (issue 15).
                      SOURCES / "clauses_plans.json")


def build(known_ids: set[str]) -> list[dict]:
    """Return the clause dicts, checking citations and that ``applies_to`` ids exist.

    Parameters
    ----------
    known_ids
        Ids of every feature of the built layers.
    """
    with open(SOURCE_FILE, encoding="utf-8") as fh:
        rows = json.load(fh)
    for extra in EXTRA_SOURCE_FILES:
        if extra.is_file():
            with open(extra, encoding="utf-8") as fh:
                rows += json.load(fh)
    out = []
    seen = set()
    for row in rows:
        cid, effect, applies = row["id"], row["effect"], row["applies_to"]
        if effect not in EFFECTS:
            raise ValueError(f"{cid}: bad effect {effect}")
        scope = row.get("scope", "zone")
        if scope not in SCOPES:
            raise ValueError(f"{cid}: bad scope {scope}")
        if scope == "activity" and not (row.get("activity_zh") and row.get("activity_en")):
            raise ValueError(f"{cid}: an activity clause must name its activity")
        if cid in seen:
            raise ValueError(f"duplicate clause id {cid}")
        seen.add(cid)
        official = list(row.get("official_layers") or ())
        if not set(official) <= set(OFFICIAL_LAYERS) or not set(official) <= set(applies):
            raise ValueError(f"{cid}: official_layers must be reserved layer ids in applies_to")
        if not row.get("decision") or not row.get("reason"):
            raise ValueError(f"{cid}: the review's decision and reason are missing")
        missing = [i for i in applies if i not in known_ids and i not in official]
        if missing:
            raise ValueError(f"{cid}: applies_to unknown features {missing}")
        clause = {
            "id": cid,
            "effect": effect,
            "scope": scope,
            "text_zh": row["text_zh"],
            "summary_en": row["summary_en"],
            "citation": cite(row["line"], row["text_zh"], row.get("seed", SEED)),
            "applies_to": list(applies),
        }
        if official:
            clause["official_layers"] = official
        if scope == "activity":
            clause["activity_zh"] = row["activity_zh"]
            clause["activity_en"] = row["activity_en"]
        out.append(clause)
    return out
