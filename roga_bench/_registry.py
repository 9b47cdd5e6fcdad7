"""One registry mechanism for algorithms, datasets, backbones, launchers, selection methods and
table sets.

Entries register themselves with a decorator where they are defined (timm's ``@register_model``)::

    @register_algorithm("SAM")
    class SAM(ERM): ...

A registry knows the module whose import registers its entries, so a lookup never misses an entry
just because nobody imported that module yet.
"""

from __future__ import annotations

import fnmatch
import importlib
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")

__all__ = [
    "Registry",
    "UnknownNameError",
    "ALGORITHMS",
    "BACKBONES",
    "DATASETS",
    "LAUNCHERS",
    "SELECTIONS",
    "TABLE_SETS",
    "register_algorithm",
    "register_backbone",
    "register_dataset",
    "register_launcher",
    "register_selection",
    "register_table_set",
    "list_algorithms",
    "list_backbones",
    "list_datasets",
    "list_launchers",
    "list_selections",
    "list_table_sets",
]


class UnknownNameError(KeyError):
    """A name that is not registered; the message lists the valid names."""

    def __str__(self) -> str:  # KeyError would repr() the message and add quotes
        return str(self.args[0])


class Registry(Generic[T]):
    """A name -> object table filled by a decorator.

    Args:
        kind: what the entries are ("algorithm", "dataset", ...), used in error messages.
        module: the module whose import registers the built-in entries; imported on first lookup.
    """

    def __init__(self, kind: str, module: str | None = None) -> None:
        self.kind = kind
        self._module = module
        self._entries: dict[str, T] = {}

    def register(self, name: str | Callable[..., Any] | None = None) -> Any:
        """Decorator registering an object under ``name`` (default: its ``__name__``).

        Usable as ``@registry.register``, ``@registry.register()`` or ``@registry.register("x")``.

        Raises:
            ValueError: if the name is already taken.
        """
        if callable(name):  # used bare: @register
            return self._add(name.__name__, name)

        def decorator(obj: T) -> T:
            return self._add(name or obj.__name__, obj)  # type: ignore[attr-defined]

        return decorator

    def _add(self, name: str, obj: T) -> T:
        if name in self._entries and self._entries[name] is not obj:
            previous = self._entries[name]
            where = getattr(previous, "__module__", "?")
            raise ValueError(f"{self.kind} {name!r} is already registered (by {where})")
        self._entries[name] = obj
        return obj

    def _load(self) -> None:
        if self._module is not None:
            importlib.import_module(self._module)

    def get(self, name: str) -> T:
        """The entry called ``name``.

        Raises:
            UnknownNameError: (a KeyError) listing the registered names.
        """
        self._load()
        try:
            return self._entries[name]
        except KeyError:
            valid = ", ".join(sorted(self._entries)) or "(none)"
            raise UnknownNameError(f"unknown {self.kind} {name!r}; valid names: {valid}") from None

    def names(self, pattern: str = "*") -> list[str]:
        """Registered names matching a shell-style wildcard (``"RoGA*"``), sorted."""
        self._load()
        return sorted(n for n in self._entries if fnmatch.fnmatchcase(n, pattern))

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self._load()
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self._entries)} entries)"


ALGORITHMS: Registry[Any] = Registry("algorithm", "roga_bench.algorithms")
DATASETS: Registry[Any] = Registry("dataset", "roga_bench.datasets")
BACKBONES: Registry[Any] = Registry("backbone", "roga_bench.backbones")
LAUNCHERS: Registry[Any] = Registry("launcher", "roga_bench.sweep.launchers")
SELECTIONS: Registry[Any] = Registry("selection method", "roga_bench.reporting.selection")
# a set of tables that reporting builds (reporting.TableSet); the RoGA paper's is "paper"
TABLE_SETS: Registry[Any] = Registry("table set", "roga_bench.paper")

register_algorithm = ALGORITHMS.register
register_dataset = DATASETS.register
register_backbone = BACKBONES.register
register_launcher = LAUNCHERS.register
register_selection = SELECTIONS.register
register_table_set = TABLE_SETS.register

list_algorithms = ALGORITHMS.names
list_datasets = DATASETS.names
list_backbones = BACKBONES.names
list_launchers = LAUNCHERS.names
list_selections = SELECTIONS.names
list_table_sets = TABLE_SETS.names
