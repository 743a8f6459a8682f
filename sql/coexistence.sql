-- irec must install next to pgvector without making calls ambiguous.  Every
-- irec function, operator and aggregate takes or returns an irec type (so its
-- overloads never collide with pgvector's vector-typed ones), operator class
-- names are irec-specific, and no cast from a built-in type to embedding is
-- implicit.
SELECT p.oid::regprocedure AS unqualified_overload_without_irec_type
  FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'irec')
   AND d.deptype = 'e'
   AND p.prorettype <> 'embedding'::regtype
   AND NOT ('embedding'::regtype = ANY (p.proargtypes::oid[]))
   AND p.proname NOT LIKE 'irec%' AND p.proname NOT LIKE 'embedding%'
 ORDER BY p.oid::regprocedure::text;
SELECT o.oid::regoperator AS operator_without_embedding
  FROM pg_operator o JOIN pg_depend d ON d.objid = o.oid AND d.classid = 'pg_operator'::regclass
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'irec')
   AND o.oprleft <> 'embedding'::regtype AND o.oprright <> 'embedding'::regtype;
SELECT count(*) AS implicit_casts_to_embedding FROM pg_cast
 WHERE casttarget = 'embedding'::regtype AND castsource <> 'embedding'::regtype
   AND castcontext = 'i';
-- pgvector's names that would clash if irec reused them for its own types
SELECT t.typname FROM pg_type t WHERE t.typname IN ('vector', 'halfvec', 'sparsevec')
   AND t.typnamespace = (SELECT extnamespace FROM pg_extension WHERE extname = 'irec');
-- index access method and operator class names stay apart from pgvector's
-- (ivfflat, hnsw; vector_ip_ops, vector_l2_ops, vector_cosine_ops, ...)
SELECT a.amname, c.opcname FROM pg_am a JOIN pg_opclass c ON c.opcmethod = a.oid
 WHERE a.amname = 'ipivf' ORDER BY c.opcname;
