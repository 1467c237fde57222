"""RICE per initiative and per idea, and the Kano mix of planned effort (DESIGN.md "RICE").

``score_portfolio`` takes the marts as DataFrames and returns ``fct_portfolio_scores`` (one row per initiative or
idea not implemented by an initiative) and ``fct_portfolio_kano_mix``. Every input carries a ``*_source`` naming
where it came from, so a score can be traced back; an item that cannot be scored keeps its row with a NULL score
and rank and a ``scoring_note`` naming it and why. Nothing here reads a clock or a random source, and ties are
broken by item_key, so the same marts give the same frames, row for row.

Rules (thresholds from ``portfolio:`` in config/pmw.yml, core.config.PortfolioConfig):

* Reach, users per quarter (91 days): shipped -> adopting users in the after window scaled to 91 days
  (``measured_adoption``); else the target metric's segment per quarter (``segment_size:<event>``, from the marts);
  else the Jira Product Discovery reach field (``jpd_field``).
* Impact, 0.25 / 0.5 / 1 / 2 / 3: shipped with a measured effect -> relative lift (effect / |before value|) against
  ``impact_lift_thresholds``; a non-significant or harmful effect is 0.25 (``measured_effect``); else the JPD
  impact field (``jpd_field``); else the feature's dominant Kano category through ``kano_impact`` (``kano:<cat>``).
* Confidence: 1.0 for a measured effect that is significant or final with at least ``min_sample_size`` users on
  each side (``measured_effect``); 0.8 when feature requests or Kano respondents reach their minimum
  (``feedback_volume``); else 0.5 (``typed_in``).
* Effort, person-months: initiatives from fct_initiative_delivery (``jira_time_tracking`` / ``jira_story_points``),
  else their idea's JPD effort; ideas from the JPD effort field (``jpd_effort``). NULL or 0 -> not scored.
* An idea implemented by an initiative is scored once, as the initiative; its typed-in fields serve as fallbacks.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from core.config import IMPACT_SCALE, KANO_MIX_CATEGORIES, PortfolioConfig

DAYS_PER_QUARTER = 91
KANO_MIX_OF = {"M": "must_be", "O": "one_dimensional", "A": "attractive"}  # anything else: indifferent_or_other
UNCLASSIFIED_THEME = "unclassified"
SCORE_DIGITS = 9  # ranks compare scores rounded to this many decimals, so float noise never reorders ties

SCORE_COLUMNS = {  # name -> pandas dtype, the fct_portfolio_scores contract
    "item_key": "string",
    "item_type": "string",
    "title": "string",
    "theme": "string",
    "status": "string",
    "reach": "Float64",
    "reach_source": "string",
    "impact": "Float64",
    "impact_source": "string",
    "confidence": "Float64",
    "confidence_source": "string",
    "effort_person_months": "Float64",
    "effort_source": "string",
    "rice_score": "Float64",
    "rice_rank": "Int32",
    "kano_feature": "string",
    "kano_category": "string",
    "revenue_weighted_demand": "Float64",
    "requesting_accounts": "Int64",
    "requester_nps": "Float64",
    "scoring_note": "string",
}
KANO_MIX_COLUMNS = {
    "kano_category": "string",
    "planned_effort_person_months": "Float64",
    "effort_share": "Float64",
    "target_share": "Float64",
    "share_gap": "Float64",
}

# The mart columns each input frame must have (extra columns are ignored).
REQUIRED_INPUT_COLUMNS = {
    "initiatives": (
        "initiative_key", "summary", "is_shipped", "status_category", "effort_person_months", "effort_basis",
    ),
    "ideas": (
        "idea_key", "summary", "idea_status", "reach", "impact", "confidence", "effort_person_months",
        "implemented_by_initiative_key",
    ),
    "outcomes": (
        "initiative_key", "is_shipped", "window_days", "before_sample_size", "before_value", "after_sample_size",
        "effect", "is_significant", "outcome_status", "adopting_users_after",
    ),
    "kano": ("feature", "initiative_key", "respondents", "dominant_category"),
    "requests": ("initiative_key", "requests", "unique_accounts", "revenue_weighted_demand", "requester_nps"),
    "segments": ("initiative_key", "users_per_quarter", "segment_event"),
}  # fmt: skip


class PortfolioInputError(ValueError):
    """An input frame lacks a column the scoring reads, or holds a value it cannot use; the message names it."""


@dataclass(frozen=True)
class PortfolioScores:
    scores: pd.DataFrame  # fct_portfolio_scores
    kano_mix: pd.DataFrame  # fct_portfolio_kano_mix

    @property
    def unscored(self) -> list[str]:
        return [note for note in self.scores["scoring_note"].dropna()]


def _check_columns(frames: dict[str, pd.DataFrame]) -> None:
    for name, frame in frames.items():
        missing = [c for c in REQUIRED_INPUT_COLUMNS[name] if c not in frame.columns]
        if missing:
            raise PortfolioInputError(f"portfolio input {name!r} lacks column(s) {', '.join(missing)}")


def _value(row: Any, column: str) -> Any:
    """A cell as a plain Python value; pandas' NA / NaN / NaT become None."""
    if row is None:
        return None
    value = row[column]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value.item() if hasattr(value, "item") else value


