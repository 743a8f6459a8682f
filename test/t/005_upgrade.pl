# ALTER EXTENSION irec UPDATE from 0.1.0: a database with a trained model and
# ipivf indexes answers exactly as before the update, the new objects work,
# and the updated extension has the same objects as a fresh install.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('postgres', q{
	CREATE EXTENSION irec VERSION '0.1.0';
	CREATE TABLE clicks AS SELECT user_id, item_id, weight FROM irec_synthetic(400, 300, 8000, seed => 21);
	SELECT irec_train('clicks', dims => 8, epochs => 3, quiet => true);
	CREATE INDEX clicks_items_ip ON clicks_items USING ipivf (embedding) WITH (lists = 12);
	CREATE TABLE docs (id int, e embedding(3));
	INSERT INTO docs SELECT i, ARRAY[sin(i), cos(i), i % 3]::real[]::embedding FROM generate_series(1, 400) i;
	CREATE INDEX docs_cos ON docs USING ipivf (e embedding_cosine_ops) WITH (lists = 6);
	CREATE INDEX docs_l2 ON docs USING ipivf (e embedding_l2_ops) WITH (lists = 6);
	SELECT * FROM irec_split('clicks', method => 'random', test_fraction => 0.2, seed => 1);
	SELECT irec_train('clicks_train', dims => 8, epochs => 3, quiet => true);
});
is($node->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'irec'"), '0.1.0', 'installed 0.1.0');

my @answers = (
	"SELECT string_agg(item_id || ':' || round(score::numeric, 6), ',') FROM irec_recommend('clicks', 5, n => 10)",
	"SELECT string_agg(item_id || ':' || round(score::numeric, 6), ',') FROM irec_recommend('clicks', 9, n => 10, exclude_seen => true)",
	"SELECT string_agg(item_id || ':' || round(score::numeric, 6), ',') FROM irec_similar_items('clicks', 3, n => 10)",
	"SELECT string_agg(round(x::numeric, 6)::text, ',') FROM unnest(irec_fold_in('clicks', ARRAY[1, 2, 3])::real[]) x",
	"SELECT round(recall::numeric, 6), round(ndcg::numeric, 6), users_evaluated FROM irec_evaluate('clicks_train', 'clicks_test', k => 10)",
	"SET irec.probes = 0; SET enable_seqscan = off; SELECT string_agg(item_id::text, ',') FROM (SELECT item_id FROM clicks_items ORDER BY embedding <#> (SELECT embedding FROM clicks_users WHERE user_id = 4) LIMIT 20) t",
	"SET enable_seqscan = off; SELECT string_agg(item_id::text, ',') FROM (SELECT item_id FROM clicks_items ORDER BY embedding <#> (SELECT embedding FROM clicks_users WHERE user_id = 4) LIMIT 20) t",
	"SET irec.probes = 0; SET enable_seqscan = off; SELECT string_agg(id::text, ',') FROM (SELECT id FROM docs ORDER BY e <=> '[1,2,0.5]' LIMIT 25) t",
	"SET irec.probes = 0; SET enable_seqscan = off; SELECT string_agg(id::text, ',') FROM (SELECT id FROM docs ORDER BY e <-> '[1,2,0.5]' LIMIT 25) t",
	"SELECT name, dims, epochs, n_users, n_items FROM irec_models ORDER BY name",
	"SELECT name, md5(item_gramian::text) FROM irec_model_gramians ORDER BY name",
	"SELECT '[1,2,3]'::embedding <#> '[4,5,6]', '[1,2,3]'::embedding <-> '[4,5,6]', '[1,2,3]'::embedding <=> '[4,5,6]'",
);
my %before;
$before{$_} = $node->safe_psql('postgres', $_) for @answers;

$node->safe_psql('postgres', 'ALTER EXTENSION irec UPDATE');
is($node->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'irec'"), '0.15.0', 'updated through 0.2.0 ... 0.14.0 to 0.15.0');
for my $q (@answers)
{
	is($node->safe_psql('postgres', $q), $before{$q}, "unchanged by the update: $q");
}

# the update rebuilt the ipivf indexes in the new format
for my $index ('clicks_items_ip', 'docs_cos', 'docs_l2')
{
	is($node->safe_psql('postgres', "SELECT missing + duplicated + abs(heap_rows - index_entries) FROM irec_index_check('$index')"),
		'0', "irec_index_check('$index') passes after the update");
}
# an extreme-norm row is found by the rebuilt cosine index
is($node->safe_psql('postgres', q{
	INSERT INTO docs VALUES (1000, '[2e19,4e19,1e19]'), (1001, '[0,0,0]');
	SET irec.probes = 0; SET enable_seqscan = off;
	SELECT string_agg(id::text, ',') FROM (SELECT id FROM docs ORDER BY e <=> '[1,2,0.5]' LIMIT 1) t}),
	'1000', 'the updated cosine index answers at extreme norms');
# Gramians follow their model without a foreign key
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM pg_constraint WHERE conrelid = 'irec_model_gramians'::regclass AND contype = 'f'}),
	'0', 'no foreign key between the registry tables');
