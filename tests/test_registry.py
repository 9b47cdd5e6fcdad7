"""The one registry mechanism (``roga_bench._registry``) and the algorithm lookups on it."""

from __future__ import annotations

import pytest

from roga_bench._registry import Registry, UnknownNameError, list_algorithms
from roga_bench.algorithms import get_algorithm_class

ALL = [
    "ASAM",
    "ERM",
    "GSAM",
    "LookSAM",
    "RoGA",
    "RoGA_Align",
    "RoGA_Look",
    "RoGA_Robust",
    "SAGM",
    "SAM",
]


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
    assert list_algorithms("RoGA*") == ["RoGA", "RoGA_Align", "RoGA_Look", "RoGA_Robust"]
    assert list_algorithms("*SAM") == ["ASAM", "GSAM", "LookSAM", "SAM"]
    assert list_algorithms("nothing*") == []


def test_unknown_name_lists_valid_names():
    with pytest.raises(UnknownNameError) as info:
        get_algorithm_class("SAMM")
    message = str(info.value)
    assert isinstance(info.value, KeyError)
    assert "'SAMM'" in message and all(name in message for name in ALL)
    assert not message.startswith('"')  # a readable message, not KeyError's repr


def _defined_in_modules() -> dict[str, type]:
    from roga_bench.algorithms import erm, roga, sharpness

    return {
        "ASAM": sharpness.ASAM,
        "ERM": erm.ERM,
        "GSAM": sharpness.GSAM,
        "LookSAM": sharpness.LookSAM,
        "RoGA": roga.RoGA,
        "RoGA_Align": roga.RoGA_Align,
        "RoGA_Look": roga.RoGA_Look,
        "RoGA_Robust": roga.RoGA_Robust,
        "SAGM": sharpness.SAGM,
        "SAM": sharpness.SAM,
    }


@pytest.mark.parametrize("name", ALL)
def test_lookup_returns_the_class_defined_for_that_name(name):
    """The name maps to the class its module defines (not a parent, alias or look-alike)."""
    expected = _defined_in_modules()[name]
    assert get_algorithm_class(name) is expected


def test_every_algorithm_name_is_its_own_class():
    classes = [get_algorithm_class(name) for name in ALL]
    assert len(set(classes)) == len(ALL)  # e.g. RoGA_Robust is not RoGA registered twice


def test_lookup_uses_the_registered_name_not_the_class_name():
    reg: Registry = Registry("widget")

    class First:
        pass

    class Second:
        pass

    reg.register("Second")(First)  # names deliberately crossed
    reg.register("First")(Second)
    assert reg.get("Second") is First and reg.get("First") is Second