def _index(frame: pd.DataFrame, key: str, label: str) -> dict[str, Any]:
    duplicated = frame[key][frame[key].duplicated()].dropna().unique().tolist()
    if duplicated:
        raise PortfolioInputError(f"portfolio input {label!r} repeats {key} {', '.join(map(str, sorted(duplicated)))}")
    return {row[key]: row for _, row in frame.iterrows() if _value(row, key) is not None}


def normalised_feature_name(title: str | None) -> str | None:
    """'Dark mode' -> 'dark_mode': how an idea's title meets a Kano feature name of the configuration."""
    if not title:
        return None
    return re.sub(r"[^a-z0-9]+", "_", title.casefold()).strip("_") or None


def _on_scale(value: float) -> float:
    return min(IMPACT_SCALE, key=lambda step: (abs(step - value), step))


def impact_from_lift(relative_lift: float, config: PortfolioConfig) -> float:
    for min_lift, impact in config.impact_lift_thresholds:
        if relative_lift >= min_lift:
            return impact
    return IMPACT_SCALE[0]


class _Scorer:
    def __init__(self, config: PortfolioConfig, frames: dict[str, pd.DataFrame]):
        self.config = config
        self.outcomes = _index(frames["outcomes"], "initiative_key", "outcomes")
        self.segments = _index(frames["segments"], "initiative_key", "segments")
        self.requests = _index(frames["requests"], "initiative_key", "requests")
        kano = frames["kano"].sort_values(["respondents", "feature"], ascending=[False, True], na_position="last")
        self.kano_by_initiative: dict[str, Any] = {}
        self.kano_by_feature: dict[str, Any] = {}
        for _, row in kano.iterrows():
            if _value(row, "initiative_key") is not None:
                self.kano_by_initiative.setdefault(row["initiative_key"], row)  # the most answered feature
            self.kano_by_feature.setdefault(row["feature"], row)

    def kano_for(self, item_key: str, title: str | None, idea_title: str | None) -> Any:
        if item_key in self.kano_by_initiative:
            return self.kano_by_initiative[item_key]
        for name in (normalised_feature_name(title), normalised_feature_name(idea_title)):
            if name in self.kano_by_feature:
                return self.kano_by_feature[name]
        return None

    def score(
        self,
        *,
        item_key: str,
        item_type: str,
        title: str | None,
        status: str,
        idea: Any,
        delivery: Any,
    ) -> dict[str, Any]:
        shipped = status == "shipped"
        outcome = self.outcomes.get(item_key) if item_type == "initiative" else None
        kano = self.kano_for(item_key, title, _value(idea, "summary"))
        kano_category = _value(kano, "dominant_category")
        request = self.requests.get(item_key)
        missing: list[str] = []

        # Reach
        reach, reach_source = None, None
        adopting, window = _value(outcome, "adopting_users_after"), _value(outcome, "window_days")
        segment = self.segments.get(item_key) if item_type == "initiative" else None
        if shipped and adopting is not None and window:
            reach, reach_source = adopting * DAYS_PER_QUARTER / window, "measured_adoption"
        elif _value(segment, "users_per_quarter") is not None:
            reach, reach_source = float(segment["users_per_quarter"]), f"segment_size:{segment['segment_event']}"
        elif _value(idea, "reach") is not None:
            reach, reach_source = float(idea["reach"]), "jpd_field"
        else:
            missing.append("no reach (no measured adoption, no segment size, no JPD reach)")

        # Impact
        impact, impact_source, measured = None, None, False
        effect, before = _value(outcome, "effect"), _value(outcome, "before_value")
        if shipped and effect is not None and before:
            measured = True
            if _value(outcome, "is_significant"):
                impact = impact_from_lift(effect / abs(before), self.config)
                impact_source = "measured_effect"
            else:
                impact, impact_source = IMPACT_SCALE[0], "measured_effect:not_significant"
        elif _value(idea, "impact") is not None:
            typed = float(idea["impact"])
            impact = _on_scale(typed)
            impact_source = "jpd_field" if impact == typed else "jpd_field:snapped_to_scale"
        elif kano_category in self.config.kano_impact:
            impact, impact_source = self.config.kano_impact[kano_category], f"kano:{kano_category}"
        else:
            missing.append("no impact (no measured effect, no JPD impact, no Kano category)")

        # Confidence
        samples = [_value(outcome, "before_sample_size"), _value(outcome, "after_sample_size")]
        settled = _value(outcome, "is_significant") or _value(outcome, "outcome_status") == "final"
        requests = _value(request, "requests") or 0
        respondents = _value(kano, "respondents") or 0
        if measured and settled and all(n is not None and n >= self.config.min_sample_size for n in samples):
            confidence, confidence_source = 1.0, "measured_effect"
        elif requests >= self.config.min_feature_requests or respondents >= self.config.min_kano_respondents:
            confidence, confidence_source = 0.8, "feedback_volume"
        else:
            confidence, confidence_source = 0.5, "typed_in"

        # Effort
        effort, effort_source = None, None
        delivered_effort = _value(delivery, "effort_person_months")
        basis = _value(delivery, "effort_basis")
        if delivered_effort is not None and delivered_effort > 0:
            effort = float(delivered_effort)
            effort_source = {"time_tracking": "jira_time_tracking", "story_points": "jira_story_points"}.get(
                basis, f"jira_{basis}"
            )
        elif _value(idea, "effort_person_months") is not None and idea["effort_person_months"] > 0:
            effort, effort_source = float(idea["effort_person_months"]), "jpd_effort"
        elif delivered_effort == 0 or _value(idea, "effort_person_months") == 0:
            missing.append("has an effort estimate of 0 person-months in Jira")
        else:
            missing.append("has no effort estimate in Jira")

        scored = not missing
        note = None
        if not scored:
            reasons = "; ".join(m if m.startswith("has") else f"has {m}" for m in missing)
            note = f"{item_key} {title!r} {reasons}; not ranked"
        return {
            "item_key": item_key,
            "item_type": item_type,
            "title": title,
            "theme": KANO_MIX_OF.get(kano_category, "indifferent_or_other") if kano_category else UNCLASSIFIED_THEME,
            "status": status,
            "reach": reach,
            "reach_source": reach_source,
            "impact": impact,
            "impact_source": impact_source,
            "confidence": confidence,
            "confidence_source": confidence_source,
            "effort_person_months": effort,
            "effort_source": effort_source,
            "rice_score": reach * impact * confidence / effort if scored else None,
            "rice_rank": None,
            "kano_feature": _value(kano, "feature"),
            "kano_category": kano_category,
            "revenue_weighted_demand": _value(request, "revenue_weighted_demand"),
            "requesting_accounts": _value(request, "unique_accounts"),
            "requester_nps": _value(request, "requester_nps"),
            "scoring_note": note,
        }


