"""W3C Data Integrity proofs with the ``eddsa-rdfc-2022`` cryptosuite (https://www.w3.org/TR/vc-di-eddsa/).

- transformation: RDFC-1.0 canonical N-Quads of the document without its proof (pyld's ``URDNA2015``, the
  same algorithm), contexts served by the bundled loader only;
- proof configuration: the proof options without ``proofValue``, with the document's ``@context``,
  canonicalised the same way (so ``created``, ``proofPurpose`` and ``verificationMethod`` are signed);
- hashData = SHA-256(canonical proof configuration) || SHA-256(canonical document);
- proofValue = multibase base58btc (``z``) of the Ed25519 signature of hashData.

JSON-LD safe mode (pyld has no ``safe`` option, so it is checked here): every property and type of the
document must be defined by its contexts, and every ``@id`` must be absolute, or the document is refused
(``UnsafeDocument``): a term that expands to nothing would otherwise be left out of what is signed.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pyld import jsonld  # type: ignore[import-untyped]

from certifia_certification.domain.contexts import UnknownContext, document_loader
from certifia_certification.domain.signing import (
    SigningKey,
    multibase_base58btc,
    multibase_base58btc_decode,
)

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"
PROOF_PURPOSE = "assertionMethod"
UNDEFINED_TERM = "urn:certifia:undefined-term#"
"""The ``@vocab`` that safe mode's check expands undefined terms to (then refuses them)."""
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""Characters whose N-Quads escaping differs between canonical RDFC-1.0 and pyld's serializer: refused."""
_PYLD = threading.Lock()
"""pyld keeps its processed contexts in process-wide cachetools LRU caches that are not thread-safe: two
requests canonicalising at once (two verifications) raised KeyError inside the cache's eviction, which came
out as "not valid JSON-LD" and a 500 (measured: make bench-cohort, 8 verifications at once). pyld is pure
Python under the GIL, so one call at a time costs no parallelism."""


class UnsafeDocument(ValueError):
    """A document that cannot be canonicalised safely: an undefined term, a relative ``@id``, a context that
    is not bundled, a character canonical N-Quads would escape differently."""


