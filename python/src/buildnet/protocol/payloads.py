"""One frozen dataclass per message type: the typed payloads of ``docs/PROTOCOL.md``.

Attribute names are the wire names. An optional field that is ``None`` is absent on the wire.
Arrays are tuples (lists are accepted and converted), ``env`` is a mapping of str to str, binary
fields are ``bytes``.

Construction checks field types (``TypeError``) and the rules the document states, such as the
nonce length or the chunk size (``ValueError``); the decoder reports such a violation as
``INVALID_PAYLOAD``. The rules are the Java records' rules (``dev.buildnet.protocol.Payloads``), so
both sides accept and reject the same messages.

Where the dataclass field order differs from the wire order (a required field after optional
ones, which dataclasses cannot express), ``WIRE_ORDER`` gives the wire order; construct with
keywords.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Optional

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
MAX_CHUNK_BYTES = 1 << 20
#: Nonce and proof length in bytes.
NONCE_BYTES = 32
#: The ``kind`` values of an EVENT.
EVENT_KINDS = frozenset(
    {"build_started", "build_finished", "target_started", "target_finished", "log"}
)


class Payload(Record):
    """Base of every message's payload; ``TYPE`` is the message type it belongs to."""

    __slots__ = ()

    TYPE: ClassVar[MessageType]


# ---- rule helpers ------------------------------------------------------------------------------


def _non_empty(name: str, value: Optional[str]) -> None:
    if value is not None and not value:
        raise ValueError(f"{name} must not be empty")


def _non_negative(name: str, value: Optional[int]) -> None:
    if value is not None and value < 0:
        raise ValueError(f"{name} must not be negative but was {value}")


def _positive(name: str, value: Optional[int]) -> None:
    if value is not None and value < 1:
        raise ValueError(f"{name} must be at least 1 but was {value}")


def _length(name: str, value: Optional[bytes], expected: int) -> None:
    if value is not None and len(value) != expected:
        raise ValueError(f"{name} must be {expected} bytes but was {len(value)}")


def _stream(value: Optional[str]) -> None:
    if value is not None and value not in ("stdout", "stderr"):
        raise ValueError(f"stream must be stdout or stderr but was {value!r}")


def _chunk(
    offset: int, data: bytes, last: bool, digest: Optional[str], size: Optional[int]
) -> None:
    _non_negative("offset", offset)
    if len(data) > MAX_CHUNK_BYTES:
        raise ValueError(f"a chunk carries at most {MAX_CHUNK_BYTES} bytes but had {len(data)}")
    if last:
        if digest is None or size is None:
            raise ValueError("the last chunk needs digest and size")
        if size != offset + len(data):
            raise ValueError(
                f"the last chunk ends at {offset + len(data)} but size says {size}"
            )


# ---- session -----------------------------------------------------------------------------------


@record
class Output(Record):
    """One output file of a finished target (inside :class:`BuildCompleted`)."""

    path: str
    digest: str
    size: int
    executable: Optional[bool] = None

    def _validate(self) -> None:
        _non_negative("size", self.size)


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
        if self.role not in (Hello.WORKER, Hello.CLIENT):
            raise ValueError(f"role must be 'worker' or 'client' but was {self.role!r}")
        _non_empty("peer_id", self.peer_id)
        _non_negative("minor", self.minor)
        _length("nonce", self.nonce, NONCE_BYTES)
        if self.role == Hello.WORKER and (self.cpu_slots is None or self.memory_mb is None):
            raise ValueError("a worker's HELLO must state cpu_slots and memory_mb")
        _positive("cpu_slots", self.cpu_slots)
        _positive("memory_mb", self.memory_mb)


@record
class HelloAck(Payload):
    """The listener's verdict on a HELLO: accepted (with its proof) or refused (with a reason).

    ``blob_algorithm`` (field 9) names the hash algorithm of the master's blob store, e.g.
    ``xxh64`` or ``sha256``: workers name output digests with it."""

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
        _non_negative("minor", self.minor)
        if self.accepted:
            if self.proof is None:
                raise ValueError("an accepting HELLO_ACK needs the listener's proof")
            _length("proof", self.proof, NONCE_BYTES)
        elif self.error_code is None or self.reason is None:
            raise ValueError("a refusing HELLO_ACK needs error_code and reason")
        _positive("heartbeat_ms", self.heartbeat_ms)
        _non_empty("blob_algorithm", self.blob_algorithm)


