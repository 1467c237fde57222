"""Kano questionnaires (wide or long CSV) -> feedback/kano_answers rows, one per (response, feature).

Questions are matched exactly (after trimming) against ``config.feedback.kano_features``: each feature has a
functional and a dysfunctional question and optionally an importance question. Answers: the five options in their
common wordings, or the numeric coding 1 like, 2 expect, 3 neutral, 4 live with, 5 dislike; importance 1-9.

Wide: one row per respondent; a question column that maps to no configured question stops the file. A record is a
(row, feature) pair with at least one answer. Long: one row per answer; a record is an input row; a question that
maps to no feature, an unmatched answer, or an answer whose pair is incomplete is quarantined.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from core.config import KanoFeature
from ingest.common.identity import email_hash
from ingest.common.ranges import row_problem
from ingest.feedback.contract import KANO_ANSWER_COLUMNS
from ingest.feedback.csv_rows import CsvRows, fit_width, raw_row
from ingest.feedback.errors import MalformedFileError, RecordError
from ingest.feedback.rows import EntityRows, FileRows, Record, load_records
from ingest.feedback.values import clean, id_text, optional_id, raw_json, timestamp

ENTITY = "kano_answers"
WIDE_META = ("respondent_id", "email", "submitted_at", "user_id")
LONG_COLUMNS = ("respondent_id", "email", "submitted_at", "user_id", "question", "answer")
LONG_REQUIRED = ("respondent_id", "submitted_at", "question", "answer")
ROLES = ("functional", "dysfunctional", "importance")

_ANSWER_WORDINGS = {
    "like": ("i like it", "i like it that way", "like", "i would like it", "i would like it that way", "delighted"),
    "expect": (
        "i expect it",
        "it must be that way",
        "it must be",
        "i expect it to be that way",
        "must be",
        "must-be",
        "expect",
        "i expect it that way",
    ),
    "neutral": ("i am neutral", "i'm neutral", "i don't care", "i do not care", "neutral", "indifferent"),
    "live_with": (
        "i can live with it",
        "i can tolerate it",
        "i can live with it that way",
        "live with",
        "live with it",
        "tolerate",
        "i can tolerate it that way",
    ),
    "dislike": ("i dislike it", "i don't like it", "i do not like it", "i dislike it that way", "dislike"),
}
_CODES = {"1": "like", "2": "expect", "3": "neutral", "4": "live_with", "5": "dislike"}
_PUNCTUATION = re.compile(r"[.!\s]+$")


def _fold(text: str) -> str:
    folded = " ".join(text.replace("’", "'").replace("‘", "'").lower().split())
    return _PUNCTUATION.sub("", folded)


ANSWERS = {_fold(w): option for option, wordings in _ANSWER_WORDINGS.items() for w in wordings} | _CODES


def kano_option(value: str, role: str, feature: str) -> str:
    folded = _fold(value)
    if folded.endswith(".0") and folded[:-2] in _CODES:  # spreadsheets turn 3 into 3.0
        folded = folded[:-2]
    option = ANSWERS.get(folded)
    if option is None:
        raise RecordError(f"{role} answer {value!r} for {feature} matches no Kano option")
    return option


def importance(value: str, feature: str) -> int:
    text = value.strip()
    if text.endswith(".0"):
        text = text[:-2]
    if not text.isdigit() or not 1 <= int(text) <= 9:
        raise RecordError(f"importance answer {value!r} for {feature} is not a whole number from 1 to 9")
    return int(text)


@dataclass(frozen=True)
class QuestionRole:
    feature: str
    role: str  # functional | dysfunctional | importance


def question_roles(features: tuple[KanoFeature, ...]) -> dict[str, QuestionRole]:
    roles: dict[str, QuestionRole] = {}
    for f in features:
        for role in ROLES:
            text = getattr(f, f"{role}_question")
            if text:
                roles[text.strip()] = QuestionRole(f.feature, role)
    return roles


def _answer_row(
    respondent_id: str,
    email: str | None,
    user_id: str | None,
    answered_at: datetime,
    feature: str,
    answers: dict[str, str],
) -> dict[str, Any]:
    """answers: role -> raw text. Both functional and dysfunctional are required; importance is optional."""
    for role in ("functional", "dysfunctional"):
        if not answers.get(role):
            raise RecordError(f"{role} answer for {feature} is missing")
    return {
        "response_id": f"{respondent_id}@{answered_at.isoformat(sep=' ')}",
        "respondent_id": respondent_id,
        "respondent_email_hash": email_hash(email),
        "user_id": user_id,
        "feature": feature,
        "functional_answer": kano_option(answers["functional"], "functional", feature),
        "dysfunctional_answer": kano_option(answers["dysfunctional"], "dysfunctional", feature),
        "importance": importance(answers["importance"], feature) if answers.get("importance") else None,
        "answered_at": answered_at,
    }


def parse_kano_wide(rows: CsvRows, label: str, features: tuple[KanoFeature, ...]) -> FileRows:
    out = FileRows("kano_wide_csv", ENTITY)
    header = [c.strip() for c in rows[0]]
    roles = question_roles(features)
    columns: dict[str, dict[str, int]] = {}
    for i, name in enumerate(header):
        if name in WIDE_META:
            continue
        role = roles.get(name)
        if role is None:
            raise MalformedFileError(
                f"Kano export {label}: column {i + 1} {name!r} matches no question in feedback.kano_features"
            )
        columns.setdefault(role.feature, {})[role.role] = i
    for feature, found in columns.items():
        for needed in ("functional", "dysfunctional"):
            if needed not in found:
                raise MalformedFileError(f"Kano export {label}: feature {feature} has no {needed} question column")
    if not columns:
        raise MalformedFileError(f"Kano export {label} has no column for any configured Kano question")
    out.details["features"] = sorted(columns)

    def parse(record: Record) -> EntityRows:
        cells, feature = record.payload
        values = dict(zip(header, cells, strict=True))
        answers = {role: cells[i].strip() for role, i in columns[feature].items()}
        row = _answer_row(
            id_text(values["respondent_id"], "respondent_id"),
            clean(values.get("email")),
            optional_id(values.get("user_id"), "user_id"),
            timestamp(values.get("submitted_at"), "submitted_at"),
            feature,
            answers,
        )
        return {ENTITY: [row]}

    records: list[Record] = []
    for n, raw_cells in enumerate(rows[1:], 1):
        try:
            cells = fit_width(raw_cells, len(header))
        except RecordError as exc:  # the whole row is bad: one quarantine row for it
            out.rows_in += 1
            out.rows_rejected += 1
            out.reject(Record(n, None, raw_json(raw_row(header, raw_cells)), raw_cells), str(exc))
            continue
        respondent = clean(cells[header.index("respondent_id")])
        for feature in columns:
            if not any(cells[i].strip() for i in columns[feature].values()):
                continue  # the respondent was not asked about this feature
            key = f"{respondent}:{feature}" if respondent else None
            # The raw text is made when needed (a duplicate key's digest, a rejection), not for every answer.
            raw = partial(_wide_raw, header, raw_cells, feature)
            records.append(Record(n, key, raw, (cells, feature)))
    load_records(out, records, parse, "answer")
    return out


def _wide_raw(header: list[str], cells: list[str], feature: str) -> str:
    return raw_json(raw_row(header, cells) | {"_feature": feature})


def _long_raw(header: list[str], cells: list[str]) -> str:
    return raw_json(raw_row(header, cells))


def parse_kano_long(rows: CsvRows, label: str, features: tuple[KanoFeature, ...]) -> FileRows:
    out = FileRows("kano_long_csv", ENTITY)
    header = [c.strip() for c in rows[0]]
    roles = question_roles(features)
    index = {name: header.index(name) for name in LONG_COLUMNS if name in header}
    records: list[Record] = []
    # (respondent, submitted_at text, feature) -> role -> records answering it
    groups: dict[tuple[str, str, str], dict[str, list[Record]]] = {}
    for n, raw_cells in enumerate(rows[1:], 1):
        record = Record(n, None, partial(_long_raw, header, raw_cells), raw_cells)
        records.append(record)
        out.rows_in += 1
        try:
            cells = fit_width(raw_cells, len(header))
            respondent = id_text(cells[index["respondent_id"]], "respondent_id")
            question = cells[index["question"]].strip()
            role = roles.get(question)
            if role is None:
                raise RecordError(f"question {question!r} matches no question in feedback.kano_features")
            record.key = f"{respondent}:{role.feature}:{role.role}"
            groups.setdefault((respondent, cells[index["submitted_at"]].strip(), role.feature), {}).setdefault(
                role.role, []
            ).append(record)
            record.payload = (cells, role)
        except RecordError as exc:
            out.reject(record, str(exc))
            out.rows_rejected += 1
    folded: list[str] = []
    for (respondent, _, feature), by_role in groups.items():
        group_records = [r for rs in by_role.values() for r in rs]
        answers: dict[str, str] = {}
        reasons: dict[int, str] = {}
        for role, answering in by_role.items():
            distinct = {r.payload[0][index["answer"]].strip() for r in answering}
            if len(distinct) > 1:
                listed = ", ".join(str(r.number) for r in answering)
                for r in answering:
                    reasons[r.number] = f"conflicting {role} answers for {feature} from {respondent} (records {listed})"
            elif len(answering) > 1:
                folded.append(f"{respondent}:{feature}:{role} (records {', '.join(str(r.number) for r in answering)})")
            answers[role] = distinct.pop() if len(distinct) == 1 else ""
        first_cells = group_records[0].payload[0]
        try:
            if reasons:
                raise RecordError("")
            email = clean(first_cells[index["email"]]) if "email" in index else None
            user_id = optional_id(first_cells[index["user_id"]], "user_id") if "user_id" in index else None
            row = _answer_row(
                respondent,
                email,
                user_id,
                timestamp(first_cells[index["submitted_at"]], "submitted_at"),
                feature,
                answers,
            )
            problem = row_problem(KANO_ANSWER_COLUMNS, row)  # an answer time outside 1900..2100
            if problem is not None:
                raise RecordError(problem)
        except RecordError as exc:
            for r in group_records:
                out.reject(r, reasons.get(r.number) or _pair_reason(str(exc), r, by_role))
                out.rows_rejected += 1
            continue
        row["_record_number"] = min(r.number for r in group_records)
        out.entities[ENTITY].append(row)
        out.rows_loaded += len(group_records)
    if folded:
        out.notes.append(f"identical duplicate answers loaded once: {'; '.join(folded)}")
    out.entities[ENTITY].sort(key=lambda row: row["_record_number"])
    return out


def _pair_reason(reason: str, record: Record, by_role: dict[str, list[Record]]) -> str:
    """The record that caused a group's failure gets the reason; its partners say which record it was."""
    role = record.payload[1].role
    if reason.startswith(f"{role} answer") or " missing" in reason or "submitted_at" in reason:
        return reason
    culprits = [r.number for rl, rs in by_role.items() if reason.startswith(f"{rl} answer") for r in rs]
    if not culprits and reason.startswith("importance answer"):
        culprits = [r.number for r in by_role.get("importance", [])]
    where = f" (record {', '.join(str(n) for n in culprits)})" if culprits else ""
    return f"its pair cannot be loaded{where}: {reason}"


__all__ = ["ANSWERS", "kano_option", "parse_kano_long", "parse_kano_wide", "question_roles"]
