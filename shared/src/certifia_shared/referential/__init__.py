"""The certification referential ("Ingénieur en Intelligence Artificielle (MS)") as typed, versioned data.

>>> from certifia_shared.referential import load_referential
>>> ref = load_referential()
>>> ref.bloc("1").competency_id("A4-C7")
'1.A4.C7'
>>> [c.code for c in ref.criteria_validating("1.A4.C2")]
['A4-C1 à C3-E1']
"""

from certifia_shared.referential.loader import (
    ENV_VAR,
    clear_referential_cache,
    default_referential_path,
    load_referential,
)
from certifia_shared.referential.model import (
    Activity,
    Bloc,
    Certification,
    CertificationRule,
    Competency,
    Criterion,
    Evaluation,
    Referential,
    ReferentialError,
    ReferentialLookupError,
    ThesisRule,
    VaeRule,
    Vocabularies,
)

__all__ = [
    "ENV_VAR",
    "Activity",
    "Bloc",
    "Certification",
    "CertificationRule",
    "Competency",
    "Criterion",
    "Evaluation",
    "Referential",
    "ReferentialError",
    "ReferentialLookupError",
    "ThesisRule",
    "VaeRule",
    "Vocabularies",
    "clear_referential_cache",
    "default_referential_path",
    "load_referential",
]
