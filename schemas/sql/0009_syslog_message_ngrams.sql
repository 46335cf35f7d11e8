-- A rare word's search reads less (issue 13). It spent most of its time on two things besides the granules
-- that hold the word: testing every granule's 8 KiB message n-gram filter, and, for the lines found, unpacking
-- a compressed block of at least 64 KiB of each other column. So the filter is 2 KiB per granule (a granule's
-- 3-grams repeat: it leaves about as few granules), and a column's compressed blocks start from 8 KiB, which
-- applies to parts written from now on (inserts and merges). Same n-grams and hash count: it serves the same
-- LIKE and match() conditions as before. Rows stored before are indexed again in the background (a mutation);
-- until then their parts are read whole.
ALTER TABLE {db}.syslog DROP INDEX IF EXISTS idx_message;
ALTER TABLE {db}.syslog ADD INDEX idx_message message TYPE ngrambf_v1(3, 2048, 2, 0) GRANULARITY 1;
ALTER TABLE {db}.syslog MATERIALIZE INDEX idx_message;
ALTER TABLE {db}.syslog MODIFY SETTING min_compress_block_size = 8192;
