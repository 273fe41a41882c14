from typing import Any, Sequence

def encode_record(offset_delta: int, timestamp_delta: int, key: bytes | None, value: bytes | None,
                  headers: Sequence[tuple[str, bytes | None]] | None) -> bytes: ...
def decode_records_into(data: bytes, count: int, base_offset: int, base_timestamp: int,
                        log_append_time: int | None, min_offset: int, cls: type, topic: str, partition: int,
                        timestamp_type: int, leader_epoch: int, out: list[Any]) -> None: ...
