#!/usr/bin/env bash
# iALS training speed against benfred/implicit, same data, same run.
# Data: generated, Gowalla-shaped (29,858 users × 40,981 items, about 810k
# interactions, binary).  Both train CG with 3 steps on both cores, 16
# epochs up to dims 512 and 4 beyond: irec at dims 64 … 2048
# (IREC_TRAIN_DIMS) through irec_train in a fresh backend each, and once
# more at dims 1024 on the same shape with 1.03M interactions; implicit at
# dims 64 … 512 (IREC_TRAIN_IMPLICIT_DIMS), its AlternatingLeastSquares
# (use_cg, cg_steps 3, 2 OpenMP threads, BLAS on one thread) when
# /usr/bin/python3 can import it.  Prints one table: s/epoch (irec's
# includes its per-epoch loss), the epoch's share of this machine's sgemm
# peak (OpenBLAS, square 2048, both cores, measured in the same run) on the
# solver's flop count: per side Σ_rows (steps + 1)·(2d² + 4·nnz_row·d) and
# the Gramian the other side solves against, n·d·(d + 1) (ssyrk's count),
# irec's load and write rates with PostgreSQL's own bulk write of the same
# rows (CREATE TABLE AS and a unique index) beside them, and the backend's
# peak resident memory (VmHWM; implicit's: the Python process's, loading
# included).  Each write (irec's, the baseline's) follows a CHECKPOINT, so
# that its WAL goes into recycled segments, as on a server in steady state,
# and the OS's sync, so that no writeback of earlier data runs beside it.
# Draws docs/plots/train_seconds_per_epoch.png.  About 15 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/bench/common.sh
dpkg-query -W -f='${Status}' gnuplot-nox 2>/dev/null | grep -q "install ok installed" \
	|| { [ "$(id -u)" -eq 0 ] && apt-get install -y -qq gnuplot-nox >/dev/null || sudo apt-get install -y -qq gnuplot-nox >/dev/null; }
dims_list=${IREC_TRAIN_DIMS:-64 128 256 512 1024 2048}
# set and empty: no implicit runs
implicit_dims=${IREC_TRAIN_IMPLICIT_DIMS-64 128 256 512}
peak=$(bash test/bench/run_core.sh --peak)
bench_start
work=$(mktemp -d /tmp/irec-bench-train.XXXXXX)
chmod 755 "$work"
psql <<'SQL'
SET client_min_messages = warning;
CREATE TABLE gowalla AS SELECT user_id, item_id FROM irec_synthetic(29858, 40981, 810128, seed => 11);
-- the same shape with 1.03M interactions, for the dims 1024 row on a million
CREATE TABLE gowalla_1m AS SELECT user_id, item_id FROM irec_synthetic(29858, 40981, 1027370, seed => 11);
CREATE TABLE results (system text, data text, dims int, s_per_epoch float8, gflops float8,
                      load_rows_per_s float8, write_rows_per_s float8, ctas_rows_per_s float8,
                      peak_mb float8);
SQL
psql -c "\\copy gowalla TO '$work/gowalla.csv' WITH (FORMAT csv)"

# epochs: 16 up to dims 512, 4 beyond (s/epoch is what is compared)
epochs_for() { if [ "$1" -le 512 ]; then echo 16; else echo 4; fi; }

train_irec() {
	local data=$1 d=$2 epochs
	epochs=$(epochs_for "$d")
	# a fresh backend per training, so that VmHWM is this training's; then
	# PostgreSQL's own bulk write of the same rows (CREATE TABLE AS and a
	# unique index) as the baseline for irec's writing
	psql -At <<SQL
SET client_min_messages = warning;
-- the table read once first, so that every training loads it from shared
-- buffers (the 1.03M table is read once, after trainings that filled them)
SELECT count(*) FROM $data \\g /dev/null
-- a checkpoint before each write (irec's and the baseline's), so that WAL
-- goes into recycled segments as on a server in steady state; in a fresh
-- cluster every 16 MB segment is zero-filled first (wal_init_zero); then
-- the OS's sync, so that the kernel is not writing back earlier data (the
-- tables just generated, the previous model) while the write is timed
CHECKPOINT;
\\! sync
SELECT irec_train('$data', model => 'm$d', dims => $d, epochs => $epochs, solver => 'cg',
                  cg_steps => 3, quiet => true) \\g /dev/null
SELECT substring(pg_read_file('/proc/self/status') FROM 'VmHWM:\\s+(\\d+)')::float8 / 1024 AS peak_mb \\gset
CHECKPOINT;
\\! sync
SELECT clock_timestamp() AS t0 \\gset
CREATE TABLE copy_users AS SELECT * FROM m${d}_users;
CREATE UNIQUE INDEX ON copy_users (user_id);
CREATE TABLE copy_items AS SELECT * FROM m${d}_items;
CREATE UNIQUE INDEX ON copy_items (item_id);
SELECT extract(epoch FROM clock_timestamp() - :'t0') AS ctas_seconds \\gset
DROP TABLE copy_users, copy_items;
INSERT INTO results
SELECT 'irec', '$data', dims, train_seconds / epochs,
       -- the solver's flops: per side Σ_rows (3 + 1)·(2d² + 4·nnz_row·d),
       -- and the side's Gramian, n·d·(d + 1)
       epochs * (4.0 * (2.0 * dims * dims * (n_users + n_items) + 8.0 * n_interactions * dims)
                 + (n_users + n_items) * dims * (dims + 1.0))
         / train_seconds / 1e9,
       (SELECT count(*) FROM $data) / load_seconds,
       (n_users + n_items) / write_seconds,
       (n_users + n_items) / :ctas_seconds,
       :peak_mb
  FROM irec_models WHERE name = 'm$d';
