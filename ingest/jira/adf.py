"""Atlassian Document Format (API v3 rich text) -> plain text.

Block nodes (paragraphs, headings, code blocks, list items, table rows ...) become lines; consecutive top-level
blocks are separated by a blank line, so paragraph breaks survive. Inline nodes keep what a reader sees: text,
mention / emoji / status labels, link URLs of cards, ``hardBreak`` as a newline. Media has no text and is dropped.
"""

from __future__ import annotations

from typing import Any

_BLOCK_CONTAINERS = {"doc", "blockquote", "panel", "expand", "nestedExpand", "layoutSection", "layoutColumn"}
_TEXT_BLOCKS = {"paragraph", "heading", "codeBlock"}


def _inline(node: Any) -> str:
    if not isinstance(node, dict):
        return ""
    kind = node.get("type")
    attrs = node.get("attrs") if isinstance(node.get("attrs"), dict) else {}
    if kind == "text":
        return str(node.get("text") or "")
    if kind == "hardBreak":
        return "\n"
    if kind in ("mention", "emoji", "status"):
        return str(attrs.get("text") or attrs.get("shortName") or "")
    if kind in ("inlineCard", "blockCard", "embedCard"):
        return str(attrs.get("url") or "")
    if kind == "date":
        return str(attrs.get("timestamp") or "")
    return "".join(_inline(child) for child in node.get("content") or [])


def _blocks(node: Any, list_prefix: str = "") -> list[str]:
    """The node as a list of text blocks."""
    if not isinstance(node, dict):
        return []
    kind = node.get("type")
    children = node.get("content") or []
    if kind in _TEXT_BLOCKS:
        return [list_prefix + "".join(_inline(child) for child in children)]
    if kind in ("bulletList", "orderedList"):
        lines: list[str] = []
        for index, item in enumerate(children, 1):
            prefix = "- " if kind == "bulletList" else f"{index}. "
            item_blocks = [b for child in (item.get("content") or []) for b in _blocks(child)]
            lines.extend(
                (prefix if i == 0 else " " * len(prefix)) + block.replace("\n", "\n" + " " * len(prefix))
                for i, block in enumerate(item_blocks)
            )
        return ["\n".join(lines)] if lines else []
    if kind == "table":
        rows = []
        for row in children:
            cells = [
                " ".join(b for child in (cell.get("content") or []) for b in _blocks(child))
                for cell in row.get("content") or []
            ]
            rows.append(" | ".join(cells))
        return ["\n".join(rows)] if rows else []
    if kind == "rule":
        return ["---"]
    if kind in _BLOCK_CONTAINERS or kind in ("listItem", "mediaSingle", "mediaGroup"):
        return [b for child in children for b in _blocks(child)]
    text = _inline(node)
    return [text] if text else []


def adf_to_text(document: Any) -> str:
    """Plain text of an ADF document; a plain string (API v2) is returned unchanged."""
    if isinstance(document, str):
        return document
    return "\n\n".join(block for block in _blocks(document) if block.strip())


def is_adf(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") == "doc"