@record
class AuthChallenge(Payload):
    """The listener's nonce, answering a HELLO."""

    TYPE = MessageType.AUTH_CHALLENGE

    reply_to: str
    nonce: bytes

    def _validate(self) -> None:
        _length("nonce", self.nonce, NONCE_BYTES)


@record
class AuthProof(Payload):
    """The connecting peer's proof that it knows the secret, answering an AUTH_CHALLENGE."""

    TYPE = MessageType.AUTH_PROOF

    reply_to: str
    proof: bytes


@record
class Ack(Payload):
    """Success without data (cancel, subscribe, ...)."""

    TYPE = MessageType.ACK

    reply_to: str


@record
class ErrorReply(Payload):
    """ERROR: a failure of a request (``reply_to`` set) or of the connection (``fatal``)."""

    TYPE = MessageType.ERROR
    WIRE_ORDER = ("reply_to", "code", "message", "fatal")

    code: int
    message: str
    fatal: bool
    reply_to: Optional[str] = None

    def _validate(self) -> None:
        _non_negative("code", self.code)


# ---- liveness ----------------------------------------------------------------------------------


@record
class Heartbeat(Payload):
    """Liveness probe; the receiver answers HEARTBEAT_ACK."""

    TYPE = MessageType.HEARTBEAT

    running: Optional[int] = None

    def _validate(self) -> None:
        _non_negative("running", self.running)


@record
class HeartbeatAck(Payload):
    """Answers a HEARTBEAT."""

    TYPE = MessageType.HEARTBEAT_ACK

    reply_to: str


# ---- builds ------------------------------------------------------------------------------------


@record
class BuildRequest(Payload):
    """Build ``targets``: client -> master, or master -> worker (``attempt`` set)."""

    TYPE = MessageType.BUILD_REQUEST

    build_id: str
    targets: tuple[str, ...]
    attempt: Optional[int] = None
    keep_going: Optional[bool] = None
    force: Optional[bool] = None
    env: Optional[Mapping[str, str]] = None
    timeout_ms: Optional[int] = None

    def _validate(self) -> None:
        _non_empty("build_id", self.build_id)
        if not self.targets:
            raise ValueError("targets must not be empty")
        _positive("attempt", self.attempt)
        _positive("timeout_ms", self.timeout_ms)


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
        _non_empty("build_id", self.build_id)
        _positive("attempt", self.attempt)


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
        _non_empty("build_id", self.build_id)
        _non_negative("completed", self.completed)
        _non_negative("total", self.total)
        _stream(self.stream)


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
        _non_empty("build_id", self.build_id)
        _positive("attempt", self.attempt)
        _non_negative("duration_ms", self.duration_ms)
        _non_negative("cache_hits", self.cache_hits)
        _non_negative("executed", self.executed)


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
        _non_empty("build_id", self.build_id)
        _positive("attempt", self.attempt)


@record
class BuildCancel(Payload):
    """Cancel a whole build; answered by ACK (or ERROR NOT_FOUND)."""

    TYPE = MessageType.BUILD_CANCEL

    build_id: str
    reason: Optional[str] = None

    def _validate(self) -> None:
        _non_empty("build_id", self.build_id)


@record
class TargetCancel(Payload):
    """Cancel one attempt of one target; answered by ACK (or ERROR NOT_FOUND)."""

    TYPE = MessageType.TARGET_CANCEL

    build_id: str
    target: str
    attempt: int
    reason: Optional[str] = None

    def _validate(self) -> None:
        _non_empty("build_id", self.build_id)
        _non_empty("target", self.target)
        _positive("attempt", self.attempt)


@record
class TargetRun(Payload):
    """Master -> worker: run one attempt of one target in a sandbox; answered by BUILD_STARTED."""

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
        _non_empty("build_id", self.build_id)
        _non_empty("target", self.target)
        _positive("attempt", self.attempt)
        if not self.argv:
            raise ValueError("argv must not be empty")
        _positive("timeout_ms", self.timeout_ms)
        _positive("output_cap", self.output_cap)
        if self.bundler is not None:
            _non_empty("bundler", self.bundler)
            if not self.entrypoints or self.out_dir is None:
                raise ValueError(
                    "a bundler TARGET_RUN needs entrypoints (at least one) and out_dir"
                )
        elif (
            self.entrypoints is not None
            or self.out_dir is not None
            or self.bundler_options is not None
        ):
            raise ValueError(
                "entrypoints, out_dir and bundler_options belong to a bundler TARGET_RUN"
            )


