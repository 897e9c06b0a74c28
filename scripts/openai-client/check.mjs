// The official `openai` npm client against a Tandem gateway (or worker): structured outputs and tool calls must
// parse in the client and match their schemas. Usage: node check.mjs BASE_URL MODEL. Exit 0 when every check passed.
import OpenAI from 'openai';

const [baseURL, model] = process.argv.slice(2);
const client = new OpenAI({ baseURL: baseURL + '/v1', apiKey: process.env.TANDEM_API_KEY || 'none', maxRetries: 0 });
const failures = [];
const check = (ok, what) => { if (!ok) failures.push(what); };

const person = {
  type: 'object',
  properties: {
    name: { type: 'string', maxLength: 8 },
    kind: { enum: ['cat', 'dog'] },
    tags: { type: 'array', items: { type: 'string', maxLength: 4 }, minItems: 1, maxItems: 2 },
  },
  required: ['name', 'kind', 'tags'],
  additionalProperties: false,
};
// JSON Schema lengths count code points; JavaScript's .length counts UTF-16 units.
const len = (s) => [...s].length;
const isPerson = (v) => v && typeof v === 'object' && !Array.isArray(v)
  && typeof v.name === 'string' && len(v.name) <= 8 && ['cat', 'dog'].includes(v.kind)
  && Array.isArray(v.tags) && v.tags.length >= 1 && v.tags.length <= 2
  && v.tags.every((t) => typeof t === 'string' && len(t) <= 4)
  && Object.keys(v).every((k) => ['name', 'kind', 'tags'].includes(k));

const tools = [{
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather in a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string', maxLength: 8 }, unit: { enum: ['celsius', 'fahrenheit'] } },
      required: ['city', 'unit'],
    },
  },
}];
const isWeatherArgs = (a) => a && typeof a.city === 'string' && len(a.city) <= 8
  && ['celsius', 'fahrenheit'].includes(a.unit);
const messages = [{ role: 'user', content: 'What is the weather in Paris?' }];

// 1. response_format json_schema, sampled: every choice parses and matches.
const r1 = await client.chat.completions.create({
  model, messages, temperature: 1, max_tokens: 200, n: 4,
  response_format: { type: 'json_schema', json_schema: { name: 'person', strict: true, schema: person } },
});
for (const c of r1.choices) {
  let v = null;
  try { v = JSON.parse(c.message.content); } catch (e) { /* judged below */ }
  check(c.finish_reason === 'stop' && isPerson(v), 'json_schema choice: ' + JSON.stringify(c));
}

// 2. tools with tool_choice required, not streamed.
const r2 = await client.chat.completions.create({
  model, messages, temperature: 1, max_tokens: 200, tools, tool_choice: 'required',
});
const call = r2.choices[0].message.tool_calls?.[0];
check(r2.choices[0].finish_reason === 'tool_calls', 'finish_reason tool_calls: ' + JSON.stringify(r2.choices[0]));
check(call && call.type === 'function' && call.function.name === 'get_weather'
  && isWeatherArgs(JSON.parse(call.function.arguments)), 'tool call: ' + JSON.stringify(call));

// 3. the same, streamed: tool_calls deltas accumulated as the client's users do.
const stream = await client.chat.completions.create({
  model, messages, temperature: 1, max_tokens: 200, tools, tool_choice: 'required', stream: true,
});
// Token by token: the first delta of a call carries index, id, type, name and empty arguments, then fragments.
const acc = {};
let finish = null;
let fragments = 0;
let deltasBeforeFinish = 0;
for await (const chunk of stream) {
  const ch = chunk.choices[0];
  if (!ch) continue;
  for (const d of ch.delta?.tool_calls ?? []) {
    if (acc[d.index] === undefined) {
      check(typeof d.id === 'string' && d.type === 'function' && d.function?.name && d.function?.arguments === '',
        'first tool_calls delta: ' + JSON.stringify(d));
      acc[d.index] = { name: '', arguments: '' };
    } else if (d.function?.arguments) {
      fragments++;
    }
    if (d.function?.name) acc[d.index].name += d.function.name;
    if (d.function?.arguments) acc[d.index].arguments += d.function.arguments;
    if (!ch.finish_reason) deltasBeforeFinish++;
  }
  finish = ch.finish_reason ?? finish;
}
check(finish === 'tool_calls', 'streamed finish_reason: ' + finish);
// How many fragments arrive depends on how tokens coalesce between writes (gateway and worker); piece-by-piece
// exactness is ToolCallStreamTest's. Here: the call starts before the finish and its arguments follow in fragments.
check(fragments >= 1 && deltasBeforeFinish >= 1, 'arguments streamed in ' + fragments + ' fragments, '
  + deltasBeforeFinish + ' deltas before the finish');
let streamedArgs = null;
try { streamedArgs = JSON.parse(acc[0]?.arguments || 'null'); } catch (e) { /* judged below */ }
check(acc[0]?.name === 'get_weather' && isWeatherArgs(streamedArgs), 'streamed tool call: ' + JSON.stringify(acc));

// 4. a bad request is the worker's 400, through the gateway, as the client's BadRequestError.
try {
  await client.chat.completions.create({ model, messages: [] });
  check(false, 'empty messages accepted');
} catch (e) {
  check(e.status === 400 && /messages/.test(e.message), 'empty messages: ' + e.status + ' ' + e.message);
}

if (failures.length) {
  console.error('FAILED:\n' + failures.join('\n'));
  process.exit(1);
}
console.log('openai client checks passed: json_schema x' + r1.choices.length + ', tool call, streamed tool call ('
  + fragments + ' argument fragments), 400');
