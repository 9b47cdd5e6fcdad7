"""Every declared hparam: merged by one helper along the class hierarchy, with the defaults and
random-search draws it had (job hashes and running sweeps depend on them), and a declared type and
range that every source of values (--hparams, --grid, the DomainBed plugin) is checked against."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from roga_bench._registry import ALGORITHMS, DATASETS
from roga_bench.algorithms import RoGA
from roga_bench.datasets import SynthFFLOMO
from roga_bench.hparams import (
    SHARED_HPARAMS,
    HParam,
    HParamError,
    class_hparams,
    default_hparams,
    hparam_space,
    make_hparams,
    random_hparams,
    validate_hparams,
)

GOLDEN = Path(__file__).parent / "golden" / "hparam_spaces.json"


def _registered() -> list[type]:
    return [ALGORITHMS.get(n) for n in ALGORITHMS.names()] + [
        DATASETS.get(n) for n in DATASETS.names()
    ]


def _reference_merge(cls: type) -> dict[str, HParam]:
    """The rule the six former copies implemented: HPARAMS along the MRO, subclasses winning."""
    space: dict[str, HParam] = {}
    for klass in reversed(cls.__mro__):
        space.update(vars(klass).get("HPARAMS", {}))
    return space


@pytest.mark.parametrize("cls", _registered(), ids=lambda c: c.__name__)
def test_class_hparams_merges_along_the_mro_for_every_registered_class(cls):
    merged = class_hparams(cls)
    assert merged == _reference_merge(cls)
    assert list(merged) == list(_reference_merge(cls))  # same order: listings stay the same


def test_defaults_and_random_draws_are_those_before_the_helper():
    """Golden file written from main at fcec41f (before the helper and the type declarations):
    each (algorithm, dataset) pair, each hparam, [default, draw seed 1, 2, 3]. New hparams and new
    classes may be added; what existed may not change."""
    golden = json.loads(GOLDEN.read_text())
    assert len(golden) == 32
    for pair, names in golden.items():
        algorithm, dataset = pair.split()
        defaults = default_hparams(algorithm, dataset)
        draws = [random_hparams(algorithm, dataset, seed) for seed in (1, 2, 3)]
        for name, expected in names.items():
            got = [defaults[name], *(d[name] for d in draws)]
            assert got == expected, f"{pair} {name}"
            assert [type(v) for v in got] == [type(v) for v in expected], f"{pair} {name}"


class _Mixin:
    HPARAMS: ClassVar[dict[str, HParam]] = {
        "frames_per_video": HParam(3, kind=int, minimum=0),
        "zz_mixin": HParam("m", kind=str),
    }


class _Derived(_Mixin, SynthFFLOMO):
    HPARAMS: ClassVar[dict[str, HParam]] = {"zz_mixin": HParam("derived", kind=str)}


def test_every_user_of_the_merge_lets_subclasses_win():
    """Algorithms, dataset hparams, the frame-cache decoder, the split-shaping keys and the
    DomainBed plugin all see the same merged space."""
    from roga_bench.datasets.cache import decode_hparams
    from roga_bench.datasets.check import _dataset_keys

    resolved = _Derived.resolve_hparams({})
    assert resolved["frames_per_video"] == 3 and resolved["zz_mixin"] == "derived"
    assert resolved["image_size"] == 64 and resolved["momentum"] == 0.9  # SynthFF, then shared
    decoded = decode_hparams(_Derived, 32, {})
    assert decoded["frames_per_video"] == 3 and decoded["zz_mixin"] == "derived"
    assert {"zz_mixin", "frames_per_video", "compression"} <= set(_dataset_keys(_Derived))

    class Extra(RoGA):
        HPARAMS: ClassVar[dict[str, HParam]] = {"alpha": HParam(0.5, kind=float, minimum=0.0)}

    space = Extra.space()
    assert space["alpha"].default == 0.5 and space["rho"].default == 0.1
    assert space["lr"] is SHARED_HPARAMS["lr"]


def test_the_domainbed_plugin_uses_the_merged_space(monkeypatch):
    from roga_bench import domainbed_plugin

    seen = []
    real = domainbed_plugin.class_hparams
    monkeypatch.setattr(
        domainbed_plugin, "class_hparams", lambda cls: seen.append(cls) or real(cls)
    )
    wrapped = domainbed_plugin._wrap_hparams(
        lambda a, d, s: {}, {"RoGA": RoGA}, {"SynthFFLOMO": SynthFFLOMO}
    )
    hparams = wrapped("RoGA", "SynthFFLOMO", 0)
    assert seen == [SynthFFLOMO, RoGA]
    space = hparam_space("RoGA", "SynthFFLOMO")
    assert {n: v[0] for n, v in hparams.items()} == {n: h.default for n, h in space.items()}


# ----- declared types and ranges ---------------------------------------------------------------


def _declarations() -> list[tuple[str, str, HParam]]:
    """(owner, name, declaration) of every hparam: shared, then each registered class's own
    (the package's classes: other test modules register stand-ins of their own)."""
    out = [("shared", n, h) for n, h in SHARED_HPARAMS.items()]
    for cls in _registered():
        if cls.__module__.startswith("roga_bench."):
            out += [(cls.__name__, n, h) for n, h in class_hparams(cls).items()]
    return out


def _kinds(hp: HParam) -> tuple:
    return hp.kind if isinstance(hp.kind, tuple) else (hp.kind,)


@pytest.mark.parametrize(("owner", "name", "hp"), _declarations(), ids=lambda x: str(x)[:30])
def test_every_declared_hparam_has_a_type_and_a_range(owner, name, hp):
    """A new hparam (LookSAM's ``k``, a dataset's ``lmdb_dir``) cannot slip in unchecked: it
    declares ``choices``, or a ``kind``, and a number declares a range too."""
    assert hp.kind is not None or hp.choices is not None, f"{owner}.{name}: declare kind="
    if {float, int} & set(_kinds(hp)):
        assert hp.minimum is not None or hp.maximum is not None, f"{owner}.{name}: a range"
    assert hp.problem(hp.default) is None, f"{owner}.{name}: default outside its declaration"
    for seed in range(12):  # every random-search draw is accepted
        value = hp.draw(np.random.RandomState(seed))
        assert hp.problem(value) is None, f"{owner}.{name} draws {value!r}"
    for value in hp.choices or ():
        assert hp.problem(value) is None, f"{owner}.{name}: choice {value!r} not of its kind"


def _bad_values(hp: HParam) -> list:
    """Values every declaration must refuse."""
    kinds = set(_kinds(hp))
    bad: list = [None, {"a": 1}]
    if hp.choices is not None:
        bad.append("not-a-choice")
        if any(isinstance(c, bool) for c in hp.choices):
            bad += [1, 0]  # JSON 1 is not true
    if {float, int} & kinds:
        bad += ["abc", True, [1.0]]
        if hp.minimum is not None:
            bad.append(hp.minimum - 1)
        if hp.maximum is not None:
            bad.append(hp.maximum + 1)
    if float in kinds:
        bad += [float("nan"), float("inf"), float("-inf")]
    if int in kinds:
        bad.append(2.5)
    if str in kinds:
        bad += [3, False]
    return bad


@pytest.mark.parametrize(("owner", "name", "hp"), _declarations(), ids=lambda x: str(x)[:30])
def test_every_declaration_refuses_values_outside_it(owner, name, hp):
    for value in _bad_values(hp):
        with pytest.raises(HParamError) as info:
            validate_hparams({name: value}, {name: hp}, "--hparams")
        message = str(info.value)
        assert message.startswith(f"--hparams: hparam {name!r} = {value!r} "), message
        assert "; expected " in message and "\n" not in message


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "'lr' = 'abc' is a string; expected a finite number >= 0.0"),
        (float("nan"), "'lr' = nan is not finite; expected a finite number >= 0.0"),
        (-1, "'lr' = -1 is out of range; expected a finite number >= 0.0"),
        (True, "'lr' = True is a boolean; expected a finite number >= 0.0"),
    ],
)
def test_the_error_line_names_source_hparam_problem_and_what_is_allowed(value, message):
    with pytest.raises(HParamError, match=re.escape(f"--hparams: hparam {message}")):
        make_hparams("SAM", "SynthFFLOMO", 0, 0, {"lr": value})


