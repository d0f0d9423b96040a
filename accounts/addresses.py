"""Email addresses in one canonical form: one account per mailbox.

Mail for `victim@example.com` spelt with a fullwidth e (U+FF45), for `victim@exam<soft hyphen>ple.com` and
for `Victim@Example.COM` all reaches `victim@example.com`, so they must all be the same account: stored,
looked up, rate-limited and locked out as one. `normalize_email` is the one function every path uses (the
user manager and model, login, lockout, throttles, password reset, the staff search, the admin's forms, the
commands and the migration that canonicalised the existing rows).

This module imports nothing from the app, so a migration can use it.
"""

from __future__ import annotations

import contextlib
import unicodedata

# Characters that render as nothing: format characters (soft hyphen, zero-width space and joiners, bidi
# controls, the byte order mark...), plus the invisible ones Unicode files under other categories.
_INVISIBLE_CATEGORIES = frozenset({"Cf"})
_INVISIBLE_NAMES = ("VARIATION SELECTOR", "COMBINING GRAPHEME JOINER", "HANGUL FILLER", "HANGUL CHOSEONG FILLER")
# Never part of an address either: controls, surrogates, private use, unassigned, line and paragraph breaks.
_REFUSED_CATEGORIES = _INVISIBLE_CATEGORIES | {"Cc", "Cs", "Co", "Cn", "Zl", "Zp"}

INVISIBLE_MESSAGE = (
    "Email addresses cannot contain invisible, formatting or control characters (such as a soft hyphen, a "
    "zero-width space or a text direction mark)."
)


def _is_invisible(char: str) -> bool:
    if unicodedata.category(char) in _INVISIBLE_CATEGORIES:
        return True
    return not char.isascii() and unicodedata.name(char, "").startswith(_INVISIBLE_NAMES)


def refused_characters(value: str) -> list[str]:
    """The characters of `value` that no address may contain (empty when it has none)."""
    if value.isascii():
        return [char for char in value if unicodedata.category(char) == "Cc"]
    return [char for char in value if unicodedata.category(char) in _REFUSED_CATEGORIES or _is_invisible(char)]


def _fold(value: str) -> str:
    """Unicode NFKC case folding, without the characters that render as nothing."""
    if value.isascii():
        return value.lower()
    value = "".join(char for char in value if not _is_invisible(char))
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())


def _domain(domain: str) -> str:
    """The domain as DNS and SMTP see it: IDNA (punycode) labels, no root dot."""
    domain = domain.rstrip(".")
    if domain.isascii():
        return domain
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        # Not a valid domain name: validation refuses it; a lookup just finds nothing.
        return domain


def normalize_email(email: str) -> str:
    """The canonical form of an address: trimmed, NFKC case-folded, invisible characters dropped, and the
    domain in its IDNA (punycode) form. Addresses that reach the same mailbox get the same form.

    Never raises: it also keys lookups and rate limits for input that validation has not seen (or refused).
    """
    value = _fold((email or "").strip())
    local, at, domain = value.rpartition("@")
    if not at:
        return value
    return f"{local}@{_domain(domain)}"


def email_search_fragments(term: str) -> set[str]:
    """What a search term may match inside canonical addresses: its folded form, and its IDNA form."""
    if "@" in term:
        return {normalize_email(term)}
    folded = _fold(term.strip())
    fragments = {folded}
    if not folded.isascii():
        with contextlib.suppress(UnicodeError):
            fragments.add(folded.encode("idna").decode("ascii"))
    return fragments