DROP TABLE m${d}_users, m${d}_items;
DELETE FROM irec_models WHERE name = 'm$d';
SQL
}
for d in $dims_list; do
	train_irec gowalla "$d"
done
case " $dims_list " in *" 1024 "*) train_irec gowalla_1m 1024 ;; esac

if /usr/bin/python3 -c "import implicit, scipy, threadpoolctl" 2>/dev/null; then
	for d in $implicit_dims; do
		OPENBLAS_NUM_THREADS=1 /usr/bin/python3 - "$work/gowalla.csv" "$d" "$(epochs_for "$d")" >>"$work/implicit.tsv" <<'PY'
import resource, sys, time
import numpy as np, scipy.sparse as sp
from threadpoolctl import threadpool_limits
import implicit
from implicit.cpu.als import AlternatingLeastSquares
path, d, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ui = np.loadtxt(path, delimiter=",", dtype=np.int64)
users = np.unique(ui[:, 0], return_inverse=True)[1]
items = np.unique(ui[:, 1], return_inverse=True)[1]
m = sp.csr_matrix((np.ones(len(ui), dtype=np.float32), (users, items)))
m.sum_duplicates()
m.data[:] = 1.0
with threadpool_limits(1, "blas"):
    model = AlternatingLeastSquares(factors=d, regularization=0.01, alpha=1.0, iterations=epochs,
                                    use_cg=True, calculate_training_loss=False,
                                    num_threads=2, random_state=42)
    model.cg_steps = 3  # its default, said here: the constructor does not take it
    t = time.perf_counter()
    model.fit(m, show_progress=False)
    seconds = time.perf_counter() - t
rows = m.shape[0] + m.shape[1]
flops = epochs * (4.0 * (2.0 * d * d * rows + 8.0 * m.nnz * d) + rows * d * (d + 1.0))
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"implicit {implicit.__version__}\tgowalla\t{d}\t{seconds / epochs}\t{flops / seconds / 1e9}\t\t\t\t{peak_mb}")
PY
	done
	[ ! -s "$work/implicit.tsv" ] || psql -c "\\copy results FROM '$work/implicit.tsv' WITH (FORMAT text, NULL '')"
else
	echo "implicit is not importable by /usr/bin/python3: irec only (docs/benchmarks.md says how to build it)"
fi

echo "sgemm peak (OpenBLAS, 2048 square, all cores): $peak GFLOP/s"
psql <<SQL
SELECT r.system, CASE r.data WHEN 'gowalla' THEN '810k' ELSE '1.03M' END AS interactions, r.dims,
       round(r.s_per_epoch::numeric, 3) AS s_per_epoch,
       round((r.s_per_epoch / i.s_per_epoch)::numeric, 2) AS vs_implicit,
       round(r.gflops::numeric, 1) AS gflops, round((100 * r.gflops / $peak)::numeric) AS pct_sgemm_peak,
       round((r.load_rows_per_s / 1e6)::numeric, 2) AS load_mrows_per_s,
       round((r.write_rows_per_s / 1e6)::numeric, 3) AS write_mrows_per_s,
       round((r.ctas_rows_per_s / 1e6)::numeric, 3) AS ctas_mrows_per_s,
       round(r.peak_mb::numeric) AS peak_mb
  FROM results r LEFT JOIN results i ON i.system LIKE 'implicit%' AND i.dims = r.dims AND i.data = r.data
 ORDER BY r.data DESC, r.dims, r.system DESC;
SQL
psql -At -F ' ' -c "SELECT dims, s_per_epoch FROM results WHERE system = 'irec' AND data = 'gowalla' ORDER BY dims" >"$work/irec.dat"
psql -At -F ' ' -c "SELECT dims, s_per_epoch FROM results WHERE system LIKE 'implicit%' ORDER BY dims" >"$work/implicit.dat"
plots=$(pwd)/docs/plots
mkdir -p "$plots"
gnuplot <<PLOT
set terminal pngcairo size 720,440 font ",10" noenhanced
set output "$plots/train_seconds_per_epoch.png"
set title "iALS (CG, 3 steps), 810k interactions, 2 cores (bench_train.sh)"
set xlabel "dims"
set ylabel "seconds per epoch"
set logscale xy
set xtics (64, 128, 256, 512, 1024, 2048)
set key top left
set grid
plot "$work/irec.dat" using 1:2 with linespoints lw 2 pt 7 title "irec"$(
	[ -s "$work/implicit.dat" ] && printf '%s' ", \"$work/implicit.dat\" using 1:2 with linespoints lw 2 pt 5 title \"implicit\"")
PLOT
echo "plot: $plots/train_seconds_per_epoch.png"
rm -rf "$work"
