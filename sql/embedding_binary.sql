-- Binary send/receive, through COPY ... (FORMAT binary), including corrupt input.
CREATE TABLE bin_src (id int, e embedding);
INSERT INTO bin_src VALUES (1, '[1,2.5,-3]'), (2, '[0.1]'), (3, NULL),
  (4, ('[' || repeat('0.333,', 999) || '1]')::embedding);
SELECT embedding_send('[1,2.5,-3]');
\set bin_file '/tmp/irec_regress_binary.copy'
COPY bin_src TO :'bin_file' (FORMAT binary);
CREATE TABLE bin_dst (id int, e embedding);
COPY bin_dst FROM :'bin_file' (FORMAT binary);
SELECT a.id, a.e::text = b.e::text OR (a.e IS NULL AND b.e IS NULL) AS same
  FROM bin_src a JOIN bin_dst b USING (id) ORDER BY id;
-- typmod is enforced on binary input
CREATE TABLE bin_typed (id int, e embedding(2));
COPY bin_typed FROM :'bin_file' (FORMAT binary);
-- hand-written COPY binary files holding one embedding field
CREATE FUNCTION pg_temp.copy_file(field bytea, path text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  content bytea := '\x5047434f50590aff0d0a00'::bytea   -- signature
      || '\x0000000000000000'::bytea                     -- flags, header extension
      || '\x0001'::bytea                                 -- one field
      || int4send(length(field)) || field
      || '\xffff'::bytea;                                -- trailer
  lo oid := lo_from_bytea(0, content);
BEGIN
  PERFORM lo_export(lo, path);
  PERFORM lo_unlink(lo);
END $$;
\set one_file '/tmp/irec_regress_one.copy'
CREATE TABLE bin_one (e embedding);
-- a good file loads
SELECT pg_temp.copy_file('\x00020000'::bytea || float4send(1.5) || float4send(-2), :'one_file');
COPY bin_one FROM :'one_file' (FORMAT binary);
SELECT e FROM bin_one;
-- length shorter than the dimensions say
SELECT pg_temp.copy_file('\x00030000'::bytea || float4send(1.5) || float4send(-2), :'one_file');
COPY bin_one FROM :'one_file' (FORMAT binary);
-- trailing bytes
SELECT pg_temp.copy_file('\x00010000'::bytea || float4send(1.5) || float4send(-2), :'one_file');
COPY bin_one FROM :'one_file' (FORMAT binary);
-- zero, negative and too many dimensions
SELECT pg_temp.copy_file('\x00000000'::bytea, :'one_file');
COPY bin_one FROM :'one_file' (FORMAT binary);
SELECT pg_temp.copy_file('\xffff0000'::bytea, :'one_file');
COPY bin_one FROM :'one_file' (FORMAT binary);
SELECT pg_temp.copy_file('\x4e210000'::bytea, :'one_file');
COPY bin_one FROM :'one_file' (FORMAT binary);
-- reserved field not zero
SELECT pg_temp.copy_file('\x00010001'::bytea || float4send(1.5), :'one_file');
COPY bin_one FROM :'one_file' (FORMAT binary);
-- NaN and infinity bit patterns
SELECT pg_temp.copy_file('\x00010000'::bytea || float4send('NaN'), :'one_file');
COPY bin_one FROM :'one_file' (FORMAT binary);
SELECT pg_temp.copy_file('\x00010000'::bytea || float4send('-Infinity'), :'one_file');
COPY bin_one FROM :'one_file' (FORMAT binary);
-- too short for the header
SELECT pg_temp.copy_file('\x0001'::bytea, :'one_file');
COPY bin_one FROM :'one_file' (FORMAT binary);
SELECT count(*) FROM bin_one;
DROP TABLE bin_src, bin_dst, bin_typed, bin_one;
