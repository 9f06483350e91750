/*
 * privacy - personal data by address: export, erasure, the erased hash;
 * contract in privacy.h.
 *
 * Both walks are tables of statements, so what export shows and what
 * erase removes are written side by side; a table that gains personal
 * data gains a line in each.  Every statement binds ?1 the address (as
 * typed: every column is NOCASE or compared so), ?2 now, ?3
 * the suppression of its hash ("erased:HEX").
 */
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "admin.h"
#include "clock.h"
#include "log.h"
#include "privacy.h"
#include "region.h"
#include "token.h"
#include "util.h"

/* the outbox's recipient as addresses compare, as every other column
 * here does (NOCASE: its index, store.c's migration 12) */
#define OUTBOX_OF "recipient = ?1 COLLATE NOCASE"
/* an inbound message is about the address when an outcome names it, or it
 * came from it (a reader's own unsubscribe mail, an auto-reply) */
#define INBOUND_OF "(id IN (SELECT inbound_id FROM inbound_outcomes WHERE email = ?1)" \
	" OR instr(lower(sender), lower(?1)) > 0)"

static const char ex_subscriber_sql[] = "SELECT id, email, name, lang, regions, status,"
    " paused_until, created, updated FROM subscribers WHERE email = ?1";
static const char ex_consents_sql[] = "SELECT id, confirmation_id, email, given, ip, lang,"
    " form_version, text, confirmed FROM consents WHERE email = ?1 ORDER BY id";
static const char ex_confirmations_sql[] = "SELECT id, email, name, lang, regions, created,"
    " expires, confirmed FROM confirmations WHERE email = ?1 ORDER BY id";
static const char ex_outbox_sql[] = "SELECT id, kind, ref, recipient, state, attempts,"
    " first_attempt, reply_code, reply, created, updated FROM outbox WHERE " OUTBOX_OF
    " ORDER BY id";
static const char ex_suppressions_sql[] = "SELECT email, reason, created FROM suppressions"
    " WHERE email = ?1 OR email = ?3";
static const char ex_inbound_sql[] = "SELECT id, received, via, envelope, kind, token,"
    " outbox_id, action, sender, subject, report, size, raw FROM inbound WHERE " INBOUND_OF
    " ORDER BY id";
static const char ex_outcomes_sql[] = "SELECT id, inbound_id, at, email, outbox_id, kind,"
    " ref, class, reason, status, suppressed FROM inbound_outcomes WHERE email = ?1"
    " ORDER BY id";
static const char ex_contacts_sql[] = "SELECT c.id, c.project_id, p.name AS project, c.email"
    " FROM contacts c LEFT JOIN projects p ON p.id = c.project_id WHERE c.email = ?1"
    " ORDER BY c.id";
static const char ex_optouts_sql[] =
    "SELECT email, created FROM contact_optouts WHERE email = ?1";
static const char ex_staged_sql[] = "SELECT import_id, seq, email, name, lang, regions"
    " FROM import_rows WHERE email = ?1 ORDER BY import_id, seq";

static const struct {
	const char *key;
	const char *sql;
	int	 one;		/* an object or null, not an array */
} exports[] = {
	{ "subscriber", ex_subscriber_sql, 1 },
	{ "consents", ex_consents_sql, 0 },
	{ "confirmations", ex_confirmations_sql, 0 },
	{ "outbox", ex_outbox_sql, 0 },
	{ "suppressions", ex_suppressions_sql, 0 },
	{ "inbound", ex_inbound_sql, 0 },
	{ "inbound_outcomes", ex_outcomes_sql, 0 },
	{ "project_contacts", ex_contacts_sql, 0 },
	{ "contact_optouts", ex_optouts_sql, 0 },
	{ "staged_imports", ex_staged_sql, 0 },
};

/* in order: what reads another table's rows (INBOUND_OF) runs
 * before those rows go */
static const char er_inbound_sql[] = "UPDATE inbound SET envelope = '', sender = '',"
    " subject = '', report = '{\"erased\":true}', raw = X'', action = 'erased'"
    " WHERE " INBOUND_OF;
static const char er_outcomes_sql[] =
    "UPDATE inbound_outcomes SET email = 'erased/' || id WHERE email = ?1";
/* a row that had its outcome keeps its times (first_attempt, updated): an
 * issue's average rate and its folded totals are read from them; only a
 * row cancelled here takes the erase's time, as any cancel does */
static const char er_outbox_sql[] = "UPDATE outbox SET recipient = 'erased/' || id,"
    " subscriber_id = NULL, contact_id = NULL,"
    " state = CASE WHEN state IN ('queued', 'deferred') THEN 'cancelled' ELSE state END,"
    " reply = CASE WHEN state IN ('queued', 'deferred') THEN 'the address was erased'"
    "  WHEN reply IS NULL THEN NULL ELSE 'erased' END,"
    " updated = CASE WHEN state IN ('queued', 'deferred') THEN ?2 ELSE updated END"
    " WHERE " OUTBOX_OF;
