#!/usr/bin/env python3
"""What legacy clients cost the broker: up-conversion (Produce v0-v2) and down-conversion (Fetch v0-v3),
with baselines measured in the same run.

* up-convert: decode + CRC32-check a magic-1 message set of 1,000 records (100-byte values, plain and gzip
  wrappers) and build the v2 batch the log stores; baseline: the log's own check of the equivalent v2 batch
  (``split_batches``: size, magic, CRC32C), which is all a Produce v3+ request costs before the write;
* down-convert: re-encode 1 MiB of stored v2 batches (plain and gzip) as magic-0/1 messages; baseline:
  copying the same bytes once (``bytes(...)``), the upper bound of what a v4+ fetch costs (it uses
  ``sendfile``, which copies nothing in Python).

Prints microseconds per operation, MB/s of record data and ratios to the baseline.
Usage: ``python tools/bench_legacy.py [--quick]``.
"""

from __future__ import annotations

import argparse
import timeit
from functools import partial
from collections.abc import Callable
from typing import Any

from kafka_zk.log.validation import split_batches
from kafka_zk.record import CompressionType, build_batch
from kafka_zk.record.legacy import decode_message_set, down_convert, encode_message_set, up_convert

RECORDS = 1000
VALUE = 100


def best_us(fn: Callable[[], Any], number: int, repeat: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def up_convert_set(legacy: bytes) -> bytes:
    return up_convert(decode_message_set(legacy))


def copy_bytes(data: bytes) -> bytes:
    return bytes(bytearray(data))


def rows() -> list[tuple[int, int, bytes, bytes]]:
    return [(i, 1_700_000_000_000 + i, b"key-%06d" % i, (b"%06d" % i) * (VALUE // 6 + 1)) for i in range(RECORDS)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    args = ap.parse_args()
    number, repeat = (3, 2) if args.quick else (20, 5)
    data = rows()
    payload = sum(len(k) + len(v) for _, _, k, v in data)
    print(f"{RECORDS} records, {payload / 1e3:.0f} kB of keys+values; best of {repeat} x {number}\n")
    print(f"{'operation':<44}{'us/op':>10}{'MB/s':>9}{'x baseline':>12}")
    for codec in (CompressionType.NONE, CompressionType.GZIP):
        v2 = memoryview(bytearray(build_batch([(ts, k, v) for _, ts, k, v in data], codec)))
        legacy = encode_message_set(data, 1, codec)
        base = best_us(partial(split_batches, v2, max_message_bytes=None), number, repeat)
        up = best_us(partial(up_convert_set, legacy), number, repeat)
        name = codec.config_name
        print(f"{'v2 batch check (Produce v3+), ' + name:<44}{base:>10.0f}{payload / base:>9.0f}{1.0:>12.1f}")
        print(f"{'up-convert magic 1 (Produce v2), ' + name:<44}{up:>10.0f}{payload / up:>9.0f}{up / base:>12.1f}")
        stored = bytes(v2) * max(1, (1 << 20) // len(v2))
        copy = best_us(partial(copy_bytes, stored), number, repeat)
        for magic in (0, 1):
            down = best_us(partial(down_convert, stored, magic, 0), max(1, number // 4), repeat)
            mb = payload * (len(stored) // len(v2)) / down
            print(f"{f'down-convert to magic {magic} (Fetch v{magic * 2}), ' + name:<44}{down:>10.0f}{mb:>9.0f}"
                  f"{down / copy:>12.1f}   (baseline: copy {copy:.0f} us)")
    print("\nratios > 1: how many times the baseline a legacy client costs; MB/s of record keys+values")


if __name__ == "__main__":
    main()
