/*
 * subscribe - the subscriber pages' writes; contract in subscribe.h.
 */
#include <sqlite3.h>
#include <string.h>
#include <sysexits.h>

#include "admin.h"
#include "clock.h"
#include "outbox.h"
#include "privacy.h"
#include "region.h"
#include "subscribe.h"
#include "util.h"

static const char expire_sql[] =
    "DELETE FROM confirmations WHERE id IN (SELECT id FROM confirmations"
    " WHERE confirmed IS NULL AND expires < ?1 LIMIT ?2)";
static const char prune_sql[] =
    "DELETE FROM confirmations WHERE id IN (SELECT id FROM confirmations"
    " WHERE (confirmed IS NULL AND expires < ?1) OR confirmed < ?2 LIMIT ?3)";
static const char recent_sql[] =
    "SELECT count(*) FROM confirmations WHERE email = ?1 AND created > ?2";
static const char suppressed_sql[] = "SELECT count(*) FROM suppressions WHERE email = ?1";
static const char pending_sql[] =
    "INSERT INTO confirmations (email, name, lang, regions, created, expires)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char conf_get_sql[] =
    "SELECT email, name, lang, regions, expires, confirmed FROM confirmations WHERE id = ?1";
static const char conf_done_sql[] = "UPDATE confirmations SET confirmed = ?2 WHERE id = ?1";
static const char consent_sql[] = "INSERT INTO consents (confirmation_id, email, given, ip,"
    " lang, form_version, text) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char consent_done_sql[] =
    "UPDATE consents SET confirmed = ?2 WHERE confirmation_id = ?1";
static const char sub_email_sql[] = "SELECT email FROM subscribers WHERE id = ?1";
static const char sub_id_sql[] = "SELECT id FROM subscribers WHERE email = ?1";
static const char welcomed_sql[] = "SELECT 1 FROM outbox WHERE kind = 'welcome' AND ref = ?1"
    " LIMIT 1";
static const char prefs_sql[] =
    "UPDATE subscribers SET lang = ?2, regions = ?3, paused_until = ?4, updated = ?5"
    " WHERE id = ?1 AND status = 'active'";
static const char contact_email_sql[] = "SELECT email FROM contacts WHERE id = ?1";
static const char optout_sql[] =
    "INSERT OR IGNORE INTO contact_optouts (email, created) VALUES (?1, ?2)";

static const char *
str(const json_t *req, const char *key, const char *def)
{
	const char *v = json_string_value(json_object_get(req, key));

	return v ? v : def;
}

/* failed - the reply after an SQLite failure, rolled back */
static int
failed(store_t *s, json_t **reply)
{
	*reply = admin_error("unavailable", EX_TEMPFAIL, "%s; nothing was written",
	    store_full(s) ? "the storage is full" : store_errmsg(s));
	store_rollback(s);
	return -1;
}

/* done - COMMIT, then the reply {"ok": true, "result": result} */
static int
done(store_t *s, const char *result, json_t **reply)
{
	if (store_commit(s) < 0)
		return failed(s, reply);
	*reply = json_pack("{s:b, s:s}", "ok", 1, "result", result);
	return 0;
}

int
subscribe_prune(store_t *s, const conf_t *conf, int64_t now)
{
	sqlite3_stmt *st = store_cached(s, prune_sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, now - conf->web_confirmations_keep_days * 86400);
	sqlite3_bind_int(st, 3, SUBSCRIBE_EXPIRE_ROWS);
	if (store_run(s, st) < 0)
		return -1;
	return (int)store_changes(s);
}

