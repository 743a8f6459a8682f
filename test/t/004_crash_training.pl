# A server crash in the middle of irec_train: after recovery the previous
# model (tables and registry row) is exactly as it was.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('crash_training');
$node->init;
$node->start;
$node->safe_psql('postgres', "CREATE EXTENSION irec");
$node->safe_psql('postgres',
	"CREATE TABLE clicks AS SELECT user_id, item_id FROM irec_synthetic(20000, 5000, 600000, seed => 3);
	 SELECT irec_train('clicks', dims => 8, epochs => 2, quiet => true);");
my $fingerprint = "SELECT md5(string_agg(user_id || ':' || embedding::text, ',' ORDER BY user_id)) FROM clicks_users";
my $registry = "SELECT dims || '/' || epochs || '/' || loss::text FROM irec_models WHERE name = 'clicks'";
my $before = $node->safe_psql('postgres', $fingerprint);
my $before_row = $node->safe_psql('postgres', $registry);

for my $engine ('memory', 'sql')
{
	my ($stdout, $stderr) = ('', '');
	my $h = IPC::Run::start(
		[ 'psql', '-X', '-q', '-d', $node->connstr('postgres'), '-c',
		  "SELECT irec_train('clicks', dims => 64, epochs => 500, engine => '$engine', quiet => true)" ],
		'>', \$stdout, '2>', \$stderr);
	# wait until the training runs, then crash the server under it
	$node->poll_query_until('postgres',
		"SELECT count(*) > 0 FROM pg_stat_activity WHERE query LIKE 'SELECT irec_train(''clicks'', dims => 64%' AND state = 'active'")
	  or die "training did not start";
	sleep 1;
	$node->stop('immediate');
	eval { $h->finish; };
	$node->start;
	is($node->safe_psql('postgres', $fingerprint), $before, "$engine engine: the previous model's embeddings survive a crash");
	is($node->safe_psql('postgres', $registry), $before_row, "$engine engine: the registry row survives");
	is($node->safe_psql('postgres', "SELECT count(*) FROM pg_class WHERE relname LIKE 'irec_sql%'"), '0',
		"$engine engine: no work tables are left behind");
}
# a finished training survives a crash before any checkpoint: its tables'
# pages come back from WAL
$node->safe_psql('postgres', "CHECKPOINT");
$node->safe_psql('postgres', "SELECT irec_train('clicks', dims => 16, epochs => 1, quiet => true)");
my $trained = $node->safe_psql('postgres', $fingerprint);
isnt($trained, $before, 'a new model was trained');
$node->stop('immediate');
$node->start;
is($node->safe_psql('postgres', $fingerprint), $trained, 'the new model survives a crash after commit');
is($node->safe_psql('postgres', "SELECT count(*) FROM clicks_items"),
	$node->safe_psql('postgres', "SELECT count(DISTINCT item_id) FROM clicks"), 'every item row is back');
$node->stop;
done_testing();
