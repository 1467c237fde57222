"""NPS / CSAT survey exports -> feedback/survey_responses rows.

Layouts (detected in ingest/feedback/detect.py):
- Delighted API JSON (``/v1/survey_responses.json``): person as an id or expanded; created_at in epoch seconds.
- Delighted dashboard CSV: fixed columns, then one column per person property, then Tags / Notes.
- Typeform responses CSV: ``#`` token, one column per question, hidden fields, ``Submit Date (UTC)``.
- SurveyMonkey expanded CSV: two header rows; multi-option questions span several columns.
- Generic CSAT CSV: ``response_id,user_id,email,score,comment,responded_at``.

Scores outside the scale (NPS 0-10, CSAT 1-5) are quarantined, never clipped. Names and IP addresses are dropped;
emails become ``respondent_email_hash``; segment fields go to ``properties`` (JSON).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from ingest.common.identity import email_hash
from ingest.common.row_writer import RowStage
from ingest.feedback.csv_rows import CsvRows, Reread, fit_width, load_csv_records, raw_row
from ingest.feedback.errors import MalformedFileError, RecordError
from ingest.feedback.json_keys import DELIGHTED_RESPONSE_KEYS, DELIGHTED_RESPONSE_OPTIONAL, key_drift
from ingest.feedback.rows import EntityRows, FileRows, Record, load_records
from ingest.feedback.values import (
    clean,
    id_text,
    is_email_key,
    optional_id,
    properties_json,
    raw_json,
    score,
    scrub_text,
    split_list,
    timestamp,
)

ENTITY = "survey_responses"
SCALES = {"nps": (0, 10), "csat": (1, 5)}
NPS_QUESTION = re.compile(r"\brecommend", re.IGNORECASE)
CSAT_QUESTION = re.compile(r"\bsatisf(ied|action)\b", re.IGNORECASE)
COMMENT_QUESTION = re.compile(r"\b(reason|why|comment|comments|feedback|tell us|anything else)\b", re.IGNORECASE)
USER_ID_KEYS = {"user_id", "userid", "user id"}
ACCOUNT_ID_KEYS = {"account_id", "accountid", "account id", "company_id", "company id"}
# SurveyMonkey 5-point labels exported without their number.
CSAT_LABELS = {
    "very dissatisfied": 1,
    "dissatisfied": 2,
    "neither satisfied nor dissatisfied": 3,
    "neutral": 3,
    "satisfied": 4,
    "very satisfied": 5,
}


def response_row(
    *,
    response_id: str,
    survey_type: str,
    survey_name: str,
    vendor: str,
    score_value: int,
    comment: str | None,
    responded_at: Any,
    respondent_id: str | None = None,
    email: str | None = None,
    user_id: str | None = None,
    account_id: str | None = None,
    properties: dict[str, Any] | None = None,
) -> dict[str, Any]:
    low, high = SCALES[survey_type]
    return {
        "response_id": response_id,
        "survey_type": survey_type,
        "survey_name": survey_name,
        "vendor": vendor,
        "score": score_value,
        "scale_min": low,
        "scale_max": high,
        "comment": scrub_text(clean(comment)),
        "respondent_id": respondent_id,
        "respondent_email_hash": email_hash(email),
        "user_id": user_id,
        "account_id": account_id,
        "responded_at": responded_at,
        "properties": properties_json(properties or {}),
    }


def _segment_fields(values: dict[str, Any]) -> tuple[str | None, str | None, str | None, dict[str, Any]]:
    """(user_id, account_id, email, the rest) from person properties / hidden fields; blanks dropped."""
    user_id = account_id = email = None
    rest: dict[str, Any] = {}
    for key, value in values.items():
        folded = str(key).strip().lower()
        if folded in USER_ID_KEYS:
            user_id = optional_id(value, str(key))
        elif folded in ACCOUNT_ID_KEYS:
            account_id = optional_id(value, str(key))
        elif is_email_key(str(key)):
            email = email or clean(value)
        elif value is not None and value != "":
            rest[str(key)] = value
    return user_id, account_id, email, rest


# -- Delighted ----------------------------------------------------------------------------------------------------


def parse_delighted_json(items: Iterable[Any], label: str, stage: RowStage | None = None) -> FileRows:
    """``items``: a list, or a re-readable view of the file's array (read once for the drift, then per pass)."""
    out = FileRows("delighted_json", ENTITY, stage=stage)
    out.unknown_columns, out.missing_columns = key_drift(items, DELIGHTED_RESPONSE_KEYS, DELIGHTED_RESPONSE_OPTIONAL)

    def parse(record: Record) -> EntityRows:
        item = record.payload
        if not isinstance(item, dict):
            raise RecordError(f"element is a JSON {type(item).__name__}, not an object")
        survey_type = (clean(item.get("survey_type")) or "nps").lower()
        if survey_type not in SCALES:
            raise RecordError(f"survey_type {survey_type!r} is neither nps nor csat")
        low, high = SCALES[survey_type]
        person = item.get("person")
        respondent_id, person_email = None, None
        if isinstance(person, dict):
            respondent_id = optional_id(person.get("id"), "person.id")
            person_email = clean(person.get("email"))
        else:
            respondent_id = optional_id(person, "person")
        props = item.get("person_properties") or {}
        if not isinstance(props, dict):
            raise RecordError(f"person_properties is a JSON {type(props).__name__}, not an object")
        user_id, account_id, property_email, rest = _segment_fields(props)
        if item.get("tags"):
            rest["tags"] = item["tags"]
        return {
            ENTITY: [
                response_row(
                    response_id=id_text(item.get("id"), "id"),
                    survey_type=survey_type,
                    survey_name=f"delighted_{survey_type}",
                    vendor="delighted",
                    score_value=score(item.get("score"), "score", low, high),
                    comment=item.get("comment"),
                    responded_at=timestamp(item.get("created_at"), "created_at"),
                    respondent_id=respondent_id,
                    email=person_email or property_email,
                    user_id=user_id,
                    account_id=account_id,
                    properties=rest,
                )
            ]
        }

    def records() -> Iterator[Record]:
        for n, item in enumerate(items, 1):
            key = clean(item.get("id")) if isinstance(item, dict) else None
            yield Record(n, key, partial(raw_json, item), item)  # raw text made only when needed

    load_records(out, Reread(records), parse, "response")
    return out