static const char er_subscriber_sql[] = "DELETE FROM subscribers WHERE email = ?1";
static const char er_consents_sql[] = "DELETE FROM consents WHERE email = ?1";
static const char er_confirmations_sql[] = "DELETE FROM confirmations WHERE email = ?1";
static const char er_contacts_sql[] = "DELETE FROM contacts WHERE email = ?1";
static const char er_optouts_sql[] = "DELETE FROM contact_optouts WHERE email = ?1";
static const char er_staged_sql[] = "DELETE FROM import_rows WHERE email = ?1";
static const char er_suppressions_sql[] = "DELETE FROM suppressions WHERE email = ?1";
static const char er_hash_sql[] = "INSERT INTO suppressions (email, reason, created)"
    " VALUES (?3, 'erased', ?2) ON CONFLICT (email) DO NOTHING";

static const struct {
	const char *key;
	const char *sql;
} erasures[] = {
	{ "inbound", er_inbound_sql },
	{ "inbound_outcomes", er_outcomes_sql },
	{ "outbox", er_outbox_sql },
	{ "subscriber", er_subscriber_sql },
	{ "consents", er_consents_sql },
	{ "confirmations", er_confirmations_sql },
	{ "project_contacts", er_contacts_sql },
	{ "contact_optouts", er_optouts_sql },
	{ "staged_imports", er_staged_sql },
	{ "suppressions", er_suppressions_sql },
	{ NULL, er_hash_sql },
};

static const char erased_sql[] = "SELECT count(*) FROM suppressions WHERE email = ?1";

/* bind - ?1 email, ?2 now, ?3 the hash's suppression (NULL: none), as far
 * as the statement has them */
static void
bind(sqlite3_stmt *st, const char *email, int64_t now, const char *supp)
{
	int n = sqlite3_bind_parameter_count(st);

	sqlite3_bind_text(st, 1, email, -1, SQLITE_STATIC);
	if (n >= 2)
		sqlite3_bind_int64(st, 2, now);
	if (n >= 3 && supp)
		sqlite3_bind_text(st, 3, supp, -1, SQLITE_STATIC);
}

/* suppression_of - "erased:HEX" of email under key into out */
static void
suppression_of(const unsigned char *key, const char *email,
    char out[sizeof PRIVACY_ERASED_PREFIX + TOKEN_HASH_HEX])
{
	char hex[TOKEN_HASH_HEX];

	token_hash(key, PRIVACY_HASH_DOMAIN, email, hex);
	snprintf(out, sizeof PRIVACY_ERASED_PREFIX + TOKEN_HASH_HEX, "%s%s",
	    PRIVACY_ERASED_PREFIX, hex);
}

int
privacy_erased(store_t *s, const char *email)
{
	unsigned char key[TOKEN_KEYBYTES];
	char supp[sizeof PRIVACY_ERASED_PREFIX + TOKEN_HASH_HEX];
	sqlite3_stmt *st;
	int64_t n = 0;
	buf_t err;
	int rc = -1;

	buf_init(&err, 256);
	if (token_key(s, key, &err) < 0 || (st = store_cached(s, erased_sql)) == NULL)
		goto out;
	suppression_of(key, email, supp);
	sqlite3_bind_text(st, 1, supp, -1, SQLITE_STATIC);
	if (store_int(s, st, &n) < 0)
		goto out;
	rc = n > 0;
out:
	sodium_memzero(key, sizeof key);
	buf_free(&err);
	return rc;
}

/* column_json - one column of st's row: a BLOB, or TEXT that is not
 * UTF-8, as base64 under NAME_base64; a region mask as its names */
static void
column_json(sqlite3_stmt *st, int i, json_t *obj)
{
	const char *name = sqlite3_column_name(st, i);
	json_t *v = NULL;
	int type = sqlite3_column_type(st, i);

	if (type == SQLITE_INTEGER && strcmp(name, "regions") == 0) {
		buf_t r;

		buf_init(&r, 64);
		if (region_format((unsigned)sqlite3_column_int(st, i), &r) == 0)
			v = json_string(buf_str(&r));
		buf_free(&r);
	} else if (type == SQLITE_INTEGER)
		v = json_integer(sqlite3_column_int64(st, i));
	else if (type == SQLITE_FLOAT)
		v = json_real(sqlite3_column_double(st, i));
	else if (type == SQLITE_NULL)
		v = json_null();
	else if (type == SQLITE_TEXT)
		v = json_stringn((const char *)sqlite3_column_text(st, i),
		    (size_t)sqlite3_column_bytes(st, i));
	if (v == NULL) {
		const unsigned char *b = sqlite3_column_blob(st, i);
		size_t n = (size_t)sqlite3_column_bytes(st, i);
		size_t len = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
		char *b64 = xmalloc(len), key[128];

		sodium_bin2base64(b64, len, b ? b : (const unsigned char *)"", n,
		    sodium_base64_VARIANT_ORIGINAL);
		snprintf(key, sizeof key, "%s_base64", name);
		json_object_set_new(obj, key, json_string(b64));
		free(b64);
		return;
	}
	json_object_set_new(obj, name, v);
}

