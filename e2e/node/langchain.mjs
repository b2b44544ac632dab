// LangChain's ChatOpenAI against a llamagate test gateway
// (LLAMAGATE_BASE_URL; started by e2e/node_test.go): users switch by
// setting configuration.baseURL.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ChatOpenAI } from "@langchain/openai";
import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import { NotFoundError } from "openai";

import { base } from "./gateway.mjs";

function chatModel(fields = {}) {
  return new ChatOpenAI({
    model: "stories-chat",
    apiKey: "unused",
    configuration: { baseURL: `${base}/v1` },
    temperature: 0,
    maxTokens: 16,
    maxRetries: 0,
    ...fields,
  });
}

const messages = [new SystemMessage("You tell stories."), new HumanMessage("Tell me a story about a cat.")];

test("invoke and stream agree (greedy)", async () => {
  const llm = chatModel();
  const msg = await llm.invoke(messages);
  assert.equal(typeof msg.content, "string");
  assert.ok(msg.content.length > 0);
  assert.equal(msg.response_metadata.finish_reason, "length");
  assert.equal(msg.usage_metadata.output_tokens, 16);

  let text = "";
  let chunks = 0;
  for await (const chunk of await llm.stream(messages)) {
    text += chunk.content;
    chunks++;
  }
  assert.ok(chunks > 1, "the answer came in one chunk: not streamed");
  assert.equal(text, msg.content);
});

test("stop and n", async () => {
  const llm = chatModel({ maxTokens: 24 });
  const full = (await llm.invoke(messages)).content;
  const words = full.split(" ").filter((w) => w.length > 0);
  assert.ok(words.length > 3, `too few words: ${JSON.stringify(full)}`);
  const cut = await llm.invoke(messages, { stop: [words[2]] });
  assert.equal(cut.content, full.slice(0, full.indexOf(words[2])));
  assert.equal(cut.response_metadata.finish_reason, "stop");

  const result = await chatModel({ n: 2, temperature: 1 }).generate([messages]);
  assert.equal(result.generations[0].length, 2);
});

test("structured output with a JSON schema", async () => {
  const schema = {
    title: "mood",
    type: "object",
    properties: { happy: { type: "boolean" }, animal: { type: "string", enum: ["cat", "dog"] } },
    required: ["happy", "animal"],
    additionalProperties: false,
  };
  const llm = chatModel({ maxTokens: 64 }).withStructuredOutput(schema, { method: "jsonSchema", name: "mood" });
  const out = await llm.invoke("Is the cat happy?");
  assert.equal(typeof out.happy, "boolean");
  assert.ok(["cat", "dog"].includes(out.animal));
});

test("an unknown model is the SDK's NotFoundError", async () => {
  await assert.rejects(chatModel({ model: "no-such-model" }).invoke("hi"), (err) => {
    assert.ok(err instanceof NotFoundError, `got ${err?.constructor?.name}: ${err}`);
    assert.equal(err.status, 404);
    assert.equal(err.lc_error_code, "MODEL_NOT_FOUND");
    return true;
  });
});
