"""Plain text through every client protocol x backend kind x stream/non-stream: the answer, its stop reason, and the
request each upstream received in its own shape (model rewritten, the user's words where that protocol puts them)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes import Turn
from tests.integration.matrix import MODEL, Ask, Rig, ask, matrix_params, user

pytestmark = pytest.mark.asyncio(loop_scope="module")


def user_text(backend: str, body: dict[str, Any]) -> str:
    if backend == "responses":
        (item,) = body["input"]
        content = item["content"]
        return content if isinstance(content, str) else "".join(p["text"] for p in content)
    (message,) = body["messages"]
    content = message["content"]
    return content if isinstance(content, str) else "".join(p["text"] for p in content)


@matrix_params()
async def test_text_answer(matrix: Rig, client: str, backend: str, stream: bool) -> None:
    matrix.fake.queue(Turn(text="Hello there, traveller", chunks=4))
    seen = await ask(matrix, client, backend, stream, Ask([user("say hello")]))
    assert seen.text == "Hello there, traveller"
    assert seen.stop == {"chat": "stop", "responses": "completed", "messages": "end_turn"}[client]
    body = matrix.upstream(backend)
    assert body["model"] == MODEL[backend]
    assert user_text(backend, body) == "say hello"
    assert bool(body.get("stream")) is stream
