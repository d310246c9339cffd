"""The event contracts: JSON Schemas (2020-12) in contracts/events/, the AsyncAPI 3.0 document, the type
strings of certifia_shared.event_types, and payload validation as producers and consumers run it."""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from certifia_shared import event_types
from certifia_shared.bus import bus, dead_letter_topic
from certifia_shared.consumer import EventConsumer
from certifia_shared.contracts import ContractError, catalogue, contract, events_dir, topics

CONTRACTS = Path(__file__).resolve().parents[1]
ROOT = CONTRACTS.parent
EVENTS = CONTRACTS / "events"
SCHEMA_FILES = sorted(EVENTS.glob("*.schema.json"))
TYPE_PREFIX = "fr.certifia."
NOW = "2025-03-04T10:15:00+00:00"
SHA = "ab" * 32

# One valid payload per event type (the smallest a producer could write, plus a few optional fields).
SAMPLES: dict[str, dict[str, Any]] = {
    event_types.CANDIDATE_ENROLLED: {
        "candidate_id": "c-1",
        "external_id": "lms-42",
        "lms_client": "moodle",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "email": "ada@example.org",
        "path": "formation",
        "cohort": None,
        "enrolled_at": NOW,
    },
    event_types.OPTION_CHOSEN: {"candidate_id": "c-1", "option": "5B", "chosen_at": NOW},
    event_types.ACCOMMODATION_GRANTED: {
        "accommodation_id": "acc-1",
        "candidate_id": "c-1",
        "extra_time_factor": 1.33,
        "adapted_formats": ["large_print", "rest_breaks"],
        "adapted_defence": "Une pause de dix minutes.",
        "evidence_reference": "MDPH-2026-0042",
        "granted_by": "officer-7",
        "granted_by_role": "officer",
        "granted_at": NOW,
        "reason": "Avis du médecin désigné par la CDAPH.",
    },
    event_types.DEFENCE_CANCELLED: {
        "defence_id": "d-1",
        "candidate_id": "c-1",
        "scheduled_at": NOW,
        "reason": "candidate_withdrawn",
        "cancelled_at": NOW,
        "cancelled_by": "officer-9",
    },
    event_types.DEFENCE_APPEAL_OPENED: {
        "appeal_id": "ap-1",
        "candidate_id": "c-1",
        "defence_id": "d-1",
        "grounds": "Le jury n'a pas tenu compte de l'aménagement accordé.",
        "opened_by": "account-1",
        "opened_by_role": "candidate",
        "opened_at": NOW,
        "resolve_by": NOW,
    },
    event_types.DEFENCE_APPEAL_RESOLVED: {
        "appeal_id": "ap-1",
        "candidate_id": "c-1",
        "defence_id": "d-1",
        "outcome": "upheld",
        "reasoning": "La pause prévue n'a pas été accordée : la soutenance est annulée.",
        "resolved_by": "officer-2",
        "resolved_by_role": "officer",
        "resolved_at": NOW,
        "defence_annulled": True,
    },
    event_types.CANDIDATE_WITHDRAWN: {
        "candidate_id": "c-1",
        "withdrawn_at": NOW,
        "reason": "Réorientation professionnelle.",
        "withdrawn_by_role": "candidate",
    },
    event_types.SUBMISSION_RECEIVED: {
        "submission_id": "s-1",
        "candidate_id": "c-1",
        "evaluation_id": "5B.EV1",
        "digest": SHA,
        "size_bytes": 1024,
        "media_type": "application/zip",
        "filename": "work.zip",
        "received_at": NOW,
    },
    event_types.GRADING_REQUESTED: {
        "submission_id": "s-1",
        "candidate_id": "c-1",
        "evaluation_id": "5B.EV1",
        "pack_id": "mlops-basics",
        "criteria": ["5B.A1.C1.E1"],
        "artifact": {
            "url": "http://127.0.0.1:8002/submissions/s-1/artifact",
            "sha256": SHA,
            "size_bytes": 1024,
        },
        "requested_at": NOW,
    },
    event_types.CRITERION_VALIDATED: {
        "decision_id": "d-1",
        "candidate_id": "c-1",
        "bloc": "1",
        "criterion_id": "1.A4.C1-C3.E1",
        "criterion_code": "A4-C1 à C3-E1",
        "decided_by": "jury-1",
        "decided_by_role": "jury",
        "comment": "Très bien.",
        "submission_id": None,
        "decided_at": NOW,
        "referential_version": "1.0.0",
    },
    event_types.CRITERION_REJECTED: {
        "decision_id": "d-2",
        "candidate_id": "c-1",
        "bloc": "2",
        "criterion_id": "2.A1.C1.E1",
        "criterion_code": "A1-C1-E1",
        "decided_by": "grading",
        "decided_by_role": "grading",
        "comment": "Seuil non atteint.",
        "submission_id": "s-1",
        "decided_at": NOW,
        "referential_version": "1.0.0",
    },
    event_types.COMPETENCY_VALIDATED: {
        "candidate_id": "c-1",
        "bloc": "1",
        "competency_id": "1.A4.C2",
        "competency_code": "A4-C2",
        "criteria": ["1.A4.C1-C3.E1"],
        "validated_at": NOW,
        "referential_version": "1.0.0",
    },
    event_types.BLOC_PASSED: {
        "candidate_id": "c-1",
        "bloc": "5A",
        "competencies": ["5A.A1.C1"],
        "via": "assessment",
        "passed_at": NOW,
        "referential_version": "1.0.0",
    },
    event_types.APPEAL_OPENED: {
        "appeal_id": "a-1",
        "candidate_id": "c-1",
        "decision_id": "d-2",
        "bloc": "2",
        "criterion_id": "2.A1.C1.E1",
        "criterion_code": "A1-C1-E1",
        "grounds": "Le jeu de test caché contient des doublons que l'énoncé interdisait.",
        "opened_by": "c-1-account",
        "opened_by_role": "candidate",
        "opened_at": NOW,
    },
    event_types.APPEAL_RESOLVED: {
        "appeal_id": "a-1",
        "candidate_id": "c-1",
        "decision_id": "d-2",
        "bloc": "2",
        "criterion_id": "2.A1.C1.E1",
        "criterion_code": "A1-C1-E1",
        "outcome": "upheld",
        "reasoning": "Les doublons du jeu caché faussaient la mesure ; le critère est validé.",
        "resolved_by": "officer-7",
        "resolved_by_role": "officer",
        "resolved_at": NOW,
        "resolution_decision_id": "d-3",
    },
    event_types.VAE_DECIDED: {
        "decision_id": "v-1",
        "candidate_id": "c-1",
        "bloc": "4",
        "outcome": "partially_validated",
        "competencies_validated": ["4.A1.C1", "4.A1.C2"],
        "decided_by": "jury-7",
        "decided_by_role": "jury",
        "comment": "Livret 2 et entretien : deux compétences du bloc maîtrisées en poste.",
        "evidence_reference": "VAE-2026-014/livret-2",
        "decided_at": NOW,
        "referential_version": "1.0.0",
    },
    event_types.VERDICT_PROPOSED: {
        "proposal_id": "p-1",
        "candidate_id": "c-1",
        "submission_id": "s-1",
        "evaluation_id": "1.EV3",
        "bloc": "1",
        "criterion_id": "1.A4.C7.E4",
        "criterion_code": "A4-C7-E4",
        "proposed_outcome": "validated",
        "policy": "jury_confirms",
        "policy_version": "1.0.0",
        "review_reasons": ["jury_confirms", "implausible"],
        "grader": "b1_bias_mitigation@1.0.0",
        "proposed_at": NOW,
    },
    event_types.VERDICT_REVIEWED: {
        "proposal_id": "p-1",
        "candidate_id": "c-1",
        "submission_id": "s-1",
        "evaluation_id": "1.EV3",
        "bloc": "1",
        "criterion_id": "1.A4.C7.E4",
        "criterion_code": "A4-C7-E4",
        "proposed_outcome": "validated",
        "policy": "jury_confirms",
        "policy_version": "1.0.0",
        "review_reasons": ["jury_confirms"],
        "grader": "b1_bias_mitigation@1.0.0",
        "proposed_at": NOW,
        "action": "override",
        "outcome": "rejected",
        "reviewed_by": "jury-7",
        "reviewed_by_role": "jury",
        "comment": "Le document ne propose aucune mesure d'atténuation.",
        "reviewed_at": NOW,
        "decision_id": "d-4",
    },
    event_types.GRADING_COMPLETED: {
        "submission_id": "s-1",
        "candidate_id": "c-1",
        "pack_id": "mlops-basics",
        "pack_version": "1.0.0",
        "dataset_seed": 7,
        "submission_digest": SHA,
        "criteria": [
            {
                "criterion_id": "5B.A1.C1.E1",
                "verdict": "validated",
                "metric": "accuracy",
                "value": 0.93,
                "threshold": 0.9,
                "comparator": ">=",
                "explanation": "accuracy 0.93 >= 0.9",
            }
        ],
        "metrics": {"accuracy": 0.93, "latency_p95_ms": None},
        "duration_s": 1.5,
        "completed_at": NOW,
    },
    event_types.GRADING_COMPLETED_V2: {
        "submission_id": "s-1",
        "candidate_id": "c-1",
        "pack_id": "b2_data_cleaning",
        "pack_version": "1.0.0",
        "dataset_seed": 7,
        "submission_digest": SHA,
        "criteria": [
            {
                "criterion_id": "2.A1.C1.E1",
                "verdict": "validated",
                "metric": "duplicate_rows",
                "value": 0,
                "threshold": 0,
                "comparator": "==",
                "explanation": "duplicate_rows 0 == 0",
            }
        ],
        "metrics": {"duplicate_rows": 0},
        "duration_s": 1.5,
        "completed_at": NOW,
    },
    event_types.GRADING_FAILED: {
        "submission_id": "s-1",
        "candidate_id": "c-1",
        "pack_id": "mlops-basics",
        "pack_version": None,
        "reason": "timeout after 60 s",
        "failed_at": NOW,
    },
    event_types.MISSION_REGISTERED: {
        "mission_id": "m-1",
        "candidate_id": "c-1",
        "company": "ACME",
        "start_date": "2025-01-06",
        "end_date": "2025-07-04",
        "fte": 1.0,
        "months_fte": 6.0,
        "registered_at": NOW,
    },
    event_types.THESIS_SUBMITTED: {
        "candidate_id": "c-1",
        "deposit_id": "dep-1",
        "mission_id": "m-1",
        "version": 1,
        "title": "Détection d'anomalies sur des séries temporelles industrielles",
        "sha256": SHA,
        "size_bytes": 2048,
        "submitted_at": NOW,
    },
    event_types.DEFENCE_SCHEDULED: {
        "candidate_id": "c-1",
        "defence_id": "t-1",
        "deposit_id": "dep-1",
        "scheduled_at": "2025-03-20T14:00:00+01:00",
        "location": "Salle B204",
        "jury": [
            {"name": "Pr Durand", "role": "president"},
            {"name": "Dr Martin", "role": "member"},
            {"name": "M. Petit", "role": "company_tutor"},
        ],
    },
    event_types.THESIS_DEFENDED: {
        "defence_id": "t-1",
        "candidate_id": "c-1",
        "mission_id": "m-1",
        "outcome": "passed",
        "grade": 15.5,
        "jury": ["jury-1", "jury-2"],
        "defended_at": NOW,
    },
    event_types.BLOC_CERTIFICATE_ISSUED: {
        "certificate_id": "b-1",
        "candidate_id": "c-1",
        "bloc": "3",
        "issued_at": NOW,
    },
    event_types.DIPLOMA_ISSUED: {
        "diploma_id": "dip-1",
        "candidate_id": "c-1",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "path": "formation",
        "option": "5B",
        "blocs": ["1", "2", "3", "4", "5B"],
        "thesis_defence_id": "t-1",
        "issued_at": NOW,
        "verification_url": "http://127.0.0.1:8005/verify/dip-1",
    },
    event_types.DIPLOMA_REVOKED: {
        "diploma_id": "dip-1",
        "candidate_id": "c-1",
        "reason": "Thèse plagiée (décision du jury du 2025-03-01).",
        "revoked_at": NOW,
        "revoked_by": "officer-7",
        "revoked_by_role": "officer",
    },
    event_types.BLOC_CERTIFICATE_REVOKED: {
        "certificate_id": "cert-1",
        "candidate_id": "c-1",
        "bloc": "2",
        "reason": "Fraude à l'évaluation du bloc (décision du jury du 2025-03-01).",
        "revoked_at": NOW,
        "revoked_by": "officer-7",
        "revoked_by_role": "officer",
        "diploma_id": "dip-1",
    },
}
# Issue 3's minimum catalogue.
REQUIRED_TYPES = {
    "candidate.enrolled",
    "candidate.option_chosen",
    "grading.requested",
    "grading.completed",
    "criterion.validated",
    "criterion.rejected",
    "competency.validated",
    "bloc.passed",
    "mission.registered",
    "thesis.defended",
    "diploma.issued",
}


