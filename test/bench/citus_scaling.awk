# The scaling model of engine 'sql' on Citus (test/citus.sh --bench).
# Input, one line per data size (the smaller first):
#   size interactions rows(users+items) mean_s_per_epoch bytes_per_row
#   in-memory one-server Citus          (seconds per epoch, medians)
# The smaller size calibrates the constants; the model predicts the larger
# on the same loopback cluster (the check), then projects clusters of real
# machines under the assumptions it prints.
#
# A half-step on Citus: every worker solves the rows of its shards, writes
# each solved row once per worker into files (one per target shard), and
# every worker fetches the files meant for it from the others and inserts
# them: each worker ends with a whole copy of the side, and no row passes
# through the coordinator.  Per epoch:
#   compute + rows · k_copy + rows · bytes · (W − 1) / W / bandwidth
#   compute = k_c · interactions / (workers · cores per worker)
# k_c: core-seconds per interaction per epoch, the in-memory engine's on
#      this machine (both cores);
# k_copy: per row of users and items, what one worker spends on its copy
#      of it (writing its own rows out, fetching and inserting the whole
#      side, reading it back in the next half-step).  The workers copy in
#      parallel, so this term does not grow with them; on loopback the two
#      workers and the coordinator share two cores, so k_copy as fitted
#      here is an upper bound where each worker has its own cores.
# (Citus − mem)/rows = k_copy on the loopback cluster (its links are memory).
{
	size[NR] = $1; n[NR] = $2; rows[NR] = $3; bytes[NR] = $5
	mem[NR] = $6; one[NR] = $7; citus[NR] = $8
}
END {
	if (NR < 2) { print "citus_scaling: need two sizes"; exit 1 }
	k_c = mem[1] * cores / n[1]
	k_copy = (citus[1] - mem[1]) / rows[1]
	if (k_copy < 0) k_copy = 0
	printf "\n== seconds per epoch, median of epochs 2-8, dims 64, CG; this machine: %d cores shared by the coordinator and both workers\n", cores
	printf "%-6s %12s %10s %10s %10s %12s %12s %10s\n", "size", "interactions", "rows", "in-memory", "one server", "Citus (2 w.)", "Citus / mem", "bytes/row"
	for (i = 1; i <= NR; i++)
		printf "%-6s %12d %10d %10.3f %10.3f %12.3f %12.2f %10d\n", size[i], n[i], rows[i], mem[i], one[i], citus[i], citus[i] / mem[i], bytes[i]
	printf "\ncalibrated on %s: k_c = %.3g core-s per interaction, k_copy = %.3g s per row\n", size[1], k_c, k_copy
	predicted = k_c * n[2] / cores + rows[2] * k_copy
	printf "check: predicted for %s on this loopback cluster %.3f s per epoch, measured %.3f (%+.0f%%)\n",
		size[2], predicted, citus[2], 100 * (predicted - citus[2]) / citus[2]
	cores_per_worker = 16; bandwidth = 1.25e9
	rows_per_interaction = rows[2] / n[2]
	printf "\nprojection (assumed: %d cores per worker, %.0f Gbit/s links; each worker receives the (W - 1)/W of each side it\n", cores_per_worker, bandwidth * 8 / 1e9
	printf "did not solve, the coordinator no rows; the same shape, %.4f rows of users + items per interaction, %d bytes per row):\n", rows_per_interaction, bytes[2]
	printf "%12s %8s %12s %12s %12s %12s %20s\n", "interactions", "workers", "s per epoch", "compute s", "copies s", "network s", "one machine (16 c.) s"
	split("50000000 500000000", sizes, " ")
	split("2 4 8 32", counts, " ")
	for (s = 1; s <= 2; s++)
		for (w = 1; w <= 4; w++) {
			N = sizes[s]; W = counts[w]; R = N * rows_per_interaction
			compute = k_c * N / (W * cores_per_worker)
			copies = R * k_copy
			network = R * bytes[2] * (W - 1) / W / bandwidth
			printf "%12d %8d %12.2f %12.2f %12.2f %12.2f %20.2f\n", N, W, compute + copies + network, compute, copies, network, k_c * N / cores_per_worker
		}
}
