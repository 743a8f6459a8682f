/*
 * ipivf.c
 *		The ipivf access method's handler, options, cost estimate, operator
 *		class validation and properties.
 */
#include "postgres.h"

#include <float.h>

#include "access/amvalidate.h"
#include "access/htup_details.h"
#include "access/reloptions.h"
#include "catalog/pg_amop.h"
#include "catalog/pg_amproc.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_opfamily.h"
#include "catalog/pg_type.h"
#include "commands/progress.h"
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "optimizer/optimizer.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/selfuncs.h"
#include "utils/spccache.h"
#include "utils/syscache.h"

#include "index/ipivf.h"
#include "irec.h"

int			irec_probes = -1;

static relopt_kind ipivf_relopt_kind;

/* Between k-means iterations of a build: cancel and statement_timeout act. */
static void
ipivf_check_interrupts(void)
{
	CHECK_FOR_INTERRUPTS();
}

/*
 * ipivf_init: reloptions and the probes GUC, from _PG_init.
 */
void
ipivf_init(void)
{
	ivf_set_iteration_hook(ipivf_check_interrupts);
	ipivf_relopt_kind = add_reloption_kind();
	add_int_reloption(ipivf_relopt_kind, "lists",
					  "Number of inverted lists (0: 4 times the square root of the rows at build, at most a page of rows per list)",
					  0, 0, 100000, AccessExclusiveLock);
	add_int_reloption(ipivf_relopt_kind, "probes",
					  "Lists scanned before results may be returned without proof (0: exact, -1: 1.5% of the lists, at least 64)",
					  -1, -1, 100000, AccessExclusiveLock);
	DefineCustomIntVariable("irec.probes",
							"Lists an ipivf scan visits before it may return rows without proof of order.",
							"0 makes every scan exact; -1 uses each index's probes option.",
							&irec_probes, -1, -1, 100000, PGC_USERSET, 0, NULL, NULL, NULL);
}

static bytea *
ipivfoptions(Datum reloptions, bool validate)
{
	static const relopt_parse_elt table[] = {
		{"lists", RELOPT_TYPE_INT, offsetof(IpivfOptions, lists)},
		{"probes", RELOPT_TYPE_INT, offsetof(IpivfOptions, probes)},
	};

	return (bytea *) build_reloptions(reloptions, validate, ipivf_relopt_kind,
									  sizeof(IpivfOptions), table, lengthof(table));
}

/*
 * ipivfcostestimate: only for ORDER BY (an infinite cost otherwise), with
 * all the work before the first row and a share of the index that the
 * probes setting makes likely; so LIMIT queries choose it and plain scans
 * never do.
 */
static void
ipivfcostestimate(PlannerInfo *root, IndexPath *path, double loop_count,
				  Cost *startup, Cost *total, Selectivity *selectivity,
				  double *correlation, double *pages)
{
	GenericCosts costs;
	Relation	index;
	IpivfMetaPageData meta;
	double		random_page;
	double		seq_page;
	int			probes;
	double		ratio;

	if (path->indexorderbys == NIL)
	{
		*startup = get_float8_infinity();
		*total = get_float8_infinity();
		*selectivity = 0;
		*correlation = 0;
		*pages = 0;
		return;
	}
	MemSet(&costs, 0, sizeof(costs));
	genericcostestimate(root, path, loop_count, &costs);
	/* a list is a chain of pages read one after another: sequential cost */
	get_tablespace_page_costs(path->indexinfo->reltablespace, &random_page, &seq_page);
	costs.indexTotalCost -= costs.numIndexPages * (random_page - seq_page);
	index = index_open(path->indexinfo->indexoid, NoLock);
	ipivf_read_meta(index, &meta);
	probes = ipivf_probes(index, &meta);
	index_close(index, NoLock);
	/* exact scans visit about a quarter of the lists on clustered data */
	ratio = meta.n_lists > 0 ? (probes > 0 ? (double) probes / meta.n_lists : 0.25) : 1.0;
	ratio = Min(ratio, 1.0);
	*startup = costs.indexTotalCost * ratio;
	*total = costs.indexTotalCost * ratio;
	*selectivity = costs.indexSelectivity;
	*correlation = 0;
	*pages = costs.numIndexPages * ratio;
}

