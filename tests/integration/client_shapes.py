"""Request bodies in the exact shapes real clients send, hand-written from their wire captures and source.

- Claude Code (Anthropic JS SDK, beta surface): ``POST /v1/messages?beta=true`` with a long ``anthropic-beta`` list;
  ``system`` as text blocks (a per-request billing header first, then cached blocks with a ``ttl``); the last user
  block cached; large JSON-Schema tools (``$schema`` draft-07, ``additionalProperties: false``, enums, nested
  arrays); ``metadata.user_id`` as a JSON string; ``thinking`` enabled with a budget (older models) or adaptive with
  ``output_config.effort`` (newer); ``context_management``; signed thinking sent back in the tool loop; a
  mid-conversation ``role: "system"`` turn; helper calls with ``tools: []`` and an assistant prefill; count_tokens.
- Codex CLI (codex-rs ``ResponsesApiRequest``): ``instructions``, id-less ``input`` items (developer and
  environment-context messages, ``reasoning`` with ``encrypted_content`` and ``content: null``, ``function_call`` /
  ``function_call_output``, freeform ``apply_patch`` as ``custom_tool_call`` / ``custom_tool_call_output``, a
  ``web_search_call`` record), tools (``shell`` function with ``strict: false``, custom ``apply_patch`` with a lark
  grammar, ``web_search``), ``tool_choice: "auto"``, ``parallel_tool_calls``, ``reasoning {effort, summary}``,
  ``store: false``, ``stream: true``, ``include``, ``prompt_cache_key``, ``text {verbosity, format}``,
  ``client_metadata``.
- Chat apps (OpenAI SDK users, Open WebUI, LibreChat, ...): ``developer`` role, text + image parts with ``detail``
  (URL and data URL), ``max_completion_tokens``, ``response_format`` json_schema, ``stream_options``, strict tools,
  ``parallel_tool_calls``, ``reasoning_effort``, ``user``, ``seed``, ``stop``, a tool loop.

Every builder returns a fresh dict, so a test may change its copy.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from typing import Any

JSON = dict[str, Any]

# ---------------------------------------------------------------- Claude Code

CLAUDE_CODE_BETAS = (
    "claude-code-20250219",
    "interleaved-thinking-2025-05-14",
    "fine-grained-tool-streaming-2025-05-14",
    "context-management-2025-06-27",
    "extended-cache-ttl-2025-04-11",
    "prompt-caching-scope-2026-01-05",
    "effort-2025-11-24",
)
CLAUDE_CODE_HEADERS = {
    "user-agent": "claude-cli/2.1.37 (external, cli)",
    "x-app": "cli",
    "anthropic-dangerous-direct-browser-access": "true",
    "x-stainless-retry-count": "0",
}
CACHE_1H = {"type": "ephemeral", "ttl": "1h"}
CACHE_5M = {"type": "ephemeral"}
CLAUDE_CODE_USER_ID = (
    '{"device_id":"4c1f0e5bd0a7c3e2f1b9a8d7c6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7",'
    '"account_uuid":"","session_id":"0f3c5a1e-8d7b-4c2a-9e6f-1b2d3c4e5f60"}'
)
BILLING_HEADER = "x-anthropic-billing-header: cc_version=2.1.37.0d9; cc_entrypoint=cli; cch=fa690;"
THINKING_SIGNATURE = (
    "EqQBCkYIBxgCKkDk7nUqR2yX5vT8bL0pW3sJ9hF6cM1aZ4eQ7uN2oK8rI5tY3wG0xV6bH9jD1fS4lA7mC2pE5nR8qU0iO3gT6kJ"
    "EgxRZm9vYmFyYmF6cXV4GgzJ8s7d6f5g4h3j2k1lIjDq9w8e7r6t5y4u3i2o1p0a9s8d7f6g5h4j3k2l1z0x9c8v7b6n5m4q3w2"
)
CLAUDE_CODE_SYSTEM_PROMPT = (
    "You are an interactive CLI tool that helps users with software engineering tasks. Use the instructions "
    "below and the tools available to you to assist the user.\n\n# Tone and style\nYou should be concise, direct, "
    "and to the point.\n\n# Doing tasks\nThe user will primarily request you perform software engineering tasks."
)
CLAUDE_CODE_PATCH_INPUT = {
    "file_path": "/home/dev/project/src/app.py",
    "old_string": "print('hi')",
    "new_string": "print('hello')",
}


def _schema(properties: JSON, required: list[str]) -> JSON:
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
        "$schema": "http://json-schema.org/draft-07/schema#",
    }


def claude_code_tools() -> list[JSON]:
    """A representative slice of Claude Code's tool list (it sends ~20 of these on every turn)."""
    todo = {
        "type": "object",
        "properties": {
            "content": {"type": "string", "minLength": 1},
            "status": {"type": "string", "enum": ["pending", "in_progress", "completed"]},
            "activeForm": {"type": "string", "minLength": 1},
        },
        "required": ["content", "status", "activeForm"],
        "additionalProperties": False,
    }
    edit = {
        "type": "object",
        "properties": {
            "old_string": {"type": "string", "description": "The text to replace"},
            "new_string": {"type": "string", "description": "The text to replace it with"},
            "replace_all": {"type": "boolean", "default": False, "description": "Replace all occurrences"},
        },
        "required": ["old_string", "new_string"],
        "additionalProperties": False,
    }
    return [
        {
            "name": "Task",
            "description": "Launch a new agent to handle complex, multi-step tasks autonomously.\n\n" * 3,
            "input_schema": _schema(
                {
                    "description": {"type": "string", "description": "A short (3-5 word) description of the task"},
                    "prompt": {"type": "string", "description": "The task for the agent to perform"},
                    "subagent_type": {"type": "string", "description": "The type of specialized agent to use"},
                },
                ["description", "prompt", "subagent_type"],
            ),
        },
        {
            "name": "Bash",
            "description": "Executes a given bash command in a persistent shell session with optional timeout.",
            "input_schema": _schema(
                {
                    "command": {"type": "string", "description": "The command to execute"},
                    "timeout": {"type": "number", "description": "Optional timeout in milliseconds (max 600000)"},
                    "description": {"type": "string", "description": "Clear, concise description of the command"},
                    "run_in_background": {"type": "boolean", "description": "Run this command in the background"},
                },
                ["command"],
            ),
        },
        {
            "name": "Glob",
            "description": "Fast file pattern matching tool that works with any codebase size.",
            "input_schema": _schema(
                {
                    "pattern": {"type": "string", "description": "The glob pattern to match files against"},
                    "path": {"type": "string", "description": "The directory to search in."},
                },
                ["pattern"],
            ),
        },
        {
            "name": "Grep",
            "description": "A powerful search tool built on ripgrep.",
            "input_schema": _schema(
                {
                    "pattern": {"type": "string"},
                    "path": {"type": "string"},
                    "glob": {"type": "string"},
                    "output_mode": {"type": "string", "enum": ["content", "files_with_matches", "count"]},
                    "-B": {"type": "number"},
                    "-A": {"type": "number"},
                    "-n": {"type": "boolean"},
                    "-i": {"type": "boolean"},
                    "head_limit": {"type": "number"},
                    "multiline": {"type": "boolean"},
                },
                ["pattern"],
            ),
        },
        {
            "name": "Read",
            "description": "Reads a file from the local filesystem.",
            "input_schema": _schema(
                {
                    "file_path": {"type": "string", "description": "The absolute path to the file to read"},
                    "offset": {"type": "number", "description": "The line number to start reading from"},
                    "limit": {"type": "number", "description": "The number of lines to read"},
                },
                ["file_path"],
            ),
        },
        {
            "name": "Edit",
            "description": "Performs exact string replacements in files.",
            "input_schema": _schema(
                {
                    "file_path": {"type": "string", "description": "The absolute path to the file to modify"},
                    "old_string": {"type": "string", "description": "The text to replace"},
                    "new_string": {"type": "string", "description": "The text to replace it with"},
                    "replace_all": {"type": "boolean", "default": False},
                },
                ["file_path", "old_string", "new_string"],
            ),
        },
        {
            "name": "MultiEdit",
            "description": "Makes multiple edits to a single file in one operation.",
            "input_schema": _schema(
                {
                    "file_path": {"type": "string"},
                    "edits": {"type": "array", "items": edit, "minItems": 1},
                },
                ["file_path", "edits"],
            ),
        },
        {
            "name": "TodoWrite",
            "description": "Use this tool to create and manage a structured task list for your current session.",
            "input_schema": _schema(
                {"todos": {"type": "array", "items": todo, "description": "The updated todo list"}}, ["todos"]
            ),
        },
        {
            "name": "WebFetch",
            "description": "Fetches content from a specified URL and processes it using an AI model.",
            "input_schema": _schema(
                {
                    "url": {"type": "string", "format": "uri", "description": "The URL to fetch content from"},
                    "prompt": {"type": "string", "description": "The prompt to run on the fetched content"},
                },
                ["url", "prompt"],
            ),
        },
    ]


