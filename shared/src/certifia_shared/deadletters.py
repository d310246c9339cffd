"""Dead letters: list them, and replay chosen ones after a fix, through the consumer's own checks and inbox
(so a replay has one effect, however often it is run, and an event already applied is not applied twice).

Each service's entry point offers it, with the service's own settings (its database, its certificate):

    python -m certifia_<service> dead-letters list [--json]
    python -m certifia_<service> dead-letters replay <dead-letter topic>:<partition>:<offset> [...]

(``make dead-letters`` and ``make replay-dead-letter`` do it for the local stack.) A replay reads the dead
letter, gives the consumer the original record back (its topic, partition, offset and headers), and
reports "applied", "duplicate" (the inbox already has it) or "ignored"; a record that still cannot be
applied is reported with the reason and stays a dead letter (nothing is dead-lettered twice).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from certifia_shared.bus import dead_letter_topic
from certifia_shared.config import KafkaSecurity, ServiceSettings
from certifia_shared.consumer import DLQ_HEADER_PREFIX, EventConsumer, PoisonRecord
from certifia_shared.envelope import headers_dict
from certifia_shared.kafka import read_to_end
from certifia_shared.service import ServiceContext
from certifia_shared.telemetry import logs_to_stderr

S = TypeVar("S", bound=ServiceSettings)


@dataclass(frozen=True)
class ReplayedRecord:
    """The original record, as the consumer first saw it, rebuilt from its dead letter."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


@dataclass(frozen=True)
class DeadLetter:
    address: str  # <dead-letter topic>:<partition>:<offset>
    original_topic: str
    original_partition: int
    original_offset: int
    group: str
    attempts: int
    reason: str
    errors: list[str]
    failed_at: str
    event_id: str
    event_type: str
    event_source: str
    subject: str

    @classmethod
    def of(cls, record: Any) -> tuple[DeadLetter, ReplayedRecord]:
        h = headers_dict(record.headers)
        try:
            errors = list(json.loads(h.get("dlq_errors", "[]")))
        except ValueError:
            errors = []
        letter = cls(
            address=f"{record.topic}:{record.partition}:{record.offset}",
            original_topic=h.get("dlq_original_topic", ""),
            original_partition=int(h.get("dlq_original_partition", "-1") or -1),
            original_offset=int(h.get("dlq_original_offset", "-1") or -1),
            group=h.get("dlq_consumer_group", ""),
            attempts=int(h.get("dlq_attempts", "0") or 0),
            reason=h.get("dlq_reason", ""),
            errors=[str(e) for e in errors],
            failed_at=h.get("dlq_failed_at", ""),
            event_id=h.get("ce_id", ""),
            event_type=h.get("ce_type", ""),
            event_source=h.get("ce_source", ""),
            subject=h.get("ce_subject", ""),
        )
        original = ReplayedRecord(
            topic=letter.original_topic,
            partition=letter.original_partition,
            offset=letter.original_offset,
            key=record.key,
            value=record.value,
            headers=[(k, v) for k, v in (record.headers or []) if not k.startswith(DLQ_HEADER_PREFIX)],
        )
        return letter, original


def read(
    bootstrap: str, security: KafkaSecurity, topics: Iterable[str], *, timeout_s: float = 30.0
) -> list[tuple[DeadLetter, ReplayedRecord]]:
    """Every dead letter on ``topics``, oldest first per partition (read without a group: no offsets)."""
    records = read_to_end(bootstrap, security, topics, timeout_s=timeout_s)
    return [DeadLetter.of(r) for r in sorted(records, key=lambda r: (r.topic, r.partition, r.offset))]


def replay(
    consumer: EventConsumer, letters: list[tuple[DeadLetter, ReplayedRecord]], addresses: Iterable[str]
) -> list[tuple[str, str]]:
    """(address, outcome) per chosen dead letter; an unknown address is reported, not guessed."""
    by_address = {letter.address: (letter, original) for letter, original in letters}
    results = []
    for address in addresses:
        if address not in by_address:
            results.append((address, "not found: no dead letter at this address for this service"))
            continue
        letter, original = by_address[address]
        if letter.group != consumer.group_id:
            results.append((address, f"refused: a dead letter of {letter.group}, not {consumer.group_id}"))
            continue
        try:
            results.append((address, consumer.replay(original)))
        except PoisonRecord as exc:
            results.append((address, f"still refused: {exc.reason}"))
    return results


def cli(argv: list[str], settings: S, build: Callable[[S], ServiceContext]) -> int:
    """``python -m certifia_<service> dead-letters ...``: the service wired as usual, its workers not started;
    its logs on stderr (a client's error logged while the consumer closes once broke a script reading stdout)."""
    logs_to_stderr()
    ctx = build(settings.model_copy(update={"run_background_workers": False}))
    return main(
        argv,
        consumer=ctx.runtime.consumer,
        bootstrap=settings.kafka_bootstrap_servers,
        security=settings.kafka_security(),
    )


def main(argv: list[str], *, consumer: EventConsumer | None, bootstrap: str, security: KafkaSecurity) -> int:
    parser = argparse.ArgumentParser(prog="dead-letters")
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="every dead letter of this service's consumer group")
    listing.add_argument("--json", action="store_true")
    again = sub.add_parser("replay", help="apply chosen dead letters again (after a fix)")
    again.add_argument("addresses", nargs="+", metavar="TOPIC:PARTITION:OFFSET")
    args = parser.parse_args(argv)
    event_consumer = consumer
    if event_consumer is None:
        print("this service consumes no events: it has no dead letters", file=sys.stderr)
        return 0
    topics = [dead_letter_topic(t, event_consumer.group_id) for t in event_consumer.topics]
    letters = read(bootstrap, security, topics)
    if args.command == "list":
        if args.json:
            print(json.dumps([asdict(letter) for letter, _ in letters], ensure_ascii=False, indent=2))
        else:
            for letter, _ in letters:
                print(
                    f"{letter.address}  {letter.original_topic}[{letter.original_partition}]@"
                    f"{letter.original_offset}  {letter.event_type or '?'}  {letter.event_id or '?'}  {letter.reason}"
                )
            print(f"{len(letters)} dead letter(s) for {event_consumer.group_id}", file=sys.stderr)
        return 0
    results = replay(event_consumer, letters, args.addresses)
    for address, outcome in results:
        print(f"{address}  {outcome}")
    ok = {"applied", "duplicate", "ignored"}
    return 0 if all(outcome in ok for _, outcome in results) else 1
