#!/usr/bin/env python3
"""Micro-benchmark of the protocol hot paths, with baselines measured in the same run.

* decode of a Produce v8 request frame carrying one 1 MiB record batch (the broker's produce path);
  baseline: copying the same frame once (``bytes(frame)``) — decoding should cost less than one copy,
  because the records are a zero-copy view;
* encode of a Fetch v10 response with 100 partitions of 1 KiB each, in memory and as file regions
  (the ``sendfile`` path); baseline: aiokafka 0.14's generic protocol structs encoding the same response
  (skipped when aiokafka is not installed).

Prints microseconds per operation and ratios.  Usage: ``python tools/bench_protocol.py [--quick]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import timeit
from collections.abc import Callable
from typing import Any

from kafka_zk.common.regions import FileRegion
from kafka_zk.protocol.apis import ApiKey, decode_request_frame, encode_request_frame, encode_response_frame
from kafka_zk.protocol.headers import RequestHeader
from kafka_zk.protocol.messages import FetchResponse, ProduceRequest

PARTITIONS = 100
PARTITION_BYTES = 1024
BATCH_BYTES = 1 << 20


def best_us(fn: Callable[[], Any], number: int, repeat: int) -> float:
    """Best-of-``repeat`` time per call in microseconds."""
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def produce_frame() -> memoryview:
    batch = bytes(range(256)) * (BATCH_BYTES // 256)
    request = ProduceRequest(acks=-1, timeout_ms=30000, topic_data=[
        ProduceRequest.TopicProduceData(name="bench", partition_data=[
            ProduceRequest.PartitionProduceData(index=0, records=batch)])])
    frame = encode_request_frame(RequestHeader(ApiKey.PRODUCE, 8, 1, "bench"), request)
    return memoryview(frame)[4:]


def fetch_response(records: list[Any]) -> Any:
    return FetchResponse(responses=[FetchResponse.FetchableTopicResponse(topic="bench", partitions=[
        FetchResponse.PartitionData(partition_index=i, high_watermark=1000, last_stable_offset=1000,
                                    log_start_offset=0, records=r)
        for i, r in enumerate(records)])])


def aiokafka_fetch_encoder(payloads: list[bytes]) -> Callable[[], bytes] | None:
    try:
        from aiokafka.protocol.fetch import FetchResponse_v10
    except ImportError:
        return None
    resp = FetchResponse_v10(0, 0, 0, [("bench", [(i, 0, 1000, 1000, 0, [], p) for i, p in enumerate(payloads)])])
    return resp.encode  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="protocol hot-path benchmark")
    parser.add_argument("--quick", action="store_true", help="fewer iterations (smoke run)")
    args = parser.parse_args(argv)
    repeat = 3 if args.quick else 5
    scale = 10 if args.quick else 1

    frame = produce_frame()
    decode_us = best_us(lambda: decode_request_frame(frame), 2000 // scale, repeat)
    copy_us = best_us(lambda: bytes(frame), 200 // scale, repeat)
    print(f"Produce v8 request decode, 1 MiB batch : {decode_us:9.2f} us   "
          f"(one copy of the frame: {copy_us:9.2f} us; decode/copy = {decode_us / copy_us:.3f})")

    payloads = [bytes([i % 256]) * PARTITION_BYTES for i in range(PARTITIONS)]
    in_memory = fetch_response(payloads)
    encode_us = best_us(lambda: encode_response_frame(1, ApiKey.FETCH, 10, in_memory), 500 // scale, repeat)
    with tempfile.TemporaryFile() as f:
        f.write(b"".join(payloads))
        f.flush()
        regions = fetch_response([FileRegion(f, i * PARTITION_BYTES, PARTITION_BYTES) for i in range(PARTITIONS)])
        region_us = best_us(lambda: encode_response_frame(1, ApiKey.FETCH, 10, regions), 500 // scale, repeat)
    print(f"Fetch v10 response encode, {PARTITIONS} partitions x {PARTITION_BYTES} B, in memory : {encode_us:9.2f} us")
    print(f"Fetch v10 response encode, {PARTITIONS} partitions as FileRegions   : {region_us:9.2f} us")
    baseline = aiokafka_fetch_encoder(payloads)
    if baseline is not None:
        base_us = best_us(baseline, 200 // scale, repeat)
        print(f"  baseline aiokafka 0.14 generic encoder, same response  : {base_us:9.2f} us   "
              f"(ours is {base_us / encode_us:.1f}x faster in memory, {base_us / region_us:.1f}x with regions)")
    else:
        print("  (aiokafka not installed: no baseline)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