int
subscribe_run_request(store_t *s, const conf_t *conf, const json_t *req, json_t **reply)
{
	const char *email = str(req, "email", "");
	int64_t now = clock_now(), recent = 0, suppressed = 0, id;
	unsigned regions;
	sqlite3_stmt *st;
	char ref[24];
	int erased;

	(void)region_parse_list(str(req, "regions", "all"), &regions);
	if (store_begin(s) < 0 || (st = store_cached(s, expire_sql)) == NULL)
		return failed(s, reply);
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int(st, 2, SUBSCRIBE_EXPIRE_ROWS);
	if (store_run(s, st) < 0 || (st = store_cached(s, recent_sql)) == NULL)
		return failed(s, reply);
	sqlite3_bind_text(st, 1, email, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now - conf->web_confirm_interval);
	if (store_int(s, st, &recent) < 0 || (st = store_cached(s, suppressed_sql)) == NULL)
		return failed(s, reply);
	sqlite3_bind_text(st, 1, email, -1, SQLITE_STATIC);
	if (store_int(s, st, &suppressed) < 0 || (erased = privacy_erased(s, email)) < 0)
		return failed(s, reply);
	/* the form may be sent for someone else's address: one message per
	 * interval at most, and none to an address that bounced */
	if (recent > 0 && conf->web_confirm_interval > 0)
		return done(s, "limited", reply);
	if (suppressed > 0 || erased)
		return done(s, "suppressed", reply);
	if ((st = store_cached(s, pending_sql)) == NULL)
		return failed(s, reply);
	sqlite3_bind_text(st, 1, email, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, str(req, "name", ""), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, str(req, "lang", "fi"), -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, (int)regions);
	sqlite3_bind_int64(st, 5, now);
	sqlite3_bind_int64(st, 6, now + SUBSCRIBE_CONFIRM_TTL_S);
	if (store_run(s, st) < 0)
		return failed(s, reply);
	id = store_last_id(s);
	/* the consent log: what the form showed, kept beyond the row above */
	if ((st = store_cached(s, consent_sql)) == NULL)
		return failed(s, reply);
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, email, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_text(st, 4, str(req, "ip", ""), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, str(req, "consent_lang", str(req, "lang", "fi")), -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(st, 6, str(req, "consent_version", ""), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, str(req, "consent_text", ""), -1, SQLITE_STATIC);
	if (store_run(s, st) < 0)
		return failed(s, reply);
	/* ref is the confirmation's id: the builder (confirm.c) reads it back */
	snprintf(ref, sizeof ref, "%lld", (long long)id);
	if (outbox_add(s, KIND_CONFIRM, ref, email, now) < 0)
		return failed(s, reply);
	return done(s, "queued", reply);
}

/* confirm_row - the confirmation's columns while st is on its row */
struct pending {
	buf_t	 email, name, lang;
	unsigned regions;
	int64_t	 expires, confirmed;
};

static int
pending_row(sqlite3_stmt *st, void *arg)
{
	struct pending *p = arg;

	if (buf_adds(&p->email, (const char *)sqlite3_column_text(st, 0)) < 0 ||
	    buf_adds(&p->name, (const char *)sqlite3_column_text(st, 1)) < 0 ||
	    buf_adds(&p->lang, (const char *)sqlite3_column_text(st, 2)) < 0)
		return -1;
	p->regions = (unsigned)sqlite3_column_int(st, 3);
	p->expires = sqlite3_column_int64(st, 4);
	p->confirmed = sqlite3_column_int64(st, 5);	/* NULL reads 0 */
	return 1;
}

int
subscribe_run_confirm(store_t *s, const conf_t *conf, const json_t *req, json_t **reply)
{
	json_int_t id = json_integer_value(json_object_get(req, "id"));
	struct pending p = { .expires = 0 };
	int64_t now = clock_now(), sid = 0;
	const char *result = NULL;
	char ref[24];
	store_sub_t res;
	sqlite3_stmt *st;
	int rc = -1, got;

	(void)conf;
	buf_init(&p.email, 1024);
	buf_init(&p.name, 4096);
	buf_init(&p.lang, 16);
	if (store_begin(s) < 0 || (st = store_cached(s, conf_get_sql)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, id);
	if ((got = store_rows(s, st, pending_row, &p)) < 0)
		goto fail;
	if (got == 0)
		result = "unknown";
	else if (p.confirmed)
		result = "already";	/* a second click changes nothing */
	else if (p.expires < now)
		result = "expired";
	if (result == NULL) {
		subscriber_t sub = { 0, buf_str(&p.email), buf_str(&p.name), buf_str(&p.lang),
		    p.regions, "active", 0, 0 };

		if (store_subscriber_put(s, &sub, 1, now, &res) < 0 ||
		    (st = store_cached(s, conf_done_sql)) == NULL)
			goto fail;
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, now);
		if (store_run(s, st) < 0 || (st = store_cached(s, consent_done_sql)) == NULL)
			goto fail;
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, now);
		if (store_run(s, st) < 0 || (st = store_cached(s, sub_id_sql)) == NULL)
			goto fail;
		/* the welcome: once per subscriber, whatever the letter case
		 * of the address confirmed this time (the outbox's UNIQUE
		 * compares it exactly) */
		sqlite3_bind_text(st, 1, buf_str(&p.email), -1, SQLITE_STATIC);
		if (store_int(s, st, &sid) != 0)
			goto fail;
		snprintf(ref, sizeof ref, "%lld", (long long)sid);
		if ((st = store_cached(s, welcomed_sql)) == NULL)
			goto fail;
		sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
		if ((got = store_int(s, st, &(int64_t){ 0 })) < 0 ||
		    (got == 1 && outbox_add(s, KIND_WELCOME, ref, buf_str(&p.email), now) < 0))
			goto fail;
		result = "confirmed";
	}
	rc = done(s, result, reply);
	goto out;
fail:
	rc = failed(s, reply);
out:
	buf_free(&p.email);
	buf_free(&p.name);
	buf_free(&p.lang);
	return rc;
}