is($node->safe_psql('postgres', q{
	UPDATE irec_models SET name = 'renamed' WHERE name = 'clicks_train';
	SELECT string_agg(name || '/' || owner, ',' ORDER BY name) FROM irec_model_gramians}),
	'clicks/' . $node->safe_psql('postgres', 'SELECT current_user') . ',renamed/' . $node->safe_psql('postgres', 'SELECT current_user'),
	'a renamed model keeps its Gramian, and Gramians carry their owner');
is($node->safe_psql('postgres', q{
	DELETE FROM irec_models WHERE name = 'renamed';
	SELECT count(*) FROM irec_model_gramians WHERE name = 'renamed'}), '0', 'a deleted model takes its Gramian along');
is($node->safe_psql('postgres', q{
	SELECT FROM irec_train('clicks', dims => 8, epochs => 3, quiet => true);
	SELECT dims(irec_fold_in('clicks', ARRAY[1, 2]))}), '8', 'retraining and fold-in work after the update');

# the functions 0.2.0 adds: early stopping and irec_tune
is($node->safe_psql('postgres', q{
	SELECT FROM irec_train('clicks_train', model => 'stopped', dims => 8, epochs => 30, quiet => true,
	                       validation => 'clicks_test', patience => 2);
	SELECT best_epoch >= 1 AND array_length(validation, 1) = epochs FROM irec_models WHERE name = 'stopped'}),
	't', 'early stopping on a validation table after the update');
is($node->safe_psql('postgres', q{
	SELECT trials > 0 AND validation_score > 0 FROM irec_tune('clicks_train', model => 'tuned', dims => 8, max_seconds => 20, quiet => true)}),
	't', 'irec_tune after the update');
# issue 19's objects work after the update: comparison operators with btree
# and hash classes, *, ||, <+> with its ipivf class, subvector,
# binary_quantize, pgvector's names, the implicit cast to real[], and the
# pgvector casts function (refusing, as pgvector is not installed here)
is($node->safe_psql('postgres', q{
	SELECT concat_ws('|', '[1,2,3]'::embedding || '[4,5]', '[1,2]'::embedding * '[3,4]',
	                 '[0,0]'::embedding <+> '[3,4]', subvector('[1,2,3]', 2, 2), binary_quantize('[1,-1,2]'),
	                 vector_dims('[1,2]'::embedding), vector_norm('[3,4]'::embedding),
	                 '[1,2]'::embedding < '[1,2,3]', '[-0]'::embedding = '[0]')}),
	'[1,2,3,4,5]|[3,8]|7|[2,3]|101|2|5|t|t', 'the new operators and functions work after the update');
is($node->safe_psql('postgres', q{
	CREATE TABLE keyed (e embedding(3) PRIMARY KEY);
	INSERT INTO keyed SELECT DISTINCT e FROM docs WHERE id <= 400;
	CREATE INDEX keyed_hash ON keyed USING hash (e);
	CREATE INDEX docs_l1 ON docs USING ipivf (e embedding_l1_ops) WITH (lists = 6);
	SET enable_seqscan = off; SET irec.probes = 0;
	SELECT concat_ws('|', (SELECT count(*) FROM keyed k JOIN docs d USING (e)) >= 400,
	                 (SELECT count(*) FROM keyed WHERE e = (SELECT e FROM docs WHERE id = 5)),
	                 (SELECT string_agg(id::text, ',') FROM (SELECT id FROM docs ORDER BY e <+> '[1,2,0.5]' LIMIT 5) t)
	                   = (SELECT string_agg(id::text, ',') FROM (SELECT id, e <+> '[1,2,0.5]' d FROM docs ORDER BY 2, 1 LIMIT 5) t))}),
	't|1|t', 'a primary key, a hash index and an L1 ipivf index on embeddings after the update');
