"""The Python master computes the same input lists, environment digests and cache keys as the Java
engine: docs/cache-key-vectors.json is written by a Java test (CacheKeyVectorsGenerator) and
checked by both (docs/CACHE-KEY.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from buildnet import _digests
from buildnet.master._inputs import InputResolver, compile_glob
from buildnet.master._key import (
    FORMAT_VERSION,
    compute_key,
    dependency_value,
    env_digests,
    normalized_platform,
    output_digest,
)
from buildnet.master._workspace import WorkspaceError, load, normalize, topological

VECTORS = Path(__file__).resolve().parents[2] / "docs" / "cache-key-vectors.json"
DOC = json.loads(VECTORS.read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", DOC["cases"], ids=[c["name"] for c in DOC["cases"]])
def test_every_target_of_the_vectors_gets_the_java_engines_inputs_env_and_key(
    case: dict[str, Any], tmp_path: Path
) -> None:
    for path, text in case["files"].items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(text.encode("utf-8"))
    (tmp_path / "buildnet.json").write_bytes(case["buildnet_json"].encode("utf-8"))
    platform = (DOC["platform"]["os"], DOC["platform"]["arch"])
    algorithm = DOC["algorithm"]
    targets = load(tmp_path)
    assert set(targets) == set(case["expected"])
    resolver = InputResolver(tmp_path)
    keys: dict[str, str] = {}
    outputs: dict[str, str] = {}
    assert DOC["key_format_version"] == FORMAT_VERSION
    for name in topological(targets, list(targets)):
        t = targets[name]
        expected = case["expected"][name]
        files = resolver.resolve(t)
        inputs = {f: _digests.of_file(algorithm, tmp_path / f)[0] for f in files}
        assert [{"path": p, "digest": d} for p, d in inputs.items()] == expected["inputs"], name
        env = t.resolve_env(case["host_env"])
        assert env_digests(algorithm, env) == expected["env"], name
        version = case.get("bundler_versions", {}).get(t.bundler.adapter) if t.bundler else None
        deps = {d: dependency_value(targets[d], keys[d], outputs.get(d)) for d in t.deps}
        keys[name] = compute_key(algorithm, t, env, inputs, deps, platform, version)
        assert keys[name] == expected["key"], name
        if t.outputs:
            # What the target is taken to have produced; listed in reverse, since the digest
            # must not depend on the order a master collected them in.
            produced = expected["output_manifest"]
            outputs[name] = output_digest(
                algorithm, list(reversed(produced["outputs"])), produced["directories"]
            )
            assert outputs[name] == expected["output_digest"], name
        else:
            assert "output_manifest" not in expected, name
        assert t.expand_command(list(inputs)) == expected["argv"], name
        assert t.command_env(case["host_env"]) == expected["command_env"], name


@pytest.mark.parametrize(
    ("os_name", "arch", "expected"),
    [
        ("Linux", "x86_64", ("linux", "x86_64")),
        ("Linux", "amd64", ("linux", "x86_64")),
        ("Darwin", "arm64", ("macos", "aarch64")),
        ("Mac OS X", "aarch64", ("macos", "aarch64")),
        ("Windows 11", "AMD64", ("windows", "x86_64")),
        ("", "", ("unknown", "unknown")),
    ],
)
def test_platform_names_are_normalized_as_java_does(
    os_name: str, arch: str, expected: tuple[str, str]
) -> None:
    assert normalized_platform(os_name, arch) == expected


def test_globs_follow_the_workspace_syntax() -> None:
    assert compile_glob("src/**/*.java").fullmatch("src/A.java")
    assert compile_glob("src/**/*.java").fullmatch("src/a/b/C.java")
    assert not compile_glob("src/*.java").fullmatch("src/a/C.java")
    assert compile_glob("src/**").fullmatch("src/a/b")
    assert compile_glob("pages/[id].tsx").fullmatch("pages/[id].tsx")
    assert compile_glob("*.{ts,tsx}").fullmatch("a.tsx")
    with pytest.raises(ValueError, match="without a matching"):
        compile_glob("a{b")


def test_paths_are_normalized_and_escapes_refused() -> None:
    assert normalize("p", "./a//b/../c/", False) == "a/c"
    assert normalize("p", ".", False) == "."
    for bad in ("../x", "/abs", "a\\b", "", "C:x"):
        with pytest.raises(WorkspaceError):
            normalize("p", bad, False)
