/*
 * admin - the staff's writes, one implementation; contract in admin.h and
 * docs/control.md.
 *
 * One table names every op with its fields (name, JSON type, required),
 * an optional check of the values that needs no store, and the function
 * that runs it.  admin_parse() and admin_exec() both judge a request
 * against the table, so a request built in-process is held to the same
 * form as one read from the socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "addr.h"
#include "admin.h"
#include "announce.h"
#include "bulletin.h"
#include "clock.h"
#include "inbound.h"
#include "log.h"
#include "privacy.h"
#include "project.h"
#include "region.h"
#include "subscribe.h"
#include "util.h"

enum ftype { F_STR, F_INT, F_BOOL, F_ARRAY, F_OBJECT };

struct field {
	const char *name;
	enum ftype type;
	int	 required;
};

#define FIELDS_MAX 8

struct op {
	const char *name;
	struct field fields[FIELDS_MAX];	/* ends at a NULL name */
	/* values, without a store: 0, or -1 with *reply */
	int	(*check)(const json_t *req, json_t **reply);
	int	(*run)(store_t *, const conf_t *, const json_t *req, json_t **reply);
};

json_t *
admin_error(const char *code, int exit, const char *fmt, ...)
{
	va_list ap;
	buf_t msg;
	json_t *r;

	buf_init(&msg, 4096);
	va_start(ap, fmt);
	buf_vnotef(&msg, fmt, ap);
	va_end(ap);
	/* a message quoting invalid UTF-8 cannot be a JSON string */
	r = json_pack("{s:b, s:s, s:s, s:i}", "ok", 0, "error", code, "message",
	    utf8_valid(buf_str(&msg), msg.len) ? buf_str(&msg) : "(not UTF-8)", "exit", exit);
	buf_free(&msg);
	return r;
}

/* storage_error - the reply after an SQLite failure (rolled back) */
static json_t *
storage_error(store_t *s)
{
	return admin_error("unavailable", EX_TEMPFAIL, "%s; nothing was written",
	    store_full(s) ? "the storage is full" : store_errmsg(s));
}

static const char *
str(const json_t *req, const char *key, const char *def)
{
	const char *v = json_string_value(json_object_get(req, key));

	return v ? v : def;
}

/* --- values -------------------------------------------------------------- */

static const char *
lang_why(const char *s)
{
	return strcmp(s, "fi") == 0 || strcmp(s, "sv") == 0 || strcmp(s, "en") == 0 ?
	    NULL : "must be fi, sv or en";
}

static int
check_sub_add(const json_t *req, json_t **reply)
{
	const char *email = str(req, "email", ""), *why;
	unsigned mask;

	if (addr_check(email, &why) < 0)
		*reply = admin_error("invalid", EX_DATAERR, "%s: %s", email, why);
	else if (addr_name_check(str(req, "name", ""), &why) < 0)
		*reply = admin_error("invalid", EX_DATAERR, "%s", why);
	else if ((why = lang_why(str(req, "lang", "fi"))) != NULL)
		*reply = admin_error("invalid", EX_DATAERR, "%s", why);
	else if (region_parse_list(str(req, "regions", "all"), &mask) < 0)
		*reply = admin_error("invalid", EX_DATAERR, "--regions: \"%s\": use HYKS,TYKS,"
		    "TAYS,KYS,OYS or all", str(req, "regions", ""));
	else
		return 0;
	return -1;
}

static int
check_nonempty(const json_t *req, const char *key, json_t **reply)
{
	const char *v = str(req, key, "");

	if (*v && strlen(v) <= 1024)
		return 0;
	*reply = admin_error("invalid", EX_DATAERR, "%s: empty or longer than 1024 bytes", key);
	return -1;
}

static int
check_email_field(const json_t *req, json_t **reply)
{
	return check_nonempty(req, "email", reply);
}

static int
check_id_field(const json_t *req, json_t **reply)
{
	return check_nonempty(req, "id", reply);
}

static int
check_positive(const json_t *req, const char *key, json_t **reply)
{
	if (json_integer_value(json_object_get(req, key)) > 0)
		return 0;
	*reply = admin_error("invalid", EX_DATAERR, "%s: must be a positive whole number", key);
	return -1;
}

static int
check_issue(const json_t *req, json_t **reply)
{
	return check_positive(req, "id", reply);
}

/* check_row - a row id the web front took from a signed token */
static int
check_row(const json_t *req, json_t **reply)
{
	return check_positive(req, "id", reply);
}

static int
check_preferences(const json_t *req, json_t **reply)
{
	const char *why;
	unsigned mask;

	if (check_row(req, reply) < 0)
		return -1;
	if ((why = lang_why(str(req, "lang", "fi"))) != NULL)
		*reply = admin_error("invalid", EX_DATAERR, "lang: %s", why);
	else if (region_parse_list(str(req, "regions", "all"), &mask) < 0)
		*reply = admin_error("invalid", EX_DATAERR, "regions: \"%s\": use HYKS,TYKS,"
		    "TAYS,KYS,OYS or all", str(req, "regions", ""));
	else if (json_integer_value(json_object_get(req, "paused_until")) < 0)
		*reply = admin_error("invalid", EX_DATAERR, "paused_until: a negative time");
	else
		return 0;
	return -1;
}

static int
check_import(const json_t *req, json_t **reply)
{
	return check_positive(req, "import", reply);
}

/* check_rows - every staged row: [line, email, name, lang, regions], each
 * value as subscriber.add would take it; lines strictly increasing */