def claude_code_system() -> list[JSON]:
    return [
        {"type": "text", "text": BILLING_HEADER},
        {
            "type": "text",
            "text": "You are Claude Code, Anthropic's official CLI for Claude.",
            "cache_control": CACHE_1H,
        },
        {"type": "text", "text": CLAUDE_CODE_SYSTEM_PROMPT, "cache_control": CACHE_1H},
    ]


def claude_code_reminders() -> list[JSON]:
    return [
        {
            "type": "text",
            "text": "<system-reminder>\nAs you answer the user's questions, you can use the following "
            "context:\n# claudeMd\nRun tests with `make test`.\n</system-reminder>",
        },
        {"type": "text", "text": "<system-reminder>\nToday's date is 2026-01-05.\n</system-reminder>"},
    ]


def claude_code_first_turn(model: str, *, stream: bool = True) -> JSON:
    """The first turn of a session on a thinking model with a budget (Sonnet 4.x style)."""
    return {
        "model": model,
        "messages": [
            {
                "role": "user",
                "content": [
                    *claude_code_reminders(),
                    {"type": "text", "text": "Rename the greeting in src/app.py", "cache_control": CACHE_5M},
                ],
            }
        ],
        "temperature": 1,
        "system": claude_code_system(),
        "tools": claude_code_tools(),
        "metadata": {"user_id": CLAUDE_CODE_USER_ID},
        "max_tokens": 32000,
        "thinking": {"type": "enabled", "budget_tokens": 31999},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "stream": stream,
    }


