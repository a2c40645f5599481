"""Hypothesis strategies for every payload type, derived from the wire schema."""

from __future__ import annotations

from typing import Any, Callable

from hypothesis import strategies as st

from buildnet.protocol import (
    EVENT_KINDS,
    NONCE_BYTES,
    PAYLOAD_CLASSES,
    Message,
    Output,
    Payload,
)
from buildnet.protocol._record import INT64_MAX, INT64_MIN, FieldSpec, Kind, schema_of

# Most int fields must be >= 0 or >= 1; these may be anything.
_ANY_INT = {"exit_code", "at", "error_code", "delta", "number", "expires_at"}

text = st.text(max_size=12)
non_negative = st.integers(0, INT64_MAX)
any_int = st.integers(INT64_MIN, INT64_MAX)
small_non_negative = st.integers(0, 1 << 40)

_FIELD: dict[str, st.SearchStrategy[Any]] = {
    "role": st.sampled_from(["worker", "client"]),
    "nonce": st.binary(min_size=NONCE_BYTES, max_size=NONCE_BYTES),
    "kind": st.sampled_from(sorted(EVENT_KINDS)),
    "stream": st.sampled_from(["stdout", "stderr"]),
    "max_chunk": st.integers(1, 1 << 20),
    "offset": small_non_negative,
}


def _value(f: FieldSpec) -> st.SearchStrategy[Any]:
    if f.name in _FIELD:
        return _FIELD[f.name]
    k = f.kind
    if k is Kind.STR:
        return text
    if k is Kind.INT:
        return any_int if f.name in _ANY_INT else st.one_of(st.integers(0, 300), non_negative)
    if k is Kind.BOOL:
        return st.booleans()
    if k is Kind.BIN:
        if f.name == "proof":
            return st.binary(min_size=NONCE_BYTES, max_size=NONCE_BYTES) | st.binary(max_size=40)
        return st.binary(max_size=64)
    if k is Kind.STR_ARRAY:
        return st.lists(text, max_size=4).map(tuple)
    if k is Kind.STR_MAP:
        return st.dictionaries(text, text, max_size=4)
    return st.lists(records(Output), max_size=3).map(tuple)


def _fixups(cls: type[Any], kw: dict[str, Any]) -> dict[str, Any]:
    # Rules tying fields together: generate them consistently instead of rejecting.
    if kw.get("expected") is not None:
        # A compare-and-set takes no ttl_ms and excludes if_absent (false may still be sent).
        kw["ttl_ms"] = None
        if kw.get("if_absent"):
            kw["if_absent"] = False
    if kw.get("last"):
        kw["size"] = kw["offset"] + len(kw["data"])
        if kw.get("digest") is None:
            kw["digest"] = "sha256:00"
    return kw


def records(cls: type[Any]) -> st.SearchStrategy[Any]:
    """Valid instances of a payload (or Output) class, every optional field sometimes absent."""
    fields = {
        f.name: _value(f) if f.required else st.none() | _value(f)
        for f in schema_of(cls).fields
    }
    build: Callable[[dict[str, Any]], Any] = lambda kw: _construct(cls, _fixups(cls, kw))  # noqa: E731
    return st.fixed_dictionaries(fields).map(build).filter(lambda r: r is not None)


def _construct(cls: type[Any], kw: dict[str, Any]) -> Any:
    try:
        return cls(**kw)
    except ValueError:
        return None  # breaks a rule (e.g. an empty build_id); filtered out


payloads: st.SearchStrategy[Payload] = st.one_of(
    [records(c) for c in PAYLOAD_CLASSES.values()]
)


def messages(payload: st.SearchStrategy[Payload] = payloads) -> st.SearchStrategy[Message]:
    return st.builds(
        Message,
        id=st.text(min_size=1, max_size=20),
        timestamp=any_int,
        payload=payload,
        runtime=st.sampled_from(["python", "jvm", "ü"]),
        version=st.integers(0, 2**31 - 1),
    )
