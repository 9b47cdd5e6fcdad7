"""Command-line flags declared on config dataclass fields: a new field and its flag are one edit.

A field made with :func:`flag` carries its flag's help, type and checks in its metadata;
:func:`add_flags` turns the fields of a dataclass into argparse arguments (default: the field's
default, unless the flag declares its own), :func:`check_flags` returns the first value outside
its declared range as the CLI's one-line error, and :func:`from_flags` builds the dataclass from
the parsed namespace.

    @dataclass(frozen=True)
    class Config:
        steps: int = flag(100, help="updates", at_least=1)

    add_flags(parser, Config)           # --steps STEPS  updates (default: 100)
    error = check_flags(Config, ns)     # "--steps must be >= 1" or None
    config = from_flags(Config, ns)
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["add_flags", "check_flags", "flag", "flag_names", "from_flags"]

_KEY = "roga_bench.flag"
# Metadata keys that are not argparse keywords: the flag spelling(s) and the value checks.
_OWN = ("flags", "at_least", "above")


def flag(
    default: Any = dataclasses.MISSING,
    *,
    help: str | None = None,
    default_factory: Callable[[], Any] | Any = dataclasses.MISSING,
    flags: Sequence[str] | None = None,
    flag_default: Any = dataclasses.MISSING,
    at_least: float | None = None,
    above: float | None = None,
    **argparse_kwargs: Any,
) -> Any:
    """A dataclass field with a command-line flag.

    Args:
        default, default_factory: the field's default (as ``dataclasses.field``).
        help: the flag's help text (None: none, as argparse).
        flags: the option strings; default ``--<field name>``. The value always lands in the
            field's name (``dest``); the metavar stays the first flag's, as argparse would show.
        at_least, above: the value (each value of a list) must be >= / > this; checked by
            :func:`check_flags`, unset values (None) pass.
        argparse_kwargs: passed to ``add_argument`` (``type``, ``choices``, ``nargs``,
            ``action``, ...).
            Without ``type`` or ``action``: a bool field is a ``store_true`` flag, an int or
            float default gives that type.
    """
    spec: dict[str, Any] = {"help": help, **argparse_kwargs}
    if flag_default is not dataclasses.MISSING:
        spec["default"] = flag_default
    if flags is not None:
        spec["flags"] = tuple(flags)
    if at_least is not None:
        spec["at_least"] = at_least
    if above is not None:
        spec["above"] = above
    return dataclasses.field(
        default=default, default_factory=default_factory, metadata={_KEY: spec}
    )


def _flagged(cls: type, names: Sequence[str] | None) -> list[dataclasses.Field]:
    by_name = {f.name: f for f in dataclasses.fields(cls) if _KEY in f.metadata}
    if names is None:
        return list(by_name.values())
    missing = [n for n in names if n not in by_name]
    if missing:
        raise KeyError(f"{cls.__name__}: no flagged field {', '.join(missing)}")
    return [by_name[n] for n in names]


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def _option_strings(f: dataclasses.Field) -> tuple[str, ...]:
    return f.metadata[_KEY].get("flags", (f"--{f.name}",))


def flag_names(cls: type) -> tuple[str, ...]:
    """The names of the fields of ``cls`` that have a flag, in declaration order."""
    return tuple(f.name for f in _flagged(cls, None))


def add_flags(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    cls: type,
    names: Sequence[str] | None = None,
) -> None:
    """Add one argument per flagged field of ``cls`` (``names``: only these, in this order)."""
    for f in _flagged(cls, names):
        spec = {k: v for k, v in f.metadata[_KEY].items() if k not in _OWN}
        if spec.get("help") is None:
            spec.pop("help", None)
        spec.setdefault("default", _default(f))
        if "type" not in spec and "action" not in spec:
            field_default = _default(f)
            if isinstance(field_default, bool):
                spec["action"] = "store_true"
            elif isinstance(field_default, (int, float)):
                spec["type"] = type(field_default)
        strings = _option_strings(f)
        if strings[0].lstrip("-") != f.name and spec.get("action") not in (
            "store_true",
            "store_false",
        ):
            spec.setdefault("metavar", strings[0].lstrip("-").upper())
        parser.add_argument(*strings, dest=f.name, **spec)


def check_flags(
    cls: type, ns: argparse.Namespace, names: Sequence[str] | None = None
) -> str | None:
    """The first flag whose value is outside its declared range, as an error line; else None."""
    for f in _flagged(cls, names):
        spec = f.metadata[_KEY]
        value = getattr(ns, f.name, None)
        if value is None:
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        name = _option_strings(f)[0]
        if "at_least" in spec:
            bad = [v for v in values if v < spec["at_least"]]
            if bad:
                return f"{name} must be >= {spec['at_least']}, got {bad[0]}"
        if "above" in spec:
            bad = [v for v in values if not v > spec["above"]]
            if bad:
                return f"{name} must be > {spec['above']}, got {bad[0]}"
    return None


def from_flags(cls: type, ns: argparse.Namespace, **values: Any) -> Any:
    """``cls`` from the parsed flags of its fields; ``values`` replace (or convert) some."""
    given = {f.name: getattr(ns, f.name) for f in _flagged(cls, None) if hasattr(ns, f.name)}
    return cls(**{**given, **values})
