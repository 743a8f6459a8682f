-- irec 0.13.0 -> 0.14.0: irec_index_check also reports the probes a scan
-- uses by default, which an index build now measures on its data.
\echo Use "ALTER EXTENSION irec UPDATE TO '0.14.0'" to load this file. \quit

DROP FUNCTION @extschema@.irec_index_check(regclass);

-- Verify an ipivf index against its table (structure, bounds, every visible
-- row exactly once); ERRORs on corruption.  probes: the lists a scan in this
-- session visits before it may answer without proof (irec.probes, else the
-- index's probes option, else the default its build measured; 0 = exact).
CREATE FUNCTION @extschema@.irec_index_check(
	index regclass,
	OUT lists integer, OUT pages bigint, OUT index_entries bigint, OUT heap_rows bigint,
	OUT missing bigint, OUT duplicated bigint, OUT entries_not_visible bigint,
	OUT probes integer)
	AS 'MODULE_PATHNAME', 'irec_index_check' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
