"""Generates the wire types from the one wire schema, ``docs/protocol/schema.json``.

Writes three files from it:

* ``buildnet-impl/src/main/java/dev/buildnet/internal/protocol/Payloads.java`` (the Java records),
* ``python/src/buildnet/protocol/payloads.py`` (the Python dataclasses),
* the blocks of ``docs/PROTOCOL.md`` between ``<!-- generated:... begin -->`` and ``end`` markers
  (the message type table and each payload's field tables).

Regenerate after editing the schema (from the repository root; needs only Python >= 3.9)::

    python3 python/tools/gen_wire_schema.py

``--check`` writes nothing and exits 1 if a generated file is stale; ``tests/test_wire_schema.py``
runs the same check in the normal Python test suite, and the Java side's ``WireSchemaTest`` checks
the schema against the records the decoder reads by.

Why Python and JSON: the schema has to be read by both languages without new dependencies. JSON
is read by Python's standard library and by Jackson, which buildnet-impl already depends on. The
generator is Python because it then runs from the Python test suite (the staleness check) and
from a shell without a Maven build; the Java side only reads the schema in a test.

What the schema declares: message types and codes, fields in wire order (the wire key is the
field name; ``#`` in the tables is the position), type, required, per-field limits (``non_empty``,
``min``/``max``, ``length``/``max_length`` of bin, ``enum``) and named cross-field rules. The
limits are generated into the constructors of both languages; the rules are hand-written once per
language (``PayloadRules.java``, ``_checks.py``) because they are code, and the schema names where
they run.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "docs" / "protocol" / "schema.json"
JAVA = ROOT / "buildnet-impl/src/main/java/dev/buildnet/internal/protocol/Payloads.java"
PYTHON = ROOT / "python/src/buildnet/protocol/payloads.py"
DOC = ROOT / "docs" / "PROTOCOL.md"

COMMAND = "python3 python/tools/gen_wire_schema.py"
HEADER = [
    "GENERATED from docs/protocol/schema.json: do not edit.",
    f"Regenerate (from the repository root): {COMMAND}",
]

Obj = dict[str, Any]

JAVA_CLASS_DOC = """\
/**
 * One immutable record per {@link MessageType}: the typed payloads that {@code docs/PROTOCOL.md}
 * specifies, generated from {@code docs/protocol/schema.json}. Component order is the order
 * fields are written on the wire; component names in camelCase are the wire names in snake_case
 * ({@code replyTo} is {@code reply_to}). A {@code null} optional component is absent on the
 * wire.
 *
 * <p>Constructors check the rules the document states (e.g. nonce length, chunk size) and throw
 * {@link IllegalArgumentException}; the decoder reports such a violation as {@link
 * ErrorCode#INVALID_PAYLOAD}. Records holding {@code byte[]} do not copy it: treat it as
 * read-only.
 *
 * @since 0.1
 */
