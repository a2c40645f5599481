# GENERATED from docs/protocol/schema.json: do not edit.
# Regenerate (from the repository root): python3 python/tools/gen_wire_schema.py
"""One frozen dataclass per message type: the typed payloads of ``docs/PROTOCOL.md``,
generated from ``docs/protocol/schema.json``.

Attribute names are the wire names. An optional field that is ``None`` is absent on the wire.
Arrays are tuples (lists are accepted and converted), ``env`` is a mapping of str to str, binary
fields are ``bytes``.

Construction checks field types (``TypeError``) and the rules the document states, such as the
nonce length or the chunk size (``ValueError``); the decoder reports such a violation as
``INVALID_PAYLOAD``. The rules are the Java records' rules
(``dev.buildnet.internal.protocol.Payloads``, generated from the same schema), so both sides
accept and reject the same messages.

Where the dataclass field order differs from the wire order (a required field after optional
ones, which dataclasses cannot express), ``WIRE_ORDER`` gives the wire order; construct with
keywords.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Optional

from buildnet.protocol._checks import (
    accepted_or_refused,
    bundler_fields,
    conditional_write,
    in_range,
    last_chunk,
    length,
    log_line,
    max_length,
    non_empty,
    non_negative,
    one_of,
    positive,
    since_needs_build,
    worker_resources,
)
from buildnet.protocol._record import Record, record
from buildnet.protocol.types import MessageType

__all__ = [
    "EVENT_KINDS",
    "MAX_CHUNK_BYTES",
    "NONCE_BYTES",
    "PAYLOAD_CLASSES",
    "Ack",
    "AuthChallenge",
    "AuthProof",
    "BlobChunk",
    "BlobGet",
    "BlobHas",
    "BlobHasResponse",
    "BlobPut",
    "BlobPutResponse",
    "BuildCancel",
    "BuildCompleted",
    "BuildFailed",
    "BuildProgress",
    "BuildRequest",
    "BuildStarted",
    "ErrorReply",
    "Event",
    "Heartbeat",
    "HeartbeatAck",
    "Hello",
    "HelloAck",
    "LockAcquire",
    "LockRelease",
    "LockRenew",
    "LockResponse",
    "Output",
    "Payload",
    "ResourceClaim",
    "ResourceRelease",
    "ResourceStatus",
    "StateDelete",
    "StateGet",
    "StateIncrement",
    "StateKeys",
    "StateResponse",
    "StateSet",
    "Subscribe",
    "TargetCancel",
    "TargetRun",
    "Unsubscribe",
]

#: The largest ``data`` of one BLOB_PUT or BLOB_CHUNK: 1 MiB.
MAX_CHUNK_BYTES = 1048576
#: Nonce and proof length in bytes.
NONCE_BYTES = 32
_ROLE_VALUES = ("worker", "client")
_STREAM_VALUES = ("stdout", "stderr")
_KIND_VALUES = ("build_started", "build_finished", "target_started", "target_finished", "log")
#: The ``kind`` values of an EVENT.
EVENT_KINDS = frozenset(_KIND_VALUES)


class Payload(Record):
    """Base of every message's payload; ``TYPE`` is the message type it belongs to."""

    __slots__ = ()

    TYPE: ClassVar[MessageType]


@record
class Output(Record):
    """One output file of a finished target (inside BUILD_COMPLETED, and the ``inputs`` of
    TARGET_RUN)."""

    path: str
    digest: str
    size: int
    executable: Optional[bool] = None

    def _validate(self) -> None:
        non_negative("size", self.size)


@record
class Hello(Payload):
    """First message of a connection, from the connecting peer (worker or client)."""

    TYPE = MessageType.HELLO
    WORKER: ClassVar[str] = "worker"
    CLIENT: ClassVar[str] = "client"

    role: str
    peer_id: str
    minor: int
    nonce: bytes
    capabilities: Optional[tuple[str, ...]] = None
    cpu_slots: Optional[int] = None
    memory_mb: Optional[int] = None

    def _validate(self) -> None:
        one_of("role", self.role, _ROLE_VALUES)
        non_empty("peer_id", self.peer_id)
        non_negative("minor", self.minor)
        length("nonce", self.nonce, NONCE_BYTES)
        worker_resources(self.role, self.cpu_slots, self.memory_mb)
        positive("cpu_slots", self.cpu_slots)
        positive("memory_mb", self.memory_mb)