DELIGHTED_FIXED = ("Response ID", "Score", "Comment", "Email", "Name", "Created At", "Updated At", "Tags", "Notes")


def parse_delighted_csv(rows: CsvRows, label: str, stage: RowStage | None = None) -> FileRows:
    out = FileRows("delighted_csv", ENTITY, stage=stage)
    header = [c.strip() for c in rows[0]]
    property_columns = [h for h in header if h not in DELIGHTED_FIXED]

    def parse(record: Record) -> EntityRows:
        cells = dict(zip(header, fit_width(record.payload, len(header)), strict=True))
        user_id, account_id, property_email, rest = _segment_fields({h: clean(cells[h]) for h in property_columns})
        tags = split_list(cells.get("Tags"), ",")
        if tags:
            rest["tags"] = tags
        return {
            ENTITY: [
                response_row(
                    response_id=id_text(cells["Response ID"], "Response ID"),
                    survey_type="nps",
                    survey_name="delighted_nps",
                    vendor="delighted",
                    score_value=score(cells["Score"], "Score", 0, 10),
                    comment=cells.get("Comment"),
                    responded_at=timestamp(cells["Created At"], "Created At"),
                    email=clean(cells.get("Email")) or property_email,
                    user_id=user_id,
                    account_id=account_id,
                    properties=rest,
                )
            ]
        }

    load_csv_records(out, header, rows[1:], "Response ID", parse)
    return out


# -- Typeform -----------------------------------------------------------------------------------------------------

