"""Result attributes computed on first read.

A result can hold an array that costs a pass over a million entries to lay
out (the per-demand latency of an all-pairs routing, gathered from the
order the walk computed it in) and that a caller often never reads (an
environment's step reads percentiles only). :class:`Deferred` holds the
function and arguments that make it; :func:`deferred_attribute` turns a
dataclass field into a property that makes it on the first read and keeps
it. Setting the attribute stores a value or a :class:`Deferred` as given.
A Deferred pickles when its function is a module-level one.
"""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["Deferred", "deferred_attribute", "raw_attribute"]


class Deferred:
    """A value to compute when first read: ``fn(*args)``.

    Examples
    --------
    >>> Deferred(sum, [1, 2]).value()
    3
    """

    __slots__ = ("fn", "args")

    def __init__(self, fn: Callable, *args: Any) -> None:
        self.fn, self.args = fn, args

    def value(self) -> Any:
        return self.fn(*self.args)


def deferred_attribute(cls: type, name: str) -> type:
    """Make dataclass field ``name`` of ``cls`` resolve a :class:`Deferred` on read.

    Call it after ``@dataclass``: the generated ``__init__`` assigns the
    field, which then goes through the property. Returns ``cls``.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class R:
    ...     x: object = None
    >>> _ = deferred_attribute(R, "x")
    >>> r = R(Deferred(sorted, [3, 1]))
    >>> r.x, r
    ([1, 3], R(x=[1, 3]))
    """
    key = "_deferred_" + name

    def get(self):
        got = self.__dict__.get(key)
        if isinstance(got, Deferred):
            got = self.__dict__[key] = got.value()
        return got

    def put(self, value) -> None:
        self.__dict__[key] = value

    setattr(cls, name, property(get, put, doc=f"``{name}``, computed on the first read"))
    return cls


def raw_attribute(obj: Any, name: str) -> Any:
    """The stored value of a :func:`deferred_attribute` (a :class:`Deferred` unresolved;
    the attribute as read on an object without one)."""
    d = getattr(obj, "__dict__", {})
    key = "_deferred_" + name
    return d[key] if key in d else getattr(obj, name)
