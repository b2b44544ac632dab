// The official `openai` Node SDK against a llamagate test gateway
// (LLAMAGATE_BASE_URL; started by e2e/node_test.go). Models: stories260K
// (no chat template) and stories-chat (the same weights with a real chat
// template). Assertions are about structure, usage and determinism.
import { test } from "node:test";
import assert from "node:assert/strict";
import OpenAI, { BadRequestError, NotFoundError } from "openai";

import { base } from "./gateway.mjs";
const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: "unused", maxRetries: 0 });
const chatModel = "stories-chat";
const messages = [
  { role: "system", content: "You tell stories." },
  { role: "user", content: "Tell me a story about a dog." },
];

test("chat: whole and streamed answers agree (greedy)", async () => {
  const params = { model: chatModel, messages, max_tokens: 16, temperature: 0 };
  const whole = await client.chat.completions.create(params);
  assert.equal(whole.object, "chat.completion");
  assert.match(whole.id, /^chatcmpl-/);
  assert.equal(whole.choices.length, 1);
  const [choice] = whole.choices;
  assert.equal(choice.message.role, "assistant");
  assert.equal(typeof choice.message.content, "string");
  assert.ok(choice.message.content.length > 0);
  assert.equal(choice.finish_reason, "length");
  assert.equal(whole.usage.completion_tokens, 16);
  assert.equal(whole.usage.total_tokens, whole.usage.prompt_tokens + 16);

  const stream = await client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } });
  let text = "";
  let role;
  let finish;
  let usage;
  for await (const chunk of stream) {
    assert.equal(chunk.object, "chat.completion.chunk");
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      role ??= c.delta.role;
      text += c.delta.content ?? "";
      finish ??= c.finish_reason ?? undefined;
    }
  }
  assert.equal(role, "assistant");
  assert.equal(text, choice.message.content);
  assert.equal(finish, "length");
  // The second request reuses the prompt's KV (cached_tokens differs).
  assert.equal(usage.prompt_tokens, whole.usage.prompt_tokens);
  assert.equal(usage.completion_tokens, 16);
});

test("chat: n choices and a stop string", async () => {
  const many = await client.chat.completions.create({ model: chatModel, messages, max_tokens: 12, n: 2, temperature: 1, seed: 7 });
  assert.deepEqual(many.choices.map((c) => c.index), [0, 1]);
  assert.equal(many.usage.completion_tokens, 24);

  const full = await client.chat.completions.create({ model: chatModel, messages, max_tokens: 24, temperature: 0 });
  const text = full.choices[0].message.content;
  const words = text.split(" ").filter((w) => w.length > 0);
  assert.ok(words.length > 3, `too few words to pick a stop string: ${JSON.stringify(text)}`);
  const stop = words[2];
  const cut = await client.chat.completions.create({ model: chatModel, messages, max_tokens: 24, temperature: 0, stop: [stop] });
  assert.equal(cut.choices[0].finish_reason, "stop");
  assert.equal(cut.choices[0].message.content, text.slice(0, text.indexOf(stop)));
});

test("chat: response_format json_schema", async () => {
  const schema = {
    type: "object",
    properties: { happy: { type: "boolean" }, animal: { enum: ["cat", "dog"] } },
    required: ["happy", "animal"],
    additionalProperties: false,
  };
  const out = await client.chat.completions.create({
    model: chatModel,
    messages: [{ role: "user", content: "Is the dog happy? Answer in JSON." }],
    max_tokens: 64,
    temperature: 0.7,
    seed: 3,
    n: 2,
    response_format: { type: "json_schema", json_schema: { name: "mood", schema, strict: true } },
  });
  for (const c of out.choices) {
    assert.equal(c.finish_reason, "stop", `choice ${c.index}: ${c.message.content}`);
    const v = JSON.parse(c.message.content);
    assert.deepEqual(Object.keys(v).sort(), ["animal", "happy"]);
    assert.equal(typeof v.happy, "boolean");
    assert.ok(["cat", "dog"].includes(v.animal));
  }
});

