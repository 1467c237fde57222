"""Everything language-dependent in a Jira UI CSV export, in one place: header names, month abbreviations,
status-category names, the custom-field header prefix and the issue-type names that mean epic / sub-task.

Jira writes the header row, the month names in dates and the Status Category values in the exporting user's
language. Lookups are case-insensitive (``casefold``); month abbreviations also ignore a trailing dot, because Java's
short month names carry one in some languages (``janv.``, ``Okt.``) and Jira's CSV sometimes drops it.
Supported languages are the ones core.config accepts in ``jira.csv_locales``: en, fr, de, es.
"""

from __future__ import annotations

LOCALES = ("en", "fr", "de", "es")

# Logical column -> locale -> header names Jira uses for it (several where Jira versions differ).
HEADER_SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "issue_key": {
        "en": ("Issue key",),
        "fr": ("Clé de ticket", "Clé"),
        "de": ("Schlüssel", "Vorgangsschlüssel"),
        "es": ("Clave de incidencia", "Clave"),
    },
    "issue_id": {
        "en": ("Issue id",),
        "fr": ("ID de ticket", "Identifiant de ticket"),
        "de": ("Vorgangs-ID", "Vorgangs-Id"),
        "es": ("ID de la incidencia", "ID de incidencia"),
    },
    "summary": {"en": ("Summary",), "fr": ("Résumé",), "de": ("Zusammenfassung",), "es": ("Resumen",)},
    "issue_type": {
        "en": ("Issue Type",),
        "fr": ("Type de ticket",),
        "de": ("Vorgangstyp",),
        "es": ("Tipo de Incidencia",),
    },
    "status": {"en": ("Status",), "fr": ("État", "Statut"), "de": ("Status",), "es": ("Estado",)},
    "status_category": {
        "en": ("Status Category",),
        "fr": ("Catégorie d'état", "Catégorie de statut"),
        "de": ("Statuskategorie",),
        "es": ("Categoría de estado",),
    },
    "project_key": {
        "en": ("Project key",),
        "fr": ("Clé de projet",),
        "de": ("Projektschlüssel",),
        "es": ("Clave del proyecto", "Clave de proyecto"),
    },
    "priority": {"en": ("Priority",), "fr": ("Priorité",), "de": ("Priorität",), "es": ("Prioridad",)},
    "resolution": {"en": ("Resolution",), "fr": ("Résolution",), "de": ("Lösung",), "es": ("Resolución",)},
    "assignee_account_id": {
        "en": ("Assignee Id",),
        "fr": ("ID du responsable",),
        "de": ("Bearbeiter-ID", "ID der zugewiesenen Person"),
        "es": ("ID de persona asignada", "ID de la persona asignada"),
    },
    "reporter_account_id": {
        "en": ("Reporter Id",),
        "fr": ("ID du rapporteur",),
        "de": ("Autor-ID",),
        "es": ("ID del informador",),
    },
    "created": {"en": ("Created",), "fr": ("Création", "Créé"), "de": ("Erstellt",), "es": ("Creada", "Creado")},
    "updated": {
        "en": ("Updated",),
        "fr": ("Mise à jour", "Mis à jour"),
        "de": ("Aktualisiert",),
        "es": ("Actualizada", "Actualizado"),
    },
    "resolved": {"en": ("Resolved",), "fr": ("Résolue", "Résolu"), "de": ("Erledigt",), "es": ("Resuelta",)},
    "due_date": {
        "en": ("Due Date", "Due date"),
        "fr": ("Échéance", "Date d'échéance"),
        "de": ("Fälligkeitsdatum",),
        "es": ("Fecha de vencimiento",),
    },
    "description": {"en": ("Description",), "fr": ("Description",), "de": ("Beschreibung",), "es": ("Descripción",)},
    "labels": {"en": ("Labels",), "fr": ("Étiquettes",), "de": ("Stichwörter",), "es": ("Etiquetas",)},
    "components": {
        "en": ("Component/s", "Components"),
        "fr": ("Composant/s", "Composants"),
        "de": ("Komponente/n", "Komponenten"),
        "es": ("Componente/s", "Componentes"),
    },
    "fix_versions": {
        "en": ("Fix Version/s", "Fix versions"),
        "fr": ("Version(s) corrigée(s)", "Versions corrigées"),
        "de": ("Lösungsversion/en", "Lösungsversionen"),
        "es": ("Versión/es de corrección", "Versiones de corrección"),
    },
    "sprint": {"en": ("Sprint",), "fr": ("Sprint",), "de": ("Sprint",), "es": ("Sprint",)},
    "comment": {"en": ("Comment",), "fr": ("Commentaire",), "de": ("Kommentar",), "es": ("Comentario",)},
    # The direct parent: newer exports give its key, older ones its issue id (resolved within the file).
    "parent": {
        "en": ("Parent", "Parent id", "Parent key"),
        "fr": ("Parent", "ID du parent", "Clé du parent"),
        "de": ("Übergeordnet", "Übergeordnete ID", "Übergeordneter Schlüssel"),
        "es": ("Principal", "Padre", "ID principal", "Clave principal"),
    },
    "original_estimate": {
        "en": ("Original Estimate",),
        "fr": ("Estimation originale",),
        "de": ("Ursprüngliche Schätzung",),
        "es": ("Estimación original",),
    },
    "time_spent": {
        "en": ("Time Spent",),
        "fr": ("Temps consacré",),
        "de": ("Benötigte Zeit",),
        "es": ("Tiempo Trabajado",),
    },
}

