-- irec 0.14.0 -> 0.15.0: an ipivf index may carry integer filter columns
-- after its embedding, CREATE INDEX ... USING ipivf (embedding, category),
-- and a scan then skips the rows that fail `category = c` inside the
-- lists, before it reads or scores them.
\echo Use "ALTER EXTENSION irec UPDATE TO '0.15.0'" to load this file. \quit

CREATE OPERATOR FAMILY @extschema@.ipivf_integer_ops USING ipivf;

CREATE OPERATOR CLASS @extschema@.ipivf_int2_ops DEFAULT FOR TYPE int2 USING ipivf
	FAMILY @extschema@.ipivf_integer_ops AS
	OPERATOR 1 pg_catalog.= (int2, int2);
CREATE OPERATOR CLASS @extschema@.ipivf_int4_ops DEFAULT FOR TYPE int4 USING ipivf
	FAMILY @extschema@.ipivf_integer_ops AS
	OPERATOR 1 pg_catalog.= (int4, int4);
CREATE OPERATOR CLASS @extschema@.ipivf_int8_ops DEFAULT FOR TYPE int8 USING ipivf
	FAMILY @extschema@.ipivf_integer_ops AS
	OPERATOR 1 pg_catalog.= (int8, int8);

-- a filter column compared with a value of another integer type
ALTER OPERATOR FAMILY @extschema@.ipivf_integer_ops USING ipivf ADD
	OPERATOR 1 pg_catalog.= (int2, int4),
	OPERATOR 1 pg_catalog.= (int2, int8),
	OPERATOR 1 pg_catalog.= (int4, int2),
	OPERATOR 1 pg_catalog.= (int4, int8),
	OPERATOR 1 pg_catalog.= (int8, int2),
	OPERATOR 1 pg_catalog.= (int8, int4);
