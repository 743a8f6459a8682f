/*
 * ipivffilter.c
 *		Filter columns of an ipivf index (see ipivf.h): the columns' checks,
 *		the values' place in a data page's special space, and a scan's
 *		`column = value` keys.
 */
#include "postgres.h"

#include "access/genam.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "index/ipivf.h"

const IpivfFilterLayout ipivf_no_filters = {0, 0, MAXALIGN(sizeof(IpivfPageOpaqueData))};

/* The types a filter column may have: every one is read as int64. */
bool
ipivf_is_filter_type(Oid type)
{
	return type == INT2OID || type == INT4OID || type == INT8OID;
}

static int64
integer_datum(Datum value, Oid type)
{
	switch (type)
	{
		case INT2OID:
			return DatumGetInt16(value);
		case INT4OID:
			return DatumGetInt32(value);
		case INT8OID:
			return DatumGetInt64(value);
		default:
			elog(ERROR, "ipivf: a filter value of type %u", type);
			return 0;			/* not reached */
	}
}

/* The filter columns, after the embedding. */
static int
filter_count(Relation index)
{
	return IndexRelationGetNumberOfKeyAttributes(index) - 1;
}

/*
 * ipivf_check_columns: the first column an embedding (its operator class has
 * the distance function), the others of an integer type, at most
 * IPIVF_MAX_FILTERS of them.
 */
void
ipivf_check_columns(Relation index)
{
	int			n_filters = filter_count(index);

	if (!OidIsValid(index_getprocid(index, 1, 1)))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the first column of ipivf index \"%s\" must be the embedding", RelationGetRelationName(index)),
				 errhint("Put the embedding first and the filter columns after it: USING ipivf (embedding, category).")));
	if (n_filters > IPIVF_MAX_FILTERS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("an ipivf index takes at most %d filter columns, not %d", IPIVF_MAX_FILTERS, n_filters),
				 errhint("Filter on the most selective columns in the index and on the others in the query.")));
	for (int k = 0; k < n_filters; k++)
	{
		Oid			type = TupleDescAttr(RelationGetDescr(index), k + 1)->atttypid;

		if (!ipivf_is_filter_type(type))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("filter column %d of ipivf index \"%s\" is of type %s", k + 2,
							RelationGetRelationName(index), format_type_be(type)),
					 errhint("An ipivf index takes one embedding and then smallint, integer or bigint filter columns.")));
	}
}

/*
 * ipivf_filter_layout: how an index with these dims keeps its filter
 * values.  A data page holds at most `capacity` members, so that each has
 * its int64 values and its byte of NULL flags in the special space; the
 * slack of one MAXALIGN keeps the special space's own rounding from
 * crowding out a member the count promised (PageAddItem could still fit
 * one more: ipivf_data_page_has_room refuses it).
 */
void
ipivf_filter_layout(Relation index, int dims, IpivfFilterLayout *layout)
{
	int			n_filters = filter_count(index);

	if (n_filters <= 0)
	{
		*layout = ipivf_no_filters;
		return;
	}
	layout->n_filters = n_filters;
	{
		Size		per_member = MAXALIGN(IPIVF_CODE_TUPLE_SIZE(dims)) + sizeof(ItemIdData) +
			sizeof(int64) * n_filters + 1;
		Size		room = BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(IpivfPageOpaqueData)) -
			MAXIMUM_ALIGNOF;

		layout->capacity = (int) Min(room / per_member, MaxIndexTuplesPerPage);
		layout->special = MAXALIGN(sizeof(IpivfPageOpaqueData)) +
			MAXALIGN((Size) layout->capacity * (sizeof(int64) * n_filters + 1));
	}
}

/* A list's new data page: special space for the members' filter values (zeroed by PageInit). */
void
ipivf_init_data_page(Page page, const IpivfFilterLayout *layout)
{
	ipivf_init_page_special(page, IPIVF_DATA, layout->special);
}

static void
check_special(Page page, const IpivfFilterLayout *layout)
{
	if (PageGetSpecialSize(page) != layout->special)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("an ipivf data page has %u bytes of special space, not %zu",
						(unsigned) PageGetSpecialSize(page), layout->special),
				 errhint("REINDEX the index.")));
}

