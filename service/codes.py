"""Letter case of the codes the service stores (countries, groupings, factors, languages).

Python's `str.upper()` and `str.lower()` turn some letters outside ASCII into ASCII ones
("ı".upper() is "I", "ſ".upper() is "S", the Kelvin sign's lower case is "k"), so "ıta" would
name Italy. These change ASCII letters only.
"""

from __future__ import annotations

import string

_TO_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)
_TO_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def upper_code(code: str) -> str:
    """A country or grouping code in upper case, as stored: only ASCII letters change."""
    return code.translate(_TO_UPPER)


def lower_code(code: str) -> str:
    """A factor or language code in lower case, as stored: only ASCII letters change."""
    return code.translate(_TO_LOWER)