TYPEFORM_META = ("#", "Start Date (UTC)", "Submit Date (UTC)", "Network ID", "Tags")
HIDDEN_FIELD = re.compile(r"^[a-z][a-z0-9_]*$")
MULTI_SELECT_JOIN = " / "


@dataclass
class _Question:
    kind: str  # rating | comment | text | joined | options | hidden
    key: str
    columns: list[int]


def _rating_kind(text: str) -> str | None:
    if NPS_QUESTION.search(text):
        return "nps"
    if CSAT_QUESTION.search(text):
        return "csat"
    return None


def _typeform_questions(header: list[str], data: list[list[str]], label: str) -> tuple[list[_Question], str]:
    """Classify the columns. Returns the questions and the survey type of the rating question.

    A split multi-select is a run of adjacent columns whose cells are empty or equal to the column's header (the
    option label), or a run of columns repeating one header (the question text) whose cells are option labels."""
    width = len(header)
    cells = [[(row[i].strip() if i < len(row) else "") for row in data] for i in range(width)]
    counts = {h: header.count(h) for h in header}
    questions: list[_Question] = []
    rating: list[tuple[str, int]] = []
    i = 0
    while i < width:
        name = header[i]
        if name in TYPEFORM_META:
            i += 1
            continue
        if counts[name] > 1:  # the split form repeating the question text on every option column
            span = [j for j in range(i, width) if header[j] == name]
            questions.append(_Question("options", name, span))
            i = span[-1] + 1
            continue
        is_option = any(cells[i]) and all(c in ("", name) for c in cells[i])
        if is_option and not HIDDEN_FIELD.match(name):
            run = [i]
            while (
                run[-1] + 1 < width
                and header[run[-1] + 1] not in TYPEFORM_META
                and counts[header[run[-1] + 1]] == 1
                and all(c in ("", header[run[-1] + 1]) for c in cells[run[-1] + 1])
                and not HIDDEN_FIELD.match(header[run[-1] + 1])
            ):
                run.append(run[-1] + 1)
            if len(run) > 1:
                labels = [header[j] for j in run]
                questions.append(_Question("options", "multi_select: " + MULTI_SELECT_JOIN.join(labels), run))
                i = run[-1] + 1
                continue
        kind = _rating_kind(name)
        if kind:
            rating.append((kind, i))
            questions.append(_Question("rating", name, [i]))
        elif HIDDEN_FIELD.match(name):
            questions.append(_Question("hidden", name, [i]))
        elif any(MULTI_SELECT_JOIN in c for c in cells[i]):
            questions.append(_Question("joined", name, [i]))
        elif COMMENT_QUESTION.search(name) and not any(q.kind == "comment" for q in questions):
            questions.append(_Question("comment", name, [i]))
        else:
            questions.append(_Question("text", name, [i]))
        i += 1
    if len(rating) != 1:
        found = ", ".join(repr(header[j]) for _, j in rating) or "none"
        raise MalformedFileError(
            f"Typeform export {label} needs exactly one NPS ('... recommend ...') or CSAT ('... satisfied ...') "
            f"question column, found {found}"
        )
    return questions, rating[0][0]