# ---- state -------------------------------------------------------------------------------------


@record
class StateGet(Payload):
    """Read one key; answered by STATE_RESPONSE."""

    TYPE = MessageType.STATE_GET

    key: str

    def _validate(self) -> None:
        _non_empty("key", self.key)


@record
class StateSet(Payload):
    """Write one key; answered by STATE_RESPONSE (``found``: whether it existed before).

    Since 1.1 the write may be conditional: ``if_absent`` (store only if the key is absent) or
    ``expected`` (compare-and-set: store only if the current value is these bytes; the new value
    never expires); the reply's ``applied`` says whether it was stored.
    """

    TYPE = MessageType.STATE_SET

    key: str
    value: bytes
    ttl_ms: Optional[int] = None
    if_absent: Optional[bool] = None
    expected: Optional[bytes] = None

    def _validate(self) -> None:
        _non_empty("key", self.key)
        _positive("ttl_ms", self.ttl_ms)
        if self.expected is not None and self.if_absent:
            raise ValueError("if_absent and expected exclude each other")
        if self.expected is not None and self.ttl_ms is not None:
            raise ValueError("a compare-and-set (expected) takes no ttl_ms")


@record
class StateDelete(Payload):
    """Delete one key; answered by STATE_RESPONSE (``found``: whether it existed)."""

    TYPE = MessageType.STATE_DELETE

    key: str

    def _validate(self) -> None:
        _non_empty("key", self.key)


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
        _non_empty("key", self.key)


# ---- locks -------------------------------------------------------------------------------------


@record
class LockAcquire(Payload):
    """Acquire a named lock for ``lease_ms``, waiting up to ``wait_ms`` (default 0)."""

    TYPE = MessageType.LOCK_ACQUIRE

    name: str
    holder: str
    lease_ms: int
    wait_ms: Optional[int] = None

    def _validate(self) -> None:
        _non_empty("name", self.name)
        _non_empty("holder", self.holder)
        _positive("lease_ms", self.lease_ms)
        _non_negative("wait_ms", self.wait_ms)


@record
class LockRelease(Payload):
    """Release a lock held under ``token`` (since 1.1 naming its ``holder``)."""

    TYPE = MessageType.LOCK_RELEASE

    name: str
    token: str
    holder: Optional[str] = None

    def _validate(self) -> None:
        _non_empty("name", self.name)
        _non_empty("token", self.token)
        _non_empty("holder", self.holder)


@record
class LockResponse(Payload):
    """Answers LOCK_ACQUIRE/RENEW/RELEASE; since 1.1 a grant carries ``expires_at``, when the
    lease lapses on the master's state clock (epoch ms)."""

    TYPE = MessageType.LOCK_RESPONSE

    reply_to: str
    granted: bool
    token: Optional[str] = None
    holder: Optional[str] = None
    lease_ms: Optional[int] = None
    expires_at: Optional[int] = None

    def _validate(self) -> None:
        _positive("lease_ms", self.lease_ms)


@record
class LockRenew(Payload):
    """Extend the lease ``holder`` holds under ``token`` to ``lease_ms`` from now."""

    TYPE = MessageType.LOCK_RENEW

    name: str
    holder: str
    token: str
    lease_ms: int

    def _validate(self) -> None:
        _non_empty("name", self.name)
        _non_empty("holder", self.holder)
        _non_empty("token", self.token)
        _positive("lease_ms", self.lease_ms)


# ---- resources ---------------------------------------------------------------------------------


@record
class ResourceClaim(Payload):
    """Claim CPU slots and memory under ``claim_id``; answered by RESOURCE_STATUS."""

    TYPE = MessageType.RESOURCE_CLAIM

    claim_id: str
    cpu_slots: int
    memory_mb: int

    def _validate(self) -> None:
        _non_empty("claim_id", self.claim_id)
        _non_negative("cpu_slots", self.cpu_slots)
        _non_negative("memory_mb", self.memory_mb)


@record
class ResourceRelease(Payload):
    """Release a claim; answered by RESOURCE_STATUS."""

    TYPE = MessageType.RESOURCE_RELEASE

    claim_id: str

    def _validate(self) -> None:
        _non_empty("claim_id", self.claim_id)


