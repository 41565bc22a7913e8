"""Normalisers for external identifiers: one canonical short form for each.

Every normaliser returns "" for an absent value (None or blank) and raises
ValueError for a value that is present but malformed, so an import can tell
"the record has no ORCID" from "the record's ORCID is wrong".
"""

import re
from urllib.parse import unquote

_OPENALEX = re.compile(
    r"(?:(?:https?://)?(?:api\.)?openalex\.org/(?:[a-z]+/)?)?([a-z])(\d+)", re.IGNORECASE
)
_ORCID_PREFIX = re.compile(r"(?:https?://)?(?:www\.|sandbox\.)?orcid\.org/", re.IGNORECASE)
_ORCID = re.compile(r"(\d{4})-?(\d{4})-?(\d{4})-?(\d{3}[\dX])")
_DOI_PREFIX = re.compile(r"(?:https?://)?(?:dx\.)?doi\.org/|doi:\s*", re.IGNORECASE)
_DOI = re.compile(r"10\.\d+(?:\.\d+)*/\S+")
_ARXIV_DOI = re.compile(r"10\.48550/arxiv\.(.+)", re.IGNORECASE)
_ARXIV_URL = re.compile(
    r"(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/(.+?)(?:\.pdf)?/?", re.IGNORECASE
)
_ARXIV_PREFIX = re.compile(r"arxiv:\s*", re.IGNORECASE)
# New-style ids (0704.0001 onwards) and old-style archive/YYMMNNN ids; the
# version suffix and an old id's subject class (math.GT/...) are not part of the id.
_ARXIV_NEW = re.compile(r"(\d{4}\.\d{4,5})(?:v\d+)?")
_ARXIV_OLD = re.compile(r"([a-z][a-z-]*)(?:\.[a-z]{2})?/(\d{7})(?:v\d+)?", re.IGNORECASE)
_ROR_PREFIX = re.compile(r"(?:https?://)?(?:www\.)?ror\.org/", re.IGNORECASE)
# Crockford base32 without i, l, o and u, as ROR uses it.
_ROR_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_ROR = re.compile(rf"0([{_ROR_ALPHABET}]{{6}})(\d{{2}})")


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def openalex_id(value: str | None) -> str:
    """ "https://openalex.org/W123", "W123" or "w123" -> "W123" (any entity letter)."""
    if value is None or _blank(value):
        return ""
    match = _OPENALEX.fullmatch(value.strip())
    if not match:
        raise ValueError(f"not an OpenAlex id: {value!r}")
    return match[1].upper() + match[2]


def orcid_checksum(base_digits: str) -> str:
    """The ISO 7064 11,2 check character of an ORCID iD's first 15 digits."""
    total = 0
    for digit in base_digits:
        total = (total + int(digit)) * 2
    result = (12 - total % 11) % 11
    return "X" if result == 10 else str(result)


def orcid(value: str | None) -> str:
    """An ORCID iD in URL or bare form -> "0000-0002-1825-0097", checksum verified."""
    if value is None or _blank(value):
        return ""
    bare = _ORCID_PREFIX.sub("", value.strip(), count=1).upper()
    match = _ORCID.fullmatch(bare)
    if not match:
        raise ValueError(f"not an ORCID iD: {value!r}")
    digits = "".join(match.groups())
    if orcid_checksum(digits[:15]) != digits[15]:
        raise ValueError(f"ORCID iD with a wrong check digit: {value!r}")
    return "-".join(match.groups())


def doi(value: str | None) -> str:
    """ "https://doi.org/10.1000/XYZ", "doi:10.1000/xyz" -> "10.1000/xyz"."""
    if value is None or _blank(value):
        return ""
    text = value.strip()
    prefix = _DOI_PREFIX.match(text)
    if prefix:
        text = text[prefix.end() :]
        # A resolver URL may percent-encode the DOI; the bare form never needs it.
        if prefix[0].lower().endswith("/"):
            text = unquote(text)
    if not _DOI.fullmatch(text):
        raise ValueError(f"not a DOI: {value!r}")
    return text.lower()


def arxiv_id(value: str | None) -> str:
    """An arXiv DOI (10.48550/arXiv.NNNN), arxiv.org abs/pdf URL or arXiv id -> "2201.12345".

    The version suffix is dropped: a work is one record whatever its version.
    """
    if value is None or _blank(value):
        return ""
    text = value.strip()
    if _DOI_PREFIX.match(text) or text.startswith("10."):
        arxiv_doi = _ARXIV_DOI.fullmatch(doi(text))
        if not arxiv_doi:
            raise ValueError(f"not an arXiv DOI: {value!r}")
        text = arxiv_doi[1]
    elif url := _ARXIV_URL.fullmatch(text):
        text = url[1]
    else:
        text = _ARXIV_PREFIX.sub("", text, count=1)
    if new := _ARXIV_NEW.fullmatch(text):
        return new[1]
    if old := _ARXIV_OLD.fullmatch(text):
        return f"{old[1].lower()}/{old[2]}"
    raise ValueError(f"not an arXiv id: {value!r}")


def ror_checksum(value: int) -> str:
    """ISO/IEC 7064 MOD 97-10 over a ROR id's base32 value: its last two digits."""
    return f"{98 - (value * 100) % 97:02d}"


def ror(value: str | None) -> str:
    """ "https://ror.org/00gtcbp88" or "00gtcbp88" -> "00gtcbp88", checksum verified."""
    if value is None or _blank(value):
        return ""
    bare = _ROR_PREFIX.sub("", value.strip(), count=1).lower()
    match = _ROR.fullmatch(bare)
    if not match:
        raise ValueError(f"not a ROR id: {value!r}")
    number = 0
    for char in match[1]:
        number = number * 32 + _ROR_ALPHABET.index(char)
    if ror_checksum(number) != match[2]:
        raise ValueError(f"ROR id with a wrong checksum: {value!r}")
    return bare