@record
class HelloAck(Payload):
    """The listener's verdict on a HELLO: accepted (with its proof) or refused (with a reason)."""

    TYPE = MessageType.HELLO_ACK

    reply_to: str
    accepted: bool
    minor: int
    peer_id: str
    proof: Optional[bytes] = None
    error_code: Optional[int] = None
    reason: Optional[str] = None
    heartbeat_ms: Optional[int] = None
    blob_algorithm: Optional[str] = None

    def _validate(self) -> None:
        non_negative("minor", self.minor)
        accepted_or_refused(self.accepted, self.proof, self.error_code, self.reason)
        positive("heartbeat_ms", self.heartbeat_ms)
        non_empty("blob_algorithm", self.blob_algorithm)


@record
class AuthChallenge(Payload):
    """The listener's nonce, answering a HELLO."""

    TYPE = MessageType.AUTH_CHALLENGE

    reply_to: str
    nonce: bytes

    def _validate(self) -> None:
        length("nonce", self.nonce, NONCE_BYTES)


@record
class AuthProof(Payload):
    """The connecting peer's proof that it knows the secret, answering an AUTH_CHALLENGE."""

    TYPE = MessageType.AUTH_PROOF

    reply_to: str
    proof: bytes


@record
class Ack(Payload):
    """Success without data, for requests that need nothing more (cancel, subscribe, ...)."""

    TYPE = MessageType.ACK

    reply_to: str


@record
class ErrorReply(Payload):
    """A failure: of a request (``reply_to`` set) or of the connection (``fatal``)."""

    TYPE = MessageType.ERROR
    WIRE_ORDER = (
        "reply_to", "code", "message", "fatal"
    )  # fmt: skip

    code: int
    message: str
    fatal: bool
    reply_to: Optional[str] = None

    def _validate(self) -> None:
        non_negative("code", self.code)


@record
class Heartbeat(Payload):
    """Liveness probe; the receiver answers HEARTBEAT_ACK."""

    TYPE = MessageType.HEARTBEAT

    running: Optional[int] = None

    def _validate(self) -> None:
        non_negative("running", self.running)


@record
class HeartbeatAck(Payload):
    """Answers a HEARTBEAT."""

    TYPE = MessageType.HEARTBEAT_ACK

    reply_to: str


@record
class BuildRequest(Payload):
    """Build ``targets``: from a client to the master (a build), or from the master to a worker
    (``attempt`` set: one attempt of one target)."""

    TYPE = MessageType.BUILD_REQUEST

    build_id: str
    targets: tuple[str, ...]
    attempt: Optional[int] = None
    keep_going: Optional[bool] = None
    force: Optional[bool] = None
    env: Optional[Mapping[str, str]] = None
    timeout_ms: Optional[int] = None

    def _validate(self) -> None:
        non_empty("build_id", self.build_id)
        non_empty("targets", self.targets)
        positive("attempt", self.attempt)
        positive("timeout_ms", self.timeout_ms)


@record
class BuildStarted(Payload):
    """The build (or target attempt) of a BUILD_REQUEST has started."""

    TYPE = MessageType.BUILD_STARTED

    reply_to: str
    build_id: str
    target: Optional[str] = None
    attempt: Optional[int] = None
    worker_id: Optional[str] = None

    def _validate(self) -> None:
        non_empty("build_id", self.build_id)
        positive("attempt", self.attempt)


@record
class BuildProgress(Payload):
    """Progress of a build: ``completed`` of ``total`` targets are done."""

    TYPE = MessageType.BUILD_PROGRESS

    build_id: str
    completed: int
    total: int
    target: Optional[str] = None
    phase: Optional[str] = None
    message: Optional[str] = None
    stream: Optional[str] = None

    def _validate(self) -> None:
        non_empty("build_id", self.build_id)
        non_negative("completed", self.completed)
        non_negative("total", self.total)
        one_of("stream", self.stream, _STREAM_VALUES)


@record
class BuildCompleted(Payload):
    """A build (or, with ``target``, one target attempt) succeeded."""

    TYPE = MessageType.BUILD_COMPLETED
    WIRE_ORDER = (
        "build_id", "target", "attempt", "duration_ms", "outputs", "cache_hits", "executed"
    )  # fmt: skip

    build_id: str
    duration_ms: int
    target: Optional[str] = None
    attempt: Optional[int] = None
    outputs: Optional[tuple[Output, ...]] = None
    cache_hits: Optional[int] = None
    executed: Optional[int] = None

    def _validate(self) -> None:
        non_empty("build_id", self.build_id)
        positive("attempt", self.attempt)
        non_negative("duration_ms", self.duration_ms)
        non_negative("cache_hits", self.cache_hits)
        non_negative("executed", self.executed)


