/*
 * metrics.h
 *		Ranking metrics of the survey's §2.3, from the ranks of the relevant
 *		items.
 *
 * ranks: the 1-based positions of the relevant items R in the ranked
 * catalogue, in any order; a rank of 0 marks a relevant item that was not
 * ranked at all (it counts as never retrieved).  n_relevant = |R|.
 *
 *	 Precision@n = |{r ≤ n}| / n
 *	 Recall@n	 = |{r ≤ n}| / |R|
 *	 AP@n		 = Σ_{r ≤ n} Precision@r / min(|R|, n)
 *	 NDCG@n		 = Σ_{r ≤ n} 1/log2(r + 1)  /  Σ_{k=1..min(|R|,n)} 1/log2(k + 1)
 *	 AUC		 = fraction of (relevant, irrelevant) pairs with the relevant one
 *				   ranked first, over a catalogue of n_items (unranked relevant
 *				   items rank after every irrelevant one)
 *
 * Metrics whose denominator vanishes (|R| = 0; AUC when every item is
 * relevant) return NAN.
 */
#ifndef IREC_METRICS_H
#define IREC_METRICS_H

#include <stddef.h>
#include <stdint.h>

double		metric_precision(const int64_t *ranks, size_t n_relevant, int64_t n);
double		metric_recall(const int64_t *ranks, size_t n_relevant, int64_t n);
double		metric_average_precision(const int64_t *ranks, size_t n_relevant, int64_t n);
double		metric_ndcg(const int64_t *ranks, size_t n_relevant, int64_t n);
double		metric_auc(const int64_t *ranks, size_t n_relevant, int64_t n_items);

/*
 * metrics_sort_ranks: sort ranks ascending with unranked (0) last, and
 * return -1 when a positive rank repeats (two items cannot share a
 * position), else 0.  For validating input; the metrics take any order.
 */
int			metrics_sort_ranks(int64_t *ranks, size_t n_relevant);

#endif							/* IREC_METRICS_H */
