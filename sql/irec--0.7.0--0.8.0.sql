-- irec 0.7.0 -> 0.8.0
\echo Use "ALTER EXTENSION irec UPDATE TO '0.8.0'" to load this file. \quit

------------------------------------------------------------------------------
-- Samplers closer to the softmax (DESIGN §4.3.1, §4.3.2): sampled softmax
-- takes sampler => 'kernel' (the quadratic-kernel tree sampler) and
-- sampler => 'two_pass' (the m of M popularity draws that weigh most for
-- the batch); candidates sets the two-pass sampler's M (NULL: 4 m).
-- LambdaRank-weighted pairwise SGD (§4.2.2): algorithm => 'lambdarank'.
-- iALS for the pairwise square loss through the Gramian and the item sum
-- (§5.2): algorithm => 'ials', loss => 'pairwise_square'.
------------------------------------------------------------------------------
DROP FUNCTION @extschema@.irec_train(regclass, text, text, text, text, text, integer, integer,
	double precision, double precision, double precision, text, double precision, double precision,
	double precision, text, integer, bigint, integer, boolean, integer, text, double precision,
	boolean, double precision, double precision, integer, integer, double precision, text,
	regclass, integer, text, integer, boolean);
CREATE FUNCTION @extschema@.irec_train(
	source regclass,
	user_column text DEFAULT 'user_id',
	item_column text DEFAULT 'item_id',
	weight_column text DEFAULT NULL,
	model text DEFAULT NULL,
	algorithm text DEFAULT 'ials',
	dims integer DEFAULT 64,
	epochs integer DEFAULT NULL,
	regularization double precision DEFAULT NULL,
	regularization_exponent double precision DEFAULT 1.0,
	unobserved_weight double precision DEFAULT NULL,
	confidence text DEFAULT NULL,
	alpha double precision DEFAULT 1.0,
	epsilon double precision DEFAULT NULL,
	init_std double precision DEFAULT NULL,
	solver text DEFAULT 'cg',
	cg_steps integer DEFAULT 3,
	seed bigint DEFAULT 42,
	threads integer DEFAULT 0,
	quiet boolean DEFAULT false,
	negatives integer DEFAULT NULL,
	sampler text DEFAULT NULL,
	popularity_exponent double precision DEFAULT 0.75,
	logq boolean DEFAULT true,
	temperature double precision DEFAULT 1.0,
	learning_rate double precision DEFAULT NULL,
	batch_size integer DEFAULT 256,
	max_trials integer DEFAULT 100,
	rank_scale double precision DEFAULT NULL,
	engine text DEFAULT 'memory',
	validation regclass DEFAULT NULL,
	validation_k integer DEFAULT 20,
	validation_metric text DEFAULT 'ndcg',
	patience integer DEFAULT 3,
	warm_start boolean DEFAULT false,
	candidates integer DEFAULT NULL,
	loss text DEFAULT NULL
) RETURNS text
	AS 'MODULE_PATHNAME', 'irec_train' LANGUAGE C VOLATILE PARALLEL UNSAFE;