@record
class BuildFailed(Payload):
    """A build (or, with ``target``, one target attempt) failed."""

    TYPE = MessageType.BUILD_FAILED
    WIRE_ORDER = (
        "build_id", "target", "attempt", "error", "exit_code", "retryable", "failed_targets"
    )  # fmt: skip

    build_id: str
    error: str
    target: Optional[str] = None
    attempt: Optional[int] = None
    exit_code: Optional[int] = None
    retryable: Optional[bool] = None
    failed_targets: Optional[tuple[str, ...]] = None

    def _validate(self) -> None:
        non_empty("build_id", self.build_id)
        positive("attempt", self.attempt)


@record
class BuildCancel(Payload):
    """Cancel a whole build; answered by ACK (or ERROR NOT_FOUND)."""

    TYPE = MessageType.BUILD_CANCEL

    build_id: str
    reason: Optional[str] = None

    def _validate(self) -> None:
        non_empty("build_id", self.build_id)


@record
class TargetCancel(Payload):
    """Cancel one attempt of one target; answered by ACK (or ERROR NOT_FOUND)."""

    TYPE = MessageType.TARGET_CANCEL

    build_id: str
    target: str
    attempt: int
    reason: Optional[str] = None

    def _validate(self) -> None:
        non_empty("build_id", self.build_id)
        non_empty("target", self.target)
        positive("attempt", self.attempt)


@record
class TargetRun(Payload):
    """Run one attempt of one target (master -> worker). The worker answers BUILD_STARTED (reply),
    streams BUILD_PROGRESS log lines and ends with BUILD_COMPLETED or BUILD_FAILED, all carrying
    ``target`` and ``attempt``; or answers ERROR BUSY when it has no free slot. ``inputs`` are blobs
    to materialize at their paths; ``outputs`` are the declared output paths (files or directories)
    to collect. Paths are relative and stay inside the sandbox."""

    TYPE = MessageType.TARGET_RUN

    build_id: str
    target: str
    attempt: int
    argv: tuple[str, ...]
    cwd: str
    env: Mapping[str, str]
    inputs: tuple[Output, ...]
    outputs: tuple[str, ...]
    timeout_ms: Optional[int] = None
    output_cap: Optional[int] = None
    bundler: Optional[str] = None
    entrypoints: Optional[tuple[str, ...]] = None
    out_dir: Optional[str] = None
    bundler_options: Optional[Mapping[str, str]] = None
    keep_outputs: Optional[bool] = None

    def _validate(self) -> None:
        non_empty("build_id", self.build_id)
        non_empty("target", self.target)
        positive("attempt", self.attempt)
        non_empty("argv", self.argv)
        positive("timeout_ms", self.timeout_ms)
        positive("output_cap", self.output_cap)
        non_empty("bundler", self.bundler)
        bundler_fields(self.bundler, self.entrypoints, self.out_dir, self.bundler_options)


@record
class StateGet(Payload):
    """Read one key; answered by STATE_RESPONSE."""

    TYPE = MessageType.STATE_GET

    key: str

    def _validate(self) -> None:
        non_empty("key", self.key)


@record
class StateSet(Payload):
    """Write one key; answered by STATE_RESPONSE (``found``: whether it existed before). Since 1.1
    the write may be conditional: ``if_absent`` (store only if the key is absent) or ``expected``
    (compare-and-set: store only if the current value is these bytes; the new value never expires);
    the reply's ``applied`` says whether it was stored."""

    TYPE = MessageType.STATE_SET

    key: str
    value: bytes
    ttl_ms: Optional[int] = None
    if_absent: Optional[bool] = None
    expected: Optional[bytes] = None

    def _validate(self) -> None:
        non_empty("key", self.key)
        positive("ttl_ms", self.ttl_ms)
        conditional_write(self.ttl_ms, self.if_absent, self.expected)


@record
class StateDelete(Payload):
    """Delete one key; answered by STATE_RESPONSE (``found``: whether it existed)."""

    TYPE = MessageType.STATE_DELETE

    key: str

    def _validate(self) -> None:
        non_empty("key", self.key)


@record
class StateResponse(Payload):
    """Answers STATE_GET/SET/DELETE/KEYS/INCREMENT; ``value`` only for a found STATE_GET,
    ``applied`` for a conditional STATE_SET, ``number`` for STATE_INCREMENT, ``keys`` for
    STATE_KEYS."""

    TYPE = MessageType.STATE_RESPONSE

    reply_to: str
    found: bool
    value: Optional[bytes] = None
    applied: Optional[bool] = None
    number: Optional[int] = None
    keys: Optional[tuple[str, ...]] = None


