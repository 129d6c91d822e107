// The Vercel AI SDK in an agent loop through lip: one tool, generateText until the model stops calling it.
// usage: node ai_sdk_tool_loop.cjs <openai-responses|openai-chat|anthropic> <lip url> <model>
// Runs the loop with generateText (JSON answers), then with streamText (SSE), and prints one JSON line:
// {"json": run, "stream": run}, each run the final text, the tool calls made and the tool results sent back.
// Run with NODE_PATH=.agents/node_modules (the suite's pinned npm install).
const { generateText, streamText, tool, stepCountIs } = require("ai");
const { createOpenAI } = require("@ai-sdk/openai");
const { createAnthropic } = require("@ai-sdk/anthropic");
const { z } = require("zod");

globalThis.AI_SDK_LOG_WARNINGS = false; // on stdout otherwise (e.g. "model unknown" for a lip selector)

async function main() {
  const [kind, url, modelId] = process.argv.slice(2);
  const model =
    kind === "anthropic"
      ? createAnthropic({ baseURL: `${url}/v1`, apiKey: "client-key" })(modelId)
      : kind === "openai-chat"
        ? createOpenAI({ baseURL: `${url}/v1`, apiKey: "client-key" }).chat(modelId)
        : createOpenAI({ baseURL: `${url}/v1`, apiKey: "client-key" }).responses(modelId);
  const lookup = tool({
    description: "Look up the code word for a key.",
    inputSchema: z.object({ key: z.string() }),
    execute: async ({ key }) => `LIP-AGENT-AISDK-${key}`,
  });
  const options = {
    model,
    tools: { lookup },
    stopWhen: stepCountIs(4),
    maxRetries: 0,
    prompt: "Look up the code word for the key 'blue' and tell me.",
  };
  const generated = await generateText(options);
  let failure;
  const streamed = streamText({ ...options, onError: ({ error }) => { failure = error; } });
  const stream = { text: await streamed.text, steps: await streamed.steps };
  if (failure) throw failure;
  const report = {
    json: summary(generated.text, generated.steps),
    stream: summary(stream.text, stream.steps),
  };
  process.stdout.write(JSON.stringify(report) + "\n");
}

function summary(text, steps) {
  const calls = steps.flatMap((s) => s.toolCalls.map((c) => ({ name: c.toolName, input: c.input })));
  const results = steps.flatMap((s) => s.toolResults.map((r) => r.output));
  return { text, calls, results, steps: steps.length };
}

main().catch((err) => {
  process.stderr.write(`${err && err.stack ? err.stack : err}\n${err && err.responseBody ? err.responseBody : ""}\n`);
  process.exit(1);
});
