"""``buildnet.json`` (docs/WORKSPACE.md): targets, validated and normalized as the Java
``WorkspaceFile`` and ``Target`` do, because normalized paths are part of the cache key."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from pathlib import Path

FILE_NAME = "buildnet.json"
STATE_DIR = ".buildnet"
_NAME = re.compile(r"[A-Za-z0-9_.:/-]+")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")
_FIELDS = (
    "command",
    "bundler",
    "cwd",
    "env",
    "envPassthrough",
    "envPassthroughUnhashed",
    "inputs",
    "outputs",
    "deps",
    "requires",
    "cpu",
    "memoryMb",
    "timeoutSeconds",
    "retries",
    "priority",
    "cacheable",
)
_BUNDLER_FIELDS = ("adapter", "entrypoints", "outDir", "options")


class WorkspaceError(ValueError):
    """``buildnet.json`` is missing, malformed or declares an invalid graph (one line)."""


@dataclasses.dataclass(frozen=True)
class Bundler:
    adapter: str
    entrypoints: tuple[str, ...]
    out_dir: str
    options: tuple[tuple[str, str], ...]  # sorted by name (UTF-16 order, as Java's TreeMap)


@dataclasses.dataclass(frozen=True)
class Target:
    """One target, normalized: paths '/'-separated and relative, ``"."`` for the root."""

    name: str
    command: tuple[str, ...]
    bundler: Optional[Bundler]
    cwd: str
    env: tuple[tuple[str, str], ...]
    env_passthrough: tuple[str, ...]
    env_passthrough_unhashed: tuple[str, ...]  # seen by the command, never in the key
    inputs: tuple[str, ...]  # exclusions keep their '!'
    outputs: tuple[str, ...]  # declared order, then the bundler's outDir unless covered
    deps: tuple[str, ...]
    requires: tuple[str, ...]
    cpu: int
    memory_mb: int
    timeout_s: Optional[int]
    retries: int
    priority: int
    cacheable: bool

    def resolve_env(self, host: dict[str, str]) -> dict[str, str]:
        """The complete environment of the command: explicit variables plus each passthrough
        variable the host sets. Exactly what the cache key covers."""
        resolved = dict(self.env)
        for name in self.env_passthrough:
            value = host.get(name)
            if value is not None:
                resolved[name] = value
        return dict(sorted(resolved.items(), key=lambda kv: utf16(kv[0])))

    def command_env(self, host: dict[str, str]) -> dict[str, str]:
        """What the command sees: :meth:`resolve_env` plus each ``envPassthroughUnhashed``
        variable the host sets (Java ``Target.commandEnvironment``)."""
        resolved = self.resolve_env(host)
        for name in self.env_passthrough_unhashed:
            value = host.get(name)
            if value is not None:
                resolved[name] = value
        return dict(sorted(resolved.items(), key=lambda kv: utf16(kv[0])))

    def expand_command(self, input_files: list[str]) -> list[str]:
        """The argv with ``{inputs}`` / ``{inputs:GLOB}`` elements replaced by the resolved
        input files, relative to the cwd (Java ``Target.expandCommand``, docs/WORKSPACE.md)."""
        from buildnet.master._inputs import compile_glob

        out: list[str] = []
        for arg in self.command:
            if arg == "{inputs}":
                out.extend(_relative(self.cwd, f) for f in input_files)
            elif arg.startswith(_PLACEHOLDER) and arg.endswith("}"):
                pattern = compile_glob(normalize("placeholder", arg[len(_PLACEHOLDER) : -1], True))
                out.extend(_relative(self.cwd, f) for f in input_files if pattern.fullmatch(f))
            else:
                out.append(arg)
        return out


_PLACEHOLDER = "{inputs:"


def _relative(cwd: str, file: str) -> str:
    """``file`` as seen from ``cwd`` (both workspace-relative); ``./`` before a leading ``-``."""
    start = [] if cwd == "." else cwd.split("/")
    to = file.split("/")
    common = 0
    while common < len(start) and common < len(to) - 1 and start[common] == to[common]:
        common += 1
    rel = "/".join([".."] * (len(start) - common) + to[common:])
    return "./" + rel if rel.startswith("-") else rel


def _check_placeholder(what: str, arg: str) -> None:
    if not arg.startswith(_PLACEHOLDER):
        return
    if not arg.endswith("}") or len(arg) == len(_PLACEHOLDER) + 1:
        raise WorkspaceError(
            f"{what} '{arg}' is not a placeholder: write {{inputs}} or {{inputs:GLOB}}"
        )
    from buildnet.master._inputs import compile_glob

    glob = normalize(f"{what} placeholder '{arg}'", arg[len(_PLACEHOLDER) : -1], True)
    try:
        compile_glob(glob)
    except ValueError as e:
        raise WorkspaceError(f"{what} placeholder '{arg}' {e}") from None


def utf16(s: str) -> bytes:
    """A sort key giving Java's ``String.compareTo`` order (UTF-16 code units)."""
    return s.encode("utf-16-be", "surrogatepass")