static int
check_rows(const json_t *req, json_t **reply)
{
	const json_t *rows = json_object_get(req, "rows"), *row;
	json_int_t last = 0;
	const char *why, *v[4];
	unsigned mask;
	size_t i;

	if (check_import(req, reply) < 0)
		return -1;
	if (json_array_size(rows) > ADMIN_IMPORT_ROWS_MAX) {
		*reply = admin_error("too_large", EX_PROTOCOL, "rows: more than %d in one request",
		    ADMIN_IMPORT_ROWS_MAX);
		return -1;
	}
	json_array_foreach(rows, i, row) {
		json_int_t line;

		if (!json_is_array(row) || json_array_size(row) != 5 ||
		    !json_is_integer(json_array_get(row, 0))) {
			*reply = admin_error("bad_type", EX_PROTOCOL, "rows[%zu]: not [line, email,"
			    " name, lang, regions]", i);
			return -1;
		}
		for (int k = 0; k < 4; k++)
			if ((v[k] = json_string_value(json_array_get(row, (size_t)k + 1))) == NULL) {
				*reply = admin_error("bad_type", EX_PROTOCOL, "rows[%zu][%d]: not a"
				    " string", i, k + 1);
				return -1;
			}
		line = json_integer_value(json_array_get(row, 0));
		if (line <= last) {
			*reply = admin_error("invalid", EX_DATAERR, "rows[%zu]: line %lld after %lld:"
			    " lines must increase", i, (long long)line, (long long)last);
			return -1;
		}
		last = line;
		if (addr_check(v[0], &why) < 0 || addr_name_check(v[1], &why) < 0 ||
		    (why = lang_why(v[2])) != NULL ||
		    (region_parse_list(v[3], &mask) < 0 && (why = "bad regions"))) {
			*reply = admin_error("invalid", EX_DATAERR, "line %lld: %s", (long long)line,
			    why);
			return -1;
		}
	}
	return 0;
}

static int
check_project(const json_t *req, json_t **reply)
{
	const json_t *c;
	unsigned mask;
	size_t i;

	if (check_id_field(req, reply) < 0)
		return -1;
	if (region_parse_list(str(req, "regions", ""), &mask) < 0) {
		*reply = admin_error("invalid", EX_DATAERR, "--region: \"%s\" is not HYKS, TYKS,"
		    " TAYS, KYS, OYS (comma-separated) or all", str(req, "regions", ""));
		return -1;
	}
	if (json_array_size(json_object_get(req, "contacts")) > PROJECT_CONTACTS_MAX + 1) {
		*reply = admin_error("invalid", EX_DATAERR, "more than %d contacts",
		    PROJECT_CONTACTS_MAX);
		return -1;
	}
	json_array_foreach(json_object_get(req, "contacts"), i, c)
		if (!json_is_string(c)) {
			*reply = admin_error("bad_type", EX_PROTOCOL, "contacts[%zu]: not a string", i);
			return -1;
		}
	return 0;
}

static int
check_reschedule(const json_t *req, json_t **reply)
{
	int64_t t;

	if (check_id_field(req, reply) < 0)
		return -1;
	if (clock_parse(str(req, "at", ""), &t, NULL) == 0)
		return 0;
	*reply = admin_error("invalid", EX_DATAERR, "at: \"%s\" is not an RFC 3339 time",
	    str(req, "at", ""));
	return -1;
}

/* --- subscribers ----------------------------------------------------------- */

static int
run_sub_add(store_t *s, const conf_t *conf, const json_t *req, json_t **reply)
{
	subscriber_t sub = { 0, str(req, "email", ""), str(req, "name", ""),
	    str(req, "lang", "fi"), 0, "active", 0, 0 };
	store_sub_t res;

	(void)conf;
	int erased;

	(void)region_parse_list(str(req, "regions", "all"), &sub.regions);
	if (store_begin(s) < 0 || (erased = privacy_erased(s, sub.email)) < 0) {
		*reply = storage_error(s);
		store_rollback(s);
		return -1;
	}
	if (erased) {
		store_rollback(s);
		*reply = admin_error("erased", EX_DATAERR, "%s: the address was erased at its "
		    "owner's request (subscriber erase) and cannot be added again", sub.email);
		return -1;
	}
	/* staff adding an address by hand is consent to resubscribe it */
	if (store_subscriber_put(s, &sub, 1, clock_now(), &res) < 0 || store_commit(s) < 0) {
		*reply = storage_error(s);
		store_rollback(s);
		return -1;
	}
	*reply = json_pack("{s:b, s:s, s:s}", "ok", 1, "email", sub.email, "result",
	    res == SUB_ADDED ? "added" : res == SUB_UPDATED ? "updated" : "unchanged");
	return 0;
}

static int
run_sub_remove(store_t *s, const conf_t *conf, const json_t *req, json_t **reply)
{
	const char *email = str(req, "email", "");
	int purge = json_is_true(json_object_get(req, "purge")), found = 0;

	(void)conf;
	if (store_begin(s) < 0 || store_subscriber_remove(s, email, purge, clock_now(),
	    &found) < 0) {
		*reply = storage_error(s);
		store_rollback(s);
		return -1;
	}
	if (!found) {
		store_rollback(s);
		*reply = admin_error("not_found", EX_DATAERR, "%s: no such subscriber", email);
		return -1;
	}
	if (store_commit(s) < 0) {
		*reply = storage_error(s);
		store_rollback(s);
		return -1;
	}
	*reply = json_pack("{s:b, s:s, s:s}", "ok", 1, "email", email, "result",
	    purge ? "purged" : "unsubscribed");
	return 0;
}

/* --- the staged import ------------------------------------------------------ */

static const char imp_new_sql[] = "INSERT INTO imports (created) VALUES (?1)";
static const char imp_get_sql[] = "SELECT result FROM imports WHERE id = ?1";
static const char imp_row_sql[] =
    "INSERT INTO import_rows (import_id, seq, email, name, lang, regions)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char imp_seq_sql[] =
    "SELECT 1 FROM import_rows WHERE import_id = ?1 AND seq = ?2";
static const char imp_dup_sql[] =
    "SELECT seq FROM import_rows WHERE import_id = ?1 AND email = ?2";
/* the counts of store_subscriber_put(), row by row, as one query: no row
 * is added; active with the same values is unchanged; not active and no
 * resubscribe is kept; everything else is updated */
static const char imp_count_sql[] =
    "SELECT count(*), coalesce(sum(s.id IS NULL), 0),"
    " coalesce(sum(s.status = 'active' AND s.name = r.name AND s.lang = r.lang"
    "   AND s.regions = r.regions), 0),"
    " coalesce(sum(s.status <> 'active' AND NOT ?2), 0)"
    " FROM import_rows r LEFT JOIN subscribers s ON s.email = r.email"
    " WHERE r.import_id = ?1";
/* what store_subscriber_put() writes, row by row, as one statement: the
 * rows that are neither unchanged nor kept are inserted or update the
 * subscriber; in line order, so new subscribers get their ids in the
 * file's order */