@record
class StateKeys(Payload):
    """List the live keys starting with ``prefix`` (empty: all); answered by STATE_RESPONSE."""

    TYPE = MessageType.STATE_KEYS

    prefix: str


@record
class StateIncrement(Payload):
    """Add ``delta`` to the decimal integer under ``key`` (absent counts as 0); answered by
    STATE_RESPONSE with the new value in ``number``."""

    TYPE = MessageType.STATE_INCREMENT

    key: str
    delta: int

    def _validate(self) -> None:
        non_empty("key", self.key)


@record
class LockAcquire(Payload):
    """Acquire a named lock for ``lease_ms``, waiting up to ``wait_ms`` (default 0)."""

    TYPE = MessageType.LOCK_ACQUIRE

    name: str
    holder: str
    lease_ms: int
    wait_ms: Optional[int] = None

    def _validate(self) -> None:
        non_empty("name", self.name)
        non_empty("holder", self.holder)
        positive("lease_ms", self.lease_ms)
        non_negative("wait_ms", self.wait_ms)


@record
class LockRelease(Payload):
    """Release a lock held under ``token`` (since 1.1 naming its ``holder``)."""

    TYPE = MessageType.LOCK_RELEASE

    name: str
    token: str
    holder: Optional[str] = None

    def _validate(self) -> None:
        non_empty("name", self.name)
        non_empty("token", self.token)
        non_empty("holder", self.holder)


@record
class LockResponse(Payload):
    """Answers LOCK_ACQUIRE/RENEW/RELEASE; since 1.1 a grant carries ``expires_at``, when the lease
    lapses on the master's state clock (epoch ms)."""

    TYPE = MessageType.LOCK_RESPONSE

    reply_to: str
    granted: bool
    token: Optional[str] = None
    holder: Optional[str] = None
    lease_ms: Optional[int] = None
    expires_at: Optional[int] = None

    def _validate(self) -> None:
        positive("lease_ms", self.lease_ms)


@record
class LockRenew(Payload):
    """Extend the lease ``holder`` holds under ``token`` to ``lease_ms`` from now."""

    TYPE = MessageType.LOCK_RENEW

    name: str
    holder: str
    token: str
    lease_ms: int

    def _validate(self) -> None:
        non_empty("name", self.name)
        non_empty("holder", self.holder)
        non_empty("token", self.token)
        positive("lease_ms", self.lease_ms)


@record
class ResourceClaim(Payload):
    """Claim CPU slots and memory under ``claim_id``; answered by RESOURCE_STATUS."""

    TYPE = MessageType.RESOURCE_CLAIM

    claim_id: str
    cpu_slots: int
    memory_mb: int

    def _validate(self) -> None:
        non_empty("claim_id", self.claim_id)
        non_negative("cpu_slots", self.cpu_slots)
        non_negative("memory_mb", self.memory_mb)


@record
class ResourceRelease(Payload):
    """Release a claim; answered by RESOURCE_STATUS."""

    TYPE = MessageType.RESOURCE_RELEASE

    claim_id: str

    def _validate(self) -> None:
        non_empty("claim_id", self.claim_id)


@record
class ResourceStatus(Payload):
    """Free and total resources; a reply (``reply_to`` set) or an unsolicited update."""

    TYPE = MessageType.RESOURCE_STATUS
    WIRE_ORDER = (
        "reply_to", "claim_id", "granted", "cpu_slots_free", "memory_mb_free", "cpu_slots_total",
        "memory_mb_total"
    )  # fmt: skip

    granted: bool
    cpu_slots_free: int
    memory_mb_free: int
    cpu_slots_total: int
    memory_mb_total: int
    reply_to: Optional[str] = None
    claim_id: Optional[str] = None

    def _validate(self) -> None:
        non_negative("cpu_slots_free", self.cpu_slots_free)
        non_negative("memory_mb_free", self.memory_mb_free)
        non_negative("cpu_slots_total", self.cpu_slots_total)
        non_negative("memory_mb_total", self.memory_mb_total)


@record
class BlobHas(Payload):
    """Which of these digests does the receiver lack? Answered by BLOB_HAS_RESPONSE."""

    TYPE = MessageType.BLOB_HAS

    digests: tuple[str, ...]


@record
class BlobHasResponse(Payload):
    """The subset of BLOB_HAS's digests the receiver lacks, in the same order."""

    TYPE = MessageType.BLOB_HAS_RESPONSE

    reply_to: str
    missing: tuple[str, ...]


