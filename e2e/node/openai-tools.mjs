// Tool calling with the official `openai` Node SDK against a llamagate test
// gateway (LLAMAGATE_BASE_URL; started by e2e/node_test.go): message and
// delta tool_calls, finish_reason "tool_calls", the SDK's stream
// accumulation and its runTools loop, and a second turn that sends the call
// and its result back. See tools-fixture.mjs for the model and the tools.
import { test } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import { base, callTokens, checkArgs, toolDefs, toolsModel } from "./tools-fixture.mjs";

const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: "unused", maxRetries: 0 });
const tools = toolDefs.map((f) => ({ type: "function", function: f }));
const messages = [{ role: "user", content: "What will the weather be in Paris tomorrow?" }];
const forced = { model: toolsModel, messages, tools, parallel_tool_calls: false, max_tokens: callTokens, temperature: 0 };

// checkCall asserts that c is a well-formed function call with arguments
// that parse and satisfy its tool's schema, and returns the arguments.
function checkCall(c) {
  assert.equal(c.type, "function");
  assert.match(c.id, /^call_/);
  assert.equal(typeof c.function.arguments, "string");
  const args = JSON.parse(c.function.arguments);
  checkArgs(c.function.name, args);
  return args;
}

test("tool_choice required: one schema-valid call, then a second turn with its result", async () => {
  const first = await client.chat.completions.create({ ...forced, tool_choice: "required" });
  assert.equal(first.choices.length, 1);
  const [choice] = first.choices;
  assert.equal(choice.finish_reason, "tool_calls", JSON.stringify(choice.message));
  assert.equal(choice.message.role, "assistant");
  assert.ok(choice.message.content == null || choice.message.content === "", `content beside the call: ${JSON.stringify(choice.message.content)}`);
  assert.equal(choice.message.tool_calls.length, 1, JSON.stringify(choice.message.tool_calls));
  const [call] = choice.message.tool_calls;
  checkCall(call);
  assert.ok(first.usage.completion_tokens > 0 && first.usage.completion_tokens < callTokens);

  // The assistant's message goes back as it came, followed by the tool's
  // answer; tool_choice "none" lets the model answer in text.
  const result = { forecast: "sunny" };
  const second = {
    ...forced,
    messages: [...messages, choice.message, { role: "tool", tool_call_id: call.id, content: JSON.stringify(result) }],
    tool_choice: "none",
    max_tokens: 8,
  };
  const answer = await client.chat.completions.create(second);
  const [reply] = answer.choices;
  assert.equal(reply.finish_reason, "length");
  assert.equal(typeof reply.message.content, "string");
  assert.ok(reply.message.content.length > 0);
  assert.equal(reply.message.tool_calls, undefined);
  assert.equal(answer.usage.completion_tokens, 8);

  // The template saw both: the call as the Hermes format writes it and the
  // result as a tool response.
  const res = await fetch(`${base}/apply-template`, { method: "POST", body: JSON.stringify(second) });
  assert.equal(res.status, 200);
  const { prompt } = await res.json();
  assert.ok(prompt.includes(`<tool_call>\n{"name": "${call.function.name}", "arguments": `), prompt);
  assert.ok(prompt.includes(`<tool_response>\n${JSON.stringify(result)}\n</tool_response>`), prompt);
  assert.ok(prompt.endsWith("<|im_start|>assistant\n"), prompt);
});

test("named tool_choice calls that tool; parse() fills parsed_arguments of strict tools", async () => {
  const strict = tools.map((t) => ({ ...t, function: { ...t.function, strict: true } }));
  const out = await client.chat.completions.parse({ ...forced, tools: strict, tool_choice: { type: "function", function: { name: "get_time" } } });
  const [choice] = out.choices;
  assert.equal(choice.finish_reason, "tool_calls", JSON.stringify(choice.message));
  assert.equal(choice.message.tool_calls.length, 1);
  const [call] = choice.message.tool_calls;
  assert.equal(call.function.name, "get_time");
  assert.deepEqual(call.function.parsed_arguments, checkCall(call));
});

test("stream helper: finalChatCompletion holds the call the deltas built", async () => {
  const stream = client.chat.completions.stream({ ...forced, tool_choice: "required", stream_options: { include_usage: true } });
  const built = []; // tool calls put together from the raw deltas
  let argChunks = 0;
  let finish;
  let role;
  for await (const chunk of stream) {
    assert.equal(chunk.object, "chat.completion.chunk");
    for (const c of chunk.choices) {
      role ??= c.delta.role;
      finish ??= c.finish_reason ?? undefined;
      for (const d of c.delta.tool_calls ?? []) {
        built[d.index] ??= { id: "", type: "", function: { name: "", arguments: "" } };
        const b = built[d.index];
        if (d.id) b.id += d.id;
        if (d.type) b.type = d.type;
        b.function.name += d.function?.name ?? "";
        if (d.function?.arguments) {
          b.function.arguments += d.function.arguments;
          argChunks++;
        }
      }
    }
  }
  assert.equal(role, "assistant");
  assert.equal(finish, "tool_calls");
  assert.equal(built.length, 1, JSON.stringify(built));
  checkCall(built[0]);
  assert.ok(argChunks > 1, `the arguments came in ${argChunks} chunk(s): not streamed`);

  const final = await stream.finalChatCompletion();
  assert.equal(final.choices[0].finish_reason, "tool_calls");
  assert.deepEqual(
    final.choices[0].message.tool_calls.map(({ id, type, function: { name, arguments: a } }) => ({ id, type, function: { name, arguments: a } })),
    built,
  );
  const msg = await stream.finalMessage();
  assert.equal(msg.role, "assistant");
  assert.equal(msg.tool_calls[0].function.arguments, built[0].function.arguments);
  assert.ok(final.usage.completion_tokens > 0);
});

test("runTools (streamed): the SDK's loop calls the function and sends its result back", async () => {
  const calls = [];
  const runnable = toolDefs.map((d) => ({
    type: "function",
    function: {
      ...d,
      parse: JSON.parse,
      function: (args) => {
        checkArgs(d.name, args);
        calls.push({ name: d.name, args });
        return { ok: true, n: calls.length };
      },
    },
  }));
  const runner = client.chat.completions.runTools(
    { ...forced, tools: runnable, tool_choice: "required", stream: true },
    { maxChatCompletions: 2 }, // tool_choice required calls a tool every turn
  );
  await runner.done();
  assert.equal(calls.length, 2, JSON.stringify(calls));
  const completions = runner.allChatCompletions();
  assert.equal(completions.length, 2);
  for (const c of completions) assert.equal(c.choices[0].finish_reason, "tool_calls");
  // user, then per round the assistant's call and the tool's result.
  const roles = runner.messages.map((m) => m.role);
  assert.deepEqual(roles, ["user", "assistant", "tool", "assistant", "tool"]);
  for (const i of [1, 3]) {
    const a = runner.messages[i];
    const t = runner.messages[i + 1];
    assert.equal(a.tool_calls.length, 1);
    assert.equal(t.tool_call_id, a.tool_calls[0].id);
    assert.equal(t.content, JSON.stringify({ ok: true, n: (i + 1) / 2 }));
  }
});