"""

PYTHON_MODULE_DOC = '''\
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

'''


FIELD_KEYS = {"name", "type", "required", "doc", "java_flag", "java_with", "constants", "enum_set"}
#: Each limit and the types it applies to (a prefix: "array of" is every array).
LIMIT_TYPES = {
    "non_empty": ("str", "array of"),
    "enum": ("str",),
    "min": ("int",),
    "max": ("int",),
    "length": ("bin",),
    "max_length": ("bin",),
}
FIELD_KEYS |= set(LIMIT_TYPES)


def load(path: Path = SCHEMA) -> Obj:
    """The schema, checked for what the generators rely on."""
    schema: Obj = json.loads(path.read_text("utf-8"))
    records = {r["name"] for r in schema["records"]}
    constants = {c["name"] for c in schema["constants"]}
    scalar = {"str", "int", "bool", "bin", "array of str", "map of str to str"}
    for owner in [*schema["records"], *schema["messages"]]:
        label = owner.get("type", owner.get("name"))
        names = [f["name"] for f in owner["fields"]]
        if len(set(names)) != len(names):
            raise ValueError(f"{label}: duplicate field names {names}")
        for f in owner["fields"]:
            t = f["type"]
            if t not in scalar and not (t.startswith("array of ") and t[9:] in records):
                raise ValueError(f"{label}.{f['name']}: unknown type {t!r}")
            for key in ("max", "length", "max_length"):
                v = f.get(key)
                if isinstance(v, str) and v not in constants:
                    raise ValueError(f"{label}.{f['name']}: unknown constant {v!r}")
            unknown = set(f) - FIELD_KEYS
            if unknown:
                raise ValueError(f"{label}.{f['name']}: unknown keys {sorted(unknown)}")
            for key, types in LIMIT_TYPES.items():
                if key in f and not any(t == x or t.startswith(x) for x in types):
                    raise ValueError(f"{label}.{f['name']}: {key} does not apply to {t}")
            if "min" in f and f["min"] not in (0, 1):
                raise ValueError(f"{label}.{f['name']}: min must be 0 or 1")
        for rule in owner.get("rules", []):
            for n in [*rule["fields"], *([rule["before"]] if "before" in rule else [])]:
                if n not in names:
                    raise ValueError(f"{label} rule {rule['name']}: no field {n!r}")
    codes = [m["code"] for m in schema["messages"]]
    if len(set(codes)) != len(codes):
        raise ValueError("duplicate message codes")
    return schema


def camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(p.capitalize() for p in rest)


def record_of(t: str) -> str | None:
    return t[9:] if t.startswith("array of ") and t not in ("array of str",) else None


def constant(schema: Obj, v: int | str) -> int:
    if isinstance(v, int):
        return v
    return int(next(c["value"] for c in schema["constants"] if c["name"] == v))


def wrap(text: str, width: int, first: str, rest: str) -> list[str]:
    return textwrap.wrap(
        text,
        width=width,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    )


def ordered_checks(owner: Obj) -> list[tuple[str, Obj]]:
    """("field", f) and ("rule", r) in the order they run: field by field in wire order, a rule
    just before the field it names in ``before`` (else after the last field)."""
    out: list[tuple[str, Obj]] = []
    rules = owner.get("rules", [])
    for f in owner["fields"]:
        out += [("rule", r) for r in rules if r.get("before") == f["name"]]
        out.append(("field", f))
    out += [("rule", r) for r in rules if "before" not in r]
    return out


# ---- Java --------------------------------------------------------------------------------------


def java_type(f: Obj) -> str:
    t, req = f["type"], f["required"]
    simple = {
        "str": "String",
        "int": "long" if req else "Long",
        "bool": "boolean" if req else "Boolean",
        "bin": "byte[]",
        "array of str": "List<String>",
        "map of str to str": "Map<String, String>",
    }
    if t in simple:
        return simple[t]
    return f"List<{record_of(t)}>"


def java_doc(text: str, indent: str) -> list[str]:
    text = re.sub(r"`([^`]*)`", r"{@code \1}", text)
    if len(indent) + 8 + len(text) <= 100:
        return [f"{indent}/** {text} */"]
    return [f"{indent}/**", *wrap(text, 100, f"{indent} * ", f"{indent} * "), f"{indent} */"]


def java_params(params: list[str], head: str, tail: str, indent: str) -> list[str]:
    """``head(p1, p2) tail`` on one line if it fits, else one parameter per line."""
    one = f"{indent}{head}({', '.join(params)}){tail}"
    if len(one) <= 100:
        return [one]
    lines = [f"{indent}{head}("]
    lines += [f"{indent}    {p}," for p in params[:-1]]
    lines.append(f"{indent}    {params[-1]}){tail}")
    return lines


def java_call(call: str, args: list[str], indent: str) -> list[str]:
    one = f"{indent}{call}({', '.join(args)});"
    if len(one) <= 100:
        return [one]
    return wrap(", ".join(args) + ");", 100, f"{indent}{call}(", f"{indent}    ")


def java_field_checks(schema: Obj, f: Obj) -> list[str]:
    name, var, t = f["name"], camel(f["name"]), f["type"]
    ind = "      "
    out = []
    reference = t != "int" and t != "bool"
    if f["required"] and reference and not (t == "str" and f.get("non_empty")):
        out.append(f'{ind}Objects.requireNonNull({var}, "{var}");')
    if t == "str" and f.get("non_empty"):
        if f["required"]:
            out.append(f'{ind}nonEmpty("{name}", {var});')
        else:
            out += [f"{ind}if ({var} != null) {{", f'{ind}  nonEmpty("{name}", {var});', f"{ind}}}"]
    if "enum" in f:
        out.append(f'{ind}oneOf("{name}", {var}, {name.upper()}_VALUES);')
    if t == "int":
        lo, hi = f.get("min"), f.get("max")
        if hi is not None:
            out.append(f'{ind}range("{name}", {var}, {lo}, {hi});')
        elif lo == 0:
            out.append(f'{ind}nonNegative("{name}", {var});')
        elif lo == 1:
            out.append(f'{ind}positive("{name}", {var});')
    if t == "bin":
        if "length" in f:
            out.append(f'{ind}length("{name}", {var}, {f["length"]});')
        if "max_length" in f:
            out.append(f'{ind}maxLength("{name}", {var}, {f["max_length"]});')
    if t.startswith("array of ") or t == "map of str to str":
        out.append(f"{ind}{var} = copy({var});")
        if f.get("non_empty"):
            out.append(f'{ind}nonEmpty("{name}", {var});')
    return out


def java_record(schema: Obj, owner: Obj, cls: str, message: bool) -> list[str]:
    fields = owner["fields"]
    names = [f["name"] for f in fields]
    reply = message and "reply_to" in names
    implements = " implements Reply" if reply else " implements Payload" if message else ""
    params = [
        f"{'' if f['required'] else '@Opt '}{java_type(f)} {camel(f['name'])}" for f in fields
    ]
    lines = java_doc(owner["doc"], "  ")
    one = f"  public record {cls}({', '.join(params)}){implements} {{"
    if len(one) <= 100:
        lines.append(one)
    else:
        lines.append(f"  public record {cls}(")
        lines += [f"      {p}," for p in params[:-1]]
        lines.append(f"      {params[-1]})")
        lines.append(f"     {implements} {{" if implements else "      {")
    for f in fields:
        for k, v in f.get("constants", {}).items():
            lines.append(f'    public static final String {k} = "{v}";')
        if "enum" in f:
            values = ", ".join(f'"{v}"' for v in f["enum"])
            lines += wrap(
                f"List.of({values});",
                100,
                f"    private static final List<String> {f['name'].upper()}_VALUES = ",
                "        ",
            )
            if "enum_set" in f:
                es = f["enum_set"]
                lines += java_doc(es["doc"], "    ")
                lines.append(
                    f"    public static final Set<String> {es['java']} = "
                    f"Set.copyOf({f['name'].upper()}_VALUES);"
                )
    if any(f.get("constants") or f.get("enum") for f in fields):
        lines.append("")
    lines.append(f"    public {cls} {{")
    for kind, item in ordered_checks(owner):
        if kind == "field":
            lines += java_field_checks(schema, item)
        else:
            lines += java_call(camel(item["name"]), [camel(n) for n in item["fields"]], "      ")
    lines.append("    }")
    for over in owner.get("java_overloads", []):
        n = over["fields"]
        lines.append("")
        lines += java_doc(over["doc"], "    ")
        plain = [p.replace("@Opt ", "") for p in params[:n]]
        lines += java_params(plain, f"public {cls}", " {", "    ")
        args = [camel(x) for x in names[:n]] + ["null"] * (len(names) - n)
        lines += java_call("this", args, "      ")
        lines.append("    }")
    for f in fields:
        if "java_with" in f:
            w = f["java_with"]
            lines.append("")
            lines += java_doc(w["doc"], "    ")
            lines.append(f"    public {cls} {w['name']}() {{")
            args = ["Boolean.TRUE" if x == f["name"] else camel(x) for x in names]
            lines += java_call(f"return new {cls}", args, "      ")
            lines.append("    }")
        if "java_flag" in f:
            g = f["java_flag"]
            lines.append("")
            lines += java_doc(g["doc"], "    ")
            lines.append(f"    public boolean {g['name']}() {{")
            lines.append(f"      return Boolean.TRUE.equals({camel(f['name'])});")
            lines.append("    }")
    if message:
        lines += [
            "",
            "    @Override",
            "    public MessageType type() {",
            f"      return MessageType.{owner['type']};",
            "    }",
        ]
    lines.append("  }")
    return lines


def java(schema: Obj) -> str:
    lines = [
        *[f"// {h}" for h in HEADER],
        "package dev.buildnet.internal.protocol;",
        "",
        "import static dev.buildnet.internal.protocol.PayloadRules.*;",
        "",
        "import dev.buildnet.api.transport.MessageType;",
        "import dev.buildnet.api.transport.Payload;",
        "import java.util.List;",
        "import java.util.Map;",
        "import java.util.Objects;",
        "import java.util.Set;",
        "",
        *JAVA_CLASS_DOC.splitlines(),
        "public final class Payloads {",
        "  private Payloads() {}",
        "",
    ]
    for c in schema["constants"]:
        lines += java_doc(c["doc"], "  ")
        lines.append(f"  public static final int {c['name']} = {c['value']};")
        lines.append("")
    lines += [
        "  /** A payload that answers a request: {@code replyTo} is the request's envelope id. */",
        "  public interface Reply extends Payload {",
        "    /** The request's id, or null where the document allows an unsolicited message. */",
        "    String replyTo();",
        "  }",
    ]
    for r in schema["records"]:
        lines.append("")
        lines += java_record(schema, r, r["name"], message=False)
    for m in schema["messages"]:
        lines.append("")
        lines += java_record(schema, m, m["java_class"], message=True)
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---- Python ------------------------------------------------------------------------------------


def py_type(schema: Obj, f: Obj) -> str:
    t = f["type"]
    simple = {
        "str": "str",
        "int": "int",
        "bool": "bool",
        "bin": "bytes",
        "array of str": "tuple[str, ...]",
        "map of str to str": "Mapping[str, str]",
    }
    base = simple[t] if t in simple else f"tuple[{record_of(t)}, ...]"
    return base if f["required"] else f"Optional[{base}]"


def py_doc(text: str, indent: str) -> list[str]:
    text = re.sub(r"`([^`]*)`", r"``\1``", text)
    one = f'{indent}"""{text}"""'
    if len(one) <= 100:
        return [one]
    lines = wrap(text, 100, f'{indent}"""', indent)
    lines[-1] += '"""'
    if len(lines[-1]) > 100:
        lines[-1] = lines[-1][:-3]
        lines.append(f'{indent}"""')
    return lines


