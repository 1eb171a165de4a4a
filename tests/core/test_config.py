"""Typed configs: unknown keys and bad values are errors naming the key; --set parses YAML."""

import pytest
from pydantic import Field

from sciformers.core import Config, ConfigError, apply_overrides, deep_merge, parse_override


class Inner(Config):
    reynolds: float = 100.0
    sizes: list[int] = Field(default_factory=lambda: [1])


class Outer(Config):
    steps: int = 10
    data: Inner = Field(default_factory=Inner)


def test_unknown_key_names_the_key_and_allowed_keys():
    with pytest.raises(ConfigError, match=r"train\.stpes: unknown key \(allowed: data, steps\)"):
        Outer.parse({"stpes": 3}, where="train")


def test_unknown_nested_key_names_the_full_path():
    with pytest.raises(ConfigError, match=r"cfg\.data\.reynold: unknown key \(allowed: reynolds, sizes\)"):
        Outer.parse({"data": {"reynold": 3}}, where="cfg")


def test_bad_value_names_key_and_value():
    with pytest.raises(ConfigError, match=r"cfg\.steps: .*integer.*'ten'"):
        Outer.parse({"steps": "ten"}, where="cfg")


def test_configs_are_frozen():
    cfg = Outer.parse({})
    with pytest.raises(Exception):
        cfg.steps = 3  # type: ignore[misc]


def test_override_values_are_yaml():
    assert parse_override("data.sizes=[1, 2, 3]") == (["data", "sizes"], [1, 2, 3])
    assert parse_override("train.lr=1e-3")[1] == pytest.approx(1e-3)
    assert parse_override("flag=true")[1] is True
    assert parse_override("name=abc")[1] == "abc"


@pytest.mark.parametrize("bad", ["noequals", "=3", "a..b=3"])
def test_malformed_override_is_an_error(bad):
    with pytest.raises(ConfigError, match="--set"):
        parse_override(bad)


def test_apply_overrides_creates_and_replaces_nested_keys():
    out = apply_overrides({"data": {"reynolds": 100}}, ["data.reynolds=200", "data.sizes=[4]", "steps=5"])
    assert out == {"data": {"reynolds": 200, "sizes": [4]}, "steps": 5}
    with pytest.raises(ConfigError, match="is a value, not a section"):
        apply_overrides({"steps": 5}, ["steps.x=1"])


def test_deep_merge_merges_dicts_and_replaces_lists():
    base = {"a": {"x": 1, "y": [1, 2]}, "b": 1}
    assert deep_merge(base, {"a": {"y": [3]}}) == {"a": {"x": 1, "y": [3]}, "b": 1}
    assert base["a"]["y"] == [1, 2]


def test_overrides_reach_keys_with_dots():
    base = {"models": {"timeseries.shapeformer": {"model": "timeseries.shapeformer", "kwargs": {"dim": 64}},
                       "minirocket": {"model": "minirocket"}}}
    out = apply_overrides(base, ["models.timeseries.shapeformer.kwargs.dim=32", "models.minirocket.kwargs.n=3"])
    assert out["models"]["timeseries.shapeformer"]["kwargs"] == {"dim": 32}
    assert out["models"]["minirocket"]["kwargs"] == {"n": 3} and set(out["models"]) == set(base["models"])
    # a key that does not exist yet is still split at every dot
    assert apply_overrides({}, ["a.b.c=1"]) == {"a": {"b": {"c": 1}}}
