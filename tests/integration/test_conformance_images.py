"""Images (by URL, and base64 with its media type) from every client reach every upstream in its native shape:
Chat ``image_url`` (a data: URL for base64), Responses ``input_image``, Anthropic ``image`` with a url/base64 source."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.matrix import BACKENDS, CLIENTS, PIXEL_PNG, Ask, Img, Rig, ask, user

pytestmark = pytest.mark.asyncio(loop_scope="module")

URL = "https://images.example/cat.png"
IMAGES = {"url": Img(url=URL), "base64": Img(data=PIXEL_PNG, media_type="image/webp")}


def upstream_parts(backend: str, body: dict[str, Any]) -> list[tuple[str, Any]]:
    """The last user turn's parts as ("text", text) / ("url", url) / ("base64", (media type, data))."""
    if backend == "chat":
        content = body["messages"][-1]["content"]
        out: list[tuple[str, Any]] = []
        for part in content:
            if part["type"] == "text":
                out.append(("text", part["text"]))
            else:
                url = part["image_url"]["url"]
                out.append(_from_url(url))
        return out
    if backend == "responses":
        content = body["input"][-1]["content"]
        return [("text", p["text"]) if p["type"] == "input_text" else _from_url(p["image_url"]) for p in content]
    content = body["messages"][-1]["content"]
    out = []
    for block in content:
        if block["type"] == "text":
            out.append(("text", block["text"]))
        elif block["source"]["type"] == "url":
            out.append(("url", block["source"]["url"]))
        else:
            out.append(("base64", (block["source"]["media_type"], block["source"]["data"])))
    return out


def _from_url(url: str) -> tuple[str, Any]:
    if url.startswith("data:"):
        head, _, data = url.partition(",")
        assert head.endswith(";base64"), head
        return "base64", (head[5:].split(";")[0], data)
    return "url", url


@pytest.mark.parametrize("kind", ["url", "base64"])
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("client", CLIENTS)
async def test_image_reaches_the_upstream(matrix: Rig, client: str, backend: str, kind: str) -> None:
    await ask(matrix, client, backend, False, Ask([user("what is this?", IMAGES[kind])]))
    expected = ("url", URL) if kind == "url" else ("base64", ("image/webp", PIXEL_PNG))
    assert upstream_parts(backend, matrix.upstream(backend)) == [("text", "what is this?"), expected]
