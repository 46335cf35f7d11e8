// The MCP TypeScript SDK's client against a netobs MCP endpoint: lists the tools, then makes each call given.
// The SDK validates every structuredContent against the tool's outputSchema itself and throws when it fails.
// Usage: node client.mjs URL TOKEN CALLS_JSON, CALLS_JSON = [{"name": ..., "arguments": {...}}, ...]; a call with
// "continue": true gets the cursor of the last result that had one as its cursor argument (the next page).
// Prints one JSON object: {tools: [{name, title, annotations, inputSchema, outputSchema}], calls: [...]}.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [url, token, callsJson] = process.argv.slice(2);
const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${token}` } },
});
const client = new Client({ name: "netobs-ts-test", version: "1.0.0" });
await client.connect(transport);
const listed = await client.listTools();
const calls = [];
let previous = null;
for (const { name, arguments: given, continue: next } of JSON.parse(callsJson)) {
  const call = { name, arguments: next ? { ...given, cursor: previous?.cursor ?? "" } : given };
  try {
    const result = await client.callTool(call);
    if (result.structuredContent?.cursor) previous = result.structuredContent;
    const text = result.content.find((c) => c.type === "text")?.text ?? "";
    calls.push({
      name: call.name,
      isError: Boolean(result.isError),
      textBytes: Buffer.byteLength(text),
      textMatches: !result.isError && JSON.stringify(JSON.parse(text)) === JSON.stringify(result.structuredContent),
      structuredContent: result.structuredContent ?? null,
      text: result.isError ? text : "",
    });
  } catch (error) {
    calls.push({ name: call.name, thrown: String(error) });
  }
}
await client.close();
const tools = listed.tools.map(({ name, title, annotations, inputSchema, outputSchema }) => ({
  name, title, annotations, inputSchema, outputSchema,
}));
process.stdout.write(JSON.stringify({ tools, calls }));
