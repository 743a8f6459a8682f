# pg_dump and pg_restore of a database using irec: embedding columns of
# several typmods with NULLs, a trained model, the model registry with its
# row security, and ipivf indexes of every operator class.  Restored with
# pg_restore --jobs 2 (custom format) and with psql (plain text), the copies
# answer exactly as the original, their indexes pass irec_index_check, and
# the restored model serves and folds in.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump_restore');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
	CREATE ROLE alice LOGIN;
	CREATE DATABASE source;
});
$node->safe_psql('source', q{
	CREATE EXTENSION irec;
	GRANT CREATE ON SCHEMA public TO alice;
	CREATE TABLE clicks AS SELECT user_id, item_id, weight FROM irec_synthetic(300, 200, 6000, seed => 5);
	SELECT irec_train('clicks', dims => 8, epochs => 3, quiet => true);
	CREATE INDEX clicks_items_ip ON clicks_items USING ipivf (embedding) WITH (lists = 10);
	CREATE TABLE shapes (id int PRIMARY KEY, e3 embedding(3), e8 embedding(8), free embedding);
	INSERT INTO shapes
	SELECT i,
	       CASE WHEN i % 7 = 0 THEN NULL ELSE ARRAY[sin(i), cos(i), i % 5 - 2]::real[]::embedding(3) END,
	       CASE WHEN i % 11 = 0 THEN NULL
	            ELSE (SELECT array_agg(sin(i * k))::real[] FROM generate_series(1, 8) k)::embedding(8) END,
	       CASE WHEN i % 3 = 0 THEN NULL
	            ELSE (SELECT array_agg(cos(i + k))::real[] FROM generate_series(1, 1 + i % 4) k)::embedding END
	  FROM generate_series(1, 500) i;
	INSERT INTO shapes VALUES (501, '[0,0,0]', '[0,0,0,0,0,0,0,0]', '[1e30]'),
	                          (502, '[1e-30,1e-30,0]', '[1e20,0,0,0,0,0,0,1e20]', '[-1e-40]');
	CREATE INDEX shapes_cos ON shapes USING ipivf (e3 embedding_cosine_ops) WITH (lists = 8);
	CREATE INDEX shapes_l2 ON shapes USING ipivf (e8 embedding_l2_ops) WITH (lists = 8);
	CREATE INDEX shapes_ip ON shapes USING ipivf (e8) WITH (lists = 8);
});
$node->safe_psql('source', q{
	SET ROLE alice;
	CREATE TABLE plays AS SELECT user_id, item_id FROM irec_synthetic(100, 50, 1500, seed => 9);
	SELECT irec_train('plays', dims => 4, epochs => 2, quiet => true);
});

# Everything a restored database must answer exactly as the source does.
my @answers = (
	"SELECT md5(string_agg(id || ':' || coalesce(e3::text, '-') || coalesce(e8::text, '-') || coalesce(free::text, '-'), ',' ORDER BY id)) FROM shapes",
	"SELECT md5(string_agg(user_id || ':' || embedding::text, ',' ORDER BY user_id)) FROM clicks_users",
	"SELECT md5(string_agg(item_id || ':' || embedding::text, ',' ORDER BY item_id)) FROM clicks_items",
	"SELECT name, owner, dims, epochs, n_users, n_items, params::text FROM irec_models ORDER BY name",
	"SELECT name, owner, md5(item_gramian::text) FROM irec_model_gramians ORDER BY name",
	"SELECT string_agg(item_id || ':' || round(score::numeric, 5), ',') FROM irec_recommend('clicks', 7, n => 10)",
	"SELECT string_agg(item_id || ':' || round(score::numeric, 5), ',') FROM irec_recommend_for_items('clicks', ARRAY[1, 2, 3], n => 10)",
	"SELECT irec_fold_in('clicks', ARRAY[4, 5, 6])::text",
	"SELECT string_agg(polname || ':' || pg_get_expr(polqual, polrelid), ',' ORDER BY polname) FROM pg_policy",
);
# Indexed answers, as the distances in returned order (equal distances may
# tie either way), each compared with its sequential-scan answer too.
my @indexed = (
	"SELECT string_agg(d::text, ',') FROM (SELECT embedding <#> (SELECT embedding FROM clicks_users WHERE user_id = 3) AS d FROM clicks_items ORDER BY 1 LIMIT 15) t",
	"SELECT string_agg(coalesce(d::text, 'null'), ',') FROM (SELECT e3 <=> '[1,0.5,-1]' AS d FROM shapes ORDER BY 1 LIMIT 600) t",
	"SELECT string_agg(d::text, ',') FROM (SELECT e8 <-> '[1,0,1,0,1,0,1,0]' AS d FROM shapes ORDER BY 1 LIMIT 40) t",
	"SELECT string_agg(d::text, ',') FROM (SELECT e8 <#> '[1,0,1,0,1,0,1,0]' AS d FROM shapes ORDER BY 1 LIMIT 40) t",
);
my $exact = "SET irec.probes = 0; SET enable_seqscan = off; ";
my $seq = "SET enable_indexscan = off; SET enable_bitmapscan = off; ";

