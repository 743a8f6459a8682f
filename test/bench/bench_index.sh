#!/usr/bin/env bash
# The index benchmark: ../shared/bench/gen_vectors.py's 1,000,000 item
# embeddings (64 dims) and 1,000 queries with exact top-20 ground truth.
# Builds the ipivf index with its defaults, then measures recall@20 and the
# median and 95th percentile of ms per query at several probes settings and
# exact, next to an exact sequential scan in the same run, unfiltered and
# with filters keeping 90% and 10% of the rows (the 10% one also through an
# index with `id % 10` as its filter column); and, when pgvector is
# installed in the server, its HNSW index (m 16, ef_construction 64,
# ef_search 20 to 400) on the same data in the same run.  The server gets
# shared_buffers = 2GB, so that the table and both indexes stay in it.
#   bash test/bench/bench_index.sh [data-dir]   (data generated when missing; ~10 min)
# A data dir made by gen_vectors.py with other --n, --d or --seed works too:
# the dims come from its items.npy, and the plot of any shape but the
# standard 1,000,000 × 64 goes into the data dir, not docs/plots.
set -euo pipefail
cd "$(dirname "$0")/../.."
data=${1:-/tmp/irec-index-bench}
. test/deps.sh
. test/cluster.sh
irec_install_deps
for pkg in python3-numpy gnuplot-nox; do
	dpkg-query -W -f='${Status}' $pkg 2>/dev/null | grep -q "install ok installed" \
		|| { [ "$(id -u)" -eq 0 ] && apt-get install -y -qq $pkg >/dev/null || sudo apt-get install -y -qq $pkg >/dev/null; }
done
make -s >/dev/null && make -s install >/dev/null
if [ ! -f "$data/gt_sel10.npy" ]; then
	mkdir -p "$data"
	/usr/bin/python3 ../shared/bench/gen_vectors.py --out "$data"
fi
/usr/bin/python3 - "$data" <<'PY'
import sys, numpy as np
d = sys.argv[1]
for name in ('gt', 'gt_filt', 'gt_sel10'):
    with open(f'{d}/{name}.tsv', 'w') as f:
        for q, row in enumerate(np.load(f'{d}/{name}.npy')):
            f.write('%d\t{%s}\n' % (q + 1, ','.join(str(int(x)) for x in row)))
PY
chmod -R a+rX "$data"
read -r n_items dims < <(/usr/bin/python3 -c "import numpy as np, sys; print(*np.load(sys.argv[1], mmap_mode='r').shape)" "$data/items.npy")
trap irec_cluster_stop EXIT
IREC_SHARED_BUFFERS=2GB irec_cluster_start
plots=$(pwd)/docs/plots
[ "$n_items $dims" = "1000000 64" ] || plots=$data
mkdir -p "$plots"
curve=$(mktemp /tmp/irec-index-curve.XXXXXX)
touch "$curve.hnsw"
chmod a+rw "$curve" "$curve.hnsw"
command psql -X -q -v ON_ERROR_STOP=1 -d postgres -v data="$data" -v curve="$curve" -v dims="$dims" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION irec;
CREATE TABLE items (id int PRIMARY KEY, e embedding(:dims));
CREATE TABLE queries (qid int PRIMARY KEY, e embedding(:dims));
CREATE TABLE gt (qid int, ids int[]);
CREATE TABLE gt_filt (qid int, ids int[]);
CREATE TABLE gt_sel10 (qid int, ids int[]);
SELECT format('COPY items FROM %L', :'data' || '/items.tsv') \gexec
SELECT format('COPY queries FROM %L', :'data' || '/queries.tsv') \gexec
SELECT format('COPY gt FROM %L', :'data' || '/gt.tsv') \gexec
SELECT format('COPY gt_filt FROM %L', :'data' || '/gt_filt.tsv') \gexec
SELECT format('COPY gt_sel10 FROM %L', :'data' || '/gt_sel10.tsv') \gexec
VACUUM ANALYZE items;
SET maintenance_work_mem = '512MB';
CREATE FUNCTION seconds(sql text) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE t timestamptz := clock_timestamp();
BEGIN EXECUTE sql; RETURN round(extract(epoch FROM clock_timestamp() - t)::numeric, 2); END $$;
SELECT seconds('CREATE INDEX items_ivf ON items USING ipivf (e)') AS build_seconds \gset
SELECT 'CREATE INDEX ... USING ipivf (' || (SELECT lists FROM irec_index_check('items_ivf')) || ' lists)' AS build,
       :build_seconds AS seconds,
       pg_size_pretty(pg_relation_size('items_ivf')) AS index_size,
       pg_size_pretty(pg_relation_size('items')) AS table_size;