def claude_code_tool_loop(model: str, *, stream: bool = True) -> JSON:
    """A later turn on an adaptive-thinking model: signed thinking and two tool calls sent back, their results (one
    an error, one a list of blocks), then a mid-conversation system turn appended after the results."""
    return {
        "model": model,
        "messages": [
            {
                "role": "user",
                "content": [
                    *claude_code_reminders(),
                    {"type": "text", "text": "Rename the greeting in src/app.py and run the tests"},
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "thinking",
                        "thinking": "I should look at the file first, then run the tests.",
                        "signature": THINKING_SIGNATURE,
                    },
                    {"type": "text", "text": "Let me look at the file and the tests."},
                    {
                        "type": "tool_use",
                        "id": "toolu_01A09q90qw90lq917835lq9",
                        "name": "Read",
                        "input": {"file_path": "/home/dev/project/src/app.py"},
                    },
                    {
                        "type": "tool_use",
                        "id": "toolu_01B8s7d6f5g4h3j2k1l0m9n",
                        "name": "Bash",
                        "input": {"command": "make test", "description": "Run the test suite"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "tool_use_id": "toolu_01A09q90qw90lq917835lq9",
                        "type": "tool_result",
                        "content": "     1\tprint('hi')\n",
                    },
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_01B8s7d6f5g4h3j2k1l0m9n",
                        "content": [{"type": "text", "text": "make: *** No rule to make target 'test'.  Stop."}],
                        "is_error": True,
                        "cache_control": CACHE_5M,
                    },
                ],
            },
            {
                "role": "system",
                "content": [
                    {
                        "type": "text",
                        "text": "<total_tokens>14999970 tokens left</total_tokens>",
                        "cache_control": CACHE_5M,
                    },
                ],
            },
        ],
        "system": claude_code_system(),
        "tools": claude_code_tools(),
        "metadata": {"user_id": CLAUDE_CODE_USER_ID},
        "max_tokens": 64000,
        "thinking": {"type": "adaptive", "display": "summarized"},
        "output_config": {"effort": "high"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "stream": stream,
    }