/* email_of - the address of row id by sql into out: 0, 1 no such row, -1 */
static int
email_of(store_t *s, const char *sql, json_int_t id, buf_t *out)
{
	sqlite3_stmt *st = store_cached(s, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return store_text(s, st, out);
}

int
subscribe_run_unsubscribe(store_t *s, const conf_t *conf, const json_t *req, json_t **reply)
{
	json_int_t id = json_integer_value(json_object_get(req, "id"));
	int rc, got, found = 0;
	buf_t email;

	(void)conf;
	buf_init(&email, 1024);
	if (store_begin(s) < 0 || (got = email_of(s, sub_email_sql, id, &email)) < 0 ||
	    (got == 0 && store_subscriber_remove(s, buf_str(&email), 0, clock_now(),
	    &found) < 0))
		rc = failed(s, reply);
	else
		rc = done(s, got == 0 ? "unsubscribed" : "unknown", reply);
	buf_free(&email);
	return rc;
}

int
subscribe_run_preferences(store_t *s, const conf_t *conf, const json_t *req, json_t **reply)
{
	json_int_t id = json_integer_value(json_object_get(req, "id"));
	json_int_t until = json_integer_value(json_object_get(req, "paused_until"));
	unsigned regions;
	sqlite3_stmt *st;

	(void)conf;
	(void)region_parse_list(str(req, "regions", "all"), &regions);
	if (store_begin(s) < 0 || (st = store_cached(s, prefs_sql)) == NULL)
		return failed(s, reply);
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, str(req, "lang", "fi"), -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, (int)regions);
	if (until > 0)
		sqlite3_bind_int64(st, 4, until);
	else
		sqlite3_bind_null(st, 4);
	sqlite3_bind_int64(st, 5, clock_now());
	if (store_run(s, st) < 0)
		return failed(s, reply);
	return done(s, store_changes(s) > 0 ? "updated" : "not_active", reply);
}

int
subscribe_contact_optout(store_t *s, int64_t contact_id, int64_t now)
{
	sqlite3_stmt *st;
	int rc = -1, got;
	buf_t email;

	buf_init(&email, 1024);
	if ((got = email_of(s, contact_email_sql, contact_id, &email)) != 0) {
		rc = got;
		goto out;
	}
	if ((st = store_cached(s, optout_sql)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, buf_str(&email), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	if (store_run(s, st) < 0 ||
	    outbox_cancel_contact(s, buf_str(&email), "the contact opted out", now) < 0)
		goto out;
	rc = 0;
out:
	buf_free(&email);
	return rc;
}

int
subscribe_run_optout(store_t *s, const conf_t *conf, const json_t *req, json_t **reply)
{
	json_int_t id = json_integer_value(json_object_get(req, "id"));
	int got;

	(void)conf;
	if (store_begin(s) < 0 || (got = subscribe_contact_optout(s, id, clock_now())) < 0)
		return failed(s, reply);
	return done(s, got == 1 ? "unknown" : "opted_out", reply);
}