static int
row_json(sqlite3_stmt *st, void *arg)
{
	json_t *obj = json_object();

	for (int i = 0; i < sqlite3_column_count(st); i++)
		column_json(st, i, obj);
	json_array_append_new(arg, obj);
	return 0;
}

/* stored_key - the token key if the store has one (export only reads):
 * 1, 0 none, -1 */
static int
stored_key(store_t *s, unsigned char key[TOKEN_KEYBYTES])
{
	buf_t v;
	int got, rc;

	buf_init(&v, 1024);
	if ((got = store_meta_get(s, "token_key", &v)) < 0)
		rc = -1;
	else
		rc = got == 0 && sodium_hex2bin(key, TOKEN_KEYBYTES, buf_str(&v), v.len, NULL,
		    NULL, NULL) == 0;
	buf_free(&v);
	return rc;
}

/* has_row - whether a suppression row of rows is email */
static int
has_row(const json_t *rows, const char *email)
{
	const json_t *r;
	size_t i;

	json_array_foreach(rows, i, r)
		if (strcmp(json_string_value(json_object_get(r, "email")), email) == 0)
			return 1;
	return 0;
}

int
privacy_export(store_t *s, const char *email, json_t **out, buf_t *err)
{
	unsigned char key[TOKEN_KEYBYTES];
	char supp[sizeof PRIVACY_ERASED_PREFIX + TOKEN_HASH_HEX], when[32];
	json_t *o = json_object(), *rows = NULL;
	sqlite3_stmt *st;
	int has_key, rc = -1;

	*out = NULL;
	if ((has_key = stored_key(s, key)) < 0)
		goto fail;
	if (has_key)
		suppression_of(key, email, supp);
	clock_format(clock_now(), when);
	json_object_set_new(o, "email", json_string(email));
	json_object_set_new(o, "exported", json_string(when));
	for (size_t i = 0; i < NELEM(exports); i++) {
		if ((st = store_cached(s, exports[i].sql)) == NULL)
			goto fail;
		bind(st, email, 0, has_key ? supp : NULL);
		rows = json_array();
		if (store_rows(s, st, row_json, rows) < 0)
			goto fail;
		if (exports[i].one)
			json_object_set(o, exports[i].key, json_array_size(rows) ?
			    json_array_get(rows, 0) : json_null());
		else
			json_object_set(o, exports[i].key, rows);
		json_decref(rows);
		rows = NULL;
	}
	json_object_set_new(o, "erased", json_boolean(has_key && has_row(json_object_get(o,
	    "suppressions"), supp)));
	*out = o;
	o = NULL;
	rc = 0;
	goto out;
fail:
	buf_notef(err, "%s", store_errmsg(s));
out:
	json_decref(rows);
	json_decref(o);
	sodium_memzero(key, sizeof key);
	return rc;
}

int
privacy_run_erase(store_t *s, const conf_t *conf, const json_t *req, json_t **reply)
{
	const char *email = json_string_value(json_object_get(req, "email"));
	unsigned char key[TOKEN_KEYBYTES];
	char supp[sizeof PRIVACY_ERASED_PREFIX + TOKEN_HASH_HEX];
	int64_t now = clock_now();
	json_t *removed = json_object();
	sqlite3_stmt *st;
	buf_t err;
	int rc = -1;

	(void)conf;
	buf_init(&err, 256);
	if (store_begin(s) < 0)
		goto fail;
	if (token_key(s, key, &err) < 0) {
		store_rollback(s);
		*reply = admin_error("unavailable", EX_TEMPFAIL, "%s; nothing was written",
		    buf_str(&err));
		goto out;
	}
	suppression_of(key, email, supp);
	for (size_t i = 0; i < NELEM(erasures); i++) {
		if ((st = store_cached(s, erasures[i].sql)) == NULL)
			goto fail;
		bind(st, email, now, supp);
		if (store_run(s, st) < 0)
			goto fail;
		if (erasures[i].key)
			json_object_set_new(removed, erasures[i].key,
			    json_integer(store_changes(s)));
	}
	if (store_commit(s) < 0)
		goto fail;
	/* the log names no address: it would keep what was erased */
	log_info("admin: an address was erased");
	*reply = json_pack("{s:b, s:s, s:s, s:O}", "ok", 1, "email", email, "result", "erased",
	    "removed", removed);
	rc = 0;
	goto out;
fail:
	*reply = admin_error("unavailable", EX_TEMPFAIL, "%s; nothing was written",
	    store_full(s) ? "the storage is full" : store_errmsg(s));
	store_rollback(s);
out:
	json_decref(removed);
	sodium_memzero(key, sizeof key);
	buf_free(&err);
	return rc;
}
