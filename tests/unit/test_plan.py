"""Planning: a selector (or an alias of one) becomes the ordered attempts of one request, before any is tried."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest
import yaml

from lip.backends.local_stub import LocalStubBackend
from lip.config import ConfigError, load_text
from lip.errors import InvalidRequest, ModelNotFound, UnknownBackend
from lip.inventory import Inventory
from lip.routing.plan import Planner


def planner(
    routing: dict[str, Any] | None = None, models: dict[str, list[str]] | None = None, seed: int = 1
) -> Planner:
    models = models or {}
    rows = []
    for prefix in ("a", "b", "c"):
        config: dict[str, Any] = {"backend_prefix": prefix, "base_url": f"http://{prefix}.example/v1"}
        config["models"] = {"source": "inline", "items": [{"native_id": m} for m in models.get(prefix, ["m"])]}
        rows.append({"id": f"backend-{prefix}", "kind": "custom-openai-legacy-compatible", "config": config})
    text = yaml.safe_dump({"routing": routing or {}, "plugins": {"backends": rows}})
    settings = load_text(text, "plan-test.yaml", {})
    backends = {spec.prefix: LocalStubBackend(spec) for spec in settings.backends}
    return Planner(settings, backends, Inventory(backends.values()), random.Random(seed))


def leaves(p: Planner, model: str) -> list[str]:
    return [t.leaf for t in p.plan(model)]


def test_a_chain_is_tried_in_order() -> None:
    assert leaves(planner(), "a:m1|b:m2|c:m3") == ["a:m1", "b:m2", "c:m3"]


def test_weights_decide_the_first_draw_within_tolerance() -> None:
    p = planner()
    firsts = Counter(p.plan("[weight=3]a:m^[weight=1]b:m")[0].leaf for _ in range(4000))
    assert abs(firsts["a:m"] / 4000 - 0.75) < 0.03


def test_a_failed_leaf_is_excluded_and_the_choice_redrawn_among_the_rest() -> None:
    p = planner()
    seconds = Counter()
    for _ in range(3000):
        plan = leaves(p, "[weight=6]a:m^[weight=3]b:m^[weight=1]c:m")
        assert sorted(plan) == ["a:m", "b:m", "c:m"]  # every leaf once: the re-draws
        if plan[0] == "a:m":
            seconds[plan[1]] += 1
    # after a (weight 6) fails, b and c are drawn 3:1
    assert abs(seconds["b:m"] / (seconds["b:m"] + seconds["c:m"]) - 0.75) < 0.04


def test_choice_binds_tighter_than_failover() -> None:
    p = planner()
    for _ in range(50):
        plan = leaves(p, "a:m^b:m|c:m")
        assert sorted(plan[:2]) == ["a:m", "b:m"] and plan[2] == "c:m"


def test_per_leaf_parameters_travel_with_their_target() -> None:
    [first, second] = planner().plan("a:m?temperature=0.2&max_tokens=2000|b:m")
    assert first.params == (("temperature", "0.2"), ("max_tokens", "2000"))
    assert second.params == ()


def test_an_unsupported_parameter_is_refused_before_anything_is_tried() -> None:
    with pytest.raises(InvalidRequest, match="'colour' is not supported"):
        planner().plan("a:m|b:m?colour=blue")


def test_an_alias_maps_a_client_name_to_any_selector() -> None:
    p = planner({"model_aliases": {"gpt-4o": "[weight=1]a:m^b:m|c:m?temperature=0"}})
    plan = p.plan("gpt-4o")
    assert sorted(t.leaf for t in plan[:2]) == ["a:m", "b:m"]
    assert plan[2].leaf == "c:m" and plan[2].params == (("temperature", "0"),)


def test_a_regex_alias_may_use_groups() -> None:
    p = planner({"model_aliases": [{"pattern": "claude-(.*)", "replacement": r"b:claude-\1|c:claude-\1"}]})
    assert leaves(p, "claude-sonnet") == ["b:claude-sonnet", "c:claude-sonnet"]


def test_a_malformed_selector_is_a_400_pointing_at_the_position() -> None:
    with pytest.raises(InvalidRequest) as caught:
        planner().plan("a:m|")
    assert caught.value.status == 400 and caught.value.param == "model"
    assert "position 4" in caught.value.message and "'a:m|'" in caught.value.message


def test_a_bare_name_goes_to_every_backend_that_lists_it_in_config_order() -> None:
    p = planner(models={"a": ["x"], "b": ["shared"], "c": ["shared"]})
    assert leaves(p, "shared") == ["b:shared", "c:shared"]


def test_a_bare_name_with_a_colon_is_found_in_the_inventory() -> None:
    p = planner(models={"b": ["llama3:8b"]})
    assert leaves(p, "llama3:8b") == ["b:llama3:8b"]


def test_an_unknown_prefix_is_a_404_naming_the_known_ones() -> None:
    with pytest.raises(UnknownBackend, match="known prefixes: a, b, c"):
        planner().plan("zz:m")


def test_unknown_bare_names_take_the_default_route_or_get_404() -> None:
    assert leaves(planner({"default_route": "c:m|a:m"}), "who-knows?temperature=1") == ["c:m", "a:m"]
    assert planner({"default_route": "c:m"}).plan("who-knows?temperature=1")[0].params == (("temperature", "1"),)
    with pytest.raises(ModelNotFound):
        planner().plan("who-knows")


def test_selectors_in_the_config_are_checked_like_requests() -> None:
    with pytest.raises(ConfigError) as caught:
        planner({"default_route": "a:m?colour=blue", "model_aliases": {"x": "b:m?max_tokens=many"}})
    problems = "\n".join(caught.value.problems)
    assert "routing.default_route" in problems and "'colour' is not supported" in problems
    assert "routing.model_aliases[0].replacement" in problems and "max_tokens='many' has the wrong type" in problems


def test_an_alias_may_name_a_bare_model() -> None:
    p = planner({"model_aliases": {"fast": "shared|a:m"}}, models={"b": ["shared"]})
    assert leaves(p, "fast") == ["b:shared", "a:m"]


def test_an_unknown_prefix_takes_the_default_route_when_there_is_one() -> None:
    assert leaves(planner({"default_route": "c:m"}), "zz:m?temperature=1|a:m") == ["c:m", "a:m"]


def test_race_legs_are_numbered_by_their_arm_and_keep_their_handicaps() -> None:
    plan = planner().plan("a:m|b:m![handicap=2]c:m")
    assert [(t.leaf, t.race, t.handicap_s) for t in plan] == [("a:m", 0, 0.0), ("b:m", 2, 0.0), ("c:m", 2, 2.0)]
    assert plan.races


def test_annotations_and_the_global_block_reach_the_plan() -> None:
    plan = planner().plan("{ttft_timeout=60,affinity=client}[ttft_timeout=20,max_context=128k]a:m|[min_context=8k]b:m")
    assert (plan.ttft_s, plan.affinity) == (60.0, "client")
    assert [(t.ttft_s, t.min_context, t.max_context) for t in plan] == [(20.0, None, 128_000), (None, 8_000, None)]


def test_first_steers_a_sessions_first_request_only() -> None:
    p = planner()
    selector = "[weight=1000]a:m^[first]b:m^c:m"
    assert {leaves(p, selector)[0] for _ in range(20)} == {"a:m"}  # not a first request: the weighted draw
    firsts = [p.plan(selector, first=True) for _ in range(20)]
    assert {plan[0].leaf for plan in firsts} == {"b:m"}
    assert all(sorted(t.leaf for t in plan) == ["a:m", "b:m", "c:m"] for plan in firsts)  # the rest re-drawn
    assert all([t.opens_session for t in plan] == [True, False, False] for plan in firsts)  # marks what consumes
    assert not any(t.opens_session for t in p.plan(selector))


def test_thinker_is_refused_with_its_reason() -> None:
    with pytest.raises(InvalidRequest, match="interleaved thinking") as caught:
        planner().plan("[thinker]a:m^b:m")
    assert caught.value.param == "model"
    with pytest.raises(ConfigError, match="not supported by lip"):
        planner({"default_route": "[thinker]a:m^b:m"})


def test_a_race_needs_a_streaming_request() -> None:
    plan = planner().plan("a:m!b:m")
    plan.check_stream(True)
    with pytest.raises(InvalidRequest, match="needs a streaming request"):
        plan.check_stream(False)
    planner().plan("a:m|b:m").check_stream(False)