def py_class_name(owner: Obj) -> str:
    return str(owner.get("java_class", owner.get("name")))


def py_field_checks(schema: Obj, f: Obj) -> list[str]:
    name, t, ind = f["name"], f["type"], "        "
    v = f"self.{name}"
    out = []
    if f.get("non_empty"):
        out.append(f'{ind}non_empty("{name}", {v})')
    if "enum" in f:
        out.append(f'{ind}one_of("{name}", {v}, _{name.upper()}_VALUES)')
    if t == "int":
        lo, hi = f.get("min"), f.get("max")
        if hi is not None:
            out.append(f'{ind}in_range("{name}", {v}, {lo}, {hi})')
        elif lo == 0:
            out.append(f'{ind}non_negative("{name}", {v})')
        elif lo == 1:
            out.append(f'{ind}positive("{name}", {v})')
    if t == "bin":
        if "length" in f:
            out.append(f'{ind}length("{name}", {v}, {f["length"]})')
        if "max_length" in f:
            out.append(f'{ind}max_length("{name}", {v}, {f["max_length"]})')
    return out


def py_class(schema: Obj, owner: Obj, message: bool) -> tuple[list[str], set[str]]:
    cls = py_class_name(owner)
    fields = owner["fields"]
    used: set[str] = set()
    lines = ["@record", f"class {cls}({'Payload' if message else 'Record'}):"]
    lines += py_doc(owner["doc"], "    ")
    lines.append("")
    attrs = []
    if message:
        attrs.append(f"    TYPE = MessageType.{owner['type']}")
    for f in fields:
        for k, val in f.get("constants", {}).items():
            attrs.append(f'    {k}: ClassVar[str] = "{val}"')
    required = [f for f in fields if f["required"]]
    optional = [f for f in fields if not f["required"]]
    declared = required + optional
    if declared != fields:
        names = ", ".join(f'"{f["name"]}"' for f in fields)
        attrs += [
            "    WIRE_ORDER = (",
            *wrap(names, 100, "        ", "        "),
            "    )  # fmt: skip",
        ]
    if attrs:
        lines += [*attrs, ""]
    for f in declared:
        default = "" if f["required"] else " = None"
        lines.append(f"    {f['name']}: {py_type(schema, f)}{default}")
    body = []
    for kind, item in ordered_checks(owner):
        if kind == "field":
            checks = py_field_checks(schema, item)
            used.update(c.strip().split("(", 1)[0] for c in checks)
            body += checks
        else:
            args = ", ".join(f"self.{n}" for n in item["fields"])
            used.add(item["name"])
            call = f"        {item['name']}({args})"
            if len(call) > 100:
                call = f"        {item['name']}(\n            {args}\n        )"
            body.append(call)
    if body:
        lines += ["", "    def _validate(self) -> None:", *body]
    return lines, used


