"""Misspellings one keystroke away, for names that wire copy gets wrong (``REUTE``, ``ALTANTA``,
``Narch``): a letter dropped, added or replaced, or two neighbouring letters swapped
(Damerau-Levenshtein distance 1)."""

from __future__ import annotations

_KEY_LETTERS = "abcdefghijklmnopqrstuvwxyz "


def one_edit_apart(a: str, b: str) -> bool:
    """``a`` and ``b`` are equal or one edit apart."""
    if len(a) > len(b):
        a, b = b, a
    if len(b) - len(a) > 1:
        return False
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            if len(a) < len(b):
                return a[i:] == b[i + 1:]
            return a[i + 1:] == b[i + 1:] or (
                a[i + 1:i + 2] == y and b[i + 1:i + 2] == x and a[i + 2:] == b[i + 2:])
    return True


def one_edit_variants(key: str) -> set[str]:
    """Every string one edit away from ``key`` (lower-case letters and spaces, as
    ``transforms.gazetteer.normalize_key`` writes names)."""
    splits = [(key[:i], key[i:]) for i in range(len(key) + 1)]
    return ({a + b[1:] for a, b in splits if b}
            | {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
            | {a + c + b[1:] for a, b in splits if b for c in _KEY_LETTERS}
            | {a + c + b for a, b in splits for c in _KEY_LETTERS}) - {key}
