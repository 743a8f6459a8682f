#!/usr/bin/env bash
# The training curve as a picture: iALS (defaults from the data's shape,
# d = 64) on lastfm-2k's seeded 80/20 split (generated data of its shape
# when ../shared/data lacks it), 30 epochs with the held-out part as the
# validation table, loss and validation NDCG@20 per epoch, drawn with
# gnuplot into docs/plots/training_curve.png.  About 20 s.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/bench/common.sh
dpkg-query -W -f='${Status}' gnuplot-nox 2>/dev/null | grep -q "install ok installed" \
	|| { [ "$(id -u)" -eq 0 ] && apt-get install -y -qq gnuplot-nox >/dev/null || sudo apt-get install -y -qq gnuplot-nox >/dev/null; }
bench_start
if ! load_lastfm; then
	psql -c "CREATE TABLE lastfm AS SELECT * FROM irec_synthetic(1892, 17632, 92834, seed => 1)"
fi
plots=$(pwd)/docs/plots
mkdir -p "$plots"
curve=$(mktemp /tmp/irec-training-curve.XXXXXX)
psql -At -F $'\t' >"$curve" <<'SQL'
SET client_min_messages = warning;
SELECT count(*) FROM irec_split('lastfm', seed => 1) \g /dev/null
SELECT irec_train('lastfm_train', weight_column => 'weight', epochs => 30, validation => 'lastfm_test',
                  patience => 30, quiet => true) \g /dev/null
SELECT e, l, v FROM irec_models, unnest(loss, validation) WITH ORDINALITY AS t(l, v, e) WHERE name = 'lastfm_train';
SQL
gnuplot <<PLOT
set terminal pngcairo size 720,440 font ",10" noenhanced
set output "$plots/training_curve.png"
set title "iALS on lastfm-2k (d = 64, defaults from the data's shape; plot_training.sh)"
set xlabel "epoch"
set ylabel "training loss"
set y2label "validation NDCG@20"
set ytics nomirror
set logscale y
set y2tics
set key center right
set grid
set datafile separator "\t"
plot "$curve" using 1:2 axes x1y1 with linespoints pointtype 7 title "loss", \
     "$curve" using 1:3 axes x1y2 with linespoints pointtype 5 title "validation NDCG@20"
PLOT
cat "$curve" | awk -F'\t' 'NR == 1 || NR % 5 == 0 { printf "    epoch %d: loss %.0f, validation NDCG@20 %.4f\n", $1, $2, $3 }'
rm -f "$curve"
echo "plot: $plots/training_curve.png"
