import pytest

from works import identifiers


@pytest.mark.parametrize(
    "value",
    [
        "https://openalex.org/W2741809807",
        "W2741809807",
        "w2741809807",
        " openalex.org/W2741809807 ",
    ],
)
def test_openalex_id_accepts_url_bare_and_lower_case(value) -> None:
    assert identifiers.openalex_id(value) == "W2741809807"


def test_openalex_id_accepts_api_urls_and_every_entity_letter() -> None:
    assert identifiers.openalex_id("https://api.openalex.org/authors/a5023888391") == "A5023888391"
    assert identifiers.openalex_id("https://openalex.org/T11636") == "T11636"


@pytest.mark.parametrize("value", ["https://openalex.org/subfields/2739", "123", "WX12", "W12a"])
def test_openalex_id_rejects_what_is_not_an_id(value) -> None:
    with pytest.raises(ValueError, match="not an OpenAlex id"):
        identifiers.openalex_id(value)


@pytest.mark.parametrize(
    "normalise",
    [
        identifiers.openalex_id,
        identifiers.orcid,
        identifiers.doi,
        identifiers.arxiv_id,
        identifiers.ror,
    ],
)
@pytest.mark.parametrize("absent", [None, "", "   "])
def test_absent_value_normalises_to_empty_string(normalise, absent) -> None:
    assert normalise(absent) == ""


@pytest.mark.parametrize(
    "value",
    [
        "https://orcid.org/0000-0002-1825-0097",
        "http://orcid.org/0000-0002-1825-0097",
        "orcid.org/0000-0002-1825-0097",
        "0000-0002-1825-0097",
        "0000000218250097",
    ],
)
def test_orcid_accepts_url_and_bare_forms(value) -> None:
    assert identifiers.orcid(value) == "0000-0002-1825-0097"


def test_orcid_check_digit_x_is_upper_cased() -> None:
    assert identifiers.orcid("https://orcid.org/0000-0002-1694-233x") == "0000-0002-1694-233X"


def test_orcid_with_a_wrong_check_digit_is_rejected() -> None:
    with pytest.raises(ValueError, match="wrong check digit"):
        identifiers.orcid("0000-0002-1825-0098")


@pytest.mark.parametrize(
    "value", ["0000-0002-1825", "https://orcid.org/", "not an orcid", "0000-0002-1825-00977"]
)
def test_orcid_malformed_is_rejected(value) -> None:
    with pytest.raises(ValueError, match="not an ORCID"):
        identifiers.orcid(value)


def test_orcid_checksum_matches_the_iso_7064_examples() -> None:
    assert identifiers.orcid_checksum("000000021825009") == "7"
    assert identifiers.orcid_checksum("000000021694233") == "X"


@pytest.mark.parametrize(
    "value",
    [
        "https://doi.org/10.7717/PeerJ.4375",
        "http://dx.doi.org/10.7717/peerj.4375",
        "doi:10.7717/peerj.4375",
        "10.7717/PEERJ.4375",
    ],
)
def test_doi_is_lower_cased_without_resolver_prefix(value) -> None:
    assert identifiers.doi(value) == "10.7717/peerj.4375"


def test_doi_in_a_resolver_url_is_percent_decoded() -> None:
    assert identifiers.doi("https://doi.org/10.1002/%28SICI%291097") == "10.1002/(sici)1097"


@pytest.mark.parametrize("value", ["https://example.org/paper", "11.1000/xyz", "10.1000"])
def test_doi_malformed_is_rejected(value) -> None:
    with pytest.raises(ValueError, match="not a DOI"):
        identifiers.doi(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10.48550/arXiv.2201.12345", "2201.12345"),
        ("https://doi.org/10.48550/ARXIV.2201.12345", "2201.12345"),
        ("https://arxiv.org/abs/2201.12345v3", "2201.12345"),
        ("http://arxiv.org/pdf/2201.12345v2.pdf", "2201.12345"),
        ("arXiv:1501.0001v1", "1501.0001"),
        ("https://arxiv.org/abs/hep-th/9901001v2", "hep-th/9901001"),
        ("https://arxiv.org/abs/math.GT/0309136", "math/0309136"),
    ],
)
def test_arxiv_id_from_doi_or_url_without_version(value, expected) -> None:
    assert identifiers.arxiv_id(value) == expected


@pytest.mark.parametrize(
    "value", ["10.1234/not-arxiv", "https://arxiv.org/list/cs.AI/recent", "paper"]
)
def test_arxiv_id_rejects_what_is_not_arxiv(value) -> None:
    with pytest.raises(ValueError, match="arXiv"):
        identifiers.arxiv_id(value)


@pytest.mark.parametrize("value", ["https://ror.org/00gtcbp88", "ror.org/00GTCBP88", "00gtcbp88"])
def test_ror_accepts_url_and_bare_forms(value) -> None:
    assert identifiers.ror(value) == "00gtcbp88"


def test_ror_with_a_wrong_checksum_is_rejected() -> None:
    with pytest.raises(ValueError, match="wrong checksum"):
        identifiers.ror("https://ror.org/00gtcbp89")


@pytest.mark.parametrize(
    "value", ["https://ror.org/12345", "00gtcbpi8", "https://example.org/00gtcbp88"]
)
def test_ror_malformed_is_rejected(value) -> None:
    with pytest.raises(ValueError, match="not a ROR id"):
        identifiers.ror(value)
