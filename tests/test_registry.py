"""The one registry mechanism (``roga_bench._registry``) and the algorithm lookups on it."""

from __future__ import annotations

import pytest

from roga_bench._registry import ALGORITHMS, Registry, UnknownNameError, list_algorithms
from roga_bench.algorithms import get_algorithm_class

ALL = ["ASAM", "ERM", "GSAM", "RoGA", "RoGA_Align", "RoGA_Robust", "SAGM", "SAM"]


def test_register_bare_named_and_called():
    reg: Registry = Registry("widget")

    @reg.register
    def alpha():
        return 1

    @reg.register("Beta")
    def beta():
        return 2

    @reg.register()
    def gamma():
        return 3

    assert reg.names() == ["Beta", "alpha", "gamma"]
    assert reg.get("Beta") is beta and reg.get("alpha")() == 1
    assert "gamma" in reg and len(reg) == 3 and list(reg) == reg.names()


def test_duplicate_name_raises_and_same_object_is_idempotent():
    reg: Registry = Registry("widget")

    def one():
        pass

    reg.register("x")(one)
    reg.register("x")(one)  # re-importing a module re-registers the same object: allowed

    with pytest.raises(ValueError, match="'x' is already registered"):
        reg.register("x")(lambda: None)


def test_wildcards():
    # other test modules register test-only stand-ins named "_Test*"
    assert [n for n in list_algorithms() if not n.startswith("_Test")] == ALL
    assert list_algorithms("RoGA*") == ["RoGA", "RoGA_Align", "RoGA_Robust"]
    assert list_algorithms("*SAM") == ["ASAM", "GSAM", "SAM"]
    assert list_algorithms("nothing*") == []


def test_unknown_name_lists_valid_names():
    with pytest.raises(UnknownNameError) as info:
        get_algorithm_class("SAMM")
    message = str(info.value)
    assert isinstance(info.value, KeyError)
    assert "'SAMM'" in message and all(name in message for name in ALL)
    assert not message.startswith('"')  # a readable message, not KeyError's repr


@pytest.mark.parametrize("name", ALL)
def test_lookup_returns_the_class_registered_under_its_name(name):
    cls = get_algorithm_class(name)
    assert cls is ALGORITHMS.get(name) and cls.__name__ == name