my %expected;
$expected{$_} = $node->safe_psql('source', $_) for @answers;
$expected{$_} = $node->safe_psql('source', $exact . $_) for @indexed;
for my $q (@indexed)
{
	is($expected{$q}, $node->safe_psql('source', $seq . $q), "source: index answer equals sequential scan: $q");
}

sub check_copy
{
	my ($db, $how) = @_;
	for my $q (@answers)
	{
		is($node->safe_psql($db, $q), $expected{$q}, "$how: $q");
	}
	for my $q (@indexed)
	{
		my $plan = $node->safe_psql($db, $exact . "EXPLAIN (COSTS OFF) " . $q);
		like($plan, qr/Index Scan using/, "$how: the restored index is used: $q");
		is($node->safe_psql($db, $exact . $q), $expected{$q}, "$how: indexed $q");
	}
	for my $index ('clicks_items_ip', 'shapes_cos', 'shapes_l2', 'shapes_ip')
	{
		my $bad = $node->safe_psql($db, "SELECT missing + duplicated + abs(heap_rows - index_entries) FROM irec_index_check('$index')");
		is($bad, '0', "$how: irec_index_check('$index') passes");
	}
	# the restored model serves, folds in and can be retrained and dropped
	is($node->safe_psql($db, "SELECT count(*) FROM irec_recommend('clicks', 11, n => 5)"), '5', "$how: serves");
	is($node->safe_psql($db, "SELECT dims(irec_fold_in('clicks', ARRAY[1, 2]))"), '8', "$how: folds in");
	# row security survives: alice cannot change the model clicks, and may change her own
	my ($rc, $out, $err) = $node->psql($db, "SET ROLE alice; DELETE FROM irec_models WHERE name = 'clicks'; SELECT count(*) FROM irec_models WHERE name = 'clicks'");
	is($out, '1', "$how: row security keeps another role's model");
	is($node->safe_psql($db, "SET ROLE alice; DELETE FROM irec_models WHERE name = 'plays'; SELECT count(*) FROM irec_model_gramians WHERE name = 'plays'"),
		'0', "$how: deleting a model deletes its Gramian");
}

my $dir = $PostgreSQL::Test::Utils::tmp_check;
my $port = $node->port;
my $host = $node->host;

command_ok([ 'pg_dump', '-h', $host, '-p', $port, '-Fc', '-f', "$dir/source.dump", 'source' ], 'pg_dump -Fc');
$node->safe_psql('postgres', 'CREATE DATABASE parallel_copy');
my ($stdout, $stderr);
my $ok = IPC::Run::run([ 'pg_restore', '-h', $host, '-p', $port, '--jobs', '2', '--exit-on-error',
	'-d', 'parallel_copy', "$dir/source.dump" ], '>', \$stdout, '2>', \$stderr);
ok($ok, 'pg_restore --jobs 2 succeeds');
is($stderr, '', 'pg_restore --jobs 2 reports nothing');
check_copy('parallel_copy', 'pg_restore --jobs 2');

command_ok([ 'pg_dump', '-h', $host, '-p', $port, '-f', "$dir/source.sql", 'source' ], 'pg_dump plain text');
$node->safe_psql('postgres', 'CREATE DATABASE plain_copy');
$ok = IPC::Run::run([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', $host, '-p', $port,
	'-d', 'plain_copy', '-f', "$dir/source.sql" ], '>', \$stdout, '2>', \$stderr);
ok($ok, 'plain dump restores with psql');
is($stderr, '', 'psql restore reports nothing');
check_copy('plain_copy', 'psql restore');

$node->stop;
done_testing();
