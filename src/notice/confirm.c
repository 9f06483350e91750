/*
 * confirm - the double opt-in message's builder; contract in confirm.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sqlite3.h>

#include "confirm.h"

static const char get_sql[] =
    "SELECT c.name, c.lang, c.expires, c.confirmed IS NOT NULL,"
    " coalesce((SELECT id FROM subscribers s WHERE s.email = c.email), 0)"
    " FROM confirmations c WHERE c.id = ?1";

/* in get_sql's columns, read by the same take(): "confirmed" is "active" */
static const char welcome_sql[] =
    "SELECT name, lang, 0, status = 'active', id FROM subscribers WHERE id = ?1";

struct row {
	buf_t	 name, lang;
	int64_t	 expires, subscriber;
	int	 confirmed;
};

static int
take(sqlite3_stmt *st, void *arg)
{
	struct row *r = arg;

	if (buf_adds(&r->name, (const char *)sqlite3_column_text(st, 0)) < 0 ||
	    buf_adds(&r->lang, (const char *)sqlite3_column_text(st, 1)) < 0)
		return -1;
	r->expires = sqlite3_column_int64(st, 2);
	r->confirmed = sqlite3_column_int(st, 3);
	r->subscriber = sqlite3_column_int64(st, 4);
	return 1;
}

/* load - the row of sql whose id is the outbox row's ref into r by take:
 * 1 found, 0 gone, -1 with err (what names it); *id the ref's number */
static int
load(const build_env_t *env, const char *sql, const outbox_row_t *row, const char *what,
    int (*fn)(sqlite3_stmt *, void *), struct row *r, long long *id, buf_t *err)
{
	sqlite3_stmt *st = store_cached(env->store, sql);
	char *end;
	int got;

	*id = strtoll(row->ref, &end, 10);
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, *end == '\0' ? *id : 0);
		if ((got = store_rows(env->store, st, fn, r)) >= 0)
			return got;
	}
	buf_notef(err, "%s %s: %s", what, row->ref, store_errmsg(env->store));
	return -1;
}

int
confirm_message(const build_env_t *env, void **cache, const outbox_row_t *row, int64_t now,
    buf_t *eml, buf_t *err)
{
	struct row r = { .expires = 0 };
	json_t *data = NULL;
	buf_t link;
	int rc = -1, got;
	long long id;

	(void)cache;
	buf_init(&r.name, 4096);
	buf_init(&r.lang, 16);
	buf_init(&link, 2048);
	if ((got = load(env, get_sql, row, "confirmation", take, &r, &id, err)) < 0)
		goto out;
	rc = 1;
	if (got == 0)
		buf_note(err, "the confirmation has expired and is gone");
	else if (r.confirmed)
		buf_note(err, "the address has confirmed already");
	else if (r.expires < now)
		buf_note(err, "the confirmation has expired");
	else {
		message_rcpt_t rcpt = { r.subscriber, row->recipient, buf_str(&r.name),
		    buf_str(&r.lang), 0, 0, 0 };
		char ref[40];

		if (message_link(env->msg, TOKEN_CONFIRM, id, &link) < 0) {
			buf_note(err, "the confirmation link is too long");
			rc = -1;
			goto out;
		}
		snprintf(ref, sizeof ref, "confirm-%lld", id);
		data = json_pack("{s:{s:s}}", "links", "confirm", buf_str(&link));
		rc = message_notice(env->msg, "confirm", ref, &rcpt, data, NULL, 0, now, NULL,
		    eml, err);
	}
out:
	json_decref(data);
	buf_free(&r.name);
	buf_free(&r.lang);
	buf_free(&link);
	return rc;
}

int
welcome_message(const build_env_t *env, void **cache, const outbox_row_t *row, int64_t now,
    buf_t *eml, buf_t *err)
{
	struct row r = { .expires = 0 };
	json_t *data = NULL;
	int rc = -1, got;
	long long id;

	(void)cache;
	buf_init(&r.name, 4096);
	buf_init(&r.lang, 16);
	if ((got = load(env, welcome_sql, row, "welcome", take, &r, &id, err)) < 0)
		goto out;
	rc = 1;
	if (got == 0)
		buf_note(err, "the subscriber is gone");
	else if (!r.confirmed)
		buf_note(err, "the subscriber is no longer active");
	else {
		message_rcpt_t rcpt = { id, row->recipient, buf_str(&r.name), buf_str(&r.lang),
		    0, 0, 0 };
		char ref[40];

		snprintf(ref, sizeof ref, "welcome-%lld", id);
		data = json_object();
		rc = message_notice(env->msg, "welcome", ref, &rcpt, data, NULL, 0, now, NULL,
		    eml, err);
	}
out:
	json_decref(data);
	buf_free(&r.name);
	buf_free(&r.lang);
	return rc;
}