def _initiative_status(row: Any) -> str:
    if _value(row, "is_shipped"):
        return "shipped"
    if _value(row, "status_category") in ("indeterminate", "done"):
        return "in_delivery"
    return "discovery"


def _rank(scores: pd.DataFrame) -> pd.DataFrame:
    scored = scores[scores["rice_score"].notna()].copy()
    scored["_rank_score"] = scored["rice_score"].astype(float).round(SCORE_DIGITS)
    order = scored.sort_values(["_rank_score", "item_key"], ascending=[False, True], kind="mergesort").index
    scores.loc[order, "rice_rank"] = range(1, len(order) + 1)
    return scores


def kano_mix(scores: pd.DataFrame, config: PortfolioConfig) -> pd.DataFrame:
    """Planned (not shipped) effort per Kano mix category against the configured target mix."""
    planned = scores[(scores["status"] != "shipped") & scores["effort_person_months"].notna()]
    categories = planned["kano_category"].map(lambda c: KANO_MIX_OF.get(c, "indifferent_or_other"))
    effort_by = planned["effort_person_months"].astype(float).groupby(categories).sum()
    total = float(effort_by.sum())
    rows = []
    for category in KANO_MIX_CATEGORIES:
        effort = float(effort_by.get(category, 0.0))
        share = effort / total if total > 0 else None
        target = config.target_kano_mix[category]
        rows.append(
            {
                "kano_category": category,
                "planned_effort_person_months": effort,
                "effort_share": share,
                "target_share": target,
                "share_gap": share - target if share is not None else None,
            }
        )
    return pd.DataFrame(rows).astype(KANO_MIX_COLUMNS)