def parse_typeform_csv(rows: CsvRows, label: str, survey_name: str, stage: RowStage | None = None) -> FileRows:
    out = FileRows("typeform_csv", ENTITY, stage=stage)
    header = [c.strip() for c in rows[0]]
    data = rows[1:]
    questions, survey_type = _typeform_questions(header, data, label)
    low, high = SCALES[survey_type]
    split_keys = [q.key for q in questions if q.kind == "options" and q.key.startswith("multi_select: ")]
    if split_keys:
        out.notes.append(
            "split multi-select columns without a question text stored under properties keys naming their options: "
            + "; ".join(split_keys)
        )
    if "Submit Date (UTC)" not in header:
        raise MalformedFileError(f"Typeform export {label} has no 'Submit Date (UTC)' column")

    def parse(record: Record) -> EntityRows:
        cells = [c.strip() for c in fit_width(record.payload, len(header))]
        hidden: dict[str, Any] = {}
        props: dict[str, Any] = {}
        comment = None
        score_value = None
        for q in questions:
            values = [cells[j] for j in q.columns]
            if q.kind == "rating":
                kind_label = "NPS score" if survey_type == "nps" else "CSAT score"
                score_value = score(values[0], f"{kind_label} ({q.key!r})", low, high)
            elif q.kind == "comment":
                comment = values[0] or None
            elif q.kind == "hidden":
                hidden[q.key] = values[0] or None
            elif q.kind == "options":
                props[q.key] = [v for v in values if v]
            elif q.kind == "joined":
                props[q.key] = split_list(values[0], MULTI_SELECT_JOIN.strip())
            elif values[0]:
                props[q.key] = values[0]
        user_id, account_id, email, rest = _segment_fields(hidden)
        props.update(rest)
        if "Tags" in header:
            tags = split_list(cells[header.index("Tags")], ",")
            if tags:
                props["tags"] = tags
        assert score_value is not None
        return {
            ENTITY: [
                response_row(
                    response_id=id_text(cells[header.index("#")], "# (response token)"),
                    survey_type=survey_type,
                    survey_name=survey_name,
                    vendor="typeform",
                    score_value=score_value,
                    comment=comment,
                    responded_at=timestamp(cells[header.index("Submit Date (UTC)")], "Submit Date (UTC)"),
                    email=email,
                    user_id=user_id,
                    account_id=account_id,
                    properties=props,
                )
            ]
        }

    load_csv_records(out, header, data, "#", parse)
    return out


# -- SurveyMonkey -------------------------------------------------------------------------------------------------

SURVEYMONKEY_META = {
    "Respondent ID": "respondent",
    "Collector ID": "property",
    "Start Date": "drop",
    "End Date": "end",
    "IP Address": "drop",  # personal data, not a segment
    "Email Address": "email",
    "First Name": "drop",
    "Last Name": "drop",
}
CUSTOM_DATA = re.compile(r"^Custom Data \d+$")


def _surveymonkey_score(text: str, field: str, low: int, high: int) -> int:
    folded = text.strip().lower()
    if folded in CSAT_LABELS and (low, high) == SCALES["csat"]:
        return CSAT_LABELS[folded]
    return score(text, field, low, high)


