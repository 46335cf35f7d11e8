-- A rare word in search_syslog's message_filter reads only the granules that hold it (issue 13): a full-text
-- index on message (tokens are runs of ASCII letters and digits and of non-ASCII bytes). The query builder adds
-- message LIKE '%piece%' for pieces of a filter without regex operators, which the index answers from its
-- dictionary; match() stays the condition, so the same lines match. The n-gram filter stays for regexes.
-- Rows stored before are indexed in the background (a mutation); until then their parts are read as before.
ALTER TABLE {db}.syslog ADD INDEX IF NOT EXISTS idx_message_tokens message TYPE text(tokenizer = splitByNonAlpha) GRANULARITY 64;
ALTER TABLE {db}.syslog MATERIALIZE INDEX idx_message_tokens;
