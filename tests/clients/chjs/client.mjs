// ClickHouse's Node.js client against netobs's ClickHouse HTTP endpoint: ping, a query with a parameter in
// two formats, and a refused query; prints one JSON object for tests/security/test_clickhouse_http.py.
import { createClient } from '@clickhouse/client';

const [url, username, password, marker] = process.argv.slice(2);
const client = createClient({ url, username, password, database: 'netobs_sec' });
const out = {};
try {
  out.ping = (await client.ping()).success;
  const rows = await client.query({
    query: 'SELECT host, count() AS n FROM syslog WHERE message LIKE {m:String} GROUP BY host',
    query_params: { m: `${marker}%` },
    format: 'JSONEachRow',
  });
  out.rows = await rows.json();
  const compact = await client.query({ query: 'SELECT number FROM numbers(3)', format: 'JSONCompactEachRow' });
  out.compact = await compact.json();
  out.query_id = compact.query_id;
  try {
    await client.query({ query: 'SELECT * FROM system.users', format: 'JSON' });
    out.refused = null;
  } catch (e) {
    out.refused = { code: e.code, type: e.type, message: e.message };
  }
  try {
    await client.command({ query: 'DROP TABLE syslog' });
    out.dropped = true;
  } catch (e) {
    out.dropped = { code: e.code, type: e.type };
  }
} finally {
  await client.close();
}
console.log(JSON.stringify(out));