def _schema(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _declared_types() -> dict[str, str]:
    """Name -> value of every event type constant in certifia_shared.event_types."""
    return {
        name: value
        for name, value in vars(event_types).items()
        if name.isupper() and isinstance(value, str) and value.startswith(TYPE_PREFIX)
    }


def _declared_topics() -> set[str]:
    return {
        value
        for name, value in vars(event_types).items()
        if name.startswith("TOPIC_") and isinstance(value, str)
    }


@pytest.fixture(scope="module")
def asyncapi() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((CONTRACTS / "asyncapi.yaml").read_text(encoding="utf-8"))
    return data


# -- the schemas ----------------------------------------------------------------------------------------
def test_events_dir_is_this_folder() -> None:
    assert events_dir().resolve() == EVENTS.resolve()
    assert SCHEMA_FILES


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_schema_is_valid_2020_12(path: Path) -> None:
    schema = _schema(path)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    event_type = schema["x-certifia-type"]
    assert path.name == f"{event_type}.schema.json"
    assert schema["$id"].endswith(f"/{path.name}")
    assert schema["title"] == event_type
    assert schema["type"] == "object" and schema["required"]
    assert set(schema["required"]) <= set(schema["properties"]), "a required field is not declared"
    # fr.certifia.<service>.<entity>.<verb>.v<n>; the topic is the service's.
    parts = event_type.split(".")
    assert len(parts) == 6 and parts[:2] == ["fr", "certifia"] and parts[-1].startswith("v"), event_type
    assert schema["x-certifia-topic"] == f"certifia.{parts[2]}"
    assert "candidate_id" in schema["required"], "the Kafka key (candidate id) must be in every payload"


def test_event_types_match_the_schema_files_one_to_one() -> None:
    declared = _declared_types()
    assert len(set(declared.values())) == len(declared), "two constants hold the same type"
    from_files = {_schema(p)["x-certifia-type"] for p in SCHEMA_FILES}
    assert set(declared.values()) == from_files
    assert set(catalogue()) == from_files
    assert _declared_topics() == topics() == {_schema(p)["x-certifia-topic"] for p in SCHEMA_FILES}


def test_issue_minimum_catalogue_is_present() -> None:
    short = {".".join(t.split(".")[3:5]) for t in catalogue()}
    assert short >= REQUIRED_TYPES


def test_every_type_has_a_sample() -> None:
    assert set(SAMPLES) == set(catalogue())


# -- the AsyncAPI document -------------------------------------------------------------------------------
def _resolve_local(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"$ref {ref} does not resolve"
        node = node[part]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location(
        "certifia_asyncapi_generator", ROOT / "scripts" / "asyncapi.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _channel_key(doc: dict[str, Any], address: str) -> str:
    [key] = [k for k, c in doc["channels"].items() if c["address"] == address]
    return key


def _operations_on(doc: dict[str, Any], address: str, action: str) -> dict[str, Any]:
    ref = f"#/channels/{_channel_key(doc, address)}"
    return {
        k: op
        for k, op in doc["operations"].items()
        if op["channel"]["$ref"] == ref and op["action"] == action
    }


def _message_types(doc: dict[str, Any], op: dict[str, Any]) -> set[str]:
    return {_resolve_local(doc, _resolve_local(doc, r["$ref"])["$ref"])["name"] for r in op["messages"]}


def test_asyncapi_is_generated_from_the_catalogue_and_the_bus() -> None:
    committed = (CONTRACTS / "asyncapi.yaml").read_text(encoding="utf-8")
    assert committed == _generator().generate(), (
        "contracts/asyncapi.yaml is not what scripts/asyncapi.py generates from contracts/events/ and "
        "contracts/bus.yaml: run `make asyncapi` and commit the result"
    )


def test_asyncapi_is_3_0(asyncapi: dict[str, Any]) -> None:
    assert str(asyncapi["asyncapi"]).startswith("3.0")
    assert asyncapi["info"]["title"] and asyncapi["info"]["version"]
    assert asyncapi["defaultContentType"] == "application/json"
    for name, op in asyncapi["operations"].items():
        assert op["action"] in {"send", "receive"}, name


def test_asyncapi_servers_are_mutual_tls(asyncapi: dict[str, Any]) -> None:
    servers = asyncapi["servers"]
    compose = yaml.safe_load((CONTRACTS.parent / "deploy" / "compose" / "docker-compose.yml").read_text())
    advertised = compose["services"]["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]  # SSL://kafka:9092
    assert {s["host"] for s in servers.values()} == {"127.0.0.1:19092", advertised.split("://", 1)[1]}
    for name, server in servers.items():
        assert server["protocol"] == "kafka-secure", name
        [scheme] = [_resolve_local(asyncapi, r["$ref"]) for r in server["security"]]
        assert scheme["type"] == "X509", name
        assert "User:<service>" in scheme["description"]


def test_asyncapi_refs_resolve(asyncapi: dict[str, Any]) -> None:
    refs = _refs(asyncapi)
    assert refs
    for ref in refs:
        if ref.startswith("#"):
            _resolve_local(asyncapi, ref)
        else:
            target = (CONTRACTS / ref.split("#", 1)[0]).resolve()
            assert target.is_file(), f"$ref {ref} points at no file"
            assert target.parent == EVENTS.resolve()


def test_asyncapi_channels_are_the_topics_and_their_dead_letter_topics(asyncapi: dict[str, Any]) -> None:
    addresses = [c["address"] for c in asyncapi["channels"].values()]
    assert len(addresses) == len(set(addresses))
    assert set(addresses) == topics() | set(bus().dead_letter_topics())
    assert set(bus().topics()) == topics()
    for channel in asyncapi["channels"].values():
        kafka = channel["bindings"]["kafka"]
        assert (kafka["topic"], kafka["partitions"], kafka["replicas"]) == (channel["address"], 3, 1)


def test_each_topic_is_sent_by_its_owner_with_all_its_messages(asyncapi: dict[str, Any]) -> None:
    for owner in bus().owners.values():
        [(key, op)] = _operations_on(asyncapi, owner.topic, "send").items()
        assert key.startswith(f"{owner.service}_"), key
        channel = asyncapi["channels"][_channel_key(asyncapi, owner.topic)]
        assert {r["$ref"].rsplit("/", 1)[1] for r in op["messages"]} == set(channel["messages"])
        assert _message_types(asyncapi, op) == {
            c.type for c in catalogue().values() if c.topic == owner.topic
        }


def test_each_dead_letter_topic_is_sent_by_the_consumer_whose_group_it_serves(
    asyncapi: dict[str, Any],
) -> None:
    for sub in bus().subscriptions.values():
        for address in sub.dead_letter_topics():
            assert f".{sub.group}.dlq" in address
            [(key, op)] = _operations_on(asyncapi, address, "send").items()
            assert key.startswith(f"{sub.service}_"), key
            [message] = [
                _resolve_local(asyncapi, _resolve_local(asyncapi, r["$ref"])["$ref"]) for r in op["messages"]
            ]
            assert message["name"] == "dead_letter"
            assert _operations_on(asyncapi, address, "receive") == {}


def test_receive_operations_are_the_handles_of_bus_yaml(asyncapi: dict[str, Any]) -> None:
    expected = set()
    for sub in bus().subscriptions.values():
        for topic in sub.topics:
            [(key, op)] = [
                (k, o)
                for k, o in _operations_on(asyncapi, topic, "receive").items()
                if k.startswith(f"{sub.service}_")
            ]
            expected.add(key)
            on_topic = {c.type for c in catalogue().values() if c.topic == topic}
            assert _message_types(asyncapi, op) == sub.handles & on_topic, key
            kafka = op["bindings"]["kafka"]
            assert kafka["groupId"] == {"type": "string", "enum": [sub.group]}, key
            assert kafka["clientId"]["enum"] == [f"{sub.service}-consumer"], key
    received = {k for k, op in asyncapi["operations"].items() if op["action"] == "receive"}
    assert received == expected


def test_asyncapi_lists_exactly_the_messages_of_the_schema_folder(asyncapi: dict[str, Any]) -> None:
    by_type: dict[str, Path] = {}
    for channel in asyncapi["channels"].values():
        if channel["address"] not in topics():
            continue
        for ref in channel["messages"].values():
            message = _resolve_local(asyncapi, ref["$ref"])
            payload = (CONTRACTS / message["payload"]["$ref"]).resolve()
            schema = _schema(payload)
            assert message["name"] == schema["x-certifia-type"]
            assert channel["address"] == schema["x-certifia-topic"], message["name"]
            assert message["contentType"] == "application/json"
            assert message["name"] not in by_type, f"{message['name']} listed twice"
            constants = message["headers"]["properties"]
            assert constants["ce_type"] == {"const": schema["x-certifia-type"]}
            assert constants["ce_dataschema"] == {"const": schema["$id"]}
            assert constants["ce_source"] == {"const": bus().owner_of(channel["address"]).source}
            assert message["bindings"]["kafka"]["key"] == {"$ref": "#/components/schemas/CandidateKey"}
            by_type[message["name"]] = payload
    assert set(by_type) == set(catalogue())
    assert set(by_type.values()) == {p.resolve() for p in SCHEMA_FILES}
    assert "murmur2" in asyncapi["components"]["schemas"]["CandidateKey"]["description"]


def test_asyncapi_headers_are_the_cloudevents_headers(asyncapi: dict[str, Any]) -> None:
    headers = asyncapi["components"]["schemas"]["CloudEventHeaders"]
    Draft202012Validator.check_schema(headers)
    assert set(headers["required"]) == {"ce_id", "ce_source", "ce_type", "ce_specversion", "ce_subject"}
    assert {"traceparent", "tracestate", "content-type", "ce_time", "ce_dataschema"} <= set(
        headers["properties"]
    )


def test_asyncapi_dead_letter_headers_say_where_from_and_why(asyncapi: dict[str, Any]) -> None:
    """The document lists exactly the dlq_* headers the consumer writes."""
    headers = asyncapi["components"]["schemas"]["DeadLetterHeaders"]
    Draft202012Validator.check_schema(headers)
    record = SimpleNamespace(
        topic="certifia.enrolment", partition=0, offset=1, key=b"c", value=b"{}", headers=[]
    )
    consumer = EventConsumer(
        service="t",
        group_id="certifia.t",
        topics=["certifia.enrolment"],
        handlers={},
        uow_factory=None,  # type: ignore[arg-type]
        tables=None,  # type: ignore[arg-type]
        consumer_factory=None,  # type: ignore[arg-type]
        producer_factory=None,  # type: ignore[arg-type]
    )
    written = consumer.dead_letter_headers(record, "why", ["an error"], attempts=1)
    where_and_why = {k for k, _ in written if k.startswith("dlq_")}
    assert set(headers["required"]) == where_and_why
    assert where_and_why | {"ce_id", "ce_type", "traceparent"} <= set(headers["properties"])
    assert "20" in headers["properties"]["dlq_errors"]["description"]


def test_dead_letter_topics_are_derived() -> None:
    # one dead letter per topic and consumer group: what the group could not apply, and only that
    assert (
        dead_letter_topic("certifia.enrolment", "certifia.thesis") == "certifia.enrolment.certifia.thesis.dlq"
    )


# -- payload validation ----------------------------------------------------------------------------------
@pytest.mark.parametrize("event_type", sorted(SAMPLES))
def test_valid_sample_validates(event_type: str) -> None:
    contract(event_type).validate(SAMPLES[event_type])


@pytest.mark.parametrize("event_type", sorted(SAMPLES))
def test_each_missing_required_field_is_rejected_and_named(event_type: str) -> None:
    spec = contract(event_type)
    for field in spec.schema["required"]:
        payload = {k: v for k, v in SAMPLES[event_type].items() if k != field}
        with pytest.raises(ContractError, match=field):
            spec.validate(payload)


@pytest.mark.parametrize(
    ("event_type", "field", "value"),
    [
        (event_types.OPTION_CHOSEN, "option", "5C"),
        (event_types.CANDIDATE_WITHDRAWN, "withdrawn_by_role", "jury"),
        (event_types.CANDIDATE_WITHDRAWN, "reason", ""),
        (event_types.CANDIDATE_ENROLLED, "path", "apprentissage"),
        (event_types.BLOC_PASSED, "bloc", "6"),
        (event_types.BLOC_PASSED, "via", "magic"),
        (event_types.CRITERION_VALIDATED, "decided_by_role", "candidate"),
        (event_types.THESIS_DEFENDED, "outcome", "maybe"),
        (event_types.DIPLOMA_ISSUED, "option", "5"),
        (event_types.DIPLOMA_REVOKED, "revoked_by_role", "candidate"),
        (event_types.BLOC_CERTIFICATE_REVOKED, "revoked_by_role", "jury"),
        (event_types.BLOC_CERTIFICATE_REVOKED, "bloc", "6"),
        (event_types.APPEAL_OPENED, "opened_by_role", "jury"),
        (event_types.APPEAL_OPENED, "bloc", "6"),
        (event_types.APPEAL_RESOLVED, "outcome", "partially"),
        (event_types.APPEAL_RESOLVED, "resolved_by_role", "jury"),
    ],
)
def test_bad_enum_is_rejected(event_type: str, field: str, value: str) -> None:
    payload = {**SAMPLES[event_type], field: value}
    with pytest.raises(ContractError, match=f"{event_type}: {field}: "):
        contract(event_type).validate(payload)


@pytest.mark.parametrize(
    ("event_type", "change"),
    [
        (event_types.CANDIDATE_ENROLLED, {"enrolled_at": "yesterday"}),
        (event_types.CANDIDATE_ENROLLED, {"enrolled_at": "2025-03-04T10:15:00"}),  # no offset
        (event_types.CANDIDATE_ENROLLED, {"email": "not-an-email"}),
        (event_types.CANDIDATE_ENROLLED, {"given_name": ""}),
        (event_types.MISSION_REGISTERED, {"months_fte": 3.5}),
        (event_types.MISSION_REGISTERED, {"start_date": "06/01/2025"}),
        (event_types.MISSION_REGISTERED, {"fte": 0}),
        (event_types.SUBMISSION_RECEIVED, {"digest": "not-a-sha"}),
        (event_types.SUBMISSION_RECEIVED, {"size_bytes": -1}),
        (event_types.COMPETENCY_VALIDATED, {"competency_id": "7.A1.C1"}),
        (event_types.THESIS_DEFENDED, {"jury": []}),
        (event_types.THESIS_SUBMITTED, {"sha256": "not-a-sha"}),
        (event_types.THESIS_SUBMITTED, {"version": 0}),
        (event_types.THESIS_SUBMITTED, {"size_bytes": 0}),
        (event_types.THESIS_SUBMITTED, {"title": "Thès"}),
        (event_types.THESIS_SUBMITTED, {"submitted_at": "2025-03-04"}),
        (event_types.DEFENCE_SCHEDULED, {"scheduled_at": "2025-03-20T14:00:00"}),  # no offset
        (event_types.DEFENCE_SCHEDULED, {"location": ""}),
        (event_types.DEFENCE_SCHEDULED, {"jury": [{"name": "Pr Durand", "role": "president"}]}),
        (
            event_types.DEFENCE_SCHEDULED,
            {"jury": [{"name": "A", "role": "chair"}, {"name": "B", "role": "member"}]},
        ),
        (
            event_types.DEFENCE_SCHEDULED,
            {"jury": [{"name": "", "role": "president"}, {"name": "B", "role": "member"}]},
        ),
        (event_types.DEFENCE_SCHEDULED, {"jury": [{"role": "president"}, {"name": "B", "role": "member"}]}),
        (event_types.THESIS_DEFENDED, {"grade": 21}),
        (event_types.DIPLOMA_REVOKED, {"reason": ""}),
        (event_types.DIPLOMA_REVOKED, {"reason": "x" * 501}),
        (event_types.DIPLOMA_REVOKED, {"revoked_at": "2026-11-29"}),
        (event_types.APPEAL_OPENED, {"grounds": "trop court"}),
        (event_types.APPEAL_OPENED, {"grounds": "x" * 4001}),
        (event_types.APPEAL_OPENED, {"criterion_id": "7.A1.C1.E1"}),
        (event_types.APPEAL_OPENED, {"opened_at": "2026-11-29"}),
        (event_types.APPEAL_RESOLVED, {"reasoning": "non."}),
        (event_types.APPEAL_RESOLVED, {"reasoning": "x" * 4001}),
        (event_types.APPEAL_RESOLVED, {"resolution_decision_id": 3}),
        (event_types.APPEAL_RESOLVED, {"resolved_by": ""}),
    ],
)
def test_bad_values_are_rejected(event_type: str, change: dict[str, Any]) -> None:
    with pytest.raises(ContractError):
        contract(event_type).validate({**SAMPLES[event_type], **change})


def test_a_dismissed_appeal_names_no_new_decision() -> None:
    dismissed = {
        **SAMPLES[event_types.APPEAL_RESOLVED],
        "outcome": "dismissed",
        "resolution_decision_id": None,
    }
    contract(event_types.APPEAL_RESOLVED).validate(dismissed)


def test_grading_completed_v1_keeps_its_released_comparators_and_v2_adds_equality() -> None:
    # v1 was released with >= and <= only: a v1 reader dead-letters "==", which is why v2 exists
    equality = SAMPLES[event_types.GRADING_COMPLETED_V2]
    with pytest.raises(ContractError, match=r"criteria/0/comparator"):
        contract(event_types.GRADING_COMPLETED).validate(equality)
    contract(event_types.GRADING_COMPLETED_V2).validate(SAMPLES[event_types.GRADING_COMPLETED])
    v1, v2 = (contract(t).schema for t in (event_types.GRADING_COMPLETED, event_types.GRADING_COMPLETED_V2))
    assert v1["x-certifia-topic"] == v2["x-certifia-topic"] == event_types.TOPIC_GRADING
    assert v1["required"] == v2["required"]
    # v2 also carries, optionally, the commitment to the hidden data's seed and the accommodation the job
    # was graded under (additive; v1 is frozen)
    assert set(v2["properties"]) - set(v1["properties"]) == {"dataset_commitment", "accommodation"}
    assert set(v1["properties"]) <= set(v2["properties"])


def test_nested_errors_name_the_path() -> None:
    payload = copy.deepcopy(SAMPLES[event_types.GRADING_COMPLETED])
    payload["criteria"][0]["verdict"] = "perhaps"
    with pytest.raises(ContractError, match=r"criteria/0/verdict"):
        contract(event_types.GRADING_COMPLETED).validate(payload)


def test_readers_are_tolerant_of_unknown_fields() -> None:
    # Contracts evolve additively: a v1 reader must accept fields a later producer adds.
    for event_type, sample in SAMPLES.items():
        assert contract(event_type).schema.get("additionalProperties", True) is not False, event_type
        contract(event_type).validate({**sample, "added_later": 1})


def test_unknown_type_is_a_contract_error() -> None:
    with pytest.raises(ContractError, match="unknown event type"):
        contract("fr.certifia.enrolment.candidate.teleported.v1")
