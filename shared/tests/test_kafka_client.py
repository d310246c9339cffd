"""The Kafka client as installed: what its speed depends on."""

from __future__ import annotations


def test_record_checksums_are_computed_in_c() -> None:
    """Issue 15: kafka-python checks every record batch's CRC-32C; without the ``crc32c`` package it does
    so in pure Python (~2% of a consumer's CPU under bench-api, and the producer's sender thread too)."""
    from kafka.record import _crc32c, util

    assert util.calc_crc32c.__defaults__ is not None
    assert util.calc_crc32c.__defaults__[0] is not _crc32c.crc
    assert util.calc_crc32c(memoryview(b"123456789")) == 0xE3069283  # the CRC-32C check value
