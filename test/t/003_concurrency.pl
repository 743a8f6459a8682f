# Several sessions inserting, deleting and querying one ipivf index at once;
# afterwards the index agrees with its table and exact scans stay exact.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('concurrency');
$node->init;
$node->start;
my $vec = "ARRAY(SELECT sin(i * 0.37 + j) + cos(i * 0.11 * j) FROM generate_series(1, 8) j WHERE i > 0)::real[]::embedding(8)";
$node->safe_psql('postgres', "CREATE EXTENSION irec");
$node->safe_psql('postgres',
	"CREATE TABLE t (id int, e embedding(8));
	 INSERT INTO t SELECT i, $vec FROM generate_series(1, 3000) i;
	 CREATE INDEX t_ivf ON t USING ipivf (e) WITH (lists = 15);
	 CREATE INDEX t_mod ON t USING ipivf (e, (id % 10)) WITH (lists = 15);
	 CREATE SEQUENCE ids START 100000;");

$node->pgbench(
	'--no-vacuum --client=6 --jobs=2 --transactions=300',
	0,
	[qr{processed: 1800/1800}],
	[qr{^$}],
	'inserts, deletes and index scans from six clients',
	{
		'001_insert' => "INSERT INTO t SELECT i, ARRAY(SELECT sin(i * 0.37 + j) + cos(i * 0.11 * j) FROM generate_series(1, 8) j WHERE i > 0)::real[]::embedding(8) FROM (SELECT nextval('ids')::int AS i FROM generate_series(1, 5)) s;",
		'002_query' => "SET enable_seqscan = off; SELECT id FROM t ORDER BY e <#> '[1,2,0,1,0,2,1,0]' LIMIT 10;",
		'003_filter' => "SET enable_seqscan = off; SELECT id FROM t WHERE id % 10 = 0 ORDER BY e <#> '[0,1,1,0,2,0,1,1]' LIMIT 10;",
		'004_delete' => "DELETE FROM t WHERE id = (random() * 3000)::int;",
	});
$node->safe_psql('postgres', 'VACUUM t');
is($node->safe_psql('postgres', "SELECT missing, duplicated, entries_not_visible FROM irec_index_check('t_ivf')"),
	'0|0|0', 'after the load the index holds every row once and nothing dead');
my $query = "SELECT string_agg(id::text, ',') FROM (SELECT id FROM t ORDER BY e <#> '[1,0,1,0,1,0,1,0]' LIMIT 100) s";
is($node->safe_psql('postgres', "SET irec.probes = 0; SET enable_seqscan = off; $query"),
	$node->safe_psql('postgres', "SET enable_indexscan = off; $query"),
	'exact index scan equals a sequential scan after the load');
# the filtered queries went through the index with the filter column, whose
# values moved with every insert and VACUUM
is($node->safe_psql('postgres', "SELECT missing, duplicated, entries_not_visible FROM irec_index_check('t_mod')"),
	'0|0|0', 'the index with a filter column holds every row once, with its values');
my $filtered = "SELECT string_agg(id::text, ',') FROM (SELECT id FROM t WHERE id % 10 = 0 ORDER BY e <#> '[1,0,1,0,1,0,1,0]' LIMIT 50) s";
like($node->safe_psql('postgres', "SET enable_seqscan = off; EXPLAIN (COSTS OFF) $filtered"),
	qr/Index Cond: \(\(id % 10\) = 0\)/, 'filtered queries take the filter column');
is($node->safe_psql('postgres', "SET irec.probes = 0; SET enable_seqscan = off; $filtered"),
	$node->safe_psql('postgres', "SET enable_indexscan = off; $filtered"),
	'an exact filtered scan equals a sequential scan after the load');
$node->stop;
done_testing();
