#!/usr/bin/env bash
# bench_sgd.sh --samplers (see there): sampled softmax's samplers side by
# side, one table and docs/plots/samplers_ndcg_time.png.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/bench/common.sh
dpkg-query -W -f='${Status}' gnuplot-nox 2>/dev/null | grep -q "install ok installed" \
	|| { [ "$(id -u)" -eq 0 ] && apt-get install -y -qq gnuplot-nox >/dev/null || sudo apt-get install -y -qq gnuplot-nox >/dev/null; }
bench_start
load_shared_sets
plots=$(pwd)/docs/plots
mkdir -p "$plots"
table=$(mktemp /tmp/irec-samplers.XXXXXX)
psql -At -F $'\t' >"$table" <<'SQL'
SET client_min_messages = warning;
-- stand-ins of the same shapes where ../shared lacks a file
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM lastfm) THEN
    INSERT INTO lastfm SELECT user_id, item_id, weight FROM irec_synthetic(1892, 17632, 92834, seed => 1);
  END IF;
  IF NOT EXISTS (SELECT FROM ml_raw) THEN
    INSERT INTO ml_raw SELECT user_id, item_id, 5, 0 FROM irec_synthetic(610, 9724, 48580, seed => 2);
  END IF;
END $$;
CREATE TABLE ml AS SELECT user_id, item_id FROM ml_raw WHERE rating >= 4;
CREATE TABLE generated AS SELECT user_id, item_id FROM irec_synthetic(29858, 40981, 1027370, seed => 11);
SELECT count(*) FROM irec_split('lastfm', seed => 1) \g /dev/null
SELECT count(*) FROM irec_split('ml', seed => 1) \g /dev/null
SELECT count(*) FROM irec_split('generated', seed => 1) \g /dev/null
CREATE FUNCTION bench(data text, epochs int) RETURNS TABLE (
    data_set text, sampler text, m int, s_per_epoch numeric, recall numeric, ndcg numeric)
LANGUAGE plpgsql AS $$
DECLARE s text; k int; r record; e record;
BEGIN
  FOREACH s IN ARRAY ARRAY['uniform', 'popularity', 'in_batch', 'kernel', 'two_pass'] LOOP
    FOREACH k IN ARRAY CASE WHEN s = 'in_batch' THEN ARRAY[256] ELSE ARRAY[64, 256, 1024] END LOOP
      PERFORM irec_train(data || '_train', algorithm => 'softmax', sampler => s, negatives => k,
                         epochs => epochs, quiet => true, model => 'b');
      SELECT * INTO r FROM irec_models WHERE name = 'b';
      SELECT * INTO e FROM irec_evaluate('b', data || '_test');
      data_set := data; sampler := s; m := k;
      s_per_epoch := round((r.train_seconds / r.epochs)::numeric, 4);
      recall := round(e.recall::numeric, 4); ndcg := round(e.ndcg::numeric, 4);
      RETURN NEXT;
    END LOOP;
  END LOOP;
END $$;
SELECT * FROM bench('lastfm', 60);
SELECT * FROM bench('ml', 60);
SELECT * FROM bench('generated', 20);
SQL
echo "data set	sampler	m	s/epoch	Recall@20	NDCG@20	NDCG / uniform m=1024"
awk -F'\t' '$2 == "uniform" && $3 == 1024 { base[$1] = $6 } { row[NR] = $0; set[NR] = $1; ndcg[NR] = $6 }
	END { for (i = 1; i <= NR; i++) printf "%s\t%.3f\n", row[i], ndcg[i] / base[set[i]] }' "$table"
# one file per data set and sampler, for the plot
parts=$(mktemp -d /tmp/irec-samplers-plot.XXXXXX)
awk -F'\t' -v dir="$parts" '{ print $4 "\t" $6 > (dir "/" $1 "." $2) }' "$table"
gnuplot <<PLOT
set terminal pngcairo size 1200,420 font ",10" noenhanced
set output "$plots/samplers_ndcg_time.png"
set datafile separator "\t"
set multiplot layout 1,3 title "sampled softmax, d = 64: NDCG@20 against seconds per epoch at m = 64, 256, 1,024 (bench_sgd.sh --samplers)"
set logscale x
set grid
set xlabel "seconds per epoch"
set ylabel "NDCG@20"
set key bottom right
do for [data in "lastfm ml generated"] {
	set title data
	plot for [s in "uniform popularity in_batch kernel two_pass"] "$parts/".data.".".s using 1:2 with linespoints pointtype 7 title s
}
unset multiplot
PLOT
rm -rf "$parts"
rm -f "$table"
echo "plot: $plots/samplers_ndcg_time.png"