def python(schema: Obj) -> str:
    messages = schema["messages"]
    classes: list[str] = []
    used: set[str] = set()
    for r in schema["records"]:
        c, u = py_class(schema, r, message=False)
        classes += ["", "", *c]
        used |= u
    for m in messages:
        c, u = py_class(schema, m, message=True)
        classes += ["", "", *c]
        used |= u
    enums: list[str] = []
    public_sets: list[str] = []
    seen: dict[str, list[str]] = {}
    for owner in [*schema["records"], *messages]:
        for f in owner["fields"]:
            if "enum" in f:
                var = f"_{f['name'].upper()}_VALUES"
                if var in seen:
                    if seen[var] != f["enum"]:
                        raise ValueError(f"{var}: two fields of that name with other values")
                    continue
                seen[var] = f["enum"]
                values = ", ".join(f'"{v}"' for v in f["enum"])
                enums += wrap(
                    f"({values},)" if len(f["enum"]) == 1 else f"({values})",
                    100,
                    f"_{f['name'].upper()}_VALUES = ",
                    "    ",
                )
                if "enum_set" in f:
                    es = f["enum_set"]
                    public_sets.append(es["python"])
                    enums.append(f"#: {es['doc'].replace('`', '``')}")
                    enums.append(f"{es['python']} = frozenset(_{f['name'].upper()}_VALUES)")
    names = (
        [c["name"] for c in schema["constants"]]
        + public_sets
        + ["PAYLOAD_CLASSES", "Output", "Payload"]
        + [py_class_name(m) for m in messages]
    )
    upper = sorted(n for n in names if n.isupper() or "_" in n)
    other = sorted(n for n in names if n not in upper)
    imports = ", ".join(sorted(used))
    import_lines = [f"from buildnet.protocol._checks import {imports}"]
    if len(import_lines[0]) > 100:
        import_lines = [
            "from buildnet.protocol._checks import (",
            *[f"    {n}," for n in sorted(used)],
            ")",
        ]
    lines = [
        *[f"# {h}" for h in HEADER],
        *PYTHON_MODULE_DOC.splitlines(),
        "from __future__ import annotations",
        "",
        "from collections.abc import Mapping",
        "from typing import ClassVar, Optional",
        "",
        *import_lines,
        "from buildnet.protocol._record import Record, record",
        "from buildnet.protocol.types import MessageType",
        "",
        "__all__ = [",
        *[f'    "{n}",' for n in upper + other],
        "]",
        "",
    ]
    for c in schema["constants"]:
        lines.append(f"#: {c['doc'].replace('`', '``')}")
        lines.append(f"{c['name']} = {c['value']}")
    lines += enums
    lines += [
        "",
        "",
        "class Payload(Record):",
        '    """Base of every message\'s payload; ``TYPE`` is the message type it belongs to."""',
        "",
        "    __slots__ = ()",
        "",
        "    TYPE: ClassVar[MessageType]",
    ]
    lines += classes
    lines += [
        "",
        "",
        "#: The payload class of every message type.",
        "PAYLOAD_CLASSES: Mapping[MessageType, type[Payload]] = {",
        "    c.TYPE: c",
        "    for c in (",
        *wrap(
            ", ".join(py_class_name(m) for m in messages) + ",", 100, "        ", "        "
        ),
        "    )",
        "}",
    ]
    return "\n".join(lines) + "\n"