-- nq queries against items<suffix> after the knob (a SET LOCAL), with recall
-- against the truth table and the median and 95th percentile of each
-- query's own time; bench() for ipivf (NULL probes: no index), bench_hnsw()
-- below for pgvector
CREATE FUNCTION run_queries(knob text, suffix text, nq int, filter text, truth text)
RETURNS TABLE (recall numeric, ms numeric, p95 numeric, short int) LANGUAGE plpgsql AS $$
DECLARE t timestamptz; hits bigint := 0; r record; got int[]; times float8[] := '{}';
BEGIN
  EXECUTE knob;
  FOR r IN EXECUTE format('SELECT q.e, g.ids FROM %I q JOIN %I g USING (qid) ORDER BY qid LIMIT %s', 'queries' || suffix, truth, nq) LOOP
    t := clock_timestamp();
    EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM %I WHERE %s ORDER BY e <#> $1 LIMIT 20) s', 'items' || suffix, filter)
      INTO got USING r.e;
    times := times || extract(epoch FROM clock_timestamp() - t) * 1000;
    hits := hits + (SELECT count(*) FROM unnest(got) x WHERE x = ANY (r.ids));
    -- a query that returned fewer than its LIMIT of rows
    short := coalesce(short, 0) + (coalesce(array_length(got, 1), 0) < 20)::int;
  END LOOP;
  recall := round(hits::numeric / (20 * nq), 4);
  SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY x)::numeric, 2),
         round(percentile_cont(0.95) WITHIN GROUP (ORDER BY x)::numeric, 2)
    INTO ms, p95 FROM unnest(times) x;
  RETURN NEXT;
END $$;
CREATE FUNCTION bench(probes int, nq int, filter text, truth text) RETURNS TABLE (recall numeric, ms numeric, p95 numeric, short int)
LANGUAGE sql AS $$
  SELECT * FROM run_queries(CASE WHEN probes IS NULL THEN 'SET LOCAL enable_indexscan = off'
                                 ELSE format('SET LOCAL irec.probes = %s', probes) END, '', nq, filter, truth)
$$;
CREATE TABLE results (setting text, filter text, recall numeric, ms numeric, p95 numeric, short int);
-- the default probes (-1: 1.5% of the lists, at least 64, or fewer where
-- the build measured that fewer suffice), said as a number
SELECT probes AS auto_probes FROM irec_index_check('items_ivf') \gset
INSERT INTO results SELECT 'seq scan (exact)', 'none', * FROM bench(NULL, 20, 'true', 'gt');
INSERT INTO results SELECT 'exact (probes 0)', 'none', * FROM bench(0, 100, 'true', 'gt');
INSERT INTO results SELECT 'probes ' || p || CASE WHEN p = :auto_probes THEN ' (default)' ELSE '' END, 'none', b.*
  FROM (SELECT DISTINCT p FROM unnest(ARRAY[16, 32, 48, 64, :auto_probes, 96, 160]) p) ps, bench(p, 1000, 'true', 'gt') b;
INSERT INTO results SELECT 'seq scan (exact)', 'id % 10 <> 0', * FROM bench(NULL, 20, 'id % 10 <> 0', 'gt_filt');
INSERT INTO results SELECT 'probes ' || :auto_probes || ' (default)', 'id % 10 <> 0', * FROM bench(-1, 1000, 'id % 10 <> 0', 'gt_filt');
INSERT INTO results SELECT 'seq scan (exact)', 'id % 10 = 0', * FROM bench(NULL, 20, 'id % 10 = 0', 'gt_sel10');
INSERT INTO results SELECT 'exact (probes 0)', 'id % 10 = 0', * FROM bench(0, 100, 'id % 10 = 0', 'gt_sel10');
INSERT INTO results SELECT 'probes ' || :auto_probes || ' (default)', 'id % 10 = 0', * FROM bench(-1, 1000, 'id % 10 = 0', 'gt_sel10');
-- the same filter as the index's own filter column (an expression here, a
-- category column in an application): the scan skips the rows that fail it
-- inside the lists; built, measured and dropped, so no other row uses it
SELECT seconds('CREATE INDEX items_ivf_mod ON items USING ipivf (e, (id % 10))') AS filter_build_seconds \gset
SELECT 'CREATE INDEX ... USING ipivf (e, (id % 10))' AS build, :filter_build_seconds AS seconds,
       pg_size_pretty(pg_relation_size('items_ivf_mod')) AS index_size;