is($node->safe_psql('postgres', q{
	SELECT castcontext FROM pg_cast WHERE castsource = 'embedding'::regtype AND casttarget = 'real[]'::regtype}),
	'i', 'embedding -> real[] is implicit after the update');
# 0.7.0's objects on a model trained under 0.1.0: irec_update, diversity, warm start
is($node->safe_psql('postgres', q{
	INSERT INTO clicks VALUES (5, 7, 2), (100000, 7, 1);
	SELECT users_updated || '|' || users_added FROM irec_update('clicks', users => ARRAY[5, 100000])}),
	'1|1', 'irec_update on a model trained before the update');
is($node->safe_psql('postgres', q{
	SELECT concat_ws('|', (SELECT updated_at IS NOT NULL FROM irec_models WHERE name = 'clicks'),
	       (SELECT count(*) FROM irec_recommend('clicks', 5, n => 10, diversity => 0.5)),
	       (SELECT irec_train('clicks', dims => 8, epochs => 1, warm_start => true, quiet => true)))}),
	't|10|clicks', 'the registry records it; diversity and warm start work');
is($node->safe_psql('postgres', "SELECT updated_at IS NULL FROM irec_models WHERE name = 'clicks'"),
	't', 'a training clears updated_at');
# 0.8.0's samplers
is($node->safe_psql('postgres', q{
	SELECT FROM irec_train('clicks', model => 'clicks_tp', algorithm => 'softmax', dims => 8, epochs => 1, negatives => 16,
	                  sampler => 'two_pass', candidates => 40, quiet => true);
	SELECT name || '|' || (params->>'candidates') FROM irec_models WHERE name = 'clicks_tp'}),
	'clicks_tp|40', 'the two-pass sampler and its candidates after the update');
# 0.9.0's context models
is($node->safe_psql('postgres', q{
	ALTER TABLE clicks ADD COLUMN daypart int;
	UPDATE clicks SET daypart = item_id % 2;
	SELECT FROM irec_train('clicks', model => 'clicks_ctx', context_columns => ARRAY['user_id', 'daypart'], dims => 8,
	                       epochs => 2, quiet => true);
	SELECT count(*) FROM irec_recommend_context('clicks_ctx', '{"user_id": 5, "daypart": 1}', 4)}),
	'4', 'a context model trains and serves after the update');
my ($rc, $out, $err) = $node->psql('postgres', 'SELECT irec_pgvector_casts()');
like($err, qr/pgvector is not installed in this database/, 'irec_pgvector_casts refuses without pgvector');

# the updated extension has exactly the objects of a fresh install
$node->safe_psql('fresh', 'CREATE EXTENSION irec');
my $objects = q{
	SELECT string_agg(pg_describe_object(classid, objid, objsubid), E'\n' ORDER BY pg_describe_object(classid, objid, objsubid))
	  FROM pg_depend WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
	   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'irec')};
is($node->safe_psql('postgres', $objects), $node->safe_psql('fresh', $objects),
	'the same extension objects as a fresh install');
my $columns = q{
	SELECT string_agg(c.relname || '.' || a.attname || ':' || format_type(a.atttypid, a.atttypmod), ',' ORDER BY c.relname, a.attnum)
	  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
	 WHERE c.relname IN ('irec_models', 'irec_model_gramians') AND a.attnum > 0 AND NOT a.attisdropped};
is($node->safe_psql('postgres', $columns), $node->safe_psql('fresh', $columns), 'the same registry columns');
my $bodies = q{
	SELECT string_agg(p.oid::regprocedure || ':' || md5(p.prosrc || pg_get_function_arguments(p.oid)), ',' ORDER BY p.oid::regprocedure::text)
	  FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
	 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'irec')};
is($node->safe_psql('postgres', $bodies), $node->safe_psql('fresh', $bodies), 'the same function bodies');

# an update from 0.2.0 itself
$node->safe_psql('postgres', 'CREATE DATABASE from020');
$node->safe_psql('from020', q{CREATE EXTENSION irec VERSION '0.2.0'; ALTER EXTENSION irec UPDATE});
is($node->safe_psql('from020', $bodies), $node->safe_psql('fresh', $bodies), '0.2.0 updates to the same functions');

# and from 0.3.0
$node->safe_psql('postgres', 'CREATE DATABASE from030');
$node->safe_psql('from030', q{CREATE EXTENSION irec VERSION '0.3.0'; ALTER EXTENSION irec UPDATE});
is($node->safe_psql('from030', "SELECT extversion FROM pg_extension WHERE extname = 'irec'"), '0.15.0', '0.3.0 updates to 0.15.0');
is($node->safe_psql('from030', $bodies), $node->safe_psql('fresh', $bodies), '0.3.0 updates to the same functions');

