# A Citus worker that stops in the middle of an epoch of irec_train(engine
# => 'sql'): the training fails with an error that names the epoch and the
# half-step, the previous model (tables and registry row) is intact, no work
# table is left on any node, and once the worker is back the same training
# runs to its end.  Skipped when Citus is not installed.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $libdir = `pg_config --pkglibdir`;
chomp $libdir;
plan skip_all => 'Citus is not installed' unless -f "$libdir/citus.so";

my @nodes;
for my $name ('coordinator', 'worker1', 'worker2')
{
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'citus'
listen_addresses = '127.0.0.1'
max_connections = 100
citus.node_connection_timeout = '5s'
});
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION citus');
	push @nodes, $node;
}
my ($coordinator, $worker1, $worker2) = @nodes;
$coordinator->safe_psql('postgres', "SELECT citus_set_coordinator_host('127.0.0.1', " . $coordinator->port . ")");
$coordinator->safe_psql('postgres', "SELECT citus_add_node('127.0.0.1', " . $_->port . ")") for ($worker1, $worker2);
$coordinator->safe_psql('postgres', q{
	CREATE EXTENSION irec;
	SET citus.shard_count = 4;
	CREATE TABLE clicks (user_id int, item_id int);
	SELECT create_distributed_table('clicks', 'user_id');
	INSERT INTO clicks SELECT user_id, item_id FROM irec_synthetic(20000, 5000, 400000, seed => 3);
	SELECT irec_train('clicks', dims => 8, epochs => 2, engine => 'sql', quiet => true);
});
my $fingerprint = "SELECT md5(string_agg(user_id || ':' || embedding::text, ',' ORDER BY user_id)) FROM clicks_users";
my $registry = "SELECT dims || '/' || epochs || '/' || loss::text FROM irec_models WHERE name = 'clicks'";
my $before = $coordinator->safe_psql('postgres', $fingerprint);
my $before_row = $coordinator->safe_psql('postgres', $registry);
like($before_row, qr{^8/2/}, 'a model trained on Citus to begin with');

my ($stdout, $stderr) = ('', '');
my $h = IPC::Run::start(
	[ 'psql', '-X', '-q', '-d', $coordinator->connstr('postgres'), '-c',
	  "SELECT irec_train('clicks', dims => 32, epochs => 2000, engine => 'sql', quiet => true)" ],
	'>', \$stdout, '2>', \$stderr);
# wait until the epochs run (a worker has solved a shard at this training's
# dims: Citus keeps its connections, which show their last query), then
# stop a worker
$worker2->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND query LIKE '%irec_als_shard_step(a.shard, a.%, 32, %'")
  or die "the epochs did not start";
sleep 1;
$worker2->stop('immediate');
$h->finish;
isnt($h->result(0), 0, 'the training fails');
like($stderr, qr/ERROR:/, 'with an error');
like($stderr, qr/irec_train engine 'sql' on Citus, epoch \d+ of 2000, the (user|item) half-step/,
	'that names the epoch and the half-step');
note("the error: $stderr");

is($coordinator->safe_psql('postgres', $fingerprint), $before, "the previous model's embeddings are intact");
is($coordinator->safe_psql('postgres', $registry), $before_row, 'its registry row too');
is($coordinator->safe_psql('postgres', "SELECT count(*) FROM pg_class WHERE relname LIKE 'irec_sql%'"), '0',
	'no work table is left on the coordinator');
is($worker1->safe_psql('postgres', "SELECT count(*) FROM pg_class WHERE relname LIKE 'irec_sql%'"), '0',
	'nor on the worker that stayed');

$worker2->start;
is($worker2->safe_psql('postgres', "SELECT count(*) FROM pg_class WHERE relname LIKE 'irec_sql%'"), '0',
	'nor on the worker that stopped, once it is back');
$coordinator->safe_psql('postgres',
	"SELECT irec_train('clicks', dims => 8, epochs => 3, engine => 'sql', quiet => true)");
like($coordinator->safe_psql('postgres', $registry), qr{^8/3/}, 'with the worker back, the training runs to its end');
isnt($coordinator->safe_psql('postgres', $fingerprint), $before, 'and replaces the model');

$_->stop for @nodes;
done_testing();