static const char imp_apply_sql[] =
    "INSERT INTO subscribers (email, name, lang, regions, status, created, updated)"
    " SELECT r.email, r.name, r.lang, r.regions, 'active', ?2, ?2 FROM import_rows r"
    " WHERE r.import_id = ?1 AND NOT EXISTS (SELECT 1 FROM subscribers s"
    "   WHERE s.email = r.email AND ((s.status = 'active' AND s.name = r.name"
    "   AND s.lang = r.lang AND s.regions = r.regions) OR (s.status <> 'active' AND NOT ?3)))"
    " ORDER BY r.seq"
    " ON CONFLICT (email) DO UPDATE SET name = excluded.name, lang = excluded.lang,"
    " regions = excluded.regions, status = 'active', updated = excluded.updated";
static const char imp_erased_sql[] = "SELECT EXISTS (SELECT 1 FROM suppressions"
    " WHERE email >= '" PRIVACY_ERASED_PREFIX "' AND email < 'erased;')";
static const char imp_done_sql[] = "UPDATE imports SET result = ?2 WHERE id = ?1";
/* dropping an import goes ADMIN_DROP_ROWS staged rows a turn: 100,000 at
 * once would keep the loop for about half a second */
static const char imp_drop_rows_sql[] =
    "DELETE FROM import_rows WHERE (import_id, seq) IN (SELECT import_id, seq"
    " FROM import_rows WHERE import_id = ?1 LIMIT ?2)";
static const char imp_drop_sql[] =
    "DELETE FROM imports WHERE id = ?1"
    " AND NOT EXISTS (SELECT 1 FROM import_rows WHERE import_id = ?1)";
static const char imp_expire_rows_sql[] =
    "DELETE FROM import_rows WHERE (import_id, seq) IN (SELECT r.import_id, r.seq"
    " FROM import_rows r JOIN imports i ON i.id = r.import_id WHERE i.created < ?1"
    " LIMIT ?2)";
static const char imp_expire_sql[] =
    "DELETE FROM imports WHERE created < ?1"
    " AND NOT EXISTS (SELECT 1 FROM import_rows WHERE import_id = imports.id)";

/* drop_slice - up to ADMIN_DROP_ROWS staged rows of the import id (or,
 * id 0, of the imports begun before `before`), then the imports left with
 * none, in one transaction: rows + imports deleted, or -1; *rows the rows
 * (fewer than ADMIN_DROP_ROWS: none are left) */
static int64_t
drop_slice(store_t *s, json_int_t id, int64_t before, int64_t *rows)
{
	sqlite3_stmt *st;
	int64_t n;

	if (store_begin(s) < 0 ||
	    (st = store_cached(s, id ? imp_drop_rows_sql : imp_expire_rows_sql)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, id ? id : before);
	sqlite3_bind_int(st, 2, ADMIN_DROP_ROWS);
	if (store_run(s, st) < 0)
		goto fail;
	n = *rows = store_changes(s);
	if ((st = store_cached(s, id ? imp_drop_sql : imp_expire_sql)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, id ? id : before);
	if (store_run(s, st) < 0)
		goto fail;
	n += store_changes(s);
	if (store_commit(s) < 0)
		goto fail;
	return n;
fail:
	store_rollback(s);
	return -1;
}

int
admin_expire(store_t *s, int64_t now)
{
	int64_t rows, n = drop_slice(s, 0, now - ADMIN_IMPORT_TTL_S, &rows);

	return n < 0 ? -1 : (int)(n > INT32_MAX ? INT32_MAX : n);
}

/* import_state - 1 staging, 2 applied (*result set, new), 0 unknown, -1 */
static int
import_state(store_t *s, json_int_t id, json_t **result)
{
	sqlite3_stmt *st = store_cached(s, imp_get_sql);
	int rc = -1;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	switch (store_step(s, st)) {
	case SQLITE_ROW:
		if (sqlite3_column_type(st, 0) == SQLITE_NULL)
			rc = 1;
		else {
			*result = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
			rc = *result ? 2 : -1;
		}
		break;
	case SQLITE_DONE:
		rc = 0;
		break;
	}
	sqlite3_reset(st);
	return rc;
}

static json_t *
no_import(json_int_t id)
{
	return admin_error("no_import", EX_TEMPFAIL, "import %lld is unknown, expired (after"
	    " %d s) or applied; nothing of it was written: start the import again",
	    (long long)id, ADMIN_IMPORT_TTL_S);
}

static int
run_import_begin(store_t *s, const conf_t *conf, const json_t *req, json_t **reply)
{
	sqlite3_stmt *st;
	int64_t now = clock_now();

	(void)conf, (void)req;
	if (admin_expire(s, now) < 0 || store_begin(s) < 0 ||
	    (st = store_cached(s, imp_new_sql)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, now);
	if (store_run(s, st) < 0)
		goto fail;
	*reply = json_pack("{s:b, s:I}", "ok", 1, "import", (json_int_t)store_last_id(s));
	if (store_commit(s) < 0) {
		json_decref(*reply);
		goto fail;
	}
	return 0;
fail:
	*reply = storage_error(s);
	store_rollback(s);
	return -1;
}

/* staged_line - the line already staged in import id with email (the
 * repeat a UNIQUE constraint refused), or 0 */
static int64_t
staged_line(store_t *s, json_int_t id, const char *email)
{
	sqlite3_stmt *st = store_cached(s, imp_dup_sql);
	int64_t line = 0;

	if (st == NULL)
		return 0;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, email, -1, SQLITE_STATIC);
	if (store_step(s, st) == SQLITE_ROW)
		line = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return line;
}

/* run_import_rows - one chunk in one commit.  A chunk is staged whole or
 * not at all, so one whose first line is staged already is a retry whose
 * reply was lost: ok, nothing written again.  An address staged before in
 * this import (case folded) refuses the chunk. */
static int
run_import_rows(store_t *s, const conf_t *conf, const json_t *req, json_t **reply)
{
	json_int_t id = json_integer_value(json_object_get(req, "import"));
	const json_t *rows = json_object_get(req, "rows"), *row;
	json_t *done = NULL;
	sqlite3_stmt *st;
	unsigned mask;
	size_t i;
	int state, again = 0;
	int64_t any_erased = 0;

	(void)conf;
	if (store_begin(s) < 0 || (state = import_state(s, id, &done)) < 0)
		goto fail;
	if (state != 1) {
		json_decref(done);
		store_rollback(s);
		*reply = no_import(id);
		return -1;
	}
	if (json_array_size(rows) && (st = store_cached(s, imp_seq_sql)) != NULL) {
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, json_integer_value(json_array_get(json_array_get(rows,
		    0), 0)));
		again = store_step(s, st) == SQLITE_ROW;
		sqlite3_reset(st);
	}
	/* an address's hash is looked for only when some address was erased */
	if ((st = store_cached(s, imp_erased_sql)) == NULL || store_int(s, st, &any_erased) < 0)
		goto fail;
	json_array_foreach(rows, i, row) {
		const char *email = json_string_value(json_array_get(row, 1));
		json_int_t line = json_integer_value(json_array_get(row, 0));
		int64_t first;

		int erased;

		if (again)
			break;
		if ((erased = any_erased ? privacy_erased(s, email) : 0) < 0)
			goto fail;
		if (erased) {
			store_rollback(s);
			*reply = admin_error("erased", EX_DATAERR, "line %lld: email \"%s\": the "
			    "address was erased at its owner's request (subscriber erase) and "
			    "cannot be imported; nothing imported", (long long)line, email);
			return -1;
		}
		if ((st = store_cached(s, imp_row_sql)) == NULL)
			goto fail;
		(void)region_parse_list(json_string_value(json_array_get(row, 4)), &mask);
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, line);
		for (int k = 1; k <= 3; k++)
			sqlite3_bind_text(st, k + 2, json_string_value(json_array_get(row, (size_t)k)),
			    -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 6, (int)mask);
		if (store_run(s, st) == 0)
			continue;
		if ((first = staged_line(s, id, email)) == 0)
			goto fail;
		store_rollback(s);
		*reply = admin_error("invalid", EX_DATAERR, "line %lld: email \"%s\": the same"
		    " address as line %lld; nothing imported", (long long)line, email,
		    (long long)first);
		return -1;
	}
	if (store_commit(s) < 0)
		goto fail;
	*reply = json_pack("{s:b, s:I, s:I}", "ok", 1, "import", id, "staged",
	    again ? (json_int_t)0 : (json_int_t)json_array_size(rows));
	return 0;
fail:
	*reply = storage_error(s);
	store_rollback(s);
	return -1;
}