# and from 0.4.0, whose irec_tune wrote trials without a folds column
$node->safe_psql('postgres', 'CREATE DATABASE from040');
$node->safe_psql('from040', q{CREATE EXTENSION irec VERSION '0.4.0'; ALTER EXTENSION irec UPDATE});
is($node->safe_psql('from040', "SELECT extversion FROM pg_extension WHERE extname = 'irec'"), '0.15.0', '0.4.0 updates to 0.15.0');
is($node->safe_psql('from040', $bodies), $node->safe_psql('fresh', $bodies), '0.4.0 updates to the same functions');

# and from 0.5.0, whose irec_tune ended with the halving's last rung
$node->safe_psql('postgres', 'CREATE DATABASE from050');
$node->safe_psql('from050', q{CREATE EXTENSION irec VERSION '0.5.0'; ALTER EXTENSION irec UPDATE});
is($node->safe_psql('from050', "SELECT extversion FROM pg_extension WHERE extname = 'irec'"), '0.15.0', '0.5.0 updates to 0.15.0');
is($node->safe_psql('from050', $bodies), $node->safe_psql('fresh', $bodies), '0.5.0 updates to the same functions');

# and from 0.6.0, before irec_update, warm_start and diversity
$node->safe_psql('postgres', 'CREATE DATABASE from060');
$node->safe_psql('from060', q{CREATE EXTENSION irec VERSION '0.6.0'; ALTER EXTENSION irec UPDATE});
is($node->safe_psql('from060', "SELECT extversion FROM pg_extension WHERE extname = 'irec'"), '0.15.0', '0.6.0 updates to 0.15.0');
is($node->safe_psql('from060', $bodies), $node->safe_psql('fresh', $bodies), '0.6.0 updates to the same functions');
is($node->safe_psql('from060', $objects), $node->safe_psql('fresh', $objects), '0.6.0 updates to the same objects');

# and from 0.7.0, before the kernel and two-pass samplers
$node->safe_psql('postgres', 'CREATE DATABASE from070');
$node->safe_psql('from070', q{CREATE EXTENSION irec VERSION '0.7.0'; ALTER EXTENSION irec UPDATE});
is($node->safe_psql('from070', "SELECT extversion FROM pg_extension WHERE extname = 'irec'"), '0.15.0', '0.7.0 updates to 0.15.0');
is($node->safe_psql('from070', $bodies), $node->safe_psql('fresh', $bodies), '0.7.0 updates to the same functions');
is($node->safe_psql('from070', $objects), $node->safe_psql('fresh', $objects), '0.7.0 updates to the same objects');

# and from 0.8.0, before context models
$node->safe_psql('postgres', 'CREATE DATABASE from080');
$node->safe_psql('from080', q{CREATE EXTENSION irec VERSION '0.8.0'; ALTER EXTENSION irec UPDATE});
is($node->safe_psql('from080', "SELECT extversion FROM pg_extension WHERE extname = 'irec'"), '0.15.0', '0.8.0 updates to 0.15.0');
is($node->safe_psql('from080', $bodies), $node->safe_psql('fresh', $bodies), '0.8.0 updates to the same functions');
is($node->safe_psql('from080', $objects), $node->safe_psql('fresh', $objects), '0.8.0 updates to the same objects');

# and from 0.9.0, whose irec_tune held out a fifth per fold by default
$node->safe_psql('postgres', 'CREATE DATABASE from090');
$node->safe_psql('from090', q{CREATE EXTENSION irec VERSION '0.9.0'});
like($node->safe_psql('from090', "SELECT pg_get_function_arguments('irec_tune'::regproc)"),
	qr/validation_fraction double precision DEFAULT 0\.2,/, '0.9.0 holds out 0.2 by default');
$node->safe_psql('from090', 'ALTER EXTENSION irec UPDATE');
is($node->safe_psql('from090', "SELECT extversion FROM pg_extension WHERE extname = 'irec'"), '0.15.0', '0.9.0 updates to 0.15.0');
like($node->safe_psql('from090', "SELECT pg_get_function_arguments('irec_tune'::regproc)"),
	qr/validation_fraction double precision DEFAULT 0\.1,/, 'and holds out 0.1 by default');
