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
# the keys' entries are written row by row beside the whole heap pages:
# after the crash every row has its entry and nothing else (amcheck)
$node->safe_psql('postgres', "CREATE EXTENSION amcheck");
my $keys_ok = "SELECT bt_index_check('clicks_users_pkey', true)::text || bt_index_check('clicks_items_pkey', true)::text";
is($node->safe_psql('postgres', $keys_ok), '', 'the keys match their tables after a crash');

# integer keys are written bottom-up as whole pages: a model of about
# 110,000 users has a three-level key; after a crash it is intact (amcheck's
# parent check, every row found by descending from the root), lookups go
# through it, and it takes later inserts and refuses a duplicate
$node->safe_psql('postgres', "CREATE EXTENSION pageinspect");
$node->safe_psql('postgres',
	"CREATE TABLE wide AS SELECT user_id, item_id FROM irec_synthetic(120000, 300, 240000, seed => 5);
	 CHECKPOINT;
	 SELECT irec_train('wide', dims => 2, epochs => 1, quiet => true);");
my $wide = "SELECT md5(string_agg(user_id || ':' || embedding::text, ',' ORDER BY user_id)) FROM wide_users";
my $wide_trained = $node->safe_psql('postgres', $wide);
is($node->safe_psql('postgres', "SELECT level FROM bt_metap('wide_users_pkey')"), '2', 'a three-level key');
$node->stop('immediate');
$node->start;
is($node->safe_psql('postgres', $wide), $wide_trained, 'the wide model survives a crash after commit');
is($node->safe_psql('postgres',
	"SELECT bt_index_parent_check('wide_users_pkey', true, true)::text || bt_index_parent_check('wide_items_pkey', true, true)::text"),
	'', 'its keys pass the parent check after a crash');
is($node->safe_psql('postgres',
	"SET enable_seqscan = off; SET enable_bitmapscan = off;
	 SELECT count(*) FROM (SELECT DISTINCT user_id FROM wide) w WHERE EXISTS (SELECT 1 FROM wide_users u WHERE u.user_id = w.user_id)"),
	$node->safe_psql('postgres', "SELECT count(DISTINCT user_id) FROM wide"), 'every user is found by its key');
$node->safe_psql('postgres',
	"INSERT INTO wide_users SELECT -g, '[1,2]' FROM generate_series(1, 2000) g;
	 INSERT INTO wide_users SELECT 1000000 + g, '[1,2]' FROM generate_series(1, 2000) g;");
is($node->safe_psql('postgres', "SELECT bt_index_parent_check('wide_users_pkey', true, true)::text"), '',
	'the key takes inserts at both ends');
my ($rc, $out, $err) = $node->psql('postgres', "INSERT INTO wide_users SELECT user_id, embedding FROM wide_users WHERE user_id = 60000");
like($err, qr/duplicate key value violates unique constraint/, 'and refuses a duplicate id');
$node->stop;

# wal_level = minimal: no page images are logged, commit syncs the new
# files instead; a crash right after commit keeps tables and keys
my $minimal = PostgreSQL::Test::Cluster->new('crash_training_minimal');
$minimal->init;
$minimal->append_conf('postgresql.conf', "wal_level = minimal\nmax_wal_senders = 0");
$minimal->start;
$minimal->safe_psql('postgres', "CREATE EXTENSION irec; CREATE EXTENSION amcheck");
$minimal->safe_psql('postgres',
	"CREATE TABLE clicks AS SELECT user_id, item_id FROM irec_synthetic(20000, 5000, 600000, seed => 3);
	 CHECKPOINT;
	 SELECT irec_train('clicks', dims => 16, epochs => 1, quiet => true);");
my $minimal_trained = $minimal->safe_psql('postgres', $fingerprint);
$minimal->stop('immediate');
$minimal->start;
is($minimal->safe_psql('postgres', $fingerprint), $minimal_trained,
	'wal_level = minimal: the new model survives a crash after commit');
is($minimal->safe_psql('postgres', $keys_ok), '', 'wal_level = minimal: the keys match their tables');
is($minimal->safe_psql('postgres', "SET enable_seqscan = off; SELECT count(*) FROM clicks_users u WHERE user_id IN (SELECT user_id FROM clicks)"),
	$minimal->safe_psql('postgres', "SELECT count(DISTINCT user_id) FROM clicks"), 'wal_level = minimal: every user is found by its key');
$minimal->stop;
# a model table past one segment file (1 GB): its pages are written a
# batch at a time to the segment files, the first page of the second
# segment included; before a crash the rows read back by scan and by key,
# and recovery, which restores every page from its WAL image, leaves the
# same table (a page written to the wrong place would differ)
my $big = PostgreSQL::Test::Cluster->new('crash_training_segments');
$big->init(allows_streaming => 1);
$big->append_conf('postgresql.conf', "max_wal_size = 8GB\ncheckpoint_timeout = '1h'");
$big->start;
$big->safe_psql('postgres', "CREATE EXTENSION irec; CREATE EXTENSION amcheck");
$big->safe_psql('postgres',
	"CREATE TABLE rows2seg AS SELECT g AS user_id, g % 20 AS item_id FROM generate_series(1, 140000) g;
	 CHECKPOINT;
	 SELECT irec_train('rows2seg', dims => 1024, epochs => 1, algorithm => 'bpr', quiet => true);");
is($big->safe_psql('postgres', "SELECT pg_relation_size('rows2seg_users') > 1024 * 1024 * 1024 AND 140000 = (SELECT count(*) FROM rows2seg_users)"),
	't', 'a model table of two segment files, every row in it');
my $big_print = "SELECT sum(embedding_hash(embedding)::numeric * user_id) || '/' || count(*) FROM rows2seg_users";
my $big_keyed = "SET enable_seqscan = off; SET enable_bitmapscan = off;
	SELECT string_agg(user_id || ':' || embedding_hash(embedding), ',' ORDER BY user_id) FROM rows2seg_users
	 WHERE user_id IN (1, 131071, 131072, 131073, 131074, 140000)";
my $big_before = $big->safe_psql('postgres', $big_print);
my $big_keyed_before = $big->safe_psql('postgres', $big_keyed);
is($big->safe_psql('postgres', "SET enable_seqscan = off; SET enable_bitmapscan = off;
	SELECT sum(embedding_hash(embedding)::numeric * user_id) || '/' || count(*) FROM rows2seg_users WHERE user_id > 0"),
	$big_before, 'every row reads the same through its key as by scan');
is($big->safe_psql('postgres', "SELECT bt_index_check('rows2seg_users_pkey', true)::text"), '', 'the key matches the table');
$big->stop('immediate');
$big->start;
is($big->safe_psql('postgres', $big_print), $big_before, 'recovery from the page images leaves the same rows');
is($big->safe_psql('postgres', $big_keyed), $big_keyed_before, 'rows at the segment boundary are the same by key');
$big->stop;
done_testing();