/* Room for one more member of `size` bytes (and its filter values). */
bool
ipivf_data_page_has_room(Page page, Size size, const IpivfFilterLayout *layout)
{
	if (layout->capacity > 0)
	{
		check_special(page, layout);
		if (PageGetMaxOffsetNumber(page) >= layout->capacity)
			return false;
	}
	return PageGetFreeSpace(page) >= MAXALIGN(size);
}

/* The filter values of an index row (values[0] is the embedding), as int64 and NULL flags. */
void
ipivf_filter_values(Relation index, const Datum *values, const bool *isnull, int64 *out, uint8 *nulls)
{
	int			n_filters = filter_count(index);

	*nulls = 0;
	for (int k = 0; k < n_filters; k++)
	{
		Oid			type = TupleDescAttr(RelationGetDescr(index), k + 1)->atttypid;

		out[k] = 0;
		if (isnull[k + 1])
			*nulls |= (uint8) (1 << k);
		else
			out[k] = integer_datum(values[k + 1], type);
	}
}

/* Store the filter values of the member just added at `offset`. */
void
ipivf_page_set_filters(Page page, OffsetNumber offset, const IpivfFilterLayout *layout,
					   const int64 *values, uint8 nulls)
{
	if (layout->capacity == 0)
		return;
	check_special(page, layout);
	if (offset < FirstOffsetNumber || offset > layout->capacity)
		elog(ERROR, "ipivf: member %u beyond a data page's %d", offset, layout->capacity);
	memcpy(ipivf_page_filter_values(page) + (Size) (offset - 1) * layout->n_filters, values,
		   sizeof(int64) * layout->n_filters);
	ipivf_page_filter_nulls(page, layout)[offset - 1] = nulls;
}

/*
 * After PageIndexMultiDelete removed the members at `dead` (ascending) of a
 * page that had `max_before`, the others moved down to keep their order:
 * move their filter values the same way.
 */
void
ipivf_page_delete_filters(Page page, const OffsetNumber *dead, int n_dead, OffsetNumber max_before,
						  const IpivfFilterLayout *layout)
{
	int64	   *values;
	uint8	   *nulls;
	int			kept = 0;
	int			next_dead = 0;

	if (layout->capacity == 0 || n_dead == 0)
		return;
	check_special(page, layout);
	values = ipivf_page_filter_values(page);
	nulls = ipivf_page_filter_nulls(page, layout);
	for (OffsetNumber off = FirstOffsetNumber; off <= max_before; off = OffsetNumberNext(off))
	{
		if (next_dead < n_dead && dead[next_dead] == off)
		{
			next_dead++;
			continue;
		}
		memmove(values + (Size) kept * layout->n_filters, values + (Size) (off - 1) * layout->n_filters,
				sizeof(int64) * layout->n_filters);
		nulls[kept] = nulls[off - 1];
		kept++;
	}
	memset(values + (Size) kept * layout->n_filters, 0,
		   sizeof(int64) * layout->n_filters * (layout->capacity - kept));
	memset(nulls + kept, 0, layout->capacity - kept);
}

/*
 * ipivf_filter_prepare: a scan's keys (all `=`, strategy 1, on filter
 * columns) as the value each asks for.  A NULL key matches no row: `=` is
 * strict.  (`column = ANY (array)` stays a filter of the executor's: the
 * planner of PostgreSQL 15 gives an ordered scan no array keys on a
 * column after the first.)
 */
void
ipivf_filter_prepare(IpivfFilter *filter, ScanKey keys, int nkeys)
{
	memset(filter, 0, sizeof(*filter));
	for (int i = 0; i < nkeys; i++)
	{
		ScanKey		key = &keys[i];
		int			k = filter->n_keys++;

		if (key->sk_attno < 2 || key->sk_strategy != 1 || (key->sk_flags & SK_SEARCHARRAY))
			elog(ERROR, "ipivf: a scan key on column %d with strategy %d", key->sk_attno, key->sk_strategy);
		filter->column[k] = key->sk_attno - 2;
		if (key->sk_flags & SK_ISNULL)
			filter->none = true;
		else
			filter->value[k] = integer_datum(key->sk_argument, key->sk_subtype);
	}
}