def is_glob(path: str) -> bool:
    return any(c in path for c in "*?{}")


def check_syntax(what: str, path: Any, allow_glob: bool) -> None:
    if not isinstance(path, str):
        raise WorkspaceError(f"{what} must be a string")
    if not path.strip():
        raise WorkspaceError(f"{what} must not be empty")
    if "\0" in path:
        raise WorkspaceError(f"{what} contains a NUL character")
    if "\\" in path:
        raise WorkspaceError(f"{what} must use '/' as the separator, not '\\'")
    if path.startswith("/") or _WINDOWS_DRIVE.match(path):
        raise WorkspaceError(f"{what} must be relative to the workspace root, not absolute")
    if not allow_glob and is_glob(path):
        raise WorkspaceError(f"{what} must be a plain path, not a glob pattern")


def normalize(what: str, path: Any, allow_glob: bool) -> str:
    """'/'-separated, no '.' or empty segments, '..' resolved lexically, '.' for the root."""
    check_syntax(what, path, allow_glob)
    segments: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if not segments:
                raise WorkspaceError(f"{what} escapes the workspace: '..' would go above the root")
            if is_glob(segments[-1]):
                raise WorkspaceError(f"{what} has '..' after a glob segment")
            segments.pop()
        else:
            segments.append(segment)
    return "/".join(segments) if segments else "."


def contains(ancestor: str, path: str) -> bool:
    """``ancestor`` is ``path`` or a directory containing it (both normalized)."""
    if ancestor == ".":
        return True
    return path == ancestor or (
        path.startswith(ancestor) and path[len(ancestor) : len(ancestor) + 1] == "/"
    )


def overlaps_state_dir(path: str) -> bool:
    return contains(path, STATE_DIR) or contains(STATE_DIR, path)


def literal_base(pattern: str) -> str:
    if not is_glob(pattern):
        return pattern
    base: list[str] = []
    for segment in pattern.split("/"):
        if is_glob(segment):
            break
        base.append(segment)
    return "/".join(base) if base else "."


def join(directory: str, child: str) -> str:
    return child if directory == "." else f"{directory}/{child}"


# ---- loading -----------------------------------------------------------------------------------


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise WorkspaceError(f"duplicate key {k!r}")
        out[k] = v
    return out


def load(root: Path) -> dict[str, Target]:
    """The targets of ``root/buildnet.json``, validated; raises :class:`WorkspaceError`."""
    path = root / FILE_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise WorkspaceError(f"cannot read {path}: {e.strerror or e}") from None
    return parse(text, str(path))


def parse(text: str, source: str) -> dict[str, Target]:
    try:
        doc = json.loads(text, object_pairs_hook=_no_duplicates)
    except WorkspaceError as e:
        raise WorkspaceError(f"{source}: {e}") from None
    except ValueError as e:
        raise WorkspaceError(f"{source}: malformed JSON: {e}") from None
    if not isinstance(doc, dict):
        raise WorkspaceError(f"{source}: the top level must be an object")
    unknown = sorted(set(doc) - {"version", "targets"})
    if unknown:
        raise WorkspaceError(f"{source}: unknown fields {unknown}; known: version, targets")
    if doc.get("version") != 1 or isinstance(doc.get("version"), bool):
        raise WorkspaceError(f"{source}: $.version must be 1")
    raw = doc.get("targets")
    if not isinstance(raw, dict):
        raise WorkspaceError(f"{source}: $.targets must be an object")
    problems: list[str] = []
    targets: dict[str, Target] = {}
    for name, spec in raw.items():
        try:
            targets[name] = _target(name, spec)
        except WorkspaceError as e:
            problems.append(str(e))
    if not problems:
        problems.extend(_graph_problems(targets))
    if problems:
        raise WorkspaceError(f"{source}: " + "; ".join(problems))
    return targets