# "Custom field (Story Points)" and its translations; the name in brackets is the instance's field name.
CUSTOM_FIELD_PREFIXES: dict[str, str] = {
    "en": "Custom field",
    "fr": "Champ personnalisé",
    "de": "Benutzerdefiniertes Feld",
    "es": "Campo personalizado",
}

# Issue-link columns: ``Outward issue link (<link type name>)`` / ``Inward issue link (<link type name>)``, one
# repeated header per linked issue. The link type name itself is not translated.
ISSUE_LINK_PREFIXES: dict[str, dict[str, str]] = {
    "en": {"outward": "Outward issue link", "inward": "Inward issue link"},
    "fr": {"outward": "Lien de ticket sortant", "inward": "Lien de ticket entrant"},
    "de": {"outward": "Ausgehender Vorgangslink", "inward": "Eingehender Vorgangslink"},
    "es": {"outward": "Enlace de incidencia saliente", "inward": "Enlace de incidencia entrante"},
}

# Month abbreviations (lower case, without a trailing dot), January first, per locale; several spellings where Java
# and Jira versions differ (``Mär`` / ``März`` / ``Mrz``, ``févr`` / ``fév``).
_MONTH_SPELLINGS: dict[str, tuple[tuple[str, ...], ...]] = {
    "en": (
        ("jan",), ("feb",), ("mar",), ("apr",), ("may",), ("jun",),
        ("jul",), ("aug",), ("sep", "sept"), ("oct",), ("nov",), ("dec",),
    ),
    "fr": (
        ("janv", "jan"), ("févr", "fév", "fevr"), ("mars",), ("avr",), ("mai",), ("juin",),
        ("juil",), ("août", "aout"), ("sept",), ("oct",), ("nov",), ("déc", "dec"),
    ),
    "de": (
        ("jan", "jän"), ("feb",), ("mär", "märz", "mrz"), ("apr",), ("mai",), ("jun", "juni"),
        ("jul", "juli"), ("aug",), ("sep", "sept"), ("okt",), ("nov",), ("dez",),
    ),
    "es": (
        ("ene",), ("feb",), ("mar",), ("abr",), ("may",), ("jun",),
        ("jul",), ("ago",), ("sep", "sept"), ("oct",), ("nov",), ("dic",),
    ),
}  # fmt: skip
MONTHS: dict[str, dict[str, int]] = {
    locale: {spelling: month for month, spellings in enumerate(months, 1) for spelling in spellings}
    for locale, months in _MONTH_SPELLINGS.items()
}

