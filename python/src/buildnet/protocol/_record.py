"""The machinery behind the payload dataclasses: a frozen (and, on Python >= 3.10, slotted)
dataclass decorator, and the wire schema derived once from each class's annotations."""

from __future__ import annotations

import dataclasses
import enum
import sys
import typing
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Optional, TypeVar

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform
else:

    def dataclass_transform(**_kwargs: Any) -> Callable[[Any], Any]:
        return lambda f: f


INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

_T = TypeVar("_T")


@dataclass_transform(frozen_default=True)
def record(cls: type[_T]) -> type[_T]:
    """``@dataclass(frozen=True)``, plus ``slots=True`` where the running Python has it."""
    if sys.version_info >= (3, 10):
        return dataclasses.dataclass(frozen=True, slots=True)(cls)
    return dataclasses.dataclass(frozen=True)(cls)  # pragma: no cover (3.9)


class Kind(enum.Enum):
    """How a field is written; the value is the type column of ``docs/PROTOCOL.md``."""

    STR = "str"
    INT = "int"
    BOOL = "bool"
    BIN = "bin"
    STR_ARRAY = "array of str"
    STR_MAP = "map of str to str"
    RECORD_ARRAY = "array of map"


@dataclasses.dataclass(frozen=True)
class FieldSpec:
    """One payload field: wire name, kind, required, and the element schema of an array of map."""

    name: str
    kind: Kind
    required: bool
    element: Optional[Schema] = None


@dataclasses.dataclass(frozen=True)
class Schema:
    """The wire schema of one record class: its fields in encoding order."""

    cls: type[Any]
    fields: tuple[FieldSpec, ...]
    index: dict[str, int]


_SCHEMAS: dict[type, Schema] = {}


def schema_of(cls: type[Any]) -> Schema:
    """The schema of ``cls`` (derived on first use and cached)."""
    s = _SCHEMAS.get(cls)
    if s is None:
        s = _derive(cls)
        _SCHEMAS[cls] = s
    return s


def _derive(cls: type[Any]) -> Schema:
    hints = typing.get_type_hints(cls)
    declared = [f.name for f in dataclasses.fields(cls)]
    order: tuple[str, ...] = getattr(cls, "WIRE_ORDER", None) or tuple(declared)
    if sorted(order) != sorted(declared):
        raise TypeError(f"{cls.__name__}.WIRE_ORDER {order} does not list its fields {declared}")
    fields = []
    for name in order:
        tp = hints[name]
        required = True
        args = typing.get_args(tp)
        if typing.get_origin(tp) is typing.Union and type(None) in args:
            required = False
            (tp,) = [a for a in args if a is not type(None)]
        kind, element = _kind(cls, name, tp)
        fields.append(FieldSpec(name, kind, required, element))
    return Schema(cls, tuple(fields), {f.name: i for i, f in enumerate(fields)})


def _kind(cls: type[Any], name: str, tp: Any) -> tuple[Kind, Optional[Schema]]:
    simple = {str: Kind.STR, int: Kind.INT, bool: Kind.BOOL, bytes: Kind.BIN}
    if tp in simple:
        return simple[tp], None
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        if args[0] is str:
            return Kind.STR_ARRAY, None
        if isinstance(args[0], type) and dataclasses.is_dataclass(args[0]):
            return Kind.RECORD_ARRAY, schema_of(args[0])
    if origin is Mapping and args == (str, str):
        return Kind.STR_MAP, None
    raise TypeError(f"{cls.__name__}.{name}: no wire kind for {tp!r}")


class Record:
    """Base of the payload records: checks field types on construction (lists become tuples,
    bytearray/memoryview become bytes), then the class's own rules (:meth:`_validate`)."""

    __slots__ = ()

    WIRE_ORDER: ClassVar[Optional[tuple[str, ...]]] = None

    def __post_init__(self) -> None:
        for f in schema_of(type(self)).fields:
            value = getattr(self, f.name)
            if value is None:
                if f.required:
                    raise TypeError(f"{type(self).__name__}.{f.name} is required but was None")
                continue
            checked = _check(type(self).__name__, f, value)
            if checked is not value:
                object.__setattr__(self, f.name, checked)
        self._validate()

    def _validate(self) -> None:
        """The class's rules beyond types; raises ValueError."""


def _check(owner: str, f: FieldSpec, value: Any) -> Any:
    what = f"{owner}.{f.name}"
    k = f.kind
    if k is Kind.STR:
        if not isinstance(value, str):
            raise TypeError(f"{what} must be str but was {type(value).__name__}")
    elif k is Kind.INT:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{what} must be int but was {type(value).__name__}")
        if not INT64_MIN <= value <= INT64_MAX:
            raise ValueError(f"{what} must fit a signed 64-bit integer but was {value}")
    elif k is Kind.BOOL:
        if not isinstance(value, bool):
            raise TypeError(f"{what} must be bool but was {type(value).__name__}")
    elif k is Kind.BIN:
        if isinstance(value, (bytearray, memoryview)):
            return bytes(value)
        if not isinstance(value, bytes):
            raise TypeError(f"{what} must be bytes but was {type(value).__name__}")
    elif k is Kind.STR_ARRAY or k is Kind.RECORD_ARRAY:
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (tuple, list)):
            raise TypeError(f"{what} must be a tuple but was {type(value).__name__}")
        element = str if k is Kind.STR_ARRAY else (f.element.cls if f.element else object)
        for i, e in enumerate(value):
            if not isinstance(e, element):
                raise TypeError(
                    f"{what}[{i}] must be {element.__name__} but was {type(e).__name__}"
                )
        return value if isinstance(value, tuple) else tuple(value)
    elif k is Kind.STR_MAP:
        if not isinstance(value, Mapping):
            raise TypeError(f"{what} must be a mapping but was {type(value).__name__}")
        for key, v in value.items():
            if not isinstance(key, str) or not isinstance(v, str):
                raise TypeError(f"{what} must map str to str but had {key!r}: {v!r}")
    return value
