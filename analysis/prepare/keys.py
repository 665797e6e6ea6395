"""Text keys of units and column names: the cleaning every key goes through (Unicode NFKC,
no invisible characters pasted from web pages and PDFs, no whitespace), the matching key of
a unit name, and a code read as an int from the many ways files write one."""

from __future__ import annotations

import math
import re
import unicodedata

import numpy as np
import pandas as pd

# Invisible characters pasted along with names from web pages and PDFs.
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
_DROP_INVISIBLE = {ord(char): None for char in ZERO_WIDTH}
# Punctuation inside romanized names: apostrophes (Xi'an), hyphens (Ma-anshan), periods and
# middle dots. Chinese names never contain these.
_ROMAN_PUNCT = re.compile("['\u2018\u2019`\u00b4\\-\u2010\u2011\u2013\u2014.\u00b7\u30fb]")
_CODE_TEXT = re.compile(r"\+?(\d+)(?:\.0*)?")


def visible(text: str) -> str:
    """NFKC (full-width to half-width), without invisible characters."""
    return unicodedata.normalize("NFKC", text).translate(_DROP_INVISIBLE)


def plain(text: str) -> str:
    """`visible`, without any whitespace: what key matching ignores is gone."""
    return "".join(visible(text).split())


def normalize_name(text: object) -> str:
    """The matching key of a unit name (aliases and user values go through the same steps).

    1. Unicode NFKC: full-width letters, digits and spaces become half-width (``Ｂｅｉｊｉｎｇ``
       -> ``Beijing``), compatibility forms are folded.
    2. Zero-width characters are removed: U+200B, U+200C, U+200D, U+2060 and U+FEFF.
    3. All whitespace is removed, inside the name too (``北 京`` -> ``北京``,
       ``Xi an`` -> ``Xian``).
    4. Case is folded and ``ü`` becomes ``v`` (``Lüliang`` -> ``lvliang``).
    5. Apostrophes, hyphens, periods and middle dots are removed (``Lu'an`` -> ``luan``).
    6. Exactly one trailing ``市`` is dropped (``北京市`` -> ``北京``), or else one trailing
       ``city`` (``Beijing City`` -> ``beijing``), unless nothing would be left. Nothing
       else is dropped: ``地区``, ``盟``, ``自治州`` and ethnic designations stay, and are
       matched through the ``name_short`` aliases.

    Because of step 6, a county-level city named like its prefecture (大理市 in 大理州)
    gets the prefecture's key.
    """
    key = plain(str(text)).casefold().replace("ü", "v")
    key = _ROMAN_PUNCT.sub("", key)
    if key.endswith("市") and len(key) > 1:
        return key[:-1]
    if key.endswith("city") and len(key) > 4:
        return key[:-4]
    return key


def parse_code(value: object) -> int | None:
    """A code as an int: from an int, an integral float, or text such as ``"110000"``,
    ``" 110100.0 "`` or full-width ``"１１０１００"``; None for anything else (missing,
    fractional, non-numeric, bool)."""
    if value is None or value is pd.NA or isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return int(number) if math.isfinite(number) and number.is_integer() else None
    match = _CODE_TEXT.fullmatch(plain(str(value)))
    return int(match.group(1)) if match else None