@record
class BlobPut(Payload):
    """One chunk of an upload. Chunks of one ``transfer_id`` are sent in order, each at the
    ``offset`` where the previous ended; the last one carries the whole blob's digest and size, and
    only it is answered (BLOB_PUT_RESPONSE or ERROR)."""

    TYPE = MessageType.BLOB_PUT

    transfer_id: str
    offset: int
    data: bytes
    last: bool
    digest: Optional[str] = None
    size: Optional[int] = None

    def _validate(self) -> None:
        non_empty("transfer_id", self.transfer_id)
        non_negative("offset", self.offset)
        max_length("data", self.data, MAX_CHUNK_BYTES)
        last_chunk(self.offset, self.data, self.last, self.digest, self.size)


@record
class BlobPutResponse(Payload):
    """Answers the last BLOB_PUT chunk: ``stored`` is false if the blob was already present."""

    TYPE = MessageType.BLOB_PUT_RESPONSE

    reply_to: str
    digest: str
    stored: bool

    def _validate(self) -> None:
        non_empty("digest", self.digest)


@record
class BlobGet(Payload):
    """Download a blob from ``offset`` (default 0); answered by BLOB_CHUNKs or ERROR."""

    TYPE = MessageType.BLOB_GET

    digest: str
    offset: Optional[int] = None
    max_chunk: Optional[int] = None

    def _validate(self) -> None:
        non_empty("digest", self.digest)
        non_negative("offset", self.offset)
        in_range("max_chunk", self.max_chunk, 1, MAX_CHUNK_BYTES)


@record
class BlobChunk(Payload):
    """One chunk of a download, in order; the last carries the digest and size."""

    TYPE = MessageType.BLOB_CHUNK

    reply_to: str
    offset: int
    data: bytes
    last: bool
    digest: Optional[str] = None
    size: Optional[int] = None

    def _validate(self) -> None:
        non_negative("offset", self.offset)
        max_length("data", self.data, MAX_CHUNK_BYTES)
        last_chunk(self.offset, self.data, self.last, self.digest, self.size)


@record
class Subscribe(Payload):
    """Subscribe to events of one build (or all); answered by ACK. With ``since`` (1.3), a re-attach
    to one build: EVENT ``seq`` are the build's event numbers and the stream replays those above
    ``since``, then ends with the build's final message."""

    TYPE = MessageType.SUBSCRIBE

    subscription_id: str
    build_id: Optional[str] = None
    logs: Optional[bool] = None
    since: Optional[int] = None

    def _validate(self) -> None:
        non_empty("subscription_id", self.subscription_id)
        non_negative("since", self.since)
        since_needs_build(self.build_id, self.since)


@record
class Unsubscribe(Payload):
    """End a subscription; answered by ACK."""

    TYPE = MessageType.UNSUBSCRIBE

    subscription_id: str

    def _validate(self) -> None:
        non_empty("subscription_id", self.subscription_id)


@record
class Event(Payload):
    """One lifecycle event or log line of a subscription, numbered by ``seq`` from 1."""

    TYPE = MessageType.EVENT

    subscription_id: str
    seq: int
    kind: str
    build_id: str
    at: int
    target: Optional[str] = None
    status: Optional[str] = None
    stream: Optional[str] = None
    line: Optional[str] = None

    def _validate(self) -> None:
        non_empty("subscription_id", self.subscription_id)
        positive("seq", self.seq)
        one_of("kind", self.kind, _KIND_VALUES)
        non_empty("build_id", self.build_id)
        log_line(self.kind, self.stream, self.line)
        one_of("stream", self.stream, _STREAM_VALUES)


#: The payload class of every message type.
PAYLOAD_CLASSES: Mapping[MessageType, type[Payload]] = {
    c.TYPE: c
    for c in (
        Hello, HelloAck, AuthChallenge, AuthProof, Ack, ErrorReply, Heartbeat, HeartbeatAck,
        BuildRequest, BuildStarted, BuildProgress, BuildCompleted, BuildFailed, BuildCancel,
        TargetCancel, TargetRun, StateGet, StateSet, StateDelete, StateResponse, StateKeys,
        StateIncrement, LockAcquire, LockRelease, LockResponse, LockRenew, ResourceClaim,
        ResourceRelease, ResourceStatus, BlobHas, BlobHasResponse, BlobPut, BlobPutResponse,
        BlobGet, BlobChunk, Subscribe, Unsubscribe, Event,
    )
}
