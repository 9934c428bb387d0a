"""Fields of frozen dataclasses whose value may be computed on first read.

A file's text is read from disk only when a stage needs it (most files of a warm pack are
never rendered, scanned or parsed): the walker builds the file with `defer(f, "text", read)`,
and the first `f.text` calls `read` and keeps the result.  To everything else the field is a
plain `str`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

C = TypeVar("C", bound=type)


class _Deferred:
    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


class _LazyField:
    """Data descriptor: holds a value or a `_Deferred`, and reads as the value."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.slot = f"_lazy_{name}"

    def __get__(self, obj: object | None, owner: type | None = None) -> Any:
        if obj is None:
            raise AttributeError(self.name)
        value = obj.__dict__[self.slot]
        if isinstance(value, _Deferred):
            value = value.make()
            obj.__dict__[self.slot] = value
        return value

    def __set__(self, obj: object, value: Any) -> None:
        obj.__dict__[self.slot] = value


def lazy_fields(*names: str) -> Callable[[C], C]:
    """Class decorator (outside @dataclass): these fields may be `defer`red.  A frozen dataclass's
    `__init__` stores through the descriptor; `dataclasses.replace(obj, name=...)` never computes
    the old value."""
    def apply(cls: C) -> C:
        for name in names:
            setattr(cls, name, _LazyField(name))
        return cls

    return apply


def defer(obj: object, name: str, make: Callable[[], Any]) -> None:
    """Let field `name` of `obj` (declared in `lazy_fields`) be computed by `make` when first read."""
    field = type(obj).__dict__.get(name)
    if not isinstance(field, _LazyField):
        raise TypeError(f"{type(obj).__name__}.{name} is not a lazy field")
    obj.__dict__[field.slot] = _Deferred(make)  # what __set__ does, without a call per file


def is_computed(obj: object, name: str) -> bool:
    """Has the field been read (or was it given as a value)?"""
    return not isinstance(obj.__dict__.get(f"_lazy_{name}"), _Deferred)
