"""What the credentials state from configuration, judged at start: unsafe settings refused, the
qualification's alignments (the issued credentials themselves: ``integration/test_credential_data.py``)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from certifia_certification.config import Settings
from certifia_certification.domain.achievement import alignments


def test_without_an_rncp_code_there_is_no_rncp_alignment(sqlite_url: str) -> None:
    settings = Settings(database_url=sqlite_url, CERTIFIA_NSF_CODE="326")  # the referential has none either
    qualification = settings.qualification(None)
    assert qualification.rncp_code is None and qualification.nsf_code == "326"
    assert [a["targetCode"] for a in alignments("T", qualification)] == ["7", "7"], "no fiche, no NSF entry"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CERTIFIA_CERTIFIER_SIRET", "73282932000075"),  # Luhn fails
        ("CERTIFIA_CERTIFIER_SIRET", "1234"),
        ("CERTIFIA_RNCP_CODE", "RNCP-38616"),
        ("CERTIFIA_NSF_CODE", "informatique"),
        ("CERTIFIA_CERTIFIER_IMAGE", "http://logo.example/x.png"),
        ("CERTIFIA_CERTIFIER_IMAGE", "data:image/svg+xml,<svg/>"),  # not base64: no IRI
        ("CERTIFIA_EQF_LEVEL", "9"),
    ],
)
def test_unsafe_credential_settings_fail_at_start(name: str, value: str) -> None:
    with pytest.raises(ValidationError, match=name.removeprefix("CERTIFIA_").lower() + "|" + name):
        Settings(database_url="sqlite://", **{name: value})