def claude_code_screenshot_result(model: str) -> JSON:
    """Claude Code's Read tool on a PNG answers with an image block inside the tool_result."""
    body = claude_code_first_turn(model, stream=True)
    body["messages"] += [
        {
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": "toolu_01Screenshot0000000000",
                    "name": "Read",
                    "input": {"file_path": "/home/dev/project/screenshot.png"},
                }
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_01Screenshot0000000000",
                    "content": [
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_1PX}}
                    ],
                }
            ],
        },
    ]
    body.pop("thinking")  # a tool loop whose last assistant turn has no thinking block
    return body


def claude_code_prefill(model: str) -> JSON:
    """A helper call (topic / title detection) on a small model: no tools (``tools: []``), an assistant prefill."""
    return {
        "model": model,
        "max_tokens": 512,
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Rename the greeting in src/app.py"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "{"}]},
        ],
        "system": [
            {"type": "text", "text": BILLING_HEADER},
            {
                "type": "text",
                "text": "Analyze if this message indicates a new conversation topic. Format your response as a "
                'JSON object with two fields: "isNewTopic" (boolean) and "title" (string or null).',
            },
        ],
        "temperature": 0,
        "tools": [],
        "metadata": {"user_id": CLAUDE_CODE_USER_ID},
        "stream": False,
    }


def claude_code_count_tokens(model: str) -> JSON:
    return {
        "model": model,
        "messages": [{"role": "user", "content": "Rename the greeting in src/app.py"}],
        "system": claude_code_system(),
        "tools": claude_code_tools(),
    }


# ---------------------------------------------------------------- Codex CLI

CODEX_INSTRUCTIONS = (
    "You are Codex, based on GPT-5. You are running as a coding agent in the Codex CLI on a user's computer.\n\n"
    "## General\n\n- When searching for text or files, prefer using `rg` or `rg --files` respectively.\n\n"
    "## Editing constraints\n\n- Default to ASCII when editing or creating files.\n- Use apply_patch for edits."
)
APPLY_PATCH_GRAMMAR = (
    'start: begin_patch hunk+ end_patch\nbegin_patch: "*** Begin Patch" LF\nend_patch: "*** End Patch" LF?\n\n'
    "hunk: add_hunk | delete_hunk | update_hunk\n"
    'add_hunk: "*** Add File: " filename LF add_line+\ndelete_hunk: "*** Delete File: " filename LF\n'
    'update_hunk: "*** Update File: " filename LF change_move? change?\n\nfilename: /(.+)/\n'
    'add_line: "+" /(.*)/ LF -> line\n\nchange_move: "*** Move to: " filename LF\nchange: (change_context | '
    'change_line)+ eof_line?\nchange_context: ("@@" | "@@ " /(.+)/) LF\nchange_line: ("+" | "-" | " ") /(.*)/ LF\n'
    'eof_line: "*** End of File" LF\n\n%import common.LF\n'
)
PATCH = "*** Begin Patch\n*** Update File: src/app.py\n@@\n-print('hi')\n+print('hello')\n*** End Patch\n"
PATCH_OUTPUT = "Exit code: 0\nWall time: 0 seconds\nOutput:\nSuccess. Updated the following files:\nM src/app.py\n"
ENCRYPTED_1 = "gAAAAABpQ2x1Y2VfcmVhc29uaW5nX29uZV9vcGFxdWVfYmxvYl9mcm9tX29wZW5haV9kbz1ub3RfdG91Y2g" * 3
ENCRYPTED_2 = "gAAAAABpQ2x1Y2VfcmVhc29uaW5nX3R3b19vcGFxdWVfYmxvYl9mcm9tX29wZW5haV9kbz1ub3RfdG91Y2g" * 3
CODEX_CLIENT_METADATA = {
    "x-codex-turn-metadata": '{"codex_version":"0.128.0","session_id":"019a1b2c-3d4e-7f60-8a9b-0c1d2e3f4a5b"}'
}
CODEX_OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {"summary": {"type": "string"}, "files_changed": {"type": "array", "items": {"type": "string"}}},
    "required": ["summary", "files_changed"],
    "additionalProperties": False,
}


