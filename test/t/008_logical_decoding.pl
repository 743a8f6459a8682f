# Under wal_level = logical a trained model's rows are heap inserts that
# logical decoding sees (the whole-page writer is for the other levels,
# whose page images decoding does not read).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('logical');
$node->init(allows_streaming => 'logical');
$node->start;
$node->safe_psql('postgres',
	"CREATE EXTENSION irec;
	 CREATE TABLE clicks AS SELECT user_id, item_id FROM irec_synthetic(300, 200, 3000, seed => 5);
	 SELECT pg_create_logical_replication_slot('s', 'test_decoding');");
$node->safe_psql('postgres', "SELECT irec_train('clicks', dims => 8, epochs => 1, quiet => true)");
my $decoded = $node->safe_psql('postgres',
	"SELECT count(*) FROM pg_logical_slot_get_changes('s', NULL, NULL)
	  WHERE data LIKE 'table public.clicks_items: INSERT:%'");
is($decoded, $node->safe_psql('postgres', "SELECT count(*) FROM clicks_items"),
	'every item row is decoded as an insert');
isnt($decoded, '0', 'the model has item rows');
$node->stop;
done_testing();