/*
 * ipivf_filter_page: the offsets (1 .. max) of a data page whose members
 * pass every key, into `matching`; their count.  Reads only the special
 * space, not the members.
 */
int
ipivf_filter_page(const IpivfFilter *filter, Page page, const IpivfFilterLayout *layout,
				  OffsetNumber max, OffsetNumber *matching)
{
	const int64 *values;
	const uint8 *nulls;
	int			n = 0;

	check_special(page, layout);
	if (max > layout->capacity)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("an ipivf data page holds %u members, more than its %d", max, layout->capacity),
				 errhint("REINDEX the index.")));
	values = ipivf_page_filter_values(page);
	nulls = ipivf_page_filter_nulls(page, layout);
	for (OffsetNumber off = FirstOffsetNumber; off <= max; off = OffsetNumberNext(off))
	{
		const int64 *member = values + (Size) (off - 1) * layout->n_filters;
		bool		pass = true;

		for (int k = 0; k < filter->n_keys && pass; k++)
		{
			int			column = filter->column[k];

			pass = !(nulls[off - 1] & (1 << column)) && member[column] == filter->value[k];
		}
		if (pass)
			matching[n++] = off;
	}
	return n;
}

/*
 * ipivf_range_pages: how many pages of its chain a list keeps the ranges
 * of (ipivf.h), given the longest chain the index has: none without filter
 * columns.
 */
int
ipivf_range_pages(Relation index, int longest_chain)
{
	if (filter_count(index) <= 0)
		return 0;
	return Min(IPIVF_MAX_RANGE_PAGES, Max(IPIVF_MIN_RANGE_PAGES, 2 * longest_chain));
}

/* Lists whose page ranges share a page. */
int
ipivf_ranges_per_page(int range_pages)
{
	Size		room = BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(IpivfPageOpaqueData));

	return (int) (room / IPIVF_LIST_PAGES_SIZE(range_pages));
}

BlockNumber
ipivf_range_block(const IpivfMetaPageData *meta, int list)
{
	return meta->range_start + list / ipivf_ranges_per_page(meta->range_pages);
}

/* List `list`'s page ranges on its page of ranges. */
IpivfListPages *
ipivf_list_pages_in_page(Page page, const IpivfMetaPageData *meta, int list)
{
	int			slot = list % ipivf_ranges_per_page(meta->range_pages);

	return (IpivfListPages *) (PageGetContents(page) + (Size) slot * IPIVF_LIST_PAGES_SIZE(meta->range_pages));
}

void
ipivf_list_pages_init(IpivfListPages *pages)
{
	pages->n = 0;
	pages->rest = InvalidBlockNumber;
}

/*
 * A page `block` was chained after `previous` (InvalidBlockNumber: it is
 * the list's first): it gets an empty range while the entry has room for
 * it, or becomes the rest of the chain.
 */
void
ipivf_list_pages_add(IpivfListPages *pages, int range_pages, BlockNumber previous, BlockNumber block)
{
	IpivfPageRange *range;

	if (pages->rest != InvalidBlockNumber)
		return;
	if ((pages->n == 0) != (previous == InvalidBlockNumber) ||
		(pages->n > 0 && pages->page[pages->n - 1].block != previous))
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("an ipivf list's page ranges do not end where its chain does (block %u)", previous),
				 errhint("REINDEX the index.")));
	if (pages->n == range_pages)
	{
		pages->rest = block;
		return;
	}
	range = &pages->page[pages->n++];
	range->block = block;
	range->unused = 0;
	range->min = PG_INT64_MAX;
	range->max = PG_INT64_MIN;
}

/* The range of page `block`, or NULL when the entry keeps none for it. */
IpivfPageRange *
ipivf_list_pages_find(IpivfListPages *pages, BlockNumber block)
{
	for (int i = 0; i < pages->n; i++)
		if (pages->page[i].block == block)
			return &pages->page[i];
	return NULL;
}

/* Whether a page of this range can hold a member that passes the keys on the first filter column. */
bool
ipivf_filter_range_holds(const IpivfFilter *filter, const IpivfPageRange *range)
{
	for (int k = 0; k < filter->n_keys; k++)
		if (filter->column[k] == 0 && (filter->value[k] < range->min || filter->value[k] > range->max))
			return false;
	return true;
}