def codex_tools() -> list[JSON]:
    return [
        {
            "type": "function",
            "name": "shell",
            "description": "Runs a shell command and returns its output.",
            "strict": False,
            "parameters": {
                "type": "object",
                "properties": {
                    "command": {"type": "array", "items": {"type": "string"}, "description": "The command to execute"},
                    "workdir": {"type": "string", "description": "The working directory to execute the command in"},
                    "timeout_ms": {"type": "number", "description": "The timeout for the command in milliseconds"},
                    "with_escalated_permissions": {"type": "boolean"},
                    "justification": {"type": "string"},
                },
                "required": ["command"],
                "additionalProperties": False,
            },
        },
        {
            "type": "function",
            "name": "update_plan",
            "description": "Updates the task plan.",
            "strict": False,
            "parameters": {
                "type": "object",
                "properties": {
                    "explanation": {"type": "string"},
                    "plan": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "step": {"type": "string"},
                                "status": {"type": "string", "description": "pending, in_progress or completed"},
                            },
                            "required": ["step", "status"],
                            "additionalProperties": False,
                        },
                    },
                },
                "required": ["plan"],
                "additionalProperties": False,
            },
        },
        {
            "type": "custom",
            "name": "apply_patch",
            "description": "Use the `apply_patch` tool to edit files. This is a FREEFORM tool, so do not wrap the "
            "patch in JSON.",
            "format": {"type": "grammar", "syntax": "lark", "definition": APPLY_PATCH_GRAMMAR},
        },
        {"type": "web_search"},
    ]


def codex_context() -> list[JSON]:
    return [
        {
            "type": "message",
            "role": "developer",
            "content": [
                {
                    "type": "input_text",
                    "text": "<permissions instructions>\nFilesystem sandboxing: workspace-write.\n"
                    "Approval policy: on-request.\n</permissions instructions>",
                }
            ],
        },
        {
            "type": "message",
            "role": "user",
            "content": [
                {
                    "type": "input_text",
                    "text": "<environment_context>\n  <cwd>/home/dev/project</cwd>\n  <shell>bash</shell>\n"
                    "</environment_context>",
                }
            ],
        },
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Rename the greeting"}]},
    ]


def codex_first_turn(model: str, *, stream: bool = True) -> JSON:
    return {
        "model": model,
        "instructions": CODEX_INSTRUCTIONS,
        "input": codex_context(),
        "tools": codex_tools(),
        "tool_choice": "auto",
        "parallel_tool_calls": False,
        "reasoning": {"effort": "medium", "summary": "auto"},
        "store": False,
        "stream": stream,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "019a1b2c-3d4e-7f60-8a9b-0c1d2e3f4a5b",
        "text": {"verbosity": "low"},
        "client_metadata": CODEX_CLIENT_METADATA,
    }