is($node->safe_psql('from090', $bodies), $node->safe_psql('fresh', $bodies), '0.9.0 updates to the same functions and defaults');
is($node->safe_psql('from090', $objects), $node->safe_psql('fresh', $objects), '0.9.0 updates to the same objects');

# and from 0.10.0, whose irec_tune took the best trial whatever its margin
# over the defaults, and whose trials had no per-fold scores
$node->safe_psql('postgres', 'CREATE DATABASE from0100');
$node->safe_psql('from0100', q{
	CREATE EXTENSION irec VERSION '0.10.0';
	CREATE TABLE clicks AS SELECT user_id, item_id FROM irec_synthetic(200, 150, 4000, seed => 5);
	SELECT trials FROM irec_tune('clicks', dims => 8, max_seconds => 5, quiet => true);
	ALTER EXTENSION irec UPDATE});
is($node->safe_psql('from0100', "SELECT extversion FROM pg_extension WHERE extname = 'irec'"), '0.15.0', '0.10.0 updates to 0.15.0');
$node->safe_psql('from0100', q{SELECT trials FROM irec_tune('clicks', dims => 8, max_seconds => 5, quiet => true)});
is($node->safe_psql('from0100', q{
	SELECT bool_and(cardinality(fold_scores) = folds) AND count(*) FILTER (WHERE chosen) = 1 FROM clicks_trials}),
	't', 'and its irec_tune records per-fold scores and the chosen trial');
is($node->safe_psql('from0100', $bodies), $node->safe_psql('fresh', $bodies), '0.10.0 updates to the same functions');
is($node->safe_psql('from0100', $objects), $node->safe_psql('fresh', $objects), '0.10.0 updates to the same objects');

# After an update: the SQL engine trains what the in-memory engine trains.
sub sql_engine_matches_memory
{
	my ($db, $name) = @_;
	$node->safe_psql($db, q{
		SELECT irec_train('clicks', dims => 8, epochs => 3, model => 'memory', quiet => true);
		SELECT irec_train('clicks', dims => 8, epochs => 3, engine => 'sql', model => 'sql', quiet => true)});
	is($node->safe_psql($db, q{
		SELECT max(abs((a.embedding::real[])[k] - (b.embedding::real[])[k])) < 1e-5
		  FROM memory_items a JOIN sql_items b USING (item_id), generate_series(1, 8) k}),
		't', $name);
}

# and from 0.11.0, whose SQL engine solved each row in an aggregate: the
# update adds the per-shard half-step, and the engine trains with it
$node->safe_psql('postgres', 'CREATE DATABASE from0110');
$node->safe_psql('from0110', q{
	CREATE EXTENSION irec VERSION '0.11.0';
	CREATE TABLE clicks AS SELECT user_id, item_id FROM irec_synthetic(200, 150, 4000, seed => 5);
	ALTER EXTENSION irec UPDATE});
is($node->safe_psql('from0110', "SELECT extversion FROM pg_extension WHERE extname = 'irec'"), '0.15.0', '0.11.0 updates to 0.15.0');
sql_engine_matches_memory('from0110', 'and its SQL engine trains what the in-memory engine trains');
is($node->safe_psql('from0110', $bodies), $node->safe_psql('fresh', $bodies), '0.11.0 updates to the same functions');
is($node->safe_psql('from0110', $objects), $node->safe_psql('fresh', $objects), '0.11.0 updates to the same objects');

# and from 0.12.0, whose half-step returned one row per solved row: until
# the update, the SQL engine and the half-step refuse to run with the
# library's blocks; after it the engine trains what the in-memory engine does
$node->safe_psql('postgres', 'CREATE DATABASE from0120');
$node->safe_psql('from0120', q{
	CREATE EXTENSION irec VERSION '0.12.0';
	CREATE TABLE clicks AS SELECT user_id, item_id FROM irec_synthetic(200, 150, 4000, seed => 5);
	CREATE TABLE pairs AS SELECT 0 AS row_idx, 0 AS col_idx, 1::real AS confidence;
	CREATE TABLE side AS SELECT 0 AS idx, '[1,2]'::embedding AS embedding});
my ($rc, $out, $err) = $node->psql('from0120',
	q{SELECT irec_train('clicks', dims => 8, epochs => 3, engine => 'sql', model => 'early', quiet => true)});
