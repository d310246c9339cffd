"""Webhook rules without I/O: signatures (checked with the Standard Webhooks reference library), URLs,
the event catalogue, retries."""

from __future__ import annotations

import json
import re
import socket
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from certifia_enrolment.adapters.webhook_http import HttpWebhookSender
from certifia_enrolment.domain.webhooks import (
    ALL_EVENTS,
    DEFAULT_RETRY_SECONDS,
    EVENT_NAMES,
    WEBHOOK_EVENTS,
    Attempt,
    Subscription,
    WebhookRefused,
    address_refusal,
    after_attempt,
    check_url,
    new_secret,
    normalise_events,
    signed_headers,
    webhook_body,
)
from certifia_shared import event_types as ev
from certifia_shared.contracts import catalogue, contract, events_dir

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
BODY = b'{"type":"bloc.passed","data":{"bloc":"2"}}'


def _headers(secrets: list[str], body: bytes = BODY, webhook_id: str = "d-1") -> dict[str, str]:
    ts = int(datetime.now(UTC).timestamp())
    return signed_headers(secrets, webhook_id=webhook_id, timestamp=ts, body=body)


def test_a_signed_webhook_verifies_with_the_reference_library() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert Webhook(secret).verify(BODY, _headers([secret])) == json.loads(BODY)


def test_a_changed_body_id_or_secret_does_not_verify() -> None:
    secret = new_secret()
    headers = _headers([secret])
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b"2", b"3"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, {**headers, "webhook-id": "d-2"})
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)


def test_during_a_rotation_both_secrets_sign_and_afterwards_only_the_new_one() -> None:
    old, new = new_secret(), new_secret()
    sub = Subscription(
        id="s",
        lms_client="moodle",
        url="https://lms.example.org/hooks",
        events=(ALL_EVENTS,),
        secret=new,
        active=True,
        created_at=NOW,
        previous_secret=old,
        previous_secret_until=NOW + timedelta(hours=24),
    )
    during = _headers(sub.signing_secrets(NOW))
    assert len(during["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(BODY, during)
    Webhook(new).verify(BODY, during)
    after = _headers(sub.signing_secrets(NOW + timedelta(hours=25)))
    Webhook(new).verify(BODY, after)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(BODY, after)


@pytest.mark.parametrize(
    "url",
    [
        "https://lms.example.org/hooks",
        "https://193.51.224.10:8443/certifia",  # a public address
    ],
)
def test_public_https_urls_are_accepted(url: str) -> None:
    assert check_url(url, allow_http=False, allow_private=False) == url


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://lms.example.org/hooks", "https"),
        ("ftp://lms.example.org/hooks", "https"),
        ("lms.example.org/hooks", "https"),
        ("https://127.0.0.1/hooks", "not a public address"),
        ("https://10.1.2.3/hooks", "not a public address"),
        ("https://169.254.169.254/latest/meta-data", "not a public address"),
        ("https://[::1]/hooks", "not a public address"),
        ("https://localhost/hooks", "this machine"),
        ("https://user:pw@lms.example.org/hooks", "credentials"),
        ("https://lms.example.org/hooks#x", "fragment"),
        ("https://[::1/hooks", "not a valid URL"),
        ("https://lms.example.org:99999/hooks", "not a valid URL"),
        ("https://lms.example.org:http/hooks", "not a valid URL"),
        ("https://lms example.org/hooks", "no spaces"),
        ("https://lms.example.org/hooks\r\nX-Injected: 1", "no spaces"),
    ],
)
def test_unsafe_urls_are_refused_with_the_reason(url: str, why: str) -> None:
    with pytest.raises(WebhookRefused) as refused:
        check_url(url, allow_http=False, allow_private=False)
    assert refused.value.field == "url" and why in refused.value.message


def test_a_local_demo_may_allow_http_and_loopback() -> None:
    url = "http://127.0.0.1:9000/hooks"
    assert check_url(url, allow_http=True, allow_private=True) == url


def test_resolved_addresses_are_checked_at_delivery() -> None:
    assert address_refusal(["93.184.215.14"], allow_private=False) is None
    assert "10.0.0.7" in (address_refusal(["93.184.215.14", "10.0.0.7"], allow_private=False) or "")
    assert address_refusal(["fe80::1%eth0"], allow_private=False)
    assert address_refusal(["127.0.0.1"], allow_private=True) is None


def test_the_sender_refuses_a_host_that_resolves_inside_without_connecting() -> None:
    def resolver(host: str, port: int) -> list[object]:
        assert (host, port) == ("hooks.example.org", 443)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.20.30.40", port))]

    sender = HttpWebhookSender(timeout_seconds=1, allow_private=False, resolver=resolver)
    attempt = sender.post("https://hooks.example.org/x", b"{}", {})
    assert attempt.status_code is None and "10.20.30.40" in attempt.describe()
    assert not attempt.succeeded