# Status Category display names -> Jira's category key.
STATUS_CATEGORY_NAMES: dict[str, dict[str, str]] = {
    "en": {"to do": "new", "in progress": "indeterminate", "done": "done"},
    "fr": {"à faire": "new", "en cours": "indeterminate", "terminé": "done", "terminée": "done"},
    "de": {"zu erledigen": "new", "in arbeit": "indeterminate", "fertig": "done", "erledigt": "done"},
    "es": {"por hacer": "new", "en curso": "indeterminate", "en progreso": "indeterminate", "listo": "done"},
}

# Issue-type names that tell the hierarchy level when a CSV has no hierarchyLevel (1 epic, -1 sub-task).
EPIC_TYPE_NAMES: dict[str, tuple[str, ...]] = {
    "en": ("Epic",),
    "fr": ("Epic", "Épopée"),
    "de": ("Epic",),
    "es": ("Epic", "Épica"),
}
SUBTASK_TYPE_NAMES: dict[str, tuple[str, ...]] = {
    "en": ("Sub-task", "Subtask"),
    "fr": ("Sous-tâche",),
    "de": ("Unteraufgabe", "Teilaufgabe"),
    "es": ("Subtarea",),
}


def fold(text: str) -> str:
    """The comparison form of a header or value: whitespace-trimmed and case-folded."""
    return " ".join(text.split()).casefold()


def header_lookup(locales: tuple[str, ...]) -> dict[str, str]:
    """Folded header name -> logical column, over the given locales."""
    lookup: dict[str, str] = {}
    for logical, per_locale in HEADER_SYNONYMS.items():
        for locale in locales:
            for name in per_locale.get(locale, ()):
                lookup.setdefault(fold(name), logical)
    return lookup


def header_names(logical: str, locales: tuple[str, ...]) -> list[str]:
    """The header names accepted for a logical column (for error messages)."""
    return [name for locale in locales for name in HEADER_SYNONYMS[logical].get(locale, ())]


def month_number(abbreviation: str, locale: str) -> int | None:
    return MONTHS[locale].get(fold(abbreviation).rstrip("."))


def status_category_key(value: str, locales: tuple[str, ...]) -> str | None:
    folded = fold(value)
    if folded in ("new", "indeterminate", "done"):
        return folded
    for locale in locales:
        if folded in STATUS_CATEGORY_NAMES[locale]:
            return STATUS_CATEGORY_NAMES[locale][folded]
    return None


def hierarchy_level_from_type(issue_type: str | None, locales: tuple[str, ...]) -> int | None:
    if not issue_type:
        return None
    folded = fold(issue_type)
    if any(folded == fold(name) for locale in locales for name in EPIC_TYPE_NAMES[locale]):
        return 1
    if any(folded == fold(name) for locale in locales for name in SUBTASK_TYPE_NAMES[locale]):
        return -1
    return None


def custom_field_name(header: str, locales: tuple[str, ...]) -> str | None:
    """``Custom field (Story Points)`` (or a translation) -> ``Story Points``; None for other headers."""
    stripped = header.strip()
    for locale in locales:
        prefix = CUSTOM_FIELD_PREFIXES[locale]
        if fold(stripped).startswith(fold(prefix) + " (") and stripped.endswith(")"):
            return stripped[len(prefix) + 2 : -1].strip()
    return None


def issue_link_header(header: str, locales: tuple[str, ...]) -> tuple[str, str] | None:
    """``Outward issue link (Blocks)`` (or a translation) -> ``("outward", "Blocks")``; None for other headers."""
    stripped = header.strip()
    for locale in locales:
        for direction, prefix in ISSUE_LINK_PREFIXES[locale].items():
            if fold(stripped).startswith(fold(prefix) + " (") and stripped.endswith(")"):
                link_type = stripped[len(prefix) + 2 : -1].strip()
                if link_type:
                    return direction, link_type
    return None