/*
 * A filter column's operator class (ipivf_integer_ops): no support
 * function, and search operators only, each strategy 1, integer = integer
 * → boolean (ipivffilter.c reads every integer type as int64).
 */
static bool
validate_filter_class(const char *opclassname, CatCList *proclist, CatCList *oprlist)
{
	bool		result = true;

	if (proclist->n_members != 0)
	{
		ereport(INFO,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("ipivf filter operator class \"%s\" must have no support function", opclassname)));
		result = false;
	}
	for (int i = 0; i < oprlist->n_members; i++)
	{
		Form_pg_amop op = (Form_pg_amop) GETSTRUCT(&oprlist->members[i]->tuple);

		if (op->amopstrategy != 1 || op->amoppurpose != AMOP_SEARCH ||
			!ipivf_is_filter_type(op->amoplefttype) || !ipivf_is_filter_type(op->amoprighttype) ||
			!check_amop_signature(op->amopopr, BOOLOID, op->amoplefttype, op->amoprighttype) ||
			strcmp(get_opname(op->amopopr), "=") != 0)
		{
			ereport(INFO,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("ipivf filter operator class \"%s\" has an invalid operator %s",
							opclassname, format_operator(op->amopopr)),
					 errhint("A filter operator is strategy 1, integer = integer.")));
			result = false;
		}
	}
	return result;
}

/*
 * ipivfvalidate: an embedding operator class has exactly one ordering
 * operator (strategy 1, embedding × embedding → float8, FOR ORDER BY a
 * btree float family) and one support function (1, the same distance),
 * which must be one of the four distances the index knows; an integer one
 * is a filter column's (validate_filter_class).
 */
static bool
ipivfvalidate(Oid opclassoid)
{
	bool		result = true;
	HeapTuple	classtup = SearchSysCache1(CLAOID, ObjectIdGetDatum(opclassoid));
	Form_pg_opclass classform;
	Oid			opfamilyoid;
	CatCList   *proclist;
	CatCList   *oprlist;
	char	   *opclassname;
	Oid			type;

	if (!HeapTupleIsValid(classtup))
		elog(ERROR, "cache lookup failed for operator class %u", opclassoid);
	classform = (Form_pg_opclass) GETSTRUCT(classtup);
	opfamilyoid = classform->opcfamily;
	type = classform->opcintype;
	opclassname = NameStr(classform->opcname);
	proclist = SearchSysCacheList1(AMPROCNUM, ObjectIdGetDatum(opfamilyoid));
	oprlist = SearchSysCacheList1(AMOPSTRATEGY, ObjectIdGetDatum(opfamilyoid));

	if (ipivf_is_filter_type(type))
	{
		result = validate_filter_class(opclassname, proclist, oprlist);
		ReleaseCatCacheList(proclist);
		ReleaseCatCacheList(oprlist);
		ReleaseSysCache(classtup);
		return result;
	}

	if (proclist->n_members != 1)
	{
		ereport(INFO,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("ipivf operator class \"%s\" must have exactly one support function, not %d",
						opclassname, proclist->n_members)));
		result = false;
	}
	for (int i = 0; i < proclist->n_members; i++)
	{
		Form_pg_amproc proc = (Form_pg_amproc) GETSTRUCT(&proclist->members[i]->tuple);
		char	   *name = get_func_name(proc->amproc);

		if (proc->amprocnum != 1 ||
			!check_amproc_signature(proc->amproc, FLOAT8OID, true, 2, 2, type, type) ||
			name == NULL ||
			(strcmp(name, "embedding_negative_inner_product") != 0 &&
			 strcmp(name, "l2_distance") != 0 && strcmp(name, "cosine_distance") != 0 &&
			 strcmp(name, "l1_distance") != 0))
		{
			ereport(INFO,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("ipivf operator class \"%s\" has an invalid support function %s",
							opclassname, format_procedure(proc->amproc)),
					 errhint("Support function 1 must be embedding_negative_inner_product, l2_distance, cosine_distance or l1_distance.")));
			result = false;
		}
	}
	if (oprlist->n_members != 1)
	{
		ereport(INFO,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("ipivf operator class \"%s\" must have exactly one operator, not %d",
						opclassname, oprlist->n_members)));
		result = false;
	}
	for (int i = 0; i < oprlist->n_members; i++)
	{
		Form_pg_amop op = (Form_pg_amop) GETSTRUCT(&oprlist->members[i]->tuple);

		if (op->amopstrategy != 1 || op->amoppurpose != AMOP_ORDER ||
			!OidIsValid(op->amopsortfamily) ||
			!check_amop_signature(op->amopopr, FLOAT8OID, type, type))
		{
			ereport(INFO,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("ipivf operator class \"%s\" has an invalid operator %s",
							opclassname, format_operator(op->amopopr)),
					 errhint("The one operator must be strategy 1, embedding × embedding → double precision, FOR ORDER BY float_ops.")));
			result = false;
		}
	}
	ReleaseCatCacheList(proclist);
	ReleaseCatCacheList(oprlist);
	ReleaseSysCache(classtup);
	return result;
}