test("chat: logprobs", async () => {
  const out = await client.chat.completions.create({ model: chatModel, messages, max_tokens: 8, temperature: 0, logprobs: true, top_logprobs: 2 });
  const { content } = out.choices[0].logprobs;
  assert.equal(content.length, 8);
  assert.equal(content.map((e) => Buffer.from(e.bytes).toString("utf8")).join(""), out.choices[0].message.content);
  for (const e of content) {
    assert.ok(e.logprob <= 0);
    assert.equal(e.top_logprobs.length, 2);
    assert.equal(e.top_logprobs[0].logprob, e.logprob); // greedy takes the most likely token
  }
});

test("completions: whole and streamed", async () => {
  const params = { model: "stories260K", prompt: "Once upon a time", max_tokens: 20, temperature: 0 };
  const whole = await client.completions.create(params);
  assert.equal(whole.object, "text_completion");
  assert.equal(whole.choices[0].finish_reason, "length");
  assert.equal(whole.usage.completion_tokens, 20);
  let text = "";
  for await (const chunk of await client.completions.create({ ...params, stream: true })) {
    for (const c of chunk.choices) text += c.text;
  }
  assert.equal(text, whole.choices[0].text);

  const lp = await client.completions.create({ ...params, logprobs: 1 });
  assert.equal(lp.choices[0].logprobs.tokens.join(""), whole.choices[0].text);
  assert.equal(lp.choices[0].logprobs.text_offset[0], 0);
});

test("errors surface as the SDK's error classes", async () => {
  await assert.rejects(client.chat.completions.create({ model: "no-such-model", messages }), (err) => {
    assert.ok(err instanceof NotFoundError, `got ${err?.constructor?.name}: ${err}`);
    assert.equal(err.status, 404);
    assert.equal(err.code, "model_not_found");
    return true;
  });
  await assert.rejects(client.completions.create({ model: "stories260K", prompt: "x", temperature: 3 }), (err) => {
    assert.ok(err instanceof BadRequestError, `got ${err?.constructor?.name}: ${err}`);
    assert.equal(err.status, 400);
    assert.equal(err.param, "temperature");
    return true;
  });
  await assert.rejects(
    client.chat.completions.create({
      model: chatModel,
      messages,
      response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "wizard" } } },
    }),
    (err) => err instanceof BadRequestError && err.param === "response_format",
  );
});

test("embeddings: the SDK's default (base64) and explicit float agree", async () => {
  const input = ["Once upon a time", "The cat sat on the mat."];
  // Without encoding_format the SDK asks for base64 and decodes it.
  const dflt = await client.embeddings.create({ model: "stories260K", input });
  const floats = await client.embeddings.create({ model: "stories260K", input, encoding_format: "float" });
  assert.equal(dflt.object, "list");
  assert.equal(dflt.model, "stories260K");
  assert.equal(dflt.data.length, 2);
  assert.ok(dflt.usage.prompt_tokens > 0);
  assert.equal(dflt.usage.total_tokens, dflt.usage.prompt_tokens);
  assert.deepEqual(floats.usage, dflt.usage);
  for (const [i, d] of dflt.data.entries()) {
    assert.equal(d.index, i);
    assert.equal(d.object, "embedding");
    const f = floats.data[i].embedding;
    assert.ok(Array.isArray(d.embedding) && d.embedding.length === f.length && f.length > 0);
    // Both are the same float32 values.
    assert.deepEqual(d.embedding.map(Math.fround), f.map(Math.fround));
    const norm = Math.sqrt(f.reduce((s, x) => s + x * x, 0));
    assert.ok(Math.abs(norm - 1) < 1e-5, `norm ${norm}`);
  }
  await assert.rejects(client.embeddings.create({ model: "stories260K", input: "" }), (err) => {
    assert.ok(err instanceof BadRequestError, `got ${err?.constructor?.name}: ${err}`);
    assert.equal(err.param, "input");
    return true;
  });
});
