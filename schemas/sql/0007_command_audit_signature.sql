-- Who signed each step (executor, or mcp for a call the MCP service denied itself) and its HMAC-SHA256
-- signature (schemas.signed), both covered by the hash chain, so `netobs audit verify` names a step that
-- did not come from the executor. Rows stored before this migration read '' and ''.
ALTER TABLE {db}.command_audit ADD COLUMN IF NOT EXISTS signer LowCardinality(String);
ALTER TABLE {db}.command_audit ADD COLUMN IF NOT EXISTS signature String;