def score_portfolio(
    *,
    initiatives: pd.DataFrame,
    ideas: pd.DataFrame,
    outcomes: pd.DataFrame,
    kano: pd.DataFrame,
    requests: pd.DataFrame,
    segments: pd.DataFrame,
    config: PortfolioConfig,
) -> PortfolioScores:
    """Score every initiative (fct_initiative_delivery) and every idea (dim_ideas) not implemented by one.

    Inputs: the marts fct_initiative_delivery, dim_ideas, fct_initiative_outcomes, fct_kano_features,
    fct_feature_requests, and ``segments`` (initiative_key, users_per_quarter, segment_event: the users entering
    the initiative's target metric per 91 days, portfolio.read.segment_sizes). Raises PortfolioInputError naming a
    missing column or a repeated key.
    """
    frames = {
        "initiatives": initiatives, "ideas": ideas, "outcomes": outcomes, "kano": kano, "requests": requests,
        "segments": segments,
    }  # fmt: skip
    _check_columns(frames)
    scorer = _Scorer(config, frames)
    delivery = _index(initiatives, "initiative_key", "initiatives")
    ideas_by_key = _index(ideas, "idea_key", "ideas")
    idea_of_initiative: dict[str, Any] = {}
    for key in sorted(ideas_by_key):  # the lowest idea key when several ideas share an initiative
        initiative = _value(ideas_by_key[key], "implemented_by_initiative_key")
        if initiative in delivery:
            idea_of_initiative.setdefault(initiative, ideas_by_key[key])

    rows = []
    for key in sorted(delivery):
        row = delivery[key]
        rows.append(
            scorer.score(
                item_key=key,
                item_type="initiative",
                title=_value(row, "summary"),
                status=_initiative_status(row),
                idea=idea_of_initiative.get(key),
                delivery=row,
            )
        )
    for key in sorted(ideas_by_key):
        idea = ideas_by_key[key]
        if _value(idea, "implemented_by_initiative_key") in delivery:
            continue  # scored as its initiative
        rows.append(
            scorer.score(
                item_key=key,
                item_type="idea",
                title=_value(idea, "summary"),
                status=_value(idea, "idea_status") or "discovery",
                idea=idea,
                delivery=None,
            )
        )
    scores = pd.DataFrame(rows, columns=list(SCORE_COLUMNS)).astype(SCORE_COLUMNS)
    scores = _rank(scores).astype(SCORE_COLUMNS)
    scores = scores.sort_values("item_key", kind="mergesort").reset_index(drop=True)
    return PortfolioScores(scores=scores, kano_mix=kano_mix(scores, config))