def codex_tool_loop(model: str, *, stream: bool = True) -> JSON:
    """A later turn: everything the model produced comes back without ids, with the tools' outputs."""
    body = codex_first_turn(model, stream=stream)
    body["input"] = [
        *codex_context(),
        {
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": "**Inspecting the file**\n\nI'll read src/app.py first."}],
            "content": None,
            "encrypted_content": ENCRYPTED_1,
        },
        {
            "type": "function_call",
            "name": "shell",
            "arguments": '{"command":["bash","-lc","cat src/app.py"],"workdir":"/home/dev/project"}',
            "call_id": "call_Xa1b2c3d4e5f6g7h8i9j0k1l",
        },
        {
            "type": "function_call_output",
            "call_id": "call_Xa1b2c3d4e5f6g7h8i9j0k1l",
            "output": '{"output":"print(\'hi\')\\n","metadata":{"exit_code":0,"duration_seconds":0.0}}',
        },
        {"type": "reasoning", "summary": [], "content": None, "encrypted_content": ENCRYPTED_2},
        {
            "type": "custom_tool_call",
            "status": "completed",
            "call_id": "call_Ya1b2c3d4e5f6g7h8i9j0k1l",
            "name": "apply_patch",
            "input": PATCH,
        },
        {
            "type": "custom_tool_call_output",
            "call_id": "call_Ya1b2c3d4e5f6g7h8i9j0k1l",
            "output": PATCH_OUTPUT,
        },
        {"type": "web_search_call", "status": "completed", "action": {"type": "search", "query": "python greeting"}},
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Renamed the greeting in src/app.py."}],
        },
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Now add a test for it"}]},
    ]
    return body


CODE_MODE = "text(await tools.shell({command: ['bash', '-lc', 'ls']}));"


def codex_tool_groups() -> list[JSON]:
    """Codex >= 0.147's grouped tools: sub-agent functions in one namespace, code mode's freeform ``exec`` in
    another (``namespace`` entries: name, description, function/custom tools)."""
    task = {"type": "string", "description": "What the sub-agent should do"}
    return [
        {
            "type": "namespace",
            "name": "collaboration",
            "description": "Tools to delegate work to sub-agents.",
            "tools": [
                {
                    "type": "function",
                    "name": "spawn_agent",
                    "description": "Start a sub-agent on a task.",
                    "strict": False,
                    "parameters": {
                        "type": "object",
                        "properties": {"task": task},
                        "required": ["task"],
                        "additionalProperties": False,
                    },
                },
                {
                    "type": "function",
                    "name": "send_message",
                    "description": "Send a message to a running sub-agent.",
                    "strict": False,
                    "parameters": {
                        "type": "object",
                        "properties": {"target": {"type": "string"}, "message": {"type": "string"}},
                        "required": ["target", "message"],
                        "additionalProperties": False,
                    },
                },
            ],
        },
        {
            "type": "namespace",
            "name": "functions",
            "description": "Code mode: JavaScript that calls the other tools.",
            "tools": [
                {
                    "type": "custom",
                    "name": "exec",
                    "description": "Run code-mode JavaScript. This is a FREEFORM tool, so do not wrap the code in "
                    "JSON.",
                    "format": {"type": "text"},
                }
            ],
        },
    ]


def codex_lite_first_turn(model: str, *, stream: bool = True) -> JSON:
    """Codex >= 0.147 on its default model: top-level ``tools`` empty, every tool in one leading ``additional_tools``
    input item (role developer), the sub-agent tools grouped in namespaces."""
    body = codex_first_turn(model, stream=stream)
    declared = {"type": "additional_tools", "role": "developer", "tools": [*codex_tools(), *codex_tool_groups()]}
    body.update(tools=[], input=[declared, *codex_context()])
    return body