/* distance_orderable is true for the key column; the generic code says NULL. */
static bool
ipivfproperty(Oid index_oid, int attno, IndexAMProperty prop, const char *propname,
			  bool *res, bool *isnull)
{
	if (attno == 1 && prop == AMPROP_DISTANCE_ORDERABLE)
	{
		*res = true;
		*isnull = false;
		return true;
	}
	return false;
}

static char *
ipivfbuildphasename(int64 phase)
{
	switch (phase)
	{
		case PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE:
			return "initializing";
		case IPIVF_PHASE_SAMPLE:
			return "sampling the table";
		case IPIVF_PHASE_CLUSTER:
			return "clustering";
		case IPIVF_PHASE_ASSIGN:
			return "assigning rows to lists";
		default:
			return NULL;
	}
}

PG_FUNCTION_INFO_V1(ipivfhandler);
Datum
ipivfhandler(PG_FUNCTION_ARGS)
{
	IndexAmRoutine *am = makeNode(IndexAmRoutine);

	am->amstrategies = 1;
	am->amsupport = 1;
	am->amoptsprocnum = 0;
	am->amcanorder = false;
	am->amcanorderbyop = true;
	am->amcanbackward = false;
	am->amcanunique = false;
	am->amcanmulticol = true;	/* the embedding, then filter columns */
	am->amoptionalkey = true;
	am->amsearcharray = false;	/* PostgreSQL 15 orders no scan with array keys past column 1 */
	am->amsearchnulls = false;
	am->amstorage = false;
	am->amclusterable = false;
	am->ampredlocks = false;
	am->amcanparallel = false;
	am->amcaninclude = false;
	am->amusemaintenanceworkmem = false;
	am->amparallelvacuumoptions = VACUUM_OPTION_PARALLEL_BULKDEL;
	am->amkeytype = InvalidOid;

	am->ambuild = ipivfbuild;
	am->ambuildempty = ipivfbuildempty;
	am->aminsert = ipivfinsert;
	am->ambulkdelete = ipivfbulkdelete;
	am->amvacuumcleanup = ipivfvacuumcleanup;
	am->amcanreturn = NULL;
	am->amcostestimate = ipivfcostestimate;
	am->amoptions = ipivfoptions;
	am->amproperty = ipivfproperty;
	am->ambuildphasename = ipivfbuildphasename;
	am->amvalidate = ipivfvalidate;
	am->amadjustmembers = NULL;
	am->ambeginscan = ipivfbeginscan;
	am->amrescan = ipivfrescan;
	am->amgettuple = ipivfgettuple;
	am->amgetbitmap = NULL;
	am->amendscan = ipivfendscan;
	am->ammarkpos = NULL;
	am->amrestrpos = NULL;
	am->amestimateparallelscan = NULL;
	am->aminitparallelscan = NULL;
	am->amparallelrescan = NULL;

	PG_RETURN_POINTER(am);
}