/* run_import_commit - the staged rows in one transaction; the counts are
 * kept with the import, so a commit retried after a lost reply gets them */
static int
run_import_commit(store_t *s, const conf_t *conf, const json_t *req, json_t **reply)
{
	json_int_t id = json_integer_value(json_object_get(req, "import"));
	int resubscribe = json_is_true(json_object_get(req, "resubscribe"));
	int dry_run = json_is_true(json_object_get(req, "dry_run"));
	int64_t now = clock_now(), t0 = clock_mono_us(), n = 0, c[3] = { 0 };
	json_t *done = NULL;
	sqlite3_stmt *st = NULL;
	char *text = NULL;
	int state, rc;

	(void)conf;
	if (store_begin(s) < 0 || (state = import_state(s, id, &done)) < 0)
		goto fail;
	if (state == 2) {
		store_rollback(s);
		*reply = done;
		return 0;
	}
	if (state == 0) {
		store_rollback(s);
		*reply = no_import(id);
		return -1;
	}
	/* no address twice: import_rows' UNIQUE (import_id, email) */
	if ((st = store_cached(s, imp_count_sql)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, resubscribe);
	if (store_step(s, st) != SQLITE_ROW) {
		sqlite3_reset(st);
		goto fail;
	}
	n = sqlite3_column_int64(st, 0);
	for (int k = 0; k < 3; k++)
		c[k] = sqlite3_column_int64(st, k + 1);
	sqlite3_reset(st);
	if (!dry_run) {
		if ((st = store_cached(s, imp_apply_sql)) == NULL)
			goto fail;
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, now);
		sqlite3_bind_int(st, 3, resubscribe);
		if (store_run(s, st) < 0)
			goto fail;
	}
	/* added, updated, unchanged, kept unsubscribed */
	done = json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:b}", "ok", 1, "import", id,
	    "added", (json_int_t)c[0], "updated", (json_int_t)(n - c[0] - c[1] - c[2]),
	    "unchanged", (json_int_t)c[1], "kept_unsubscribed", (json_int_t)c[2],
	    "dry_run", dry_run);
	text = json_dumps(done, JSON_COMPACT | JSON_SORT_KEYS);
	/* the staged rows are dead now (no chunk joins an applied import) and
	 * go with subscriber.import.abort, the next request: deleting 100,000
	 * rows would add a third to this one's time */
	if ((st = store_cached(s, imp_done_sql)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
	if (store_run(s, st) < 0 || store_commit(s) < 0)
		goto fail;
	log_info("admin: import %lld: %lld rows %s in %.1f ms", (long long)id, (long long)n,
	    dry_run ? "counted (dry run)" : "applied", (double)(clock_mono_us() - t0) / 1000);
	*reply = done;
	done = NULL;
	rc = 0;
	goto out;
fail:
	*reply = storage_error(s);
	store_rollback(s);
	rc = -1;
out:
	free(text);
	json_decref(done);
	return rc;
}

static int
run_import_abort(store_t *s, const conf_t *conf, const json_t *req, json_t **reply)
{
	json_int_t id = json_integer_value(json_object_get(req, "import"));
	int64_t rows;

	(void)conf;
	if (drop_slice(s, id, 0, &rows) < 0) {
		*reply = storage_error(s);
		return -1;
	}
	/* a slice short of the limit took the last rows, and the import */
	*reply = json_pack("{s:b, s:I, s:b}", "ok", 1, "import", id, "done",
	    rows < ADMIN_DROP_ROWS);
	return 0;
}

/* --- projects ---------------------------------------------------------------- */

static int
run_project_add(store_t *s, const conf_t *conf, const json_t *req, json_t **reply)
{
	const json_t *cs = json_object_get(req, "contacts");
	const char *contacts[PROJECT_CONTACTS_MAX + 1];
	project_t pr = { str(req, "id", ""), str(req, "name", NULL), str(req, "lang", "fi"),
	    0, contacts, 0 };
	int created;
	buf_t err;

	(void)conf;
	for (size_t i = 0; i < json_array_size(cs) && i <= PROJECT_CONTACTS_MAX; i++)
		contacts[pr.ncontacts++] = json_string_value(json_array_get(cs, i));
	(void)region_parse_list(str(req, "regions", ""), &pr.regions);
	buf_init(&err, 4096);
	if (project_check(&pr, &err) < 0) {
		*reply = admin_error("invalid", EX_DATAERR, "project %s: %s", pr.id, buf_str(&err));
		buf_free(&err);
		return -1;
	}
	buf_free(&err);
	if (store_begin(s) < 0 || project_put(s, &pr, clock_now(), &created) < 0 ||
	    store_commit(s) < 0) {
		*reply = storage_error(s);
		store_rollback(s);
		return -1;
	}
	*reply = json_pack("{s:b, s:s, s:s, s:I}", "ok", 1, "id", pr.id, "result",
	    created ? "added" : "updated", "contacts", (json_int_t)pr.ncontacts);
	return 0;
}

static int
run_project_remove(store_t *s, const conf_t *conf, const json_t *req, json_t **reply)
{
	const char *id = str(req, "id", "");
	int found = 0;

	(void)conf;
	if (store_begin(s) < 0 || project_remove(s, id, &found) < 0) {
		*reply = storage_error(s);
		store_rollback(s);
		return -1;
	}
	if (!found) {
		store_rollback(s);
		*reply = admin_error("not_found", EX_DATAERR, "no project %s", id);
		return -1;
	}
	if (store_commit(s) < 0) {
		*reply = storage_error(s);
		store_rollback(s);
		return -1;
	}
	*reply = json_pack("{s:b, s:s, s:s}", "ok", 1, "id", id, "result", "removed");
	return 0;
}

/* --- announcements (announce.c's own transactions) ----------------------------- */

/* announce_reply - after announce_*(): ok, or err's text coded; "storing"
 * is how announce.c says the store failed */
static int
announce_reply(int rc, buf_t *err, const char *lead, json_t *ok, json_t **reply)
{
	if (rc == 0) {
		*reply = ok;
		return 0;
	}
	json_decref(ok);
	if (strncmp(buf_str(err), "storing", 7) == 0)
		*reply = admin_error("unavailable", EX_TEMPFAIL, "%s%s", lead, buf_str(err));
	else
		*reply = admin_error("invalid", EX_DATAERR, "%s%s", lead, buf_str(err));
	return -1;
}

static int
run_announce_store(store_t *s, const conf_t *conf, const json_t *req, json_t **reply)
{
	json_t *ev = json_deep_copy(json_object_get(req, "event"));
	int revision = 0, rc;
	buf_t err;

	buf_init(&err, 4096);
	rc = announce_store(s, conf, ev, clock_now(), &revision, &err);
	rc = announce_reply(rc, &err, "announce: ", json_pack("{s:b, s:O, s:i}", "ok", 1, "id",
	    json_object_get(ev, "id") ? json_object_get(ev, "id") : json_null(), "revision",
	    revision), reply);
	json_decref(ev);
	buf_free(&err);
	return rc;
}

static int
run_announce_change(store_t *s, const conf_t *conf, const json_t *req, json_t **reply)
{
	const char *id = str(req, "id", ""), *at = str(req, "at", NULL);
	int64_t when = 0;
	buf_t err;
	int rc;

	buf_init(&err, 4096);
	if (at) {
		(void)clock_parse(at, &when, NULL);
		rc = announce_reschedule(s, conf, id, when, clock_now(), &err);
	} else
		rc = announce_cancel(s, conf, id, clock_now(), &err);
	rc = announce_reply(rc, &err, "", json_pack("{s:b, s:s, s:s}", "ok", 1, "id", id,
	    "result", at ? "rescheduled" : "cancelled"), reply);
	buf_free(&err);
	return rc;
}

/* --- issues (bulletin.c's own transactions) ------------------------------------ */

static int
run_issue_control(store_t *s, const conf_t *conf, const json_t *req, json_t **reply)
{
	json_int_t id = json_integer_value(json_object_get(req, "id"));
	const char *verb = strchr(str(req, "op", ""), '.') + 1;
	buf_t err;
	int rc = 0;

	(void)conf;
	buf_init(&err, 4096);
	if ((rc = bulletin_control(s, id, verb, clock_now(), &err)) < 0) {
		*reply = rc == -2 ? admin_error("unavailable", EX_TEMPFAIL, "%s", buf_str(&err)) :
		    admin_error("invalid", EX_DATAERR, "%s", buf_str(&err));
		rc = -1;
	} else
		*reply = json_pack("{s:b, s:I, s:s}", "ok", 1, "id", id, "result", verb);
	buf_free(&err);
	return rc;
}

static int
run_issue_send_now(store_t *s, const conf_t *conf, const json_t *req, json_t **reply)
{
	int64_t id = 0;
	buf_t err;
	int rc = 0;

	(void)req;
	buf_init(&err, 4096);
	if (bulletin_send_now(s, conf, clock_now(), &id, &err) < 0) {
		*reply = admin_error("unavailable", EX_TEMPFAIL, "%s", buf_str(&err));
		rc = -1;
	} else
		*reply = json_pack("{s:b, s:I}", "ok", 1, "id", (json_int_t)id);
	buf_free(&err);
	return rc;
}

/* --- inbound mail ------------------------------------------------------------- */

/* the message of an inbound.deliver: base64 of at most INBOUND_RAW_MAX
 * bytes into out (made with RAW_BUF: n base64 characters decode into at
 * most n / 4 * 3, and libsodium wants room for that, padding included);
 * 0, or -1 */
#define RAW_BUF	(INBOUND_RAW_MAX + 8)
static int
request_raw(const json_t *req, buf_t *out)
{
	const char *b64 = str(req, "raw", "");
	size_t n = strlen(b64), got = 0;

	if (n / 4 * 3 > INBOUND_RAW_MAX + 3 || buf_reserve(out, n / 4 * 3 + 3) < 0)
		return -1;
	if (sodium_base642bin((unsigned char *)out->data, out->cap, b64, n, "\r\n", &got, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || got > INBOUND_RAW_MAX)
		return -1;
	out->len = got;
	return 0;
}

/* check_mailbox_uidl - a mailbox identity and a UIDL (RFC 1939: 1 to 70
 * characters 0x21..0x7e) the record can take */
static int
check_mailbox_uidl(const char *mailbox, const char *uidl, json_t **reply)
{
	size_t n = strlen(mailbox);

	if (n == 0 || n > INBOUND_MAILBOX_MAX || !utf8_valid(mailbox, n)) {
		*reply = admin_error("invalid", EX_DATAERR, "mailbox: empty, over %d bytes or not"
		    " UTF-8", INBOUND_MAILBOX_MAX);
		return -1;
	}
	if (uidl && !inbound_uidl_ok(uidl)) {
		*reply = admin_error("invalid", EX_DATAERR, "uidl: not 1 to %d characters 0x21..0x7e",
		    INBOUND_UIDL_MAX);
		return -1;
	}
	return 0;
}

static int
check_inbound(const json_t *req, json_t **reply)
{
	const char *via = str(req, "via", "deliver");
	json_int_t size = json_integer_value(json_object_get(req, "size"));
	size_t len;
	buf_t raw;
	int bad;

	buf_init(&raw, RAW_BUF);
	bad = request_raw(req, &raw);
	len = raw.len;
	buf_free(&raw);
	if (bad) {
		*reply = admin_error("invalid", EX_DATAERR, "raw: not base64 of at most %zu bytes",
		    INBOUND_RAW_MAX);
		return -1;
	}
	if (strcmp(via, "deliver") != 0 && strcmp(via, "poll") != 0) {
		*reply = admin_error("invalid", EX_DATAERR, "via: %s: not deliver or poll", via);
		return -1;
	}
	/* the bytes received: at least those sent (a smaller figure would
	 * understate the message in the store and against the size cap) */
	if (json_object_get(req, "size") && (size < 0 || (uint64_t)size < len)) {
		*reply = admin_error("invalid", EX_DATAERR, "size: %lld is less than the %zu bytes"
		    " of raw decoded", (long long)size, len);
		return -1;
	}
	/* a POP3 poller's message: its mailbox and UIDL are recorded with it */
	if (!json_object_get(req, "uidl") != !json_object_get(req, "mailbox")) {
		*reply = admin_error("invalid", EX_DATAERR, "uidl and mailbox: both or neither");
		return -1;
	}
	if (json_object_get(req, "uidl")) {
		if (strcmp(via, "poll") != 0) {
			*reply = admin_error("invalid", EX_DATAERR, "uidl: only with via poll");
			return -1;
		}
		return check_mailbox_uidl(str(req, "mailbox", ""), str(req, "uidl", ""), reply);
	}
	return 0;
}

static int
check_uidl_sync(const json_t *req, json_t **reply)
{
	const json_t *uidls = json_object_get(req, "uidls"), *u;
	size_t i;

	if (check_mailbox_uidl(str(req, "mailbox", ""), NULL, reply) < 0)
		return -1;
	if (json_array_size(uidls) > INBOUND_UIDLS_MAX) {
		*reply = admin_error("too_large", EX_PROTOCOL, "uidls: more than %d",
		    INBOUND_UIDLS_MAX);
		return -1;
	}
	json_array_foreach(uidls, i, u)
		if (!json_is_string(u) || !inbound_uidl_ok(json_string_value(u))) {
			*reply = admin_error("invalid", EX_DATAERR, "uidls[%zu]: not a UIDL (1 to %d"
			    " characters 0x21..0x7e)", i, INBOUND_UIDL_MAX);
			return -1;
		}
	return 0;
}

static int
run_uidl_sync(store_t *s, const conf_t *conf, const json_t *req, json_t **reply)
{
	const json_t *complete = json_object_get(req, "complete");
	json_t *taken = NULL;
	int64_t pruned = 0;
	buf_t err;
	int rc = 0;

	(void)conf;
	buf_init(&err, 4096);
	if (inbound_uidl_sync(s, str(req, "mailbox", ""), json_object_get(req, "uidls"),
	    complete == NULL || json_is_true(complete), &taken, &pruned, &err) < 0) {
		*reply = admin_error("unavailable", EX_TEMPFAIL, "%s", buf_str(&err));
		rc = -1;
	} else
		*reply = json_pack("{s:b, s:O, s:I}", "ok", 1, "taken", taken, "pruned",
		    (json_int_t)pruned);
	json_decref(taken);
	buf_free(&err);
	return rc;
}

static int
run_inbound_deliver(store_t *s, const conf_t *conf, const json_t *req, json_t **reply)
{
	json_int_t size = json_integer_value(json_object_get(req, "size"));
	inbound_result_t res;
	buf_t raw, err;
	int rc = 0;

	const char *msg;
	size_t len;
	int dup = 0, got;

	buf_init(&raw, RAW_BUF);
	buf_init(&err, 4096);
	(void)request_raw(req, &raw);	/* judged by check_inbound */
	msg = raw.data ? raw.data : "";
	len = (size_t)size > raw.len ? (size_t)size : raw.len;
	if (json_object_get(req, "uidl"))
		got = inbound_accept_uidl(s, conf, str(req, "mailbox", ""), str(req, "uidl", ""),
		    msg, raw.len, len, &res, &dup, &err);
	else
		got = inbound_accept(s, conf, strcmp(str(req, "via", "deliver"), "poll") == 0 ?
		    VIA_POLL : VIA_DELIVER, str(req, "envelope", ""), msg, raw.len, len, &res,
		    &err);
	if (got < 0) {
		*reply = admin_error("unavailable", EX_TEMPFAIL, "%s", buf_str(&err));
		rc = -1;
	} else
		*reply = json_pack("{s:b, s:I, s:s, s:s, s:b}", "ok", 1, "id", (json_int_t)res.id,
		    "kind", classify_kind_name(res.kind), "action", res.action, "duplicate", dup);
	buf_free(&raw);
	buf_free(&err);
	return rc;
}

/* --- the table ---------------------------------------------------------------- */

static const struct op ops[] = {
	{ "subscriber.add", { { "email", F_STR, 1 }, { "name", F_STR, 0 },
	  { "lang", F_STR, 0 }, { "regions", F_STR, 0 } }, check_sub_add, run_sub_add },
	{ "subscriber.erase", { { "email", F_STR, 1 } }, check_email_field, privacy_run_erase },
	{ "subscriber.remove", { { "email", F_STR, 1 }, { "purge", F_BOOL, 0 } },
	  check_email_field, run_sub_remove },
	{ "subscriber.import.begin", { { NULL, 0, 0 } }, NULL, run_import_begin },
	{ "subscriber.import.rows", { { "import", F_INT, 1 }, { "rows", F_ARRAY, 1 } },
	  check_rows, run_import_rows },
	{ "subscriber.import.commit", { { "import", F_INT, 1 }, { "resubscribe", F_BOOL, 0 },
	  { "dry_run", F_BOOL, 0 } }, check_import, run_import_commit },
	{ "subscriber.import.abort", { { "import", F_INT, 1 } }, check_import,
	  run_import_abort },
	{ "project.add", { { "id", F_STR, 1 }, { "name", F_STR, 0 }, { "lang", F_STR, 0 },
	  { "regions", F_STR, 1 }, { "contacts", F_ARRAY, 1 } }, check_project,
	  run_project_add },
	{ "project.remove", { { "id", F_STR, 1 } }, check_id_field, run_project_remove },
	{ "announce.store", { { "event", F_OBJECT, 1 } }, NULL, run_announce_store },
	{ "announce.cancel", { { "id", F_STR, 1 } }, check_id_field, run_announce_change },
	{ "announce.reschedule", { { "id", F_STR, 1 }, { "at", F_STR, 1 } }, check_reschedule,
	  run_announce_change },
	{ "issue.hold", { { "id", F_INT, 1 } }, check_issue, run_issue_control },
	{ "issue.resume", { { "id", F_INT, 1 } }, check_issue, run_issue_control },
	{ "issue.cancel", { { "id", F_INT, 1 } }, check_issue, run_issue_control },
	{ "issue.approve", { { "id", F_INT, 1 } }, check_issue, run_issue_control },
	{ "issue.send_now", { { NULL, 0, 0 } }, NULL, run_issue_send_now },
	{ "inbound.deliver", { { "raw", F_STR, 1 }, { "envelope", F_STR, 0 }, { "via", F_STR, 0 },
	  { "size", F_INT, 0 }, { "mailbox", F_STR, 0 }, { "uidl", F_STR, 0 } }, check_inbound,
	  run_inbound_deliver },
	{ "inbound.mailbox_sync", { { "mailbox", F_STR, 1 }, { "uidls", F_ARRAY, 1 },
	  { "complete", F_BOOL, 0 } }, check_uidl_sync, run_uidl_sync },
	/* the subscriber pages (src/web/, subscribe.h) */
	{ "web.subscribe", { { "email", F_STR, 1 }, { "name", F_STR, 0 },
	  { "lang", F_STR, 0 }, { "regions", F_STR, 0 }, { "ip", F_STR, 0 },
	  { "consent_version", F_STR, 0 }, { "consent_text", F_STR, 0 },
	  { "consent_lang", F_STR, 0 } }, check_sub_add,
	  subscribe_run_request },
	{ "web.confirm", { { "id", F_INT, 1 } }, check_row, subscribe_run_confirm },
	{ "web.unsubscribe", { { "id", F_INT, 1 } }, check_row, subscribe_run_unsubscribe },
	{ "web.preferences", { { "id", F_INT, 1 }, { "lang", F_STR, 1 }, { "regions", F_STR, 1 },
	  { "paused_until", F_INT, 0 } }, check_preferences, subscribe_run_preferences },
	{ "web.contact_optout", { { "id", F_INT, 1 } }, check_row, subscribe_run_optout },
};

static const char *const type_names[] = {
	[F_STR] = "a string", [F_INT] = "a whole number", [F_BOOL] = "true or false",
	[F_ARRAY] = "an array", [F_OBJECT] = "an object",
};

/* every error code admin replies with (docs/control.md) */
static const char *const codes[] = { "bad_request", "bad_json", "unknown_op",
	"unknown_field", "bad_type", "missing_field", "too_large", "invalid", "not_found",
	"no_import", "unavailable", "no_reply", "erased", "bad_frames" };

static int
type_ok(const json_t *v, enum ftype t)
{
	switch (t) {
	case F_STR: return json_is_string(v);
	case F_INT: return json_is_integer(v);
	case F_BOOL: return json_is_boolean(v);
	case F_ARRAY: return json_is_array(v);
	case F_OBJECT: return json_is_object(v);
	}
	return 0;
}

/* judge - the op of req, its form and values checked; NULL with *reply */
static const struct op *
judge(const json_t *req, json_t **reply)
{
	const struct op *op = NULL;
	const char *name, *key;
	json_t *v;

	if (!json_is_object(req)) {
		*reply = admin_error("bad_request", EX_PROTOCOL, "a request is one JSON object");
		return NULL;
	}
	if ((name = json_string_value(json_object_get(req, "op"))) == NULL) {
		*reply = admin_error("bad_request", EX_PROTOCOL, "no \"op\" string");
		return NULL;
	}
	for (size_t i = 0; i < NELEM(ops) && op == NULL; i++)
		if (strcmp(ops[i].name, name) == 0)
			op = &ops[i];
	if (op == NULL) {
		*reply = admin_error("unknown_op", EX_PROTOCOL, "op \"%s\" is not known", name);
		return NULL;
	}
	json_object_foreach((json_t *)req, key, v) {
		const struct field *f = NULL;

		if (strcmp(key, "op") == 0)
			continue;
		for (int i = 0; i < FIELDS_MAX && op->fields[i].name && f == NULL; i++)
			if (strcmp(op->fields[i].name, key) == 0)
				f = &op->fields[i];
		if (f == NULL) {
			*reply = admin_error("unknown_field", EX_PROTOCOL, "%s: not a field of %s",
			    key, op->name);
			return NULL;
		}
		if (!type_ok(v, f->type)) {
			*reply = admin_error("bad_type", EX_PROTOCOL, "%s: must be %s", key,
			    type_names[f->type]);
			return NULL;
		}
	}
	for (int i = 0; i < FIELDS_MAX && op->fields[i].name; i++)
		if (op->fields[i].required && json_object_get(req, op->fields[i].name) == NULL) {
			*reply = admin_error("missing_field", EX_PROTOCOL, "%s: required by %s",
			    op->fields[i].name, op->name);
			return NULL;
		}
	if (op->check && op->check(req, reply) < 0)
		return NULL;
	return op;
}

json_t *
admin_parse(const void *data, size_t len, json_t **reply)
{
	json_error_t jerr;
	json_t *req;

	if (len > ADMIN_REQUEST_MAX) {
		*reply = admin_error("too_large", EX_PROTOCOL, "a request is at most %zu bytes",
		    ADMIN_REQUEST_MAX);
		return NULL;
	}
	if ((req = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		*reply = admin_error("bad_json", EX_PROTOCOL, "%d:%d: %s", jerr.line, jerr.column,
		    jerr.text);
		return NULL;
	}
	if (judge(req, reply) == NULL) {
		json_decref(req);
		return NULL;
	}
	return req;
}

static int
reply_exit(const json_t *reply)
{
	return json_is_true(json_object_get(reply, "ok")) ? 0 :
	    (int)json_integer_value(json_object_get(reply, "exit"));
}

int
admin_exec(store_t *s, const conf_t *conf, const json_t *req, json_t **reply)
{
	const struct op *op;

	*reply = NULL;
	if ((op = judge(req, reply)) != NULL)
		(void)op->run(s, conf, req, reply);
	/* an op whose reply could not be packed (text that is not UTF-8)
	 * still answers: the caller never waits for nothing, nor reads a
	 * missing reply as success */
	if (*reply == NULL)
		*reply = admin_error("no_reply", EX_SOFTWARE, "the reply could not be made;"
		    " the request may have been applied");
	return reply_exit(*reply);
}

char *
admin_handle(store_t *s, const conf_t *conf, const void *data, size_t len,
    admin_result_t *res)
{
	json_t *req, *reply = NULL;
	const char *name;
	char *text;

	*res = (admin_result_t){ "?", NULL, 0 };
	if ((req = admin_parse(data, len, &reply)) != NULL)
		admin_exec(s, conf, req, &reply);
	/* the op's name from the table, so the log quotes nothing sent */
	if (req && (name = json_string_value(json_object_get(req, "op"))) != NULL)
		for (size_t i = 0; i < NELEM(ops); i++)
			if (strcmp(ops[i].name, name) == 0)
				res->op = ops[i].name;
	if ((res->exit = reply_exit(reply)) != 0) {
		name = json_string_value(json_object_get(reply, "error"));
		res->error = "error";
		for (size_t i = 0; name && i < NELEM(codes); i++)
			if (strcmp(codes[i], name) == 0)
				res->error = codes[i];
	}
	text = json_dumps(reply, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(reply);
	json_decref(req);
	return text;
}

/* --- the lock ---------------------------------------------------------------- */

void
admin_lock_path(const conf_t *conf, buf_t *out)
{
	buf_notef(out, "%s.lock", conf->db_path);
}

/* lock_open - the lock file opened for writing; made 0660 when this call
 * creates it (the umask would narrow the open's mode, as it would the
 * control socket's), an existing one's mode left as its owner set it.
 * The descriptor, or -1 with errno */
static int
lock_open(const char *path)
{
	int f, e;

	if ((f = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0660)) >= 0) {
		if (fchmod(f, 0660) == 0)
			return f;
		e = errno;
		close(f);
		errno = e;
		return -1;
	}
	return errno == EEXIST ? open(path, O_RDWR | O_CLOEXEC) : -1;
}

int
admin_lock(const conf_t *conf, int *fd, buf_t *err)
{
	buf_t path;
	int rc = -1, f = -1;

	*fd = -1;
	buf_init(&path, 8192);
	admin_lock_path(conf, &path);
	if ((f = lock_open(buf_str(&path))) < 0 && errno == ENOENT) {
		/* the database's directory, as store_open() would make it */
		char *copy = xstrdup(buf_str(&path));

		if (mkdir(dirname(copy), 0750) == 0 || errno == EEXIST)
			f = lock_open(buf_str(&path));
		free(copy);
	}
	/* flock needs no write access: a staff member in the group may lock */
	if (f < 0 && errno == EACCES)
		f = open(buf_str(&path), O_RDONLY | O_CLOEXEC);
	if (f < 0) {
		buf_notef(err, "%s: %s", buf_str(&path), strerror(errno));
		goto out;
	}
	if (flock(f, LOCK_EX | LOCK_NB) == 0) {
		*fd = f;
		f = -1;
		rc = 1;
	} else if (errno == EWOULDBLOCK)
		rc = 0;
	else
		buf_notef(err, "%s: flock: %s", buf_str(&path), strerror(errno));
out:
	if (f >= 0)
		close(f);
	buf_free(&path);
	return rc;
}

int
admin_lock_wait(const conf_t *conf, long wait_ms, int stop_fd, int *fd, buf_t *err)
{
	int64_t deadline = clock_mono_ms() + wait_ms;
	int rc, said = 0;

	while ((rc = admin_lock(conf, fd, err)) == 0 && clock_mono_ms() < deadline) {
		if (!said++) {
			buf_t path;

			buf_init(&path, 8192);
			admin_lock_path(conf, &path);
			log_warn("a tiedote command holds %s (it writes the database without a"
			    " worker); waiting up to %ld s for it to finish", buf_str(&path),
			    wait_ms / 1000);
			buf_free(&path);
		}
		/* the pause between tries, cut short by a stop (SIGTERM on the
		 * worker's signalfd): systemd's stop is not left waiting */
		{
			struct pollfd p = { .fd = stop_fd, .events = POLLIN };

			if (poll(&p, stop_fd >= 0, 50) > 0)
				return -2;
		}
	}
	return rc;
}

void
admin_unlock(int fd)
{
	if (fd >= 0)
		close(fd);	/* closing the last descriptor releases the flock */
}