def test_ints_pass_as_floats_and_other_checks():
    space = hparam_space("SAM", "SynthFFLOMO")
    assert make_hparams("SAM", "SynthFFLOMO", 0, 0, {"lr": 1, "rho": 0})["lr"] == 1
    assert space["image_size"].problem(4096) is None
    assert "in [8, 4096]" in space["image_size"].problem(4097)
    assert "registered backbone" in space["backbone"].problem("resnet99")
    assert space["backbone"].problem("resnet34") is None
    assert "one of [0.0]" in hparam_space("RoGA_Robust", "SynthFFLOMO")["alpha"].problem(0.1)
    assert hparam_space("RoGA_Robust", "SynthFFLOMO")["alpha"].problem(0) is None
    names = HParam("", kind=(str, list[str]))  # e.g. a list of target names
    assert names.problem(["a", "b"]) is None and names.problem("a,b") is None
    assert "an item that is not a string" in names.problem(["a", 1])


def test_sources_label_each_value():
    with pytest.raises(HParamError, match="^--frames_per_video: hparam 'frames_per_video' = -1"):
        make_hparams(
            "ERM",
            "SynthFFLOMO",
            overrides={"lr": 0.1, "frames_per_video": -1},
            source={"lr": "--hparams", "frames_per_video": "--frames_per_video"},
        )


