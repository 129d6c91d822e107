"""Documents and files from every client reach every upstream that has an equivalent, in its native shape (Chat
``file`` parts, Responses ``input_file``, Anthropic ``document`` blocks); what has none (a URL towards Chat, a file id
towards the other provider, audio towards Responses or Anthropic) is a 400 in the client's shape naming its part."""

from __future__ import annotations

from typing import Any

import anthropic
import openai
import pytest

from tests.fakes import Turn
from tests.integration.matrix import Rig

pytestmark = pytest.mark.asyncio(loop_scope="module")

PDF = "JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PC9UeXBlL0NhdGFsb2c+PgplbmRvYmoKdHJhaWxlcgo8PC9Sb290IDEgMCBSPj4KJSVFT0YK"
PDF_URL = "data:application/pdf;base64," + PDF
REMOTE = "https://docs.example/q3-report.pdf"
NOTES = "Q3 revenue grew 12%.\nChurn fell to 2%."
ASK = "Summarise the attached file."


async def chat(rig: Rig, backend: str, part: dict[str, Any]) -> Any:
    content = [{"type": "text", "text": ASK}, part]
    messages: Any = [{"role": "user", "content": content}]
    return await rig.openai.chat.completions.create(model=Rig.selector(backend), messages=messages)


async def responses(rig: Rig, backend: str, part: dict[str, Any]) -> Any:
    content = [{"type": "input_text", "text": ASK}, part]
    items: Any = [{"role": "user", "content": content}]
    return await rig.openai.responses.create(model=Rig.selector(backend), input=items)


async def messages(rig: Rig, backend: str, block: dict[str, Any]) -> Any:
    content: Any = [{"type": "text", "text": ASK}, block]
    return await rig.anthropic.messages.create(
        model=Rig.selector(backend), max_tokens=256, messages=[{"role": "user", "content": content}]
    )


