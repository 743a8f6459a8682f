# WAL replay of the ipivf index on a streaming standby, with every generic
# WAL record checked by wal_consistency_checking (as bloom and pgvector do).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "wal_consistency_checking = 'generic'\n");
$primary->start;
$primary->backup('backup');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'backup', has_streaming => 1);
$standby->start;

my $vec = "ARRAY(SELECT sin(i * 0.37 + j) + cos(i * 0.11 * j) FROM generate_series(1, 8) j WHERE i > 0)::real[]::embedding(8)";
$primary->safe_psql('postgres', "CREATE EXTENSION irec");
$primary->safe_psql('postgres',
	"CREATE TABLE t (id int, e embedding(8));
	 INSERT INTO t SELECT i, $vec FROM generate_series(1, 2000) i;
	 INSERT INTO t VALUES (0, NULL);
	 CREATE INDEX t_ivf ON t USING ipivf (e) WITH (lists = 10);
	 CREATE INDEX t_mod ON t USING ipivf (e, (id % 3)) WITH (lists = 10);");

my $query = "SET irec.probes = 0; SET enable_seqscan = off;
	SELECT string_agg(id::text, ',') FROM (SELECT id FROM t ORDER BY e <#> '[1,0,1,0,1,0,1,0]' LIMIT 100) s";

sub compare
{
	my ($label) = @_;
	$primary->wait_for_catchup($standby);
	my $on_primary = $primary->safe_psql('postgres', $query);
	my $on_standby = $standby->safe_psql('postgres', $query);
	is($on_standby, $on_primary, "$label: standby answers as the primary");
	is($standby->safe_psql('postgres', "SELECT missing, duplicated FROM irec_index_check('t_ivf')"),
		'0|0', "$label: standby's index holds every row once");
	# a filter column's values live in the pages' special space: replayed too
	my $filtered = "SET irec.probes = 0; SET enable_seqscan = off;
		SELECT string_agg(id::text, ',') FROM (SELECT id FROM t WHERE id % 3 = 1 ORDER BY e <#> '[1,0,1,0,1,0,1,0]' LIMIT 100) s";
	is($standby->safe_psql('postgres', $filtered), $primary->safe_psql('postgres', $filtered),
		"$label: standby answers a filtered query as the primary");
	is($standby->safe_psql('postgres', "SELECT missing, duplicated FROM irec_index_check('t_mod')"),
		'0|0', "$label: standby's filtered index holds every row once, with its values");
}

compare('after build');
for my $round (1 .. 4)
{
	my $first = 2000 * $round + 1;
	my $last = 2000 * ($round + 1);
	$primary->safe_psql('postgres', "DELETE FROM t WHERE id % 5 = $round");
	$primary->safe_psql('postgres', 'VACUUM t');
	$primary->safe_psql('postgres', "INSERT INTO t SELECT i, $vec FROM generate_series($first, $last) i");
	$primary->safe_psql('postgres', "INSERT INTO t VALUES ($last + 1, NULL)");
	compare("round $round of delete, vacuum, insert");
}
# an index on an empty table, filled on the primary: lists form in WAL too
$primary->safe_psql('postgres',
	"CREATE TABLE u (id int, e embedding(8)); CREATE INDEX u_ivf ON u USING ipivf (e);
	 INSERT INTO u SELECT id, e FROM t WHERE id <= 500;");
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', "SELECT missing, duplicated FROM irec_index_check('u_ivf')"),
	'0|0', 'lazily formed lists replay');

# a trained model's tables are written as whole pages (full-page WAL
# records, no shared buffers): the standby holds the same rows, in line
# (dims 8) and TOASTed (dims 2048)
for my $dims (8, 2048)
{
	$primary->safe_psql('postgres',
		"CREATE TABLE IF NOT EXISTS clicks AS SELECT user_id, item_id FROM irec_synthetic(300, 200, 3000, seed => 5);
		 SELECT irec_train('clicks', model => 'm$dims', dims => $dims, epochs => 1, quiet => true);");
	$primary->wait_for_catchup($standby);
	for my $side ('users', 'items')
	{
		my $fingerprint = "SELECT count(*) || ':' || md5(string_agg(embedding::text, ',' ORDER BY 1))
			FROM m${dims}_$side";
		is($standby->safe_psql('postgres', $fingerprint), $primary->safe_psql('postgres', $fingerprint),
			"dims $dims: the standby's $side table equals the primary's");
	}
	is($standby->safe_psql('postgres', "SET enable_seqscan = off; SELECT count(*) FROM m${dims}_items WHERE item_id = 7"),
		'1', "dims $dims: the standby's primary key finds a row");
}

$standby->stop;
$primary->stop;
done_testing();
