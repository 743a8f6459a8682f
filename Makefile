# irec: PGXS build.  `make`, `make install`, `make installcheck`, plus
# `make test` (the README's test command) and `make demo`.
EXTENSION = irec
EXTVERSION = 0.13.0
MODULE_big = irec

CORE_OBJS = src/core/id_sort.o src/core/vecmath.o src/core/embedding_codec.o src/core/parallel.o \
	src/core/sparse.o src/core/ials.o src/core/synthetic.o src/core/topn.o \
	src/core/metrics.o src/core/evaluate.o src/core/ivf.o src/core/vecexp.o \
	src/core/sampler.o src/core/sgd.o src/core/agg_state.o src/core/spectrum.o src/core/ivf_code.o src/core/candidates.o src/core/diversify.o \
	src/core/pairwise.o src/core/context.o src/core/ivf_calibrate.o
GLUE_OBJS = src/irec.o src/embedding.o src/embedding_ops.o src/embedding_compare.o src/embedding_parts.o src/embedding_agg.o \
	src/interactions.o src/model.o src/train.o src/synthetic_data.o src/evaluate.o \
	src/serve.o src/distributed.o src/train_sql.o src/shard_step.o src/validation.o src/progress.o src/update.o src/train_common.o src/context_load.o src/context_train.o src/context_serve.o
INDEX_OBJS = src/index/ipivf.o src/index/ipivfutils.o src/index/ipivfbuild.o \
	src/index/ipivfinsert.o src/index/ipivfscan.o src/index/ipivfvacuum.o src/index/ipivfcheck.o \
	src/index/ipivfqueries.o src/index/ipivffilter.o
OBJS = $(CORE_OBJS) $(GLUE_OBJS) $(INDEX_OBJS)

DATA = sql/irec--0.1.0.sql sql/irec--0.1.0--0.2.0.sql sql/irec--0.2.0--0.3.0.sql sql/irec--0.3.0--0.4.0.sql sql/irec--0.4.0--0.5.0.sql sql/irec--0.5.0--0.6.0.sql sql/irec--0.6.0--0.7.0.sql sql/irec--0.7.0--0.8.0.sql sql/irec--0.8.0--0.9.0.sql sql/irec--0.9.0--0.10.0.sql sql/irec--0.10.0--0.11.0.sql sql/irec--0.11.0--0.12.0.sql sql/irec--0.12.0--0.13.0.sql sql/irec--0.13.0--0.14.0.sql sql/irec--0.14.0--0.15.0.sql

REGRESS = embedding_io embedding_ops embedding_compare embedding_parts embedding_agg aggregate_states embedding_casts embedding_errors \
	embedding_binary coexistence pgvector_suite index_extremes train train_errors train_sgd distributed evaluate serve index index_filter index_options null_arguments security timeouts tune update pairwise context
REGRESS_OPTS = --load-extension=irec

# Vectorizable float reductions (DESIGN: the kernels must vectorize).  The
# build assumes only the compiler's baseline target: the hot kernels are
# built for AVX2 and AVX-512 as well and chosen at run time (vecmath.c).
# OPTFLAGS is for extra flags (e.g. OPTFLAGS=-march=native for a build that
# only ever runs where it was compiled).
OPTFLAGS ?=
PG_CFLAGS += $(OPTFLAGS) -ftree-vectorize -fassociative-math -fno-signed-zeros \
	-fno-trapping-math -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare \
	-Wno-missing-field-initializers
PG_CPPFLAGS += -I$(srcdir)/src
SHLIB_LINK += -lopenblas -lm -lpthread

EXTRA_CLEAN = test/core/build test/fuzz/build

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# The softmax's exponentials vectorize only with fast math (libmvec); that
# one file takes it, and its callers never pass it non-finite values.
src/core/vecexp.o: override CFLAGS += -O3 -ffast-math

# PGXS tracks no header dependencies: rebuild everything when a header changes
$(OBJS): $(wildcard src/*.h src/core/*.h src/index/*.h)

.PHONY: test demo unit
test:
	bash test/run_tests.sh
demo:
	bash test/demo.sh
