// What the tool-calling scripts share: the gateway's base URL (with the
// fetch guard of gateway.mjs), the tools offered and a check that a call's
// arguments satisfy its tool's parameters schema. The model (stories-tools) is stories260K with a
// Hermes-style (Qwen 2.5) chat template: its weights know nothing of tools,
// so every call it makes comes from the gateway's grammar, and tool_choice
// is always forced (required or named) with parallel_tool_calls off, so the
// answer is one call that ends the turn.
import assert from "node:assert/strict";

export { base } from "./gateway.mjs";

export const toolsModel = "stories-tools";

// Enough for one call: the grammar lets the model put whitespace between
// JSON tokens, and a tiny vocabulary spends about a token per character.
export const callTokens = 320;

// Short strings keep the calls short.
export const weatherParams = {
  type: "object",
  properties: {
    city: { type: "string", minLength: 1, maxLength: 12 },
    unit: { type: "string", enum: ["celsius", "fahrenheit"] },
    days: { type: "integer", minimum: 1, maximum: 7 },
  },
  required: ["city", "unit", "days"],
  additionalProperties: false,
};

export const timeParams = {
  type: "object",
  properties: { zone: { type: "string", enum: ["UTC", "CET", "PST"] } },
  required: ["zone"],
  additionalProperties: false,
};

export const toolDefs = [
  { name: "get_weather", description: "Weather forecast for a city", parameters: weatherParams },
  { name: "get_time", description: "Current time in a time zone", parameters: timeParams },
];

const paramsByName = Object.fromEntries(toolDefs.map((d) => [d.name, d.parameters]));

// checkArgs asserts that args (an object) satisfies the parameters schema of
// the named tool: every required key, no other key, types, enums, bounds.
export function checkArgs(name, args) {
  const schema = paramsByName[name];
  assert.ok(schema, `call to an unknown tool ${JSON.stringify(name)}`);
  assert.equal(typeof args, "object", `${name} arguments: ${JSON.stringify(args)}`);
  assert.ok(args !== null && !Array.isArray(args), `${name} arguments: ${JSON.stringify(args)}`);
  assert.deepEqual(Object.keys(args).sort(), [...schema.required].sort(), `${name} arguments: ${JSON.stringify(args)}`);
  for (const [key, value] of Object.entries(args)) {
    const p = schema.properties[key];
    const what = `${name}.${key} = ${JSON.stringify(value)}`;
    if (p.enum) assert.ok(p.enum.includes(value), `${what} is not one of ${p.enum}`);
    if (p.type === "string") {
      assert.equal(typeof value, "string", what);
      assert.ok(value.length >= (p.minLength ?? 0) && value.length <= (p.maxLength ?? Infinity), `${what}: length out of bounds`);
    }
    if (p.type === "integer") {
      assert.ok(Number.isInteger(value), `${what} is not an integer`);
      assert.ok(value >= p.minimum && value <= p.maximum, `${what} is out of bounds`);
    }
  }
}
