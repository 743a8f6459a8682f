# The scaling model of engine 'sql' on Citus (test/citus.sh --bench).
# Input, one line per data size (the smaller first):
#   size interactions rows(users+items) mean_s_per_epoch bytes_per_row
#   in-memory one-server Citus          (seconds per epoch, medians)
# The smaller size calibrates the constants; the model predicts the larger
# on the same loopback cluster (the check), then projects clusters of real
# machines under the assumptions it prints.  Per epoch:
#   compute + rows · (k_coord + nodes · k_node)
#   compute = k_c · interactions / (workers · cores per worker)
# k_c: core-seconds per interaction per epoch, the in-memory engine's on
#      this machine (both cores);
# k_node: per row, writing it on one node (each half-step writes the solved
#      side on the coordinator and on every worker: the broadcast).  On
#      loopback the three servers share two cores, so the projection, which
#      charges the coordinator k_node per row for every worker it sends to,
#      is an upper bound where each node has its own cores;
# k_coord: per row, the rest that does not shrink with more workers
#      (gathering the solved rows, each worker reading both sides).
# One server writes each row once: (one − mem)/rows = k_coord + k_node; two
# loopback workers write it three times: (citus − mem)/rows = k_coord + 3·k_node.
{
	size[NR] = $1; n[NR] = $2; rows[NR] = $3; bytes[NR] = $5
	mem[NR] = $6; one[NR] = $7; citus[NR] = $8
}
END {
	if (NR < 2) { print "citus_scaling: need two sizes"; exit 1 }
	loop_nodes = 3
	k_c = mem[1] * cores / n[1]
	k_node = ((citus[1] - one[1]) / rows[1]) / (loop_nodes - 1)
	if (k_node < 0) k_node = 0
	k_coord = (one[1] - mem[1]) / rows[1] - k_node
	if (k_coord < 0) k_coord = 0
	printf "\n== seconds per epoch, median of epochs 2-8, dims 64, CG; this machine: %d cores shared by the coordinator and both workers\n", cores
	printf "%-6s %12s %10s %10s %10s %12s %12s %10s\n", "size", "interactions", "rows", "in-memory", "one server", "Citus (2 w.)", "Citus / mem", "bytes/row"
	for (i = 1; i <= NR; i++)
		printf "%-6s %12d %10d %10.3f %10.3f %12.3f %12.2f %10d\n", size[i], n[i], rows[i], mem[i], one[i], citus[i], citus[i] / mem[i], bytes[i]
	printf "\ncalibrated on %s: k_c = %.3g core-s per interaction, k_node = %.3g s and k_coord = %.3g s per row\n",
		size[1], k_c, k_node, k_coord
	predicted = k_c * n[2] / cores + rows[2] * (k_coord + loop_nodes * k_node)
	printf "check: predicted for %s on this loopback cluster %.3f s per epoch, measured %.3f (%+.0f%%)\n",
		size[2], predicted, citus[2], 100 * (predicted - citus[2]) / citus[2]
	cores_per_worker = 16; bandwidth = 1.25e9
	rows_per_interaction = rows[2] / n[2]
	printf "\nprojection (assumed: %d cores per worker, %.0f Gbit/s links; each half-step's rows cross the coordinator's link\n", cores_per_worker, bandwidth * 8 / 1e9
	printf "once in and once out per worker; the same shape, %.4f rows of users + items per interaction, %d bytes per row):\n", rows_per_interaction, bytes[2]
	printf "%12s %8s %12s %12s %12s %20s\n", "interactions", "workers", "s per epoch", "compute s", "rows s", "one machine (16 c.) s"
	split("50000000 500000000", sizes, " ")
	split("2 4 8 32", counts, " ")
	for (s = 1; s <= 2; s++)
		for (w = 1; w <= 4; w++) {
			N = sizes[s]; W = counts[w]; R = N * rows_per_interaction
			compute = k_c * N / (W * cores_per_worker)
			moved = R * (k_coord + bytes[2] / bandwidth + (W + 1) * (k_node + bytes[2] / bandwidth))
			printf "%12d %8d %12.2f %12.2f %12.2f %20.2f\n", N, W, compute + moved, compute, moved, k_c * N / cores_per_worker
		}
}