def codex_plain_model(model: str, *, stream: bool = True) -> JSON:
    """Codex on a model without reasoning: ``reasoning: null`` and ``include: []`` are still sent (codex-rs does not
    skip them), and apply_patch is a JSON function instead of a freeform tool."""
    body = codex_first_turn(model, stream=stream)
    apply_patch = {
        "type": "function",
        "name": "apply_patch",
        "description": "Use the `apply_patch` tool to edit files.",
        "strict": False,
        "parameters": {
            "type": "object",
            "properties": {
                "input": {"type": "string", "description": "The entire contents of the apply_patch command"}
            },
            "required": ["input"],
            "additionalProperties": False,
        },
    }
    body.update(tools=[codex_tools()[0], apply_patch], reasoning=None, include=[])
    del body["text"]
    return body


def codex_exec_with_schema(model: str, *, stream: bool = True) -> JSON:
    """``codex exec --output-schema``: the final answer is constrained by ``text.format``."""
    body = codex_first_turn(model, stream=stream)
    body["text"] = {
        "verbosity": "low",
        "format": {"type": "json_schema", "strict": True, "schema": CODEX_OUTPUT_SCHEMA, "name": "codex_output_schema"},
    }
    return body


# ---------------------------------------------------------------- Chat apps

PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
CHART_URL = "https://example.com/charts/q3-revenue.png"
ANSWER_SCHEMA = {
    "type": "object",
    "properties": {
        "trend": {"type": "string", "enum": ["up", "down", "flat"]},
        "summary": {"type": "string"},
    },
    "required": ["trend", "summary"],
    "additionalProperties": False,
}
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": ["string", "null"], "enum": ["celsius", "fahrenheit", None]},
            },
            "required": ["city", "unit"],
            "additionalProperties": False,
        },
        "strict": True,
    },
}


def chat_app_vision(model: str, *, stream: bool) -> JSON:
    body: JSON = {
        "model": model,
        "messages": [
            {"role": "developer", "content": "You are a careful analyst. Answer in the requested JSON shape."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What trend do these two charts show?"},
                    {"type": "image_url", "image_url": {"url": CHART_URL, "detail": "high"}},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_1PX}", "detail": "low"}},
                ],
            },
        ],
        "max_completion_tokens": 800,
        "temperature": 0.2,
        "top_p": 0.9,
        "stop": ["\n\nUser:"],
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "chart_answer", "schema": ANSWER_SCHEMA, "strict": True},
        },
        "user": "user-8d0c5f",
        "seed": 7,
        "stream": stream,
    }
    if stream:
        body["stream_options"] = {"include_usage": True}
    return body


def chat_app_tool_loop(model: str, *, stream: bool) -> JSON:
    body: JSON = {
        "model": model,
        "messages": [
            {"role": "developer", "content": [{"type": "text", "text": "You help with travel plans."}]},
            {"role": "user", "content": "What's the weather in Paris and Rome?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_paris01",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris","unit":"celsius"}'},
                    },
                    {
                        "id": "call_rome002",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Rome","unit":null}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_paris01", "content": "18°C, cloudy"},
            {"role": "tool", "tool_call_id": "call_rome002", "content": "Error: the weather service timed out"},
            {"role": "developer", "content": "If a lookup failed, say so and offer to retry."},
            {"role": "user", "content": "And tomorrow?"},
        ],
        "tools": [copy.deepcopy(WEATHER_TOOL)],
        "tool_choice": "auto",
        "parallel_tool_calls": False,
        "max_completion_tokens": 400,
        "reasoning_effort": "low",
        "stream": stream,
    }
    if stream:
        body["stream_options"] = {"include_usage": True}
    return body


# ---------------------------------------------------------------- SDK call helpers


def sdk_params(method: Callable[..., Any]) -> frozenset[str]:
    """The keyword arguments an SDK method names."""
    return frozenset(inspect.signature(method).parameters) - {"self", "extra_body", "extra_headers", "extra_query"}


def split_kwargs(body: JSON, known: frozenset[str]) -> JSON:
    """``body`` as SDK keyword arguments: fields the SDK method names, the rest in ``extra_body``."""
    kwargs = {k: v for k, v in body.items() if k in known}
    extra = {k: v for k, v in body.items() if k not in known}
    if extra:
        kwargs["extra_body"] = extra
    return kwargs
