-- How far each syslog line follows its RFC: rfc5424, rfc3164, non-standard (taken apart as far as it goes) or
-- unparsed, and the short reasons why not (e.g. no-pri, bad-version, vendor-timestamp, invalid-utf8), so
-- analysts can filter on them. Rows stored before this migration read '' and [].
ALTER TABLE {db}.syslog ADD COLUMN IF NOT EXISTS compliance LowCardinality(String);
ALTER TABLE {db}.syslog ADD COLUMN IF NOT EXISTS parse_issues Array(LowCardinality(String));