def _strings(what: str, value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise WorkspaceError(f"{what} must be an array of strings")
    return list(value)


def _string_map(what: str, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise WorkspaceError(f"{what} must be an object of strings")
    return dict(value)


def _int(what: str, value: Any, default: Optional[int], minimum: Optional[int]) -> Optional[int]:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise WorkspaceError(f"{what} must be an integer")
    if minimum is not None and value < minimum:
        raise WorkspaceError(f"{what} must be at least {minimum} but was {value}")
    return value


def _target(name: str, spec: Any) -> Target:
    p = f"target '{name}': "
    if not _NAME.fullmatch(name):
        raise WorkspaceError(f"{p}the name must use only letters, digits and _ . : / -")
    if not isinstance(spec, dict):
        raise WorkspaceError(f"{p}must be an object")
    unknown = sorted(set(spec) - set(_FIELDS))
    if unknown:
        raise WorkspaceError(f"{p}unknown fields {unknown}; known: {', '.join(_FIELDS)}")
    command = _strings(p + "command", spec.get("command"))
    bundler_spec = spec.get("bundler")
    if (spec.get("command") is None) == (bundler_spec is None):
        raise WorkspaceError(f"{p}needs exactly one of command and bundler")
    if spec.get("command") is not None and not command:
        raise WorkspaceError(f"{p}command must not be empty")
    cwd = "."
    if spec.get("cwd") is not None:
        cwd = normalize(f"{p}workingDirectory '{spec['cwd']}'", spec["cwd"], False)
        if contains(STATE_DIR, cwd):
            raise WorkspaceError(f"{p}cwd '{cwd}' is inside .buildnet/")
    env = _string_map(p + "env", spec.get("env"))
    passthrough = _strings(p + "envPassthrough", spec.get("envPassthrough"))
    unhashed = _strings(p + "envPassthroughUnhashed", spec.get("envPassthroughUnhashed"))
    for variable in [*env, *passthrough, *unhashed]:
        if not _ENV_NAME.fullmatch(variable):
            raise WorkspaceError(f"{p}'{variable}' is not a valid environment variable name")
    for variable in unhashed:
        if variable in env or variable in passthrough:
            raise WorkspaceError(
                f"{p}envPassthroughUnhashed {variable} is also in env or envPassthrough"
            )
    for position, arg in enumerate(command):
        _check_placeholder(f"{p}command[{position}]", arg)
    inputs: list[str] = []
    for declared in _strings(p + "inputs", spec.get("inputs")):
        exclusion = declared.startswith("!")
        path = normalize(f"{p}input '{declared}'", declared[1:] if exclusion else declared, True)
        if contains(STATE_DIR, literal_base(path)):
            raise WorkspaceError(f"{p}input '{declared}' is inside .buildnet/")
        from buildnet.master._inputs import compile_glob  # a bad brace pattern is an error here

        try:
            compile_glob(path)
        except ValueError as e:
            raise WorkspaceError(f"{p}input '{declared}' {e}") from None
        normalized = "!" + path if exclusion else path
        if normalized in inputs:
            raise WorkspaceError(f"{p}input '{normalized}' is already listed")
        inputs.append(normalized)
    outputs: list[str] = []
    for declared in _strings(p + "outputs", spec.get("outputs")):
        path = normalize(f"{p}output '{declared}'", declared, False)
        if overlaps_state_dir(path):
            raise WorkspaceError(f"{p}output '{path}' overlaps .buildnet/")
        for other in outputs:
            if contains(other, path) or contains(path, other):
                raise WorkspaceError(f"{p}outputs '{other}' and '{path}' overlap")
        outputs.append(path)
    bundler: Optional[Bundler] = None
    if bundler_spec is not None:
        bundler = _bundler(p, bundler_spec, cwd)
        covered = False
        for output in outputs:
            if contains(output, bundler.out_dir):
                covered = True
            elif contains(bundler.out_dir, output):
                raise WorkspaceError(f"{p}output '{output}' is inside the bundler outDir")
        if not covered:
            outputs.append(bundler.out_dir)
    includes = [i for i in inputs if not i.startswith("!")]
    if inputs and not includes:
        raise WorkspaceError(f"{p}inputs has only exclusions; nothing to exclude from")
    for i in includes:
        if not is_glob(i):
            for output in outputs:
                if contains(output, i):
                    raise WorkspaceError(f"{p}input '{i}' is inside its own output '{output}'")
    cacheable = spec.get("cacheable")
    if cacheable is not None and not isinstance(cacheable, bool):
        raise WorkspaceError(f"{p}cacheable must be a boolean")
    return Target(
        name=name,
        command=tuple(command),
        bundler=bundler,
        cwd=cwd,
        env=tuple(sorted(env.items(), key=lambda kv: utf16(kv[0]))),
        env_passthrough=tuple(sorted(set(passthrough), key=utf16)),
        env_passthrough_unhashed=tuple(sorted(set(unhashed), key=utf16)),
        inputs=tuple(inputs),
        outputs=tuple(outputs),
        deps=tuple(_strings(p + "deps", spec.get("deps"))),
        requires=tuple(sorted(set(_strings(p + "requires", spec.get("requires"))), key=utf16)),
        cpu=_int(p + "cpu", spec.get("cpu"), 1, 1) or 1,
        memory_mb=_int(p + "memoryMb", spec.get("memoryMb"), 0, 0) or 0,
        timeout_s=_int(p + "timeoutSeconds", spec.get("timeoutSeconds"), None, 1),
        retries=_int(p + "retries", spec.get("retries"), 0, 0) or 0,
        priority=_int(p + "priority", spec.get("priority"), 0, None) or 0,
        cacheable=True if cacheable is None else cacheable,
    )


def _bundler(p: str, spec: Any, cwd: str) -> Bundler:
    if not isinstance(spec, dict):
        raise WorkspaceError(f"{p}bundler must be an object")
    unknown = sorted(set(spec) - set(_BUNDLER_FIELDS))
    if unknown:
        raise WorkspaceError(f"{p}bundler: unknown fields {unknown}")
    adapter = spec.get("adapter")
    if not isinstance(adapter, str) or not adapter.strip() or any(c.isspace() for c in adapter):
        raise WorkspaceError(f"{p}bundler adapter must be a non-empty name without spaces")
    entries = _strings(p + "bundler entrypoints", spec.get("entrypoints"))
    if not entries:
        raise WorkspaceError(f"{p}bundler needs at least one entrypoint")
    for entry in entries:
        check_syntax(f"{p}bundler entrypoint '{entry}'", entry, False)
        normalize(f"{p}bundler entrypoint '{entry}'", join(cwd, entry), False)
    out = normalize(f"{p}bundler outDir", spec.get("outDir"), False)
    if overlaps_state_dir(out):
        raise WorkspaceError(f"{p}bundler outDir '{out}' overlaps .buildnet/")
    options = _string_map(p + "bundler options", spec.get("options"))
    return Bundler(
        adapter,
        tuple(entries),
        out,
        tuple(sorted(options.items(), key=lambda kv: utf16(kv[0]))),
    )


def _graph_problems(targets: dict[str, Target]) -> list[str]:
    problems = []
    for t in targets.values():
        for d in t.deps:
            if d not in targets:
                problems.append(f"target '{t.name}' depends on unknown target '{d}'")
    owners: list[tuple[str, str]] = []
    for t in targets.values():
        for o in t.outputs:
            for other, name in owners:
                if contains(other, o) or contains(o, other):
                    problems.append(f"targets '{name}' and '{t.name}' both write '{o}'")
            owners.append((o, t.name))
    if not problems:
        try:
            topological(targets, list(targets))
        except WorkspaceError as e:
            problems.append(str(e))
    return problems


def topological(targets: dict[str, Target], roots: list[str]) -> list[str]:
    """``roots`` and everything they depend on, dependencies first; cycles are an error."""
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        s = state.get(name)
        if s == 2:
            return
        if s == 1:
            cycle = [*path[path.index(name) :], name]
            raise WorkspaceError(f"dependency cycle: {' -> '.join(cycle)}")
        state[name] = 1
        for d in targets[name].deps:
            visit(d, [*path, name])
        state[name] = 2
        order.append(name)

    for r in roots:
        visit(r, [])
    return order