# ---- docs/PROTOCOL.md --------------------------------------------------------------------------


def doc_table(schema: Obj, fields: list[Obj]) -> list[str]:
    rows = [
        "| # | field | type | required | meaning |",
        "|---|-------|------|----------|---------|",
    ]
    for i, f in enumerate(fields, 1):
        t = "array of map" if record_of(f["type"]) else f["type"]
        req = "yes" if f["required"] else "no"
        rows.append(f"| {i} | `{f['name']}` | {t} | {req} | {f['doc']} |")
    return rows


def doc_limits(schema: Obj, f: Obj) -> list[str]:
    """The field's declared limits, as the document states them."""
    name = f"`{f['name']}`"
    out = []
    if f.get("non_empty"):
        out.append(f"{name} non-empty")
    if "enum" in f:
        out.append(f"{name} one of " + ", ".join(f"`{v}`" for v in f["enum"]))
    if "max" in f:
        out.append(f"{name} {f['min']}..{constant(schema, f['max'])}")
    elif "min" in f:
        out.append(f"{name} >= {f['min']}")
    if "length" in f:
        out.append(f"{name} exactly {constant(schema, f['length'])} bytes")
    if "max_length" in f:
        out.append(f"{name} at most {constant(schema, f['max_length'])} bytes")
    return out


