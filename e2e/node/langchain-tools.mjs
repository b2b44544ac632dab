// Tool calling with LangChain's ChatOpenAI against a llamagate test gateway
// (LLAMAGATE_BASE_URL; started by e2e/node_test.go): bindTools with a forced
// tool_choice, streamed tool-call chunks, a round trip with a ToolMessage
// and withStructuredOutput by function calling. See tools-fixture.mjs for
// the model and the tools.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ChatOpenAI } from "@langchain/openai";
import { AIMessage, HumanMessage, ToolMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { callTokens, base, checkArgs, toolDefs, toolsModel, weatherParams } from "./tools-fixture.mjs";

function chatModel(fields = {}) {
  return new ChatOpenAI({
    model: toolsModel,
    apiKey: "unused",
    configuration: { baseURL: `${base}/v1` },
    temperature: 0,
    maxTokens: callTokens,
    maxRetries: 0,
    ...fields,
  });
}

// LangChain tools with JSON-schema parameters (zod is no dependency here).
const tools = toolDefs.map((d) =>
  tool(async (args) => JSON.stringify({ tool: d.name, args }), { name: d.name, description: d.description, schema: d.parameters }),
);
const question = [new HumanMessage("What will the weather be in Paris tomorrow?")];

// checkToolCall asserts that an AIMessage holds exactly one call, as
// LangChain parsed it (name, args object, id), and returns the call.
function checkToolCall(msg) {
  assert.ok(AIMessage.isInstance(msg), `got ${msg?.constructor?.name}`);
  assert.deepEqual(msg.invalid_tool_calls ?? [], []);
  assert.equal(msg.tool_calls.length, 1, JSON.stringify(msg.tool_calls));
  const [call] = msg.tool_calls;
  assert.match(call.id, /^call_/);
  checkArgs(call.name, call.args);
  return call;
}

test("bindTools with tool_choice required, then a ToolMessage round trip", async () => {
  const llm = chatModel().bindTools(tools, { tool_choice: "required", parallel_tool_calls: false });
  const msg = await llm.invoke(question);
  const call = checkToolCall(msg);
  assert.equal(msg.response_metadata.finish_reason, "tool_calls");
  assert.ok(msg.usage_metadata.output_tokens > 0);

  // The tool runs on LangChain's call; its ToolMessage goes back with the
  // AIMessage, and the model answers in text.
  const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
  const toolMsg = await byName[call.name].invoke(call);
  assert.ok(ToolMessage.isInstance(toolMsg), `got ${toolMsg?.constructor?.name}`);
  assert.equal(toolMsg.tool_call_id, call.id);
  const reply = await chatModel({ maxTokens: 8 })
    .bindTools(tools, { tool_choice: "none" })
    .invoke([...question, msg, toolMsg]);
  assert.equal(typeof reply.content, "string");
  assert.ok(reply.content.length > 0);
  assert.deepEqual(reply.tool_calls, []);
  assert.equal(reply.response_metadata.finish_reason, "length");
});

test("bindTools with a named tool_choice calls that tool", async () => {
  const msg = await chatModel().bindTools(tools, { tool_choice: "get_time", parallel_tool_calls: false }).invoke(question);
  assert.equal(checkToolCall(msg).name, "get_time");
  assert.equal(msg.response_metadata.finish_reason, "tool_calls");
});

test("streamed tool-call chunks add up to the call", async () => {
  const llm = chatModel().bindTools(tools, { tool_choice: "required", parallel_tool_calls: false });
  let whole;
  let chunks = 0;
  for await (const chunk of await llm.stream(question)) {
    whole = whole === undefined ? chunk : whole.concat(chunk);
    if (chunk.tool_call_chunks?.some((c) => c.args)) chunks++;
  }
  assert.ok(chunks > 1, `the arguments came in ${chunks} chunk(s): not streamed`);
  const call = checkToolCall(whole);
  assert.equal(whole.tool_call_chunks.length, 1);
  assert.deepEqual(JSON.parse(whole.tool_call_chunks[0].args), call.args);
  assert.equal(whole.response_metadata.finish_reason, "tool_calls");
});

test("withStructuredOutput by function calling returns the parsed object", async () => {
  // One call ends the turn only with parallel calls off, which
  // withStructuredOutput does not ask for: a real model stops by itself.
  const schema = { title: "forecast", description: "A weather forecast request", ...weatherParams };
  const llm = chatModel({ modelKwargs: { parallel_tool_calls: false } }).withStructuredOutput(schema, { method: "functionCalling" });
  const out = await llm.invoke(question);
  checkArgs("get_weather", out);
});