def parse_surveymonkey_csv(rows: CsvRows, label: str, survey_name: str, stage: RowStage | None = None) -> FileRows:
    out = FileRows("surveymonkey_csv", ENTITY, stage=stage)
    try:
        second = rows[1]
    except IndexError:
        raise MalformedFileError(f"SurveyMonkey export {label} lacks its second header row") from None
    top = [c.strip() for c in rows[0]]
    sub = [c.strip() for c in second] + [""] * max(0, len(top) - len(second))
    # Each column -> (question text, option label); a blank top cell continues the span on its left.
    spans: dict[str, list[int]] = {}
    owners: list[str] = []
    for i, text in enumerate(top):
        if text:
            if text in spans:
                raise MalformedFileError(f"SurveyMonkey export {label}: question {text!r} appears twice in row 1")
            spans[text] = []
            owners.append(text)
        elif not owners:
            raise MalformedFileError(f"SurveyMonkey export {label}: column {i + 1} of row 1 is blank before any header")
        spans[owners[-1]].append(i)
    rating = [(q, k) for q in spans if q not in SURVEYMONKEY_META and (k := _rating_kind(q))]
    if len(rating) != 1:
        found = ", ".join(repr(q) for q, _ in rating) or "none"
        raise MalformedFileError(
            f"SurveyMonkey export {label} needs exactly one CSAT ('... satisfied ...') or NPS ('... recommend ...') "
            f"question, found {found}"
        )
    rating_question, survey_type = rating[0]
    low, high = SCALES[survey_type]
    comment_question = next(
        (
            q
            for q, cols in spans.items()
            if q not in SURVEYMONKEY_META and len(cols) == 1 and sub[cols[0]] == "Open-Ended Response"
            and COMMENT_QUESTION.search(q)
        ),
        None,
    )  # fmt: skip
    raw_header = [f"{owner} / {sub[i]}" if sub[i] else owner for owner, cols in spans.items() for i in cols]

    def parse(record: Record) -> EntityRows:
        cells = [c.strip() for c in fit_width(record.payload, len(top))]
        props: dict[str, Any] = {}
        email = None
        for question, cols in spans.items():
            role = SURVEYMONKEY_META.get(question)
            values = [cells[i] for i in cols]
            if role == "email":
                email = values[0] or None
            elif role == "property" or CUSTOM_DATA.match(question):
                if values[0]:
                    props[question] = values[0]
            elif role is None and question not in (rating_question, comment_question):
                if len(cols) > 1:  # multi-option: the selected labels (an "Other" text stays as typed)
                    props[question] = [v for v in values if v]
                elif values[0]:
                    props[question] = values[0]
        rating_cell = cells[spans[rating_question][0]]
        if len(spans[rating_question]) > 1:  # one column per scale label: the chosen one carries its label
            chosen = [cells[i] for i in spans[rating_question] if cells[i]]
            rating_cell = chosen[0] if len(chosen) == 1 else ""
        return {
            ENTITY: [
                response_row(
                    response_id=id_text(cells[spans["Respondent ID"][0]], "Respondent ID"),
                    survey_type=survey_type,
                    survey_name=survey_name,
                    vendor="surveymonkey",
                    score_value=_surveymonkey_score(rating_cell, f"{survey_type.upper()} score", low, high)
                    if rating_cell
                    else score(None, f"{survey_type.upper()} score", low, high),
                    comment=cells[spans[comment_question][0]] if comment_question else None,
                    responded_at=timestamp(cells[spans["End Date"][0]], "End Date"),
                    email=email,
                    properties=props,
                )
            ]
        }

    out.details["timezone"] = "SurveyMonkey dates carry no zone; read as UTC"
    id_column = spans["Respondent ID"][0]

    def records() -> Iterator[Record]:
        for n, cells in enumerate(rows[2:], 1):
            key = clean(cells[id_column]) if id_column < len(cells) else None
            yield Record(n, key, lambda cells=cells: raw_json(raw_row(raw_header, cells)), cells)

    load_records(out, Reread(records), parse, "response")
    return out


# -- generic CSAT -------------------------------------------------------------------------------------------------

CSAT_COLUMNS = ("response_id", "user_id", "email", "score", "comment", "responded_at")
CSAT_REQUIRED = ("response_id", "score", "responded_at")


def parse_csat_csv(rows: CsvRows, label: str, survey_name: str, stage: RowStage | None = None) -> FileRows:
    out = FileRows("csat_csv", ENTITY, stage=stage)
    header = [c.strip() for c in rows[0]]
    # Other columns are segment fields, kept in properties: read, so never unknown.
    out.missing_columns = [name for name in CSAT_COLUMNS if name not in CSAT_REQUIRED and name not in header]

    def parse(record: Record) -> EntityRows:
        cells = dict(zip(header, fit_width(record.payload, len(header)), strict=True))
        extra = {k: clean(v) for k, v in cells.items() if k not in CSAT_COLUMNS and clean(v)}
        return {
            ENTITY: [
                response_row(
                    response_id=id_text(cells["response_id"], "response_id"),
                    survey_type="csat",
                    survey_name=survey_name,
                    vendor="generic",
                    score_value=score(cells["score"], "score", 1, 5),
                    comment=cells.get("comment"),
                    responded_at=timestamp(cells["responded_at"], "responded_at"),
                    email=clean(cells.get("email")),
                    user_id=optional_id(cells.get("user_id"), "user_id"),
                    properties=extra,
                )
            ]
        }

    load_csv_records(out, header, rows[1:], "response_id", parse)
    return out