def doc_blocks(schema: Obj) -> dict[str, list[str]]:
    """The generated text of each marker block, by block name."""
    records = {r["name"]: r for r in schema["records"]}
    blocks: dict[str, list[str]] = {}
    types = ["| code | type | range |", "|------|------|-------|"]
    for m in schema["messages"]:
        notes = " ".join(
            [
                *([m["range"]] if "range" in m else []),
                *([f"(since {m['since']})"] if "since" in m else []),
            ]
        )
        types.append(f"| 0x{m['code']:02X} | {m['type']} | {notes} |".replace("|  |", "| |"))
    blocks["message-types"] = types
    limits = []
    for owner in [*schema["records"], *schema["messages"]]:
        label = owner.get("type") or " and ".join(
            f"{m['type']} `{f['name']}`"
            for m in schema["messages"]
            for f in m["fields"]
            if record_of(f["type"]) == owner["name"]
        ) + " elements"
        parts = [p for f in owner["fields"] for p in doc_limits(schema, f)]
        parts += [r["doc"] for r in owner.get("rules", [])]
        if parts:
            limits += wrap(f"**{label}**: " + "; ".join(parts) + ".", 100, "* ", "  ")
    blocks["limits"] = limits
    for m in schema["messages"]:
        lines = doc_table(schema, m["fields"])
        for f in m["fields"]:
            rec = record_of(f["type"])
            if rec:
                elements = doc_table(schema, records[rec]["fields"])
                lines += ["", f"Elements of `{f['name']}`:", "", *elements]
        blocks[f"fields {m['type']}"] = lines
    return blocks


def doc(schema: Obj, text: str) -> str:
    """``text`` (docs/PROTOCOL.md) with every marker block regenerated."""
    for name, lines in doc_blocks(schema).items():
        begin, end = f"<!-- generated:{name} begin -->", f"<!-- generated:{name} end -->"
        if text.count(begin) != 1 or text.count(end) != 1:
            raise ValueError(f"docs/PROTOCOL.md needs exactly one {begin} ... {end} block")
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = head + begin + "\n\n" + "\n".join(lines) + "\n\n" + end + tail
    return text


# ---- main --------------------------------------------------------------------------------------


def outputs(schema: Obj) -> dict[Path, str]:
    """Every generated file and its expected content."""
    return {
        JAVA: java(schema),
        PYTHON: python(schema),
        DOC: doc(schema, DOC.read_text("utf-8")),
    }


def stale(schema: Obj) -> list[Path]:
    """The generated files whose content differs from what the schema generates."""
    return [p for p, text in outputs(schema).items() if p.read_text("utf-8") != text]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    args = parser.parse_args(argv)
    schema = load()
    if args.check:
        bad = stale(schema)
        for p in bad:
            print(f"stale: {p.relative_to(ROOT)} (regenerate: {COMMAND})", file=sys.stderr)
        return 1 if bad else 0
    for p, text in outputs(schema).items():
        if p.read_text("utf-8") != text:
            p.write_text(text, "utf-8")
            print(f"wrote {p.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