def last_user_parts(backend: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    if backend == "responses":
        return list(body["input"][-1]["content"])
    return list(body["messages"][-1]["content"])


def chat_file(**file: str) -> dict[str, Any]:
    return {"type": "file", "file": file}


def input_file(**fields: str) -> dict[str, Any]:
    return {"type": "input_file", **fields}


def document(source: dict[str, Any], **fields: str) -> dict[str, Any]:
    return {"type": "document", "source": source, **fields}


PDF_SOURCE = {"type": "base64", "media_type": "application/pdf", "data": PDF}


# ---------------------------------------------------------------- what translates


CASES = [
    # (client, the client's part, backend, the upstream's part)
    (
        "chat",
        chat_file(file_data=PDF_URL, filename="q3.pdf"),
        "responses",
        input_file(file_data=PDF_URL, filename="q3.pdf"),
    ),
    ("chat", chat_file(file_id="file-abc123"), "responses", input_file(file_id="file-abc123")),
    ("chat", chat_file(file_data=PDF_URL, filename="q3.pdf"), "anthropic", document(PDF_SOURCE, title="q3.pdf")),
    (
        "responses",
        input_file(file_data=PDF_URL, filename="q3.pdf"),
        "chat",
        chat_file(file_data=PDF_URL, filename="q3.pdf"),
    ),
    ("responses", input_file(file_id="file-abc123"), "chat", chat_file(file_id="file-abc123")),
    (
        "responses",
        input_file(file_data=PDF_URL, filename="q3.pdf"),
        "anthropic",
        document(PDF_SOURCE, title="q3.pdf"),
    ),
    ("responses", input_file(file_url=REMOTE), "anthropic", document({"type": "url", "url": REMOTE})),
    (
        "anthropic",
        document(PDF_SOURCE, title="Q3 report"),
        "chat",
        chat_file(file_data=PDF_URL, filename="Q3 report"),
    ),
    ("anthropic", document(PDF_SOURCE), "responses", input_file(file_data=PDF_URL, filename="document.pdf")),
    ("anthropic", document({"type": "url", "url": REMOTE}), "responses", input_file(file_url=REMOTE)),
    (
        "anthropic",
        document({"type": "text", "media_type": "text/plain", "data": NOTES}, title="notes"),
        "chat",
        {"type": "text", "text": NOTES},
    ),
    (
        "anthropic",
        document({"type": "content", "content": [{"type": "text", "text": NOTES}]}),
        "responses",
        {"type": "input_text", "text": NOTES},
    ),
]
SEND = {"chat": chat, "responses": responses, "anthropic": messages}


@pytest.mark.parametrize(("client", "part", "backend", "expected"), CASES)
async def test_a_document_reaches_the_upstream_in_its_shape(
    matrix: Rig, client: str, part: dict[str, Any], backend: str, expected: dict[str, Any]
) -> None:
    matrix.fake.queue(Turn(text="Revenue grew."))
    answer = await SEND[client](matrix, backend, part)

    assert last_user_parts(backend, matrix.upstream(backend))[1:] == [expected]
    text = answer.content[0].text if client == "anthropic" else None
    text = text or (answer.output_text if client == "responses" else None)
    text = text or (answer.choices[0].message.content if client == "chat" else None)
    assert text == "Revenue grew."


async def test_plain_text_as_inline_data_reaches_anthropic_as_a_text_document(matrix: Rig) -> None:
    notes = "data:text/plain;base64,UTMgcmV2ZW51ZSBncmV3IDEyJS4="  # "Q3 revenue grew 12%."
    matrix.fake.queue(Turn(text="ok"))
    await chat(matrix, "anthropic", chat_file(file_data=notes, filename="notes.txt"))

    block = last_user_parts("anthropic", matrix.upstream("anthropic"))[1]
    assert block == document(
        {"type": "text", "media_type": "text/plain", "data": "Q3 revenue grew 12%."}, title="notes.txt"
    )


async def test_anthropic_document_extras_stay_with_an_anthropic_target_only(matrix: Rig) -> None:
    cited = document(PDF_SOURCE, title="Q3", context="board pack", citations={"enabled": True})  # type: ignore[arg-type]
    matrix.fake.queue(Turn(text="ok"))
    await messages(matrix, "chat", cited)
    assert last_user_parts("chat", matrix.upstream("chat"))[1] == chat_file(file_data=PDF_URL, filename="Q3")


# ---------------------------------------------------------------- what has no equivalent: a 400 naming the part


REFUSED = [
    ("chat", chat_file(file_id="file-abc123"), "anthropic", "messages[0].content[1]", "file id from OpenAI"),
    ("responses", input_file(file_url=REMOTE), "chat", "input[0].content[1]", "document URL"),
    ("responses", input_file(file_id="file-abc123"), "anthropic", "input[0].content[1]", "file id from OpenAI"),
    ("anthropic", document({"type": "url", "url": REMOTE}), "chat", "messages[0].content[1]", "document URL"),
    (
        "anthropic",
        document({"type": "file", "file_id": "file_011CNha8iCJcU1wXNR6q4V8w"}),
        "responses",
        "messages[0].content[1]",
        "file id from Anthropic",
    ),
    (
        "chat",
        {"type": "input_audio", "input_audio": {"data": "UklGRiQAAABXQVZF", "format": "wav"}},
        "anthropic",
        "messages[0].content[1]",
        "input_audio",
    ),
    (
        "chat",
        {"type": "input_audio", "input_audio": {"data": "UklGRiQAAABXQVZF", "format": "wav"}},
        "responses",
        "messages[0].content[1]",
        "input_audio",
    ),
]


@pytest.mark.parametrize(("client", "part", "backend", "where", "what"), REFUSED)
async def test_a_part_with_no_equivalent_is_a_400_naming_it(
    matrix: Rig, client: str, part: dict[str, Any], backend: str, where: str, what: str
) -> None:
    error: type[Exception] = anthropic.BadRequestError if client == "anthropic" else openai.BadRequestError
    with pytest.raises(error) as caught:
        await SEND[client](matrix, backend, part)

    assert not matrix.requests(backend)  # refused by lip, before any upstream call
    message = str(caught.value)
    assert f"'{where}'" in message and what in message and "no equivalent" in message
    if isinstance(caught.value, openai.BadRequestError):
        assert caught.value.param == where
