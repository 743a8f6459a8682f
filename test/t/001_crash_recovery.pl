# Crash safety of the ipivf index: stop the server with 'immediate' in the
# middle of inserts, of VACUUM and of an index build; after recovery the
# index must agree with its table (irec_index_check) and answer exactly.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('crash');
$node->init;
$node->append_conf('postgresql.conf', "shared_buffers = 64MB\n");
$node->start;

sub vector_sql
{
	my ($id_expr) = @_;
	return "ARRAY(SELECT sin($id_expr * 0.37 + j) + cos($id_expr * 0.11 * j) FROM generate_series(1, 8) j WHERE $id_expr > 0)::real[]::embedding(8)";
}

$node->safe_psql('postgres', "CREATE EXTENSION irec");
$node->safe_psql('postgres',
	"CREATE TABLE t (id int, e embedding(8));
	 INSERT INTO t SELECT i, " . vector_sql('i') . " FROM generate_series(1, 3000) i;
	 CREATE INDEX t_ivf ON t USING ipivf (e) WITH (lists = 12);");

# the index and an exact sequential scan give the same top-50 for a query
sub agrees
{
	my ($q) = @_;
	my $query = "SELECT string_agg(id::text, ',') FROM (SELECT id FROM t ORDER BY e <#> " . vector_sql($q) . " LIMIT 50) s";
	my $by_index = $node->safe_psql('postgres',
		"SET irec.probes = 0; SET enable_seqscan = off; $query");
	my $by_scan = $node->safe_psql('postgres', "SET enable_indexscan = off; $query");
	return $by_index eq $by_scan;
}

sub check_index
{
	my ($label) = @_;
	my $row = $node->safe_psql('postgres',
		"SELECT missing, duplicated FROM irec_index_check('t_ivf')");
	is($row, '0|0', "$label: every row in the index exactly once");
	ok(agrees(7) && agrees(1234), "$label: index answers equal a sequential scan");
}

# 1. inserts: many small transactions, cut off by an immediate stop
my $inserts = join('', map { "INSERT INTO t SELECT i, " . vector_sql('i') . " FROM generate_series(" . (10000 + 50 * $_) . ", " . (10049 + 50 * $_) . ") i;\n" } 0 .. 400);
my ($stdout, $stderr) = ('', '');
my $script = $PostgreSQL::Test::Utils::tmp_check . '/inserts.sql';
PostgreSQL::Test::Utils::append_to_file($script, $inserts);
my $h = IPC::Run::start(
	[ 'psql', '-X', '-q', '-d', $node->connstr('postgres'), '-f', $script ],
	'>', \$stdout, '2>', \$stderr);
sleep 2;
$node->stop('immediate');
eval { $h->finish; };    # psql loses its server on purpose
$node->start;
my $count = $node->safe_psql('postgres', 'SELECT count(*) FROM t');
ok($count > 3000, "some inserts committed before the crash ($count rows)");
check_index('crash during inserts');

# 2. VACUUM after a big delete, cut off
$node->safe_psql('postgres', 'DELETE FROM t WHERE id % 3 = 0');
my $vacuum = IPC::Run::start(
	[ 'psql', '-X', '-q', '-d', $node->connstr('postgres'), '-c', 'VACUUM t' ],
	'>', \$stdout, '2>', \$stderr);
$node->stop('immediate');
eval { $vacuum->finish; };
$node->start;
check_index('crash during VACUUM');
$node->safe_psql('postgres', 'VACUUM t');
check_index('VACUUM after recovery');

# 3. an index build, cut off: the index must not exist half-built
$node->safe_psql('postgres', 'INSERT INTO t SELECT i, ' . vector_sql('i') . ' FROM generate_series(50000, 150000) i');
my $build = IPC::Run::start(
	[ 'psql', '-X', '-q', '-d', $node->connstr('postgres'), '-c', 'CREATE INDEX t_ivf2 ON t USING ipivf (e) WITH (lists = 300)' ],
	'>', \$stdout, '2>', \$stderr);
sleep 1;
$node->stop('immediate');
eval { $build->finish; };
$node->start;
my $exists = $node->safe_psql('postgres', "SELECT count(*) FROM pg_class WHERE relname = 't_ivf2'");
ok($exists eq '0' || $node->safe_psql('postgres', "SELECT missing FROM irec_index_check('t_ivf2')") eq '0',
	'an index build cut off by a crash leaves no half-built index');
check_index('first index after the interrupted build');

$node->stop;
done_testing();