like($err, qr/engine 'sql' needs version 0.13.0.*ALTER EXTENSION irec UPDATE/s, '0.12.0: the SQL engine asks for the update');
($rc, $out, $err) = $node->psql('from0120', q{SELECT count(*) FROM irec_als_shard_step('pairs', 'side', 'side', 2, 0.1, 0.5, 0.1, 0)});
like($err, qr/declared as before version 0.13.0.*ALTER EXTENSION irec UPDATE/s, '0.12.0: so does its half-step');
$node->safe_psql('from0120', 'ALTER EXTENSION irec UPDATE');
is($node->safe_psql('from0120', "SELECT extversion FROM pg_extension WHERE extname = 'irec'"), '0.15.0', '0.12.0 updates to 0.15.0');
sql_engine_matches_memory('from0120', 'and its SQL engine, in blocks, trains what the in-memory engine trains');
$node->safe_psql('from0120', 'DROP TABLE pairs, side');
is($node->safe_psql('from0120', $bodies), $node->safe_psql('fresh', $bodies), '0.12.0 updates to the same functions');
is($node->safe_psql('from0120', $objects), $node->safe_psql('fresh', $objects), '0.12.0 updates to the same objects');

# and from 0.13.0, whose irec_index_check had no probes column: the library
# answers the old declaration with its seven columns, the update adds the
# column
$node->safe_psql('postgres', 'CREATE DATABASE from0130');
$node->safe_psql('from0130', q{
	CREATE EXTENSION irec VERSION '0.13.0';
	CREATE TABLE v AS SELECT i AS id, ARRAY[sin(i), cos(i)]::real[]::embedding(2) AS e FROM generate_series(1, 3000) i;
	CREATE INDEX v_ix ON v USING ipivf (e)});
is($node->safe_psql('from0130', 'SELECT index_entries FROM irec_index_check(\'v_ix\')'), '3000',
	'0.13.0: irec_index_check answers its own declaration');
$node->safe_psql('from0130', 'ALTER EXTENSION irec UPDATE');
is($node->safe_psql('from0130', "SELECT extversion FROM pg_extension WHERE extname = 'irec'"), '0.15.0', '0.13.0 updates to 0.15.0');
is($node->safe_psql('from0130', q{SET irec.probes = 7; SELECT index_entries, probes FROM irec_index_check('v_ix')}), '3000|7',
	'and irec_index_check reports the probes');
is($node->safe_psql('from0130', $bodies), $node->safe_psql('fresh', $bodies), '0.13.0 updates to the same functions');
is($node->safe_psql('from0130', $objects), $node->safe_psql('fresh', $objects), '0.13.0 updates to the same objects');

# and from 0.14.0, before filter columns: its index answers as before, and
# the update brings the integer operator classes that multicolumn indexes take
$node->safe_psql('postgres', 'CREATE DATABASE from0140');
$node->safe_psql('from0140', q{
	CREATE EXTENSION irec VERSION '0.14.0';
	CREATE TABLE v AS SELECT i AS id, i % 5 AS cat, ARRAY[sin(i), cos(i)]::real[]::embedding(2) AS e FROM generate_series(1, 3000) i;
	CREATE INDEX v_ix ON v USING ipivf (e)});
my $v_query = "SET irec.probes = 0; SET enable_seqscan = off; SELECT string_agg(id::text, ',') FROM (SELECT id FROM v WHERE cat = 2 ORDER BY e <#> '[1,2]' LIMIT 20) t";
my $v_before = $node->safe_psql('from0140', $v_query);
$node->safe_psql('from0140', 'ALTER EXTENSION irec UPDATE');
is($node->safe_psql('from0140', "SELECT extversion FROM pg_extension WHERE extname = 'irec'"), '0.15.0', '0.14.0 updates to 0.15.0');
is($node->safe_psql('from0140', $v_query), $v_before, '0.14.0: its index answers as before the update');
$node->safe_psql('from0140', 'CREATE INDEX v_cat ON v USING ipivf (e, cat)');
is($node->safe_psql('from0140', "$v_query; SELECT missing FROM irec_index_check('v_cat')"), "$v_before\n0",
	'0.14.0: after the update an index with a filter column answers the same');
like($node->safe_psql('from0140', "SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM v WHERE cat = 2 ORDER BY e <#> '[1,2]' LIMIT 20"),
	qr/Index Cond: \(cat = 2\)/, '0.14.0: and takes the filter as its index condition');
is($node->safe_psql('from0140', $bodies), $node->safe_psql('fresh', $bodies), '0.14.0 updates to the same functions');
is($node->safe_psql('from0140', $objects), $node->safe_psql('fresh', $objects), '0.14.0 updates to the same objects');

$node->stop;
done_testing();
