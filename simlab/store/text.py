"""`storable_text`: a string every UTF-8 store accepts.

Python strings may hold lone UTF-16 surrogates (JSON's ``"\\ud800"`` parses to
one) and NUL characters; UTF-8 cannot encode the first, and the second cuts
strings short in many tools. Both are replaced (surrogates by U+FFFD, NULs
removed), and the caller is told whether anything changed so it can flag it.
"""
from __future__ import annotations

REPLACEMENT = "\ufffd"


def storable_text(text: str) -> tuple[str, bool]:
    """`text` with lone surrogates replaced by U+FFFD and NULs removed; True if anything changed."""
    if text.isascii():
        if "\x00" not in text:
            return text, False
        return text.replace("\x00", ""), True
    changed = False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # utf-16 with surrogatepass re-pairs valid high/low halves; lone halves become U+FFFD
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
        changed = True
    if "\x00" in text:
        text = text.replace("\x00", "")
        changed = True
    return text, changed
