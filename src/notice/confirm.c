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

static const char welcome_sql[] =
    "SELECT name, lang, status = 'active' FROM subscribers WHERE id = ?1";

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

int
confirm_message(const build_env_t *env, void **cache, const outbox_row_t *row, int64_t now,
    buf_t *eml, buf_t *err)
{
	sqlite3_stmt *st = store_cached(env->store, get_sql);
	struct row r = { .expires = 0 };
	json_t *data = NULL;
	buf_t link;
	int rc = -1, got;
	char *end;
	long long id = strtoll(row->ref, &end, 10);

	(void)cache;
	buf_init(&r.name, 4096);
	buf_init(&r.lang, 16);
	buf_init(&link, 2048);
	if (st == NULL) {
		buf_notef(err, "confirmation %s: %s", row->ref, store_errmsg(env->store));
		goto out;
	}
	sqlite3_bind_int64(st, 1, *end == '\0' ? id : 0);
	if ((got = store_rows(env->store, st, take, &r)) < 0) {
		buf_notef(err, "confirmation %s: %s", row->ref, store_errmsg(env->store));
		goto out;
	}
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

/* welcome_row - a subscriber's name, language and whether it is active */
static int
welcome_row(sqlite3_stmt *st, void *arg)
{
	struct row *r = arg;

	if (buf_adds(&r->name, (const char *)sqlite3_column_text(st, 0)) < 0 ||
	    buf_adds(&r->lang, (const char *)sqlite3_column_text(st, 1)) < 0)
		return -1;
	r->confirmed = sqlite3_column_int(st, 2);	/* here: active */
	return 1;
}

int
welcome_message(const build_env_t *env, void **cache, const outbox_row_t *row, int64_t now,
    buf_t *eml, buf_t *err)
{
	sqlite3_stmt *st = store_cached(env->store, welcome_sql);
	struct row r = { .expires = 0 };
	json_t *data = NULL;
	int rc = -1, got;
	char *end;
	long long id = strtoll(row->ref, &end, 10);

	(void)cache;
	buf_init(&r.name, 4096);
	buf_init(&r.lang, 16);
	if (st == NULL) {
		buf_notef(err, "welcome %s: %s", row->ref, store_errmsg(env->store));
		goto out;
	}
	sqlite3_bind_int64(st, 1, *end == '\0' ? id : 0);
	if ((got = store_rows(env->store, st, welcome_row, &r)) < 0) {
		buf_notef(err, "welcome %s: %s", row->ref, store_errmsg(env->store));
		goto out;
	}
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