def _reason(exc: BaseException) -> str:
    """The first cause in the chain that says why (pyld wraps the loader's errors)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, UnknownContext):
            return str(seen)
        seen = seen.__cause__ or seen.__context__
    return "the document is not valid JSON-LD"


RELATIVE_BASE: str = jsonld.DEFAULT_BASE_IRI
"""Where pyld resolves a relative IRI when the document has no base (jsonld.js leaves it relative)."""
_RELATIVE_ROOT = RELATIVE_BASE.partition("/base/")[0] + "/"  # "../x" and "/x" resolve to its host


def _relative(iri: str) -> bool:
    return iri.startswith(_RELATIVE_ROOT) or ":" not in iri


def _walk(node: Any, path: str = "") -> Iterator[str]:
    """What safe mode would refuse in an expanded document, as paths."""
    if isinstance(node, list):
        for item in node:
            yield from _walk(item, path)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key.startswith(UNDEFINED_TERM):
                yield f"undefined term {key.removeprefix(UNDEFINED_TERM)!r} at {path or '/'}"
            elif key == "@type":
                for t in value if isinstance(value, list) else [value]:
                    if isinstance(t, str) and t.startswith(UNDEFINED_TERM):
                        yield f"undefined type {t.removeprefix(UNDEFINED_TERM)!r} at {path or '/'}"
            elif key == "@id" and isinstance(value, str) and _relative(value):
                yield f"relative @id at {path or '/'}"
            if key != "@value":
                yield from _walk(value, f"{path}/{key.rpartition('#')[2]}")


def _embedded_contexts(node: Any, top: bool = True) -> Iterator[str]:
    if isinstance(node, list):
        for item in node:
            yield from _embedded_contexts(item, top=False)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "@context":
                if not top:
                    yield "an embedded @context"
                elif not (isinstance(value, list) and value and all(isinstance(c, str) for c in value)):
                    yield "a top-level @context that is not a list of context URLs"
            else:
                yield from _embedded_contexts(value, top=False)


def check_safe(document: dict[str, Any]) -> None:
    """Refuse a document with a term its contexts do not define (JSON-LD safe mode), or with contexts of its
    own (inline or embedded: only bundled contexts, by URL, define terms)."""
    inline = sorted(set(_embedded_contexts(document)))
    if inline:
        raise UnsafeDocument(f"only bundled contexts, by URL, may define terms: {', '.join(inline)}")
    try:
        options = {"documentLoader": document_loader, "expandContext": {"@vocab": UNDEFINED_TERM}, "base": ""}
        with _PYLD:
            expanded = jsonld.expand(document, options)
    except Exception as exc:  # pyld raises more than JsonLdError on hostile input (TypeError, RecursionError)
        raise UnsafeDocument(_reason(exc)) from None
    problems = list(_walk(expanded))
    if problems:
        raise UnsafeDocument("JSON-LD safe mode: " + "; ".join(problems[:5]))


def canonical_nquads(document: dict[str, Any]) -> str:
    """RDFC-1.0 canonical N-Quads of a safe document."""
    check_safe(document)
    try:
        with _PYLD:
            nquads: str = jsonld.normalize(
                document,
                {
                    "algorithm": "URDNA2015",
                    "format": "application/n-quads",
                    "documentLoader": document_loader,
                },
            )
    except Exception as exc:  # as in check_safe
        raise UnsafeDocument(_reason(exc)) from None
    if _CONTROL.search(nquads):
        raise UnsafeDocument("a literal holds a control character")
    return nquads


def _unsecured(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "proof"}


def hash_data(unsecured: dict[str, Any], proof_options: dict[str, Any]) -> bytes:
    """SHA-256 of the canonical proof configuration, then SHA-256 of the canonical document."""
    config = {k: v for k, v in proof_options.items() if k != "proofValue"}
    config["@context"] = unsecured.get("@context")
    return (
        hashlib.sha256(canonical_nquads(config).encode()).digest()
        + hashlib.sha256(canonical_nquads(unsecured).encode()).digest()
    )


def xsd_datetime(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def add_proof(
    document: dict[str, Any], key: SigningKey, *, verification_method: str, created: datetime
) -> dict[str, Any]:
    """The document with an ``eddsa-rdfc-2022`` proof (``assertionMethod``) made with ``key``."""
    unsecured = _unsecured(document)
    options = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": xsd_datetime(created),
        "verificationMethod": verification_method,
        "proofPurpose": PROOF_PURPOSE,
    }
    signature = key.sign(hash_data(unsecured, options))
    return {**unsecured, "proof": {**options, "proofValue": multibase_base58btc(signature)}}


ProofFailure = Literal["no_proof", "unsupported_proof", "unknown_key", "bad_signature"]


@dataclass(frozen=True)
class ProofResult:
    valid: bool
    reason: str
    verification_method: str | None = None
    failure: ProofFailure | None = None


_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")


def _options_problem(proof: dict[str, Any]) -> str | None:
    if proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE:
        suite = proof.get("cryptosuite") or proof.get("type")
        return f"the proof is not a {PROOF_TYPE} of the {CRYPTOSUITE} cryptosuite (it is {suite!r})"
    if proof.get("proofPurpose") != PROOF_PURPOSE:
        return f"the proof's purpose is {proof.get('proofPurpose')!r}, not {PROOF_PURPOSE!r}"
    created = proof.get("created")
    if created is not None and not (isinstance(created, str) and _DATETIME.fullmatch(created)):
        return "the proof's created is not an XML Schema dateTime"
    if "@context" in proof:
        return "a proof with its own @context is not one this issuer makes"
    return None


def verify_proof(document: dict[str, Any], resolve: Callable[[str], Ed25519PublicKey | None]) -> ProofResult:
    """Check the document's one ``eddsa-rdfc-2022`` proof. ``resolve`` maps a verification method (a DID URL)
    to its public key when the issuer's controller document lists it for ``assertionMethod``, else None."""
    proof = document.get("proof")
    if not isinstance(proof, dict):
        why = (
            "the credential has no proof" if proof is None else "the credential must carry exactly one proof"
        )
        return ProofResult(False, why, failure="no_proof" if proof is None else "unsupported_proof")
    problem = _options_problem(proof)
    method = proof.get("verificationMethod")
    method = method if isinstance(method, str) else None
    if problem:
        return ProofResult(False, problem, method, "unsupported_proof")
    public_key = resolve(method) if method else None
    if public_key is None:
        why = "the verification method is not an assertion method of this issuer's controller document"
        return ProofResult(False, why, method, "unknown_key")
    try:
        signature = multibase_base58btc_decode(str(proof.get("proofValue", "")))
        public_key.verify(signature, hash_data(_unsecured(document), proof))
    except UnsafeDocument as exc:
        return ProofResult(
            False, f"the credential cannot be canonicalised: {exc}", method, "unsupported_proof"
        )
    except (InvalidSignature, ValueError):
        return ProofResult(False, "the signature does not match the credential", method, "bad_signature")
    return ProofResult(True, "the signature is valid", method)
