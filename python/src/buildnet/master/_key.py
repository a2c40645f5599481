"""The cache key of a target, byte for byte as the Java engine computes it (docs/CACHE-KEY.md is
the definition; docs/cache-key-vectors.json the shared test vectors)."""

from __future__ import annotations

import platform as _platform
import re
import struct
from typing import TYPE_CHECKING, Any

from buildnet import _digests
from buildnet.master._workspace import utf16

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from buildnet.master._workspace import Target

#: KeyManifest.FORMAT_VERSION of the Java engine. 2: a dependency that declares outputs is keyed
#: by the digest of its outputs (early cutoff), not by its key.
FORMAT_VERSION = 2
_MAGIC = "buildnet-cache-key"
_OUTPUTS_MAGIC = "buildnet-outputs"


def normalized_platform(os_name: str, os_arch: str) -> tuple[str, str]:
    """The platform's (os, arch) as Java's ``Platform.normalized`` names them."""
    os_ = re.sub(r"[^a-z0-9]", "", os_name.lower())
    if os_.startswith("windows"):
        os_ = "windows"
    elif os_.startswith(("mac", "darwin", "osx")):
        os_ = "macos"
    elif os_.startswith("linux"):
        os_ = "linux"
    arch = re.sub(r"[^a-z0-9_]", "", os_arch.lower())
    arch = {
        "amd64": "x86_64",
        "x8664": "x86_64",
        "x86_64": "x86_64",
        "x64": "x86_64",
        "aarch64": "aarch64",
        "arm64": "aarch64",
        "x86": "x86",
        "i386": "x86",
        "i486": "x86",
        "i586": "x86",
        "i686": "x86",
        "x8632": "x86",
    }.get(arch, arch)
    return (os_ or "unknown", arch or "unknown")


def current_platform() -> tuple[str, str]:
    return normalized_platform(_platform.system(), _platform.machine())


class _Encoder:
    """Java ``DataOutputStream`` framing: big-endian int32 lengths, UTF-8 strings."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def tag(self, c: str) -> None:
        self.parts.append(c.encode("ascii"))

    def int32(self, n: int) -> None:
        self.parts.append(struct.pack(">i", n))

    def boolean(self, b: bool) -> None:
        self.parts.append(b"\x01" if b else b"\x00")

    def string(self, s: str) -> None:
        data = s.encode("utf-8")
        self.int32(len(data))
        self.parts.append(data)

    def strings(self, values: Sequence[str]) -> None:
        self.int32(len(values))
        for v in values:
            self.string(v)

    def digests(self, entries: Iterable[tuple[str, str]]) -> None:
        items = sorted(entries, key=lambda kv: utf16(kv[0]))
        self.int32(len(items))
        for k, v in items:
            self.string(k)
            self.string(v)


def output_digest(
    algorithm: str, outputs: Iterable[Mapping[str, Any]], directories: Iterable[str]
) -> str:
    """The digest of a dependency's outputs as its dependents' keys cover them (docs/CACHE-KEY.md,
    "Output digest"): each output file's path, digest and executable bit, sorted by path, then
    the declared outputs that are directories, sorted. Java's ``KeyManifest.outputDigest``."""
    e = _Encoder()
    e.string(_OUTPUTS_MAGIC)
    e.tag("F")
    files = sorted(outputs, key=lambda o: utf16(str(o["path"])))
    e.int32(len(files))
    for o in files:
        e.string(str(o["path"]))
        e.string(str(o["digest"]))
        e.boolean(bool(o.get("executable")))
    e.tag("R")
    e.strings(sorted(set(directories), key=utf16))
    return _digests.of_bytes(algorithm, b"".join(e.parts))


def dependency_value(target: Target, key: str, outputs_digest: str | None) -> str:
    """What a dependent's key covers of dependency ``target``: the digest of its outputs if it
    declares outputs (early cutoff), else its key (it may be there for its side effects)."""
    if not target.outputs:
        return key
    if outputs_digest is None:
        raise ValueError(f"dependency '{target.name}' declares outputs but has no output digest")
    return outputs_digest


def env_digests(algorithm: str, env: Mapping[str, str]) -> dict[str, str]:
    return {k: _digests.of_bytes(algorithm, v.encode("utf-8")) for k, v in env.items()}


def compute_key(
    algorithm: str,
    target: Target,
    env: Mapping[str, str],
    inputs: Mapping[str, str],
    dependency_keys: Mapping[str, str],
    platform: tuple[str, str],
    bundler_version: str | None = None,
) -> str:
    """The key of ``target``: ``env`` is its resolved environment (values, not digests),
    ``inputs`` input path -> content digest, ``dependency_keys`` one value per dependency, as
    :func:`dependency_value` gives it (its output digest, or its key if it has no outputs)."""
    if set(dependency_keys) != set(target.deps):
        raise ValueError(
            f"target '{target.name}': dependency keys {sorted(dependency_keys)} do not match "
            f"its dependencies {sorted(target.deps)}"
        )
    e = _Encoder()
    e.string(_MAGIC)
    e.int32(FORMAT_VERSION)
    e.tag("A")
    e.strings(list(target.command) if target.bundler is None else [])
    e.tag("W")
    e.string(target.cwd)
    e.tag("E")
    e.digests(env_digests(algorithm, env).items())
    e.tag("I")
    e.digests(inputs.items())
    e.tag("D")
    e.digests(dependency_keys.items())
    e.tag("O")
    e.strings(target.outputs)
    e.tag("B")
    b = target.bundler
    if b is None:
        e.boolean(False)
    else:
        if bundler_version is None:
            raise ValueError(f"target '{target.name}': no version known for bundler '{b.adapter}'")
        e.boolean(True)
        e.string(b.adapter)
        e.string(bundler_version)
        e.int32(len(b.options))
        for k, v in b.options:
            e.string(k)
            e.string(v)
        e.strings(b.entrypoints)
        e.string(b.out_dir)
    e.tag("P")
    e.string(platform[0])
    e.string(platform[1])
    return _digests.of_bytes(algorithm, b"".join(e.parts))
