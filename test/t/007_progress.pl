# irec_progress(): a running training seen from another connection (irec in
# shared_preload_libraries): epoch, loss, validation score, phase, elapsed
# and estimated seconds left; other roles do not see it; a cancelled
# training disappears.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('progress');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'irec'");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION irec;
	CREATE ROLE outsider LOGIN;
	CREATE TABLE clicks AS SELECT user_id, item_id FROM irec_synthetic(20000, 5000, 400000, seed => 3);
	SELECT count(*) FROM irec_split('clicks', seed => 1);
});
is($node->safe_psql('postgres', 'SELECT count(*) FROM irec_progress()'), '0', 'nothing runs: no rows');

my ($stdout, $stderr) = ('', '');
my $h = IPC::Run::start(
	[ 'psql', '-X', '-q', '-d', $node->connstr('postgres'), '-c',
	  "SELECT irec_train('clicks_train', dims => 64, epochs => 400, validation => 'clicks_test', patience => 400, quiet => true)" ],
	'>', \$stdout, '2>', \$stderr);
ok($node->poll_query_until('postgres', 'SELECT count(*) > 0 FROM irec_progress() WHERE epoch >= 2'),
	'the training shows up with epochs done');
my $row = $node->safe_psql('postgres', q{
	SELECT concat_ws('|', model, algorithm, phase, epochs, loss > 0, validation > 0 AND validation <= 1,
	                 elapsed_seconds > 0, seconds_left > 0, pid = (SELECT pid FROM pg_stat_activity WHERE query LIKE 'SELECT irec_train(%'))
	  FROM irec_progress()});
is($row, 'clicks_train|ials|training|400|t|t|t|t|t', 'model, algorithm, phase, planned epochs, loss, validation, times, pid');
my $e1 = $node->safe_psql('postgres', 'SELECT epoch FROM irec_progress()');
sleep 1;
my $e2 = $node->safe_psql('postgres', 'SELECT epoch FROM irec_progress()');
cmp_ok($e2, '>', $e1, 'the epoch count advances');
is($node->safe_psql('postgres', 'SET ROLE outsider; SELECT count(*) FROM irec_progress()'), '0',
	'another role does not see the training');
$node->safe_psql('postgres', "SELECT pg_cancel_backend(pid) FROM irec_progress()");
eval { $h->finish; };
like($stderr, qr/canceling statement due to user request/, 'the training was cancelled');
is($node->safe_psql('postgres', 'SELECT count(*) FROM irec_progress()'), '0', 'a cancelled training disappears');
is($node->safe_psql('postgres', "SELECT count(*) FROM irec_models WHERE name = 'clicks_train'"), '0',
	'and leaves no model');

# a finished training disappears too
$node->safe_psql('postgres', "SELECT irec_train('clicks_train', dims => 8, epochs => 2, quiet => true)");
is($node->safe_psql('postgres', 'SELECT count(*) FROM irec_progress()'), '0', 'a finished training disappears');
$node->stop;
done_testing();
