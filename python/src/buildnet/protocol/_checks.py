"""The checks the generated payload dataclasses (``payloads.py``) call: the per-field limits that
``docs/protocol/schema.json`` declares (``non_empty``, ``min``, ``length``, ...) and the
cross-field rules it names (hand-written here because they are code; the schema says where each
runs). Java has the same checks in ``dev.buildnet.internal.protocol.PayloadRules``, with the
same messages, so both sides accept and reject the same payloads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from collections.abc import Mapping, Sized

# ---- per-field limits --------------------------------------------------------------------------


def non_empty(name: str, value: Optional[Sized]) -> None:
    if value is not None and not len(value):
        raise ValueError(f"{name} must not be empty")


def non_negative(name: str, value: Optional[int]) -> None:
    if value is not None and value < 0:
        raise ValueError(f"{name} must not be negative but was {value}")


def positive(name: str, value: Optional[int]) -> None:
    if value is not None and value < 1:
        raise ValueError(f"{name} must be at least 1 but was {value}")


def in_range(name: str, value: Optional[int], low: int, high: int) -> None:
    if value is not None and not low <= value <= high:
        raise ValueError(f"{name} must be {low}..{high} but was {value}")


def length(name: str, value: Optional[bytes], expected: int) -> None:
    if value is not None and len(value) != expected:
        raise ValueError(f"{name} must be {expected} bytes but was {len(value)}")


def max_length(name: str, value: Optional[bytes], maximum: int) -> None:
    if value is not None and len(value) > maximum:
        raise ValueError(f"{name} must be at most {maximum} bytes but was {len(value)}")


def one_of(name: str, value: Optional[str], allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        quoted = [f"'{a}'" for a in allowed]
        choices = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
        raise ValueError(f"{name} must be {choices} but was '{value}'")


# ---- cross-field rules (named in the schema's "rules") -----------------------------------------


def worker_resources(role: str, cpu_slots: Optional[int], memory_mb: Optional[int]) -> None:
    """HELLO: a worker states its resources."""
    if role == "worker" and (cpu_slots is None or memory_mb is None):
        raise ValueError("a worker's HELLO must state cpu_slots and memory_mb")


def accepted_or_refused(
    accepted: bool, proof: Optional[bytes], error_code: Optional[int], reason: Optional[str]
) -> None:
    """HELLO_ACK: accepting needs the listener's proof, refusing an error code and reason."""
    from buildnet.protocol.payloads import NONCE_BYTES  # here: payloads imports this module

    if accepted:
        if proof is None:
            raise ValueError("an accepting HELLO_ACK needs the listener's proof")
        length("proof", proof, NONCE_BYTES)
    elif error_code is None or reason is None:
        raise ValueError("a refusing HELLO_ACK needs error_code and reason")


def bundler_fields(
    bundler: Optional[str],
    entrypoints: Optional[tuple[str, ...]],
    out_dir: Optional[str],
    bundler_options: Optional[Mapping[str, str]],
) -> None:
    """TARGET_RUN: the bundler fields come together, and only with a bundler."""
    if bundler is not None:
        if not entrypoints or out_dir is None:
            raise ValueError("a bundler TARGET_RUN needs entrypoints (at least one) and out_dir")
    elif entrypoints is not None or out_dir is not None or bundler_options is not None:
        raise ValueError("entrypoints, out_dir and bundler_options belong to a bundler TARGET_RUN")


def conditional_write(
    ttl_ms: Optional[int], if_absent: Optional[bool], expected: Optional[bytes]
) -> None:
    """STATE_SET: a compare-and-set is neither if-absent nor expiring."""
    if expected is not None and if_absent:
        raise ValueError("if_absent and expected exclude each other")
    if expected is not None and ttl_ms is not None:
        raise ValueError("a compare-and-set (expected) takes no ttl_ms")


def last_chunk(
    offset: int, data: bytes, last: bool, digest: Optional[str], size: Optional[int]
) -> None:
    """BLOB_PUT, BLOB_CHUNK: the last chunk names the whole blob, and its size adds up."""
    if last:
        if digest is None or size is None:
            raise ValueError("the last chunk needs digest and size")
        if size != offset + len(data):
            raise ValueError(f"the last chunk ends at {offset + len(data)} but size says {size}")


def since_needs_build(build_id: Optional[str], since: Optional[int]) -> None:
    """SUBSCRIBE: ``since`` counts one build's events."""
    if since is not None and build_id is None:
        raise ValueError("since needs build_id: it counts one build's events")


def log_line(kind: str, stream: Optional[str], line: Optional[str]) -> None:
    """EVENT: a log event carries its stream and line."""
    if kind == "log" and (line is None or stream is None):
        raise ValueError("a log event needs stream and line")