def test_the_sender_fails_a_malformed_url_as_an_attempt_instead_of_raising() -> None:
    def resolver(host: str, port: int) -> list[object]:
        raise AssertionError("nothing is resolved for a malformed URL")

    sender = HttpWebhookSender(timeout_seconds=1, allow_private=False, resolver=resolver)
    attempt = sender.post("https://lms.example.org:99999/x", b"{}", {})
    assert attempt.status_code is None and "not a valid URL" in attempt.describe()


def test_event_selection_is_checked_against_the_catalogue() -> None:
    assert normalise_events(None) == (ALL_EVENTS,)
    assert normalise_events(["*", "bloc.passed"]) == (ALL_EVENTS,)
    assert normalise_events(["diploma.issued", "bloc.passed", "bloc.passed"]) == (
        "bloc.passed",
        "diploma.issued",
    )
    with pytest.raises(WebhookRefused) as refused:
        normalise_events(["bloc.passed", "grading.requested"])
    assert refused.value.field == "events" and "grading.requested" in refused.value.message


def test_the_catalogue_names_each_candidate_event_once_and_leaves_out_internal_plumbing() -> None:
    assert len(set(EVENT_NAMES)) == len(EVENT_NAMES)
    assert ev.GRADING_REQUESTED not in WEBHOOK_EVENTS
    for event_type, name in WEBHOOK_EVENTS.items():
        # the type less its service and version; thesis's appeals keep "thesis." beside assessment's appeals
        service = "" if name.startswith("thesis.appeal.") else r"\w+\."
        assert re.fullmatch(rf"fr\.certifia\.{service}{re.escape(name)}\.v\d+", event_type), event_type
    assert WEBHOOK_EVENTS[ev.DEFENCE_APPEAL_OPENED] == "thesis.appeal.opened"
    assert WEBHOOK_EVENTS[ev.APPEAL_OPENED] == "appeal.opened"
    # the LMS gets one grading.completed per verdict: from v2, not from the v1 written beside it
    assert WEBHOOK_EVENTS[ev.GRADING_COMPLETED_V2] == "grading.completed"
    assert ev.GRADING_COMPLETED not in WEBHOOK_EVENTS


@pytest.mark.parametrize("event_type", sorted(WEBHOOK_EVENTS))
def test_each_forwarded_event_has_a_contract_naming_the_candidate(event_type: str) -> None:
    if event_type not in catalogue():
        pytest.skip(f"{events_dir() / (event_type + '.schema.json')} is not written yet (another change)")
    schema = contract(event_type).schema
    assert "candidate_id" in schema["required"], event_type  # fan-out finds the candidate's LMS by it


def test_a_subscription_wants_what_it_asked_for_while_active() -> None:
    sub = Subscription("s", "moodle", "https://x.example", ("bloc.passed",), new_secret(), True, NOW)
    assert sub.wants("bloc.passed") and not sub.wants("diploma.issued")
    assert Subscription("s", "m", "https://x.example", (ALL_EVENTS,), "k", True, NOW).wants("diploma.issued")
    assert not Subscription("s", "m", "https://x.example", (ALL_EVENTS,), "k", False, NOW).wants(
        "bloc.passed"
    )


def test_retries_follow_the_schedule_then_the_delivery_fails() -> None:
    schedule = (10.0, 60.0)
    first = after_attempt(Attempt(500), attempts_made=1, now=NOW, retry_seconds=schedule)
    assert first.status == "pending" and first.next_attempt_at == NOW + timedelta(seconds=10)
    second = after_attempt(Attempt(None, "timeout"), attempts_made=2, now=NOW, retry_seconds=schedule)
    assert second.status == "pending" and second.next_attempt_at == NOW + timedelta(seconds=60)
    assert after_attempt(Attempt(503), attempts_made=3, now=NOW, retry_seconds=schedule).status == "failed"
    assert after_attempt(Attempt(204), attempts_made=3, now=NOW, retry_seconds=schedule).status == "delivered"
    # a redirect is not followed, so it is not a delivery
    assert after_attempt(Attempt(302), attempts_made=1, now=NOW, retry_seconds=schedule).status == "pending"
    assert sum(DEFAULT_RETRY_SECONDS) / 3600 > 24  # an LMS down for a day loses nothing


def test_the_body_carries_the_event_and_the_lms_own_candidate_id() -> None:
    data = {"candidate_id": "c-1", "bloc": "2"}
    body = webhook_body(
        name="bloc.passed",
        event_id="e-1",
        event_type=ev.BLOC_PASSED,
        event_time="2026-11-29T10:00:00+00:00",
        data=data,
        external_id="moodle-42",
    )
    message = json.loads(body)
    assert message == {
        "type": "bloc.passed",
        "timestamp": "2026-11-29T10:00:00+00:00",
        "event_id": "e-1",
        "event_type": ev.BLOC_PASSED,
        "candidate": {"id": "c-1", "external_id": "moodle-42"},
        "data": data,
    }
