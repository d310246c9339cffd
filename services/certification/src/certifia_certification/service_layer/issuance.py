"""What issuing a credential needs, wired once by bootstrap: the certification's rule and title (the
referential), the signing key, the public address, the issuer's DID and what every credential states."""

from __future__ import annotations

from dataclasses import dataclass, field

from certifia_certification.adapters.keystore import KeyRing
from certifia_certification.domain.achievement import Certifier, CredentialData, Qualification
from certifia_certification.domain.controller import method_id
from certifia_certification.domain.rule import bloc_order
from certifia_shared.referential import Referential

STATUS_LISTS_PATH = "status-lists"


@dataclass(frozen=True)
class CredentialIssuance:
    """How this certifier issues diplomas and bloc certificates: the rule and title (referential), the signing
    key, the public address and the issuer's DID (whose controller document lists the keys), and the
    addresses every credential names (verification, PDF, status lists)."""

    referential: Referential
    keys: KeyRing
    base_url: str
    did: str
    data: CredentialData = field(default_factory=CredentialData)
    """What every credential states besides the candidate's facts (``credential_data``)."""

    def verification_url(self, diploma_id: str) -> str:
        return f"{self.base_url}/diplomas/{diploma_id}/verification"

    def verification_page_url(self, diploma_id: str) -> str:
        """The public verification page (HTML, for people), printed on the PDF."""
        return f"{self.base_url}/diplomas/{diploma_id}/verify"

    def pdf_url(self, diploma_id: str) -> str:
        return f"{self.base_url}/diplomas/{diploma_id}/pdf"

    def verification_method(self) -> str:
        """The active key in the issuer's controller document: ``<did>#<key id>``."""
        return method_id(self.did, self.keys.active().kid)

    def status_list_url(self, list_id: str) -> str:
        return f"{self.base_url}/{STATUS_LISTS_PATH}/{list_id}"

    def status_list_id(self, url: str) -> str | None:
        """The list id in a status list URL this service wrote (under whichever base URL it had then: a
        credential whose signature verifies was written by this issuer)."""
        _, found, list_id = url.partition(f"/{STATUS_LISTS_PATH}/")
        return list_id if found and list_id and "/" not in list_id else None


def credential_data(
    referential: Referential, *, certifier: Certifier, qualification: Qualification
) -> CredentialData:
    """The certifier and qualification (configuration) with the referential's blocs and thesis rule."""
    rule = referential.rule
    return CredentialData(
        certifier=certifier,
        qualification=qualification,
        blocs=tuple((b, referential.bloc(b).title) for b in bloc_order(rule)),
        thesis_required=rule.thesis.required,
    )
