"""openai-agents (PyPI, in the test extras) through lip to each backend kind: an Agent with one function tool, on
the SDK's Responses model and on its Chat Completions model, run to completion (`Runner.run`) and streamed
(`Runner.run_streamed`). The tool is called and the final answer uses its result. Tracing is off: nothing leaves
loopback.
"""

from __future__ import annotations

import pytest
from agents import (
    Agent,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    RunConfig,
    Runner,
    function_tool,
    set_tracing_disabled,
)

from tests.agents.rig import Loop, Rig, selector
from tests.integration.matrix import BACKENDS

MARKER = "LIP-AGENT-OAIAGENTS"
MODELS = {"responses": OpenAIResponsesModel, "chat": OpenAIChatCompletionsModel}


@function_tool
def lookup(key: str) -> str:
    """Look up the code word for a key."""
    return f"{MARKER}-{key}"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("api", ["responses", "chat"])
async def test_openai_agents_calls_its_tool_and_uses_the_result(rig: Rig, api: str, backend: str) -> None:
    set_tracing_disabled(True)
    rig.fake.responder = Loop("lookup", {"key": "blue"}, MARKER, quote_prefix="The code word is ")
    client = rig.lip.openai()
    model = MODELS[api](model=selector(backend), openai_client=client)
    agent = Agent(name="finder", instructions="Use the lookup tool.", tools=[lookup], model=model)
    config = RunConfig(tracing_disabled=True)
    prompt = "Look up the code word for the key 'blue' and tell me."

    result = await Runner.run(agent, prompt, run_config=config, max_turns=4)
    assert result.final_output == f"The code word is {MARKER}-blue"
    streamed = Runner.run_streamed(agent, prompt, run_config=config, max_turns=4)
    kinds = [event.item.type async for event in streamed.stream_events() if event.type == "run_item_stream_event"]
    assert streamed.final_output == f"The code word is {MARKER}-blue"
    assert kinds == ["tool_call_item", "tool_call_output_item", "message_output_item"]

    seen = rig.generations(backend)
    assert [view.stream for view in seen] == [False, False, True, True]
    for first, second in (seen[:2], seen[2:]):
        assert first.tools == ("lookup",) and first.tool_results == ()
        assert second.tool_results == (f"{MARKER}-blue",), second.tool_results