INSERT INTO results SELECT 'probes ' || :auto_probes || ' (default), filter column', 'id % 10 = 0', * FROM bench(-1, 1000, 'id % 10 = 0', 'gt_sel10');
DROP INDEX items_ivf_mod;
-- pgvector's HNSW side by side, when pgvector is installed in this server
-- (docs/ipivf.md: built from its public source, never part of this repository)
SELECT count(*) > 0 AS have_pgvector FROM pg_available_extensions WHERE name = 'vector' \gset
\if :have_pgvector
CREATE EXTENSION vector;
CREATE TABLE items_v (id int PRIMARY KEY, e vector(:dims));
INSERT INTO items_v SELECT id, e::text::vector FROM items;
CREATE TABLE queries_v (qid int PRIMARY KEY, e vector(:dims));
INSERT INTO queries_v SELECT qid, e::text::vector FROM queries;
VACUUM ANALYZE items_v;
SET maintenance_work_mem = '2GB';
SET max_parallel_maintenance_workers = 1;
SELECT seconds('CREATE INDEX items_hnsw ON items_v USING hnsw (e vector_ip_ops) WITH (m = 16, ef_construction = 64)')
       AS hnsw_seconds \gset
SELECT 'CREATE INDEX ... USING hnsw (m 16, ef_construction 64), pgvector ' || extversion AS build,
       :hnsw_seconds AS seconds, pg_size_pretty(pg_relation_size('items_hnsw')) AS index_size,
       pg_size_pretty(pg_relation_size('items_v')) AS table_size
  FROM pg_extension WHERE extname = 'vector';
CREATE FUNCTION bench_hnsw(ef int, nq int, filter text, truth text) RETURNS TABLE (recall numeric, ms numeric, p95 numeric, short int)
LANGUAGE sql AS $$
  SELECT * FROM run_queries(format('SET LOCAL hnsw.ef_search = %s', ef), '_v', nq, filter, truth)
$$;
INSERT INTO results SELECT 'hnsw ef_search ' || ef, 'none', b.* FROM unnest(ARRAY[20, 40, 80, 160, 400]) ef, bench_hnsw(ef, 1000, 'true', 'gt') b;
INSERT INTO results SELECT 'hnsw ef_search 40', 'id % 10 = 0', * FROM bench_hnsw(40, 1000, 'id % 10 = 0', 'gt_sel10');
\endif
SELECT r.setting, r.filter, r.recall AS "recall@20", r.ms AS median_ms, r.p95 AS p95_ms, r.short AS short_answers,
       round(s.ms / r.ms, 1) AS speedup_vs_seq_scan
  FROM results r JOIN results s ON s.filter = r.filter AND s.setting = 'seq scan (exact)'
 ORDER BY r.filter, r.ms DESC;
-- the recall-latency curves, for the plot: probes settings, then exact and
-- the seq scan; HNSW's ef_search settings in a file of their own
SELECT format('COPY (SELECT ms, recall, setting FROM results WHERE filter = ''none'' AND setting NOT LIKE ''hnsw%%'' '
              'ORDER BY setting LIKE ''probes%%'' DESC, ms) TO %L', :'curve') \gexec
SELECT format('COPY (SELECT ms, recall, setting FROM results WHERE filter = ''none'' AND setting LIKE ''hnsw%%'' '
              'ORDER BY ms) TO %L', :'curve' || '.hnsw') \gexec
SQL
hnsw_plot=""
if [ -s "$curve.hnsw" ]; then
	hnsw_plot=", \"$curve.hnsw\" using 1:2 with linespoints pointtype 9 title \"pgvector HNSW (m 16, ef_construction 64), ef_search 20 … 400\", \"$curve.hnsw\" using 1:2:(substr(strcol(3), 16, 20)) with labels offset 0,-1 notitle"
fi
gnuplot <<PLOT
set terminal pngcairo size 720,440 font ",10" noenhanced
set output "$plots/index_recall_latency.png"
set title "$(echo "$n_items" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta') × $dims items, top 20 by inner product (bench_index.sh)"
set xlabel "median ms per query (log scale)"
set ylabel "recall@20"
set logscale x
set key right center
set datafile separator "\t"
set grid
plot "< grep -v exact $curve" using 1:2 with linespoints pointtype 7 title "ipivf, probes 16 … 160", \
     "< grep -v exact $curve" using 1:2:(substr(strcol(3), 8, 10)) with labels offset 0,1 notitle, \
     "< grep 'exact (probes' $curve" using 1:2:3 with labels point pointtype 5 right offset -1,-1 notitle, \
     "< grep 'seq scan' $curve" using 1:2:3 with labels point pointtype 5 left offset 1,-1 notitle$hnsw_plot
PLOT
rm -f "$curve" "$curve.hnsw"
echo "plot: $plots/index_recall_latency.png"