# ----- every command: one line, exit 2, nothing created ----------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--hparams", '{"lr": "abc"}'], "--hparams: hparam 'lr' = 'abc' is a string"),
        (["--hparams", '{"lr": NaN}'], "--hparams: hparam 'lr' = nan is not finite"),
        (
            ["--algorithm", "SAM", "--hparams", '{"rho": Infinity}'],
            "--hparams: hparam 'rho' = inf is not finite; expected a finite number >= 0.0",
        ),
        (["--hparams", '{"batch_size": 2.5}'], "'batch_size' = 2.5 is not an integer"),
        (["--hparams", '{"image_size": 1e9}'], "expected an integer in \\[8, 4096\\]"),
        (["--hparams", '{"backbone": "nope"}'], "is not a registered backbone; expected one of"),
        (["--hparams", '{"data_augmentation": 1}'], "expected one of \\[True, False\\]"),
        (["--frames_per_video", "-1"], "--frames_per_video: hparam 'frames_per_video' = -1"),
    ],
)
def test_train_refuses_bad_hparams_in_one_line_exit_2_creating_nothing(
    tmp_path, capsys, argv, message
):
    from roga_bench.train import main

    out = tmp_path / "run"
    assert main(["--dataset", "SynthFFLOMO", "--output_dir", str(out), "--steps", "1", *argv]) == 2
    err = capsys.readouterr().err
    assert re.search(message, err) and err.count("\n") == 1, err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--hparams", '{"lr": "abc"}'], "--hparams: hparam 'lr' = 'abc' is a string"),
        (["--grid", "rho=0.1,-1"], "--grid: hparam 'rho' = -1 is out of range"),
        (["--backbones", "small_cnn", "nope"], "--backbones: hparam 'backbone' = 'nope'"),
    ],
)
def test_sweep_launch_names_the_flag_of_a_bad_hparam(tmp_path, capsys, argv, message):
    from roga_bench.sweep import main

    out = tmp_path / "sweep"
    argv = ["launch", "--algorithms", "SAM", "--output_dir", str(out), *argv]
    assert main([*argv, "--command_launcher", "dummy", "--skip_confirmation"]) == 2
    err = capsys.readouterr().err
    assert message in err and "(job SAM on SynthFFLOMO)" in err and err.count("\n") == 1, err
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def fake_domainbed(monkeypatch):
    fake = str(Path(__file__).parent / "fake_domainbed")
    drop = [m for m in sys.modules if m == "domainbed" or m.startswith("domainbed.")]
    for name in drop:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(fake)
    yield
    for name in [m for m in sys.modules if m == "domainbed" or m.startswith("domainbed.")]:
        del sys.modules[name]


def test_domainbed_train_refuses_bad_hparams_before_domainbed_makes_the_folder(
    fake_domainbed, tmp_path, capsys
):
    from roga_bench.domainbed_train import main

    out = tmp_path / "run"
    argv = ["--dataset", "SynthFFLOMO", "--algorithm", "RoGA", "--output_dir", str(out)]
    with pytest.raises(SystemExit) as info:
        main([*argv, "--hparams", '{"alpha": -0.5, "lr": 0.1}'])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "error: --hparams: hparam 'alpha' = -0.5 is out of range" in err
    assert not out.exists()
    # a DomainBed algorithm's own hparams are DomainBed's business; ours are still checked
    from roga_bench.domainbed_plugin import check_train_hparams

    check_train_hparams(["--algorithm", "IRM", "--dataset", "SynthFFLOMO",
                         "--hparams", '{"irm_lambda": 5}'])  # fmt: skip
    with pytest.raises(HParamError, match="'batch_size' = 0 is out of range"):
        check_train_hparams(["--algorithm", "IRM", "--dataset", "SynthFFLOMO",
                             "--hparams", '{"batch_size": 0}'])  # fmt: skip


@pytest.mark.parametrize("module", ["check", "cache"])
def test_datasets_commands_refuse_bad_hparams_in_one_line_exit_2(tmp_path, capsys, module):
    from roga_bench.datasets import __main__ as datasets_main
    from roga_bench.datasets import cache

    out = tmp_path / "cache"
    bad = json.dumps({"frames_per_video": "many"})
    if module == "check":
        argv = ["check", "--dataset", "SynthFFLOMO", "--data_dir", str(tmp_path), "--hparams", bad]
        run = datasets_main.main
    else:
        argv = ["--dataset", "SynthFFLOMO", "--image_size", "32", "--out", str(out)]
        argv += ["--data_dir", str(tmp_path), "--hparams", bad]
        run = cache.main
    with pytest.raises(SystemExit) as exc:
        sys.exit(run(argv))
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "hparam 'frames_per_video' = 'many'" in err[-1]
    assert not out.exists()
