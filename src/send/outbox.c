/*
 * outbox - delivery state per recipient; contract in outbox.h.
 */
#include <string.h>

#include "log.h"
#include "outbox.h"
#include "util.h"

#define CLAIM_MAX 256

/* the names in SQL and JSON, in the order of the enums */
static const char *const state_names[OUTBOX_STATES] = { "queued", "sending", "sent",
    "deferred", "failed", "suppressed", "skipped", "cancelled" };
static const char *const kind_names[KINDS] = { "bulletin", "draft", "reminder",
    "announcement", "confirm", "welcome" };

const char *
outbox_state_name(outbox_state_t st)
{
	return st < OUTBOX_STATES ? state_names[st] : "unknown";
}

const char *
outbox_kind_name(outbox_kind_t k)
{
	return k < KINDS ? kind_names[k] : "unknown";
}

static outbox_kind_t
kind_parse(const char *name)
{
	for (int k = 0; k < KINDS; k++)
		if (strcmp(name, kind_names[k]) == 0)
			return (outbox_kind_t)k;
	return KIND_UNKNOWN;
}

int
outbox_recover(store_t *s, int64_t now)
{
	/* the OUTBOX_OPEN_ROWS term lets it read outbox_open, not the whole
	 * outbox */
	static const char sql[] = "UPDATE outbox SET state = 'queued', updated = ?1"
	    " WHERE " OUTBOX_OPEN_ROWS " AND state = 'sending'";
	sqlite3_stmt *st;

	if ((st = store_cached(s, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	return store_run(s, st) < 0 ? -1 : (int)store_changes(s);
}

int
outbox_fill_bulletin(store_t *s, const char *number, uint32_t masks, int64_t now,
    int64_t *count)
{
	/* one pass over the active subscribers (subscribers_status), each
	 * row's regions looked up in the set of masks as bit `regions` of
	 * ?3: one statement per mask read every active subscriber 31 times
	 * (10 s of a million-row fill) */
	static const char sql[] = "INSERT OR IGNORE INTO outbox (kind, ref, subscriber_id,"
	    " recipient, state, created, updated)"
	    " SELECT 'bulletin', ?1, id, email, 'queued', ?2, ?2 FROM subscribers"
	    " WHERE status = 'active' AND (?3 >> regions) & 1"
	    " AND (paused_until IS NULL OR paused_until <= ?2)"
	    " AND email NOT IN (SELECT email FROM suppressions)";
	sqlite3_stmt *st;

	*count = 0;
	if ((masks & OUTBOX_MASKS_ALL) == 0)
		return 0;
	if ((st = store_cached(s, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, number, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)(masks & OUTBOX_MASKS_ALL));
	if (store_run(s, st) < 0)
		return -1;
	*count = store_changes(s);
	return 0;
}

int
outbox_add(store_t *s, outbox_kind_t kind, const char *ref, const char *recipient,
    int64_t now)
{
	static const char sql[] = "INSERT OR IGNORE INTO outbox (kind, ref, recipient, state,"
	    " created, updated) VALUES (?1, ?2, ?3, 'queued', ?4, ?4)";
	sqlite3_stmt *st;

	if ((st = store_cached(s, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, outbox_kind_name(kind), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ref, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, recipient, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now);
	return store_run(s, st);
}

int
outbox_cancel_contact(store_t *s, const char *email, const char *reason, int64_t now)
{
	static const char sql[] = "UPDATE outbox SET state = 'cancelled', reply = ?3,"
	    " updated = ?2 WHERE state IN ('queued', 'deferred') AND contact_id IN"
	    " (SELECT id FROM contacts WHERE email = ?1)";
	sqlite3_stmt *st;

	if ((st = store_cached(s, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, email, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
	return store_run(s, st);
}

/* fill - run one INSERT .. SELECT whose ?1 is kind, ?2 ref, ?3 now, ?4
 * mask and ?5 (if it has one) projects */
static int
fill(store_t *s, const char *sql, outbox_kind_t kind, const char *ref, unsigned mask,
    const char *projects, int64_t now, int64_t *count)
{
	sqlite3_stmt *st = store_cached(s, sql);
	int rc;

	*count = 0;
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, outbox_kind_name(kind), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ref, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int(st, 4, (int)mask);
	if (sqlite3_bind_parameter_count(st) >= 5) {
		if (projects)
			sqlite3_bind_text(st, 5, projects, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 5);
	}
	rc = store_run(s, st);
	if (rc == 0)
		*count = store_changes(s);
	return rc;
}

int
outbox_fill_subscribers(store_t *s, outbox_kind_t kind, const char *ref, unsigned mask,
    int64_t now, int64_t *count)
{
	static const char sql[] = "INSERT OR IGNORE INTO outbox (kind, ref, subscriber_id,"
	    " recipient, state, created, updated)"
	    " SELECT ?1, ?2, id, email, 'queued', ?3, ?3 FROM subscribers"
	    " WHERE status = 'active' AND regions & ?4"
	    " AND (paused_until IS NULL OR paused_until <= ?3)"
	    " AND email NOT IN (SELECT email FROM suppressions) ORDER BY id";

	return fill(s, sql, kind, ref, mask, NULL, now, count);
}

int
outbox_fill_contacts(store_t *s, outbox_kind_t kind, const char *ref, const char *projects,
    unsigned mask, int64_t now, int64_t *count)
{
	static const char sql[] = "INSERT OR IGNORE INTO outbox (kind, ref, contact_id,"
	    " recipient, state, created, updated)"
	    " SELECT ?1, ?2, id, email, 'queued', ?3, ?3 FROM"
	    /* one row per address, whatever its case: SQLite takes the bare
	     * columns from the row where min() is found, the first project's */
	    " (SELECT min(c.project_id) AS project, c.id AS id, c.email AS email"
	    "  FROM contacts c JOIN projects p ON p.id = c.project_id"
	    "  WHERE CASE WHEN ?5 IS NULL THEN p.regions & ?4 != 0"
	    "   ELSE p.id IN (SELECT value FROM json_each(?5)) END"
	    "  AND c.email NOT IN (SELECT email FROM suppressions)"
	    "  AND c.email NOT IN (SELECT email FROM contact_optouts)"
	    "  GROUP BY c.email COLLATE NOCASE)"
	    " ORDER BY project, id";

	return fill(s, sql, kind, ref, mask, projects, now, count);
}

/* a claimed row until the commit: strings are offsets into one arena */
struct claimed {
	int64_t	 id, first_attempt, subscriber_id, contact_id, paused_until;
	int	 attempts;
	unsigned regions;
	outbox_kind_t kind;
	outbox_stop_t stopped;
	size_t	 ref, recipient, name, lang, project;
};

static size_t
arena_add(buf_t *arena, sqlite3_stmt *st, int col)
{
	size_t at = arena->len;

	/* 64 rows of short strings under a 64 MiB ceiling */
	if (buf_adds(arena, (const char *)sqlite3_column_text(st, col)) < 0 ||
	    buf_addc(arena, '\0') < 0)
		fatal("outbox: the claimed rows' strings are over %zu bytes", arena->max);
	return at;
}

int
outbox_claim(store_t *s, int64_t now, int max, int (*cb)(const outbox_row_t *, void *),
    void *arg)
{
	/* one query reads the rows and what their messages need; the
	 * callbacks run after the commit, when the rows are durably ours.  A
	 * bulletin row's ref is its issue's id: rows of a held (or draft)
	 * issue wait; rows that were in flight when their issue was
	 * cancelled, their reader left or their contact opted out (the
	 * cancelling touched only queued and deferred rows) come back to the
	 * queue when released or recovered, and are claimed as stopped */
	static const char sel_sql[] = "SELECT o.id, o.kind, o.ref, o.recipient, o.attempts,"
	    " o.first_attempt, coalesce(o.subscriber_id, 0), coalesce(b.name, ''),"
	    " coalesce(b.lang, p.lang, 'fi'), coalesce(b.regions, p.regions, 31),"
	    " coalesce(o.contact_id, 0), coalesce(p.name, ''), coalesce(b.paused_until, 0),"
	    " CASE WHEN o.kind = 'bulletin' AND EXISTS (SELECT 1 FROM issues i"
	    "   WHERE i.id = o.ref AND i.state = 'cancelled') THEN 1"
	    "  WHEN o.subscriber_id IS NOT NULL AND (o.kind = 'bulletin' OR o.kind = 'announcement')"
	    "   AND coalesce(b.status, '') <> 'active' THEN 2"
	    "  WHEN o.contact_id IS NOT NULL AND EXISTS (SELECT 1 FROM contact_optouts x"
	    "   WHERE x.email = o.recipient) THEN 3 ELSE 0 END"
	    " FROM outbox o LEFT JOIN subscribers b ON b.id = o.subscriber_id"
	    " LEFT JOIN contacts c ON c.id = o.contact_id"
	    " LEFT JOIN projects p ON p.id = c.project_id"
	    " WHERE o.state IN ('queued', 'deferred') AND o.next_attempt <= ?1"
	    " AND NOT EXISTS (SELECT 1 FROM issues i WHERE o.kind = 'bulletin'"
	    "   AND i.id = o.ref AND (i.state = 'held' OR i.state = 'draft'))"
	    " ORDER BY o.next_attempt, o.id LIMIT ?2";
	static const char upd_sql[] = "UPDATE outbox SET state = 'sending',"
	    " attempts = attempts + 1, first_attempt = coalesce(first_attempt, ?2),"
	    " updated = ?2 WHERE id = ?1";
	struct claimed rows[CLAIM_MAX];
	sqlite3_stmt *st = NULL;
	buf_t arena;
	int n = 0, i, rc = -1;

	buf_init(&arena, 0);
	if (max > CLAIM_MAX)
		max = CLAIM_MAX;
	if (max <= 0)
		return 0;
	if (store_begin(s) < 0)
		goto out;
	if ((st = store_cached(s, sel_sql)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int(st, 2, max);
	while (n < max && store_step(s, st) == SQLITE_ROW) {
		struct claimed *r = &rows[n++];

		r->id = sqlite3_column_int64(st, 0);
		r->kind = kind_parse((const char *)sqlite3_column_text(st, 1));
		r->ref = arena_add(&arena, st, 2);
		r->recipient = arena_add(&arena, st, 3);
		r->attempts = sqlite3_column_int(st, 4) + 1;
		r->first_attempt = sqlite3_column_type(st, 5) == SQLITE_NULL ? now :
		    sqlite3_column_int64(st, 5);
		r->subscriber_id = sqlite3_column_int64(st, 6);
		r->name = arena_add(&arena, st, 7);
		r->lang = arena_add(&arena, st, 8);
		r->regions = (unsigned)sqlite3_column_int(st, 9);
		r->contact_id = sqlite3_column_int64(st, 10);
		r->project = arena_add(&arena, st, 11);
		r->paused_until = sqlite3_column_int64(st, 12);
		r->stopped = (outbox_stop_t)sqlite3_column_int(st, 13);
	}
	sqlite3_reset(st);
	if ((st = store_cached(s, upd_sql)) == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		sqlite3_bind_int64(st, 1, rows[i].id);
		sqlite3_bind_int64(st, 2, now);
		if (store_step(s, st) != SQLITE_DONE)
			goto fail;
		sqlite3_reset(st);
	}
	if (store_commit(s) < 0)
		goto fail;
	/* committed: from here a crash re-queues these rows, never loses them */
	for (i = 0; i < n; i++) {
		const struct claimed *r = &rows[i];
		const char *a = arena.data;
		outbox_row_t row = { r->id, r->kind, a + r->ref, a + r->recipient,
		    r->attempts, r->first_attempt, r->subscriber_id, a + r->name, a + r->lang,
		    r->regions, r->contact_id, a + r->project, r->paused_until, r->stopped };

		cb(&row, arg);
	}
	rc = n;
	goto out;
fail:
	if (st)
		sqlite3_reset(st);
	store_rollback(s);
out:
	buf_free(&arena);
	return rc;
}

int
outbox_result(store_t *s, int64_t id, outbox_state_t state, int code, const char *reply,
    int64_t next_attempt, int64_t now)
{
	/* a row erased while in flight (privacy.c) keeps no reply: it may
	 * name the address */
	static const char sql[] = "UPDATE outbox SET state = ?2, reply_code = ?3,"
	    " reply = CASE WHEN recipient = 'erased/' || id THEN 'erased' ELSE ?4 END,"
	    " next_attempt = ?5, updated = ?6 WHERE id = ?1 AND state = 'sending'";
	sqlite3_stmt *st = store_cached(s, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, outbox_state_name(state), -1, SQLITE_STATIC);
	code ? sqlite3_bind_int(st, 3, code) : sqlite3_bind_null(st, 3);
	reply ? sqlite3_bind_text(st, 4, reply, -1, SQLITE_STATIC) : sqlite3_bind_null(st, 4);
	sqlite3_bind_int64(st, 5, next_attempt);
	sqlite3_bind_int64(st, 6, now);
	return store_run(s, st);
}

int
outbox_release(store_t *s, int64_t id, int64_t now)
{
	/* a row never attempted before loses the first_attempt its claim
	 * set: smtp.max_age_hours counts from a real attempt, not from a
	 * claim given back by a hold or a pause that may last days */
	static const char sql[] = "UPDATE outbox SET state = 'queued',"
	    " attempts = attempts - 1, first_attempt = CASE WHEN attempts = 1 THEN NULL"
	    " ELSE first_attempt END, updated = ?2 WHERE id = ?1 AND state = 'sending'";
	sqlite3_stmt *st = store_cached(s, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	return store_run(s, st);
}

int
outbox_cancel(store_t *s, outbox_kind_t kind, const char *ref, int64_t now)
{
	static const char sql[] = "UPDATE outbox SET state = 'cancelled', updated = ?3"
	    " WHERE kind = ?1 AND ref = ?2 AND state IN ('queued', 'deferred')";
	sqlite3_stmt *st;

	if ((st = store_cached(s, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, outbox_kind_name(kind), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ref, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	return store_run(s, st);
}

int
outbox_open(store_t *s, outbox_kind_t kind, const char *ref, int64_t *n)
{
	static const char sql[] = "SELECT count(*) FROM outbox WHERE kind = ?1 AND ref = ?2"
	    " AND " OUTBOX_OPEN_ROWS;
	sqlite3_stmt *st;

	if ((st = store_cached(s, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, outbox_kind_name(kind), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ref, -1, SQLITE_STATIC);
	return store_int(s, st, n) == 0 ? 0 : -1;
}

int
outbox_any_open(store_t *s, outbox_kind_t kind, const char *ref)
{
	/* the first entry of outbox_open, not a count of them all: the
	 * sender asks at the end of an issue, and a count read every open row */
	static const char sql[] = "SELECT EXISTS (SELECT 1 FROM outbox WHERE kind = ?1"
	    " AND ref = ?2 AND " OUTBOX_OPEN_ROWS ")";
	sqlite3_stmt *st;
	int64_t n;

	if ((st = store_cached(s, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, outbox_kind_name(kind), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ref, -1, SQLITE_STATIC);
	return store_int(s, st, &n) == 0 ? (int)n : -1;
}

/* count_row - a store_rows() callback: obj[state] += count */
static int
count_row(sqlite3_stmt *st, void *obj)
{
	const char *state = (const char *)sqlite3_column_text(st, 0);

	json_object_set_new(obj, state, json_integer(sqlite3_column_int64(st, 1) +
	    json_integer_value(json_object_get(obj, state))));
	return 0;
}

/* failure_row - a store_rows() callback: one failure of outbox_report() */
static int
failure_row(sqlite3_stmt *st, void *fails)
{
	json_array_append_new(fails, json_pack("{s:s, s:s, s:i, s:s, s:I, s:i}",
	    "recipient", sqlite3_column_text(st, 0), "state", sqlite3_column_text(st, 1),
	    "code", sqlite3_column_int(st, 2), "reply", sqlite3_column_text(st, 3),
	    "updated", (json_int_t)sqlite3_column_int64(st, 4),
	    "attempts", sqlite3_column_int(st, 5)));
	return 0;
}

int
outbox_report(store_t *s, outbox_kind_t kind, const char *ref, int failures, json_t **out)
{
	/* the rows, and what outbox_compact() folded of them */
	static const char counts_sql[] = "SELECT state, count(*) FROM outbox"
	    " WHERE kind = ?1 AND ref = ?2 GROUP BY state"
	    " UNION ALL SELECT state, count FROM outbox_totals WHERE kind = ?1 AND ref = ?2";
	static const char fails_sql[] = "SELECT recipient, state, reply_code,"
	    " coalesce(reply, ''), updated, attempts FROM outbox WHERE kind = ?1 AND ref = ?2"
	    " AND state IN ('failed', 'suppressed', 'deferred') AND reply IS NOT NULL"
	    " ORDER BY updated DESC, id DESC LIMIT ?3";
	sqlite3_stmt *st;
	json_t *counts = json_object(), *fails = json_array();
	int rc = -1;

	for (int i = 0; i < OUTBOX_STATES; i++)
		json_object_set_new(counts, state_names[i], json_integer(0));
	if ((st = store_cached(s, counts_sql)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, outbox_kind_name(kind), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ref, -1, SQLITE_STATIC);
	if (store_rows(s, st, count_row, counts) < 0 || (st = store_cached(s, fails_sql)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, outbox_kind_name(kind), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ref, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, failures);
	if (store_rows(s, st, failure_row, fails) < 0)
		goto out;
	*out = json_pack("{s:O, s:O}", "counts", counts, "failures", fails);
	rc = 0;
out:
	json_decref(counts);
	json_decref(fails);
	return rc;
}

/* rate_row - a store_rows() callback: outbox_rate()'s one row */
struct rate {
	int64_t	 now;
	double	 per_sec;
	int	 live;
};

static int
rate_row(sqlite3_stmt *st, void *arg)
{
	struct rate *r = arg;
	int64_t sent, recent, last, first, span;

	sent = sqlite3_column_int64(st, 0);
	recent = sqlite3_column_int64(st, 1);
	last = sqlite3_column_int64(st, 2);
	first = sqlite3_column_type(st, 3) == SQLITE_NULL ? r->now : sqlite3_column_int64(st, 3);
	r->live = sqlite3_column_int64(st, 4) > 0;
	if (r->live) {
		span = r->now - first < OUTBOX_RATE_WINDOW_S ? r->now - first : OUTBOX_RATE_WINDOW_S;
		r->per_sec = (double)recent / (double)(span > 1 ? span : 1);
	} else if (sent > 0) {
		span = last - first;
		r->per_sec = (double)sent / (double)(span > 1 ? span : 1);
	}
	return 0;
}

int
outbox_rate(store_t *s, const char *kind, const char *ref, int64_t now, double *per_sec,
    int *live)
{
	/* the rows, and what outbox_compact() folded of them (only of an
	 * issue long sent: nothing of them falls in the last minute) */
	static const char sql[] = "SELECT sum(sent), sum(recent), max(last), min(first),"
	    " sum(live) FROM (SELECT count(*) FILTER (WHERE state = 'sent') AS sent,"
	    " count(*) FILTER (WHERE state = 'sent' AND updated > ?3 - ?4 AND updated <= ?3)"
	    "  AS recent,"
	    " max(updated) FILTER (WHERE state = 'sent') AS last, min(first_attempt) AS first,"
	    " count(*) FILTER (WHERE state IN ('queued', 'sending')) AS live"
	    " FROM outbox WHERE kind = ?1 AND ref = ?2"
	    " UNION ALL SELECT coalesce(sum(count) FILTER (WHERE state = 'sent'), 0), 0,"
	    " max(last_updated) FILTER (WHERE state = 'sent'), min(first_attempt), 0"
	    " FROM outbox_totals WHERE kind = ?1 AND ref = ?2)";
	struct rate r = { now, 0, 0 };
	sqlite3_stmt *st;
	int rc;

	if ((st = store_cached(s, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ref, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int(st, 4, OUTBOX_RATE_WINDOW_S);
	rc = store_rows(s, st, rate_row, &r);
	*per_sec = r.per_sec;
	*live = r.live;
	return rc;
}

int64_t
outbox_compact(store_t *s, outbox_kind_t kind, const char *ref, int max)
{
	/* the oldest rows first, max of them, by the rowid; the same set for
	 * both statements, since nothing else writes in the transaction */
	static const char fold_sql[] = "INSERT INTO outbox_totals (kind, ref, state, count,"
	    " first_attempt, last_updated) SELECT ?1, ?2, state, count(*), min(first_attempt),"
	    " max(updated) FROM (SELECT state, first_attempt, updated FROM outbox"
	    "  WHERE kind = ?1 AND ref = ?2 AND state IN ('sent', 'skipped', 'cancelled')"
	    "  ORDER BY id LIMIT ?3) WHERE true GROUP BY state"
	    " ON CONFLICT (kind, ref, state) DO UPDATE SET count = count + excluded.count,"
	    " first_attempt = min(coalesce(first_attempt, excluded.first_attempt),"
	    "  coalesce(excluded.first_attempt, first_attempt)),"
	    " last_updated = max(coalesce(last_updated, excluded.last_updated),"
	    "  coalesce(excluded.last_updated, last_updated))";
	static const char drop_sql[] = "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox"
	    " WHERE kind = ?1 AND ref = ?2 AND state IN ('sent', 'skipped', 'cancelled')"
	    " ORDER BY id LIMIT ?3)";
	const char *sql[2] = { fold_sql, drop_sql };
	sqlite3_stmt *st;

	for (int i = 0; i < 2; i++) {
		if ((st = store_cached(s, sql[i])) == NULL)
			return -1;
		sqlite3_bind_text(st, 1, outbox_kind_name(kind), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, ref, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, max);
		if (store_run(s, st) < 0)
			return -1;
	}
	return store_changes(s);
}

int
outbox_erased(store_t *s, int64_t id)
{
	static const char sql[] = "SELECT count(*) FROM outbox"
	    " WHERE id = ?1 AND recipient = 'erased/' || id";
	sqlite3_stmt *st = store_cached(s, sql);
	int64_t n = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return store_int(s, st, &n) < 0 ? -1 : n > 0;
}

int
outbox_suppress(store_t *s, const char *email, const char *reason, int64_t now)
{
	static const char supp_sql[] = "INSERT OR IGNORE INTO suppressions (email, reason,"
	    " created) VALUES (?1, ?2, ?3)";
	static const char sub_sql[] = "UPDATE subscribers SET status = 'suppressed', updated = ?2"
	    " WHERE email = ?1 AND status = 'active'";
	sqlite3_stmt *st;

	if ((st = store_cached(s, supp_sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, email, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	if (store_run(s, st) < 0 || (st = store_cached(s, sub_sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, email, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	return store_run(s, st);
}