@record
class ResourceStatus(Payload):
    """Free and total resources; a reply (``reply_to`` set) or an unsolicited update."""

    TYPE = MessageType.RESOURCE_STATUS
    WIRE_ORDER = (
        "reply_to", "claim_id", "granted",
        "cpu_slots_free", "memory_mb_free", "cpu_slots_total", "memory_mb_total",
    )  # fmt: skip

    granted: bool
    cpu_slots_free: int
    memory_mb_free: int
    cpu_slots_total: int
    memory_mb_total: int
    reply_to: Optional[str] = None
    claim_id: Optional[str] = None

    def _validate(self) -> None:
        _non_negative("cpu_slots_free", self.cpu_slots_free)
        _non_negative("memory_mb_free", self.memory_mb_free)
        _non_negative("cpu_slots_total", self.cpu_slots_total)
        _non_negative("memory_mb_total", self.memory_mb_total)


# ---- blobs -------------------------------------------------------------------------------------


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
    """One chunk of an upload; the last carries the whole blob's digest and size."""

    TYPE = MessageType.BLOB_PUT

    transfer_id: str
    offset: int
    data: bytes
    last: bool
    digest: Optional[str] = None
    size: Optional[int] = None

    def _validate(self) -> None:
        _non_empty("transfer_id", self.transfer_id)
        _chunk(self.offset, self.data, self.last, self.digest, self.size)


@record
class BlobPutResponse(Payload):
    """Answers the last BLOB_PUT chunk: ``stored`` is false if the blob was already present."""

    TYPE = MessageType.BLOB_PUT_RESPONSE

    reply_to: str
    digest: str
    stored: bool

    def _validate(self) -> None:
        _non_empty("digest", self.digest)


@record
class BlobGet(Payload):
    """Download a blob from ``offset`` (default 0); answered by BLOB_CHUNKs or ERROR."""

    TYPE = MessageType.BLOB_GET

    digest: str
    offset: Optional[int] = None
    max_chunk: Optional[int] = None

    def _validate(self) -> None:
        _non_empty("digest", self.digest)
        _non_negative("offset", self.offset)
        if self.max_chunk is not None and not 1 <= self.max_chunk <= MAX_CHUNK_BYTES:
            raise ValueError(f"max_chunk must be 1..{MAX_CHUNK_BYTES} but was {self.max_chunk}")


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
        _chunk(self.offset, self.data, self.last, self.digest, self.size)


# ---- events ------------------------------------------------------------------------------------


@record
class Subscribe(Payload):
    """Subscribe to events of one build (or all); answered by ACK."""

    TYPE = MessageType.SUBSCRIBE

    subscription_id: str
    build_id: Optional[str] = None
    logs: Optional[bool] = None
    #: Since 1.3: re-attach to ``build_id`` after this event number (0: from the start).
    since: Optional[int] = None

    def _validate(self) -> None:
        _non_empty("subscription_id", self.subscription_id)
        _non_negative("since", self.since)
        if self.since is not None and self.build_id is None:
            raise ValueError("since needs build_id: it counts one build's events")


@record
class Unsubscribe(Payload):
    """End a subscription; answered by ACK."""

    TYPE = MessageType.UNSUBSCRIBE

    subscription_id: str

    def _validate(self) -> None:
        _non_empty("subscription_id", self.subscription_id)


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
        _non_empty("subscription_id", self.subscription_id)
        _positive("seq", self.seq)
        if self.kind not in EVENT_KINDS:
            raise ValueError(
                f"kind must be one of {sorted(EVENT_KINDS)} but was {self.kind!r}"
            )
        _non_empty("build_id", self.build_id)
        if self.kind == "log" and (self.line is None or self.stream is None):
            raise ValueError("a log event needs stream and line")
        _stream(self.stream)


#: The payload class of every message type.
PAYLOAD_CLASSES: Mapping[MessageType, type[Payload]] = {
    c.TYPE: c
    for c in (
        Hello, HelloAck, AuthChallenge, AuthProof, Ack, ErrorReply, Heartbeat, HeartbeatAck,
        BuildRequest, BuildStarted, BuildProgress, BuildCompleted, BuildFailed, BuildCancel,
        TargetCancel, TargetRun, StateGet, StateSet, StateDelete, StateResponse, StateKeys,
        StateIncrement,
        LockAcquire, LockRelease, LockResponse, LockRenew, ResourceClaim, ResourceRelease,
        ResourceStatus, BlobHas, BlobHasResponse, BlobPut, BlobPutResponse, BlobGet, BlobChunk,
        Subscribe, Unsubscribe, Event,
    )
}  # fmt: skip
