/*
 * announce - announcements; contract in announce.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "announce.h"
#include "clock.h"
#include "compose.h"
#include "event.h"
#include "log.h"
#include "region.h"
#include "util.h"

/* fire - one announcement into the outbox, recorded as fired */
static int
fire(store_t *s, const char *id, int revision, json_t *body, unsigned mask, int expired,
    int64_t now, buf_t *err)
{
	static const char sql[] = "INSERT INTO announcements (event_id, revision, state,"
	    " fired, recipients) VALUES (?1, ?2, ?5, ?3, ?4)";
	const char *aud = json_string_value(json_object_get(body, "audience"));
	int projects = aud && strcmp(aud, "projects") == 0;
	sqlite3_stmt *st;
	int64_t count = 0;
	int rc;

	if (store_begin(s) < 0 || (!expired && (projects ?
	    outbox_fill_contacts(s, KIND_ANNOUNCEMENT, id, NULL, mask, now, &count) :
	    outbox_fill_subscribers(s, KIND_ANNOUNCEMENT, id, mask, now, &count)) < 0) ||
	    (st = store_cached(s, sql)) == NULL)
		goto fail;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, revision);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 4, count);
	sqlite3_bind_text(st, 5, expired ? "expired" : "fired", -1, SQLITE_STATIC);
	rc = store_step(s, st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE || store_commit(s) < 0)
		goto fail;
	if (expired) {
		log_warn("announcements: %s revision %d expired: found more than"
		    " announcements.max_late_hours after its send_at; not sent", id, revision);
		return 0;
	}
	log_info("announcements: %s revision %d: %lld messages queued for %s", id, revision,
	    (long long)count, projects ? "project contacts" : "subscribers");
	return 0;
fail:
	buf_notef(err, "announcements: firing %s: %s", id, store_errmsg(s));
	store_rollback(s);
	return -1;
}

int64_t
announce_next_due(store_t *s, int64_t now)
{
	static const char sql[] = "SELECT e.at FROM events e"
	    " WHERE e.type = 'announcement' AND e.cancelled = 0 AND e.at > ?1"
	    " AND NOT EXISTS (SELECT 1 FROM announcements a WHERE a.event_id = e.id)"
	    " ORDER BY e.at LIMIT 1";

	return store_first_after(s, sql, now);
}

int
announce_tick(store_t *s, const conf_t *c, int64_t now, buf_t *err)
{
	static const char sql[] = "SELECT e.id, e.revision, e.body, e.regions, e.at FROM events e"
	    " WHERE e.type = 'announcement' AND e.cancelled = 0 AND e.at > 0 AND e.at <= ?1"
	    " AND NOT EXISTS (SELECT 1 FROM announcements a WHERE a.event_id = e.id)"
	    " ORDER BY e.at, e.id LIMIT 1";
	sqlite3_stmt *st;
	int rc = 0;

	/* one at a time: each commit is a whole announcement */
	for (int i = 0; i < 16 && rc == 0; i++) {
		char *id = NULL;
		json_t *body = NULL;
		int revision = 0;
		unsigned mask = 0;
		int64_t at = 0;

		if ((st = store_cached(s, sql)) == NULL) {
			buf_notef(err, "announcements: %s", store_errmsg(s));
			return -1;
		}
		sqlite3_bind_int64(st, 1, now);
		if (store_step(s, st) == SQLITE_ROW) {
			id = xstrdup((const char *)sqlite3_column_text(st, 0));
			revision = sqlite3_column_int(st, 1);
			body = json_loads((const char *)sqlite3_column_text(st, 2), 0, NULL);
			mask = (unsigned)sqlite3_column_int(st, 3);
			at = sqlite3_column_int64(st, 4);
		}
		sqlite3_reset(st);
		if (id == NULL)
			break;
		if (body == NULL) {
			buf_notef(err, "announcements: %s: stored body is not JSON", id);
			rc = -1;
		} else
			rc = fire(s, id, revision, body, mask,
			    now - at > c->announce_max_late_hours * 3600, now, err);
		free(id);
		json_decref(body);
	}
	return rc;
}

/* content_lang - the recipient's language when the announcement has its
 * words, else Finnish, else whatever it has: the whole message, frame and
 * words, is in one language */
static const char *
content_lang(json_t *body, const char *want)
{
	json_t *title = json_object_get(body, "title");
	const char *key;
	json_t *v;

	if (json_object_get(title, want))
		return want;
	if (json_object_get(title, "fi"))
		return "fi";
	json_object_foreach(title, key, v)
		return key;
	return "fi";
}

int
announce_message(const build_env_t *env, void **cache, const outbox_row_t *row,
    int64_t now, buf_t *eml, buf_t *err)
{
	store_t *s = env->store;
	const conf_t *c = env->conf;
	message_ctx_t *m = env->msg;
	static const char sql[] = "SELECT r.body, e.cancelled, e.rowid FROM announcements a"
	    " JOIN event_revisions r ON r.event_id = a.event_id AND r.revision = a.revision"
	    " JOIN events e ON e.id = a.event_id WHERE a.event_id = ?1 AND a.state = 'fired'";
	sqlite3_stmt *st = store_cached(s, sql);
	message_rcpt_t rcpt = { row->subscriber_id, row->recipient, row->name, row->lang,
	    row->regions, 0, 0 };
	json_t *body = NULL, *data = NULL, *a;
	char ref[48];
	int step, cancelled = 0, rc = 1;

	(void)cache;
	(void)c;
	if (st == NULL) {
		buf_notef(err, "announcement %s: %s", row->ref, store_errmsg(s));
		return -1;
	}
	sqlite3_bind_text(st, 1, row->ref, -1, SQLITE_STATIC);
	if ((step = store_step(s, st)) == SQLITE_ROW) {
		body = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
		cancelled = sqlite3_column_int(st, 1);
		snprintf(ref, sizeof ref, "announcement-%lld",
		    (long long)sqlite3_column_int64(st, 2));
	}
	sqlite3_reset(st);
	if (step != SQLITE_ROW || body == NULL) {
		buf_notef(err, "announcement %s: %s", row->ref, step == SQLITE_DONE ?
		    "it is gone" : store_errmsg(s));
		return step == SQLITE_DONE ? 1 : -1;
	}
	if (cancelled) {
		buf_note(err, "the announcement was cancelled");
		goto out;
	}
	if (row->contact_id) {
		if (*row->project == '\0') {
			buf_note(err, "the project, or this contact of it, was removed");
			goto out;
		}
		rcpt.id = row->contact_id;
		rcpt.name = "";
		rcpt.contact = 1;
	}
	rcpt.lang = content_lang(body, row->lang);
	a = json_pack("{s:s, s:o}", "title", event_text(body, "title", rcpt.lang),
	    "paragraphs", compose_paragraphs(event_text(body, "body", rcpt.lang)));
	if (json_object_get(body, "url"))
		json_object_set(a, "url", json_object_get(body, "url"));
	data = json_pack("{s:o}", "announcement", a);
	rc = message_notice(m, "announcement", ref, &rcpt, data, NULL, 0, now, NULL, eml, err);
out:
	json_decref(body);
	json_decref(data);
	return rc;
}

int
announce_store(store_t *s, const conf_t *c, json_t *raw, int64_t now, int *revision,
    buf_t *err)
{
	char *text = json_dumps(raw, JSON_COMPACT), *body = NULL;
	json_t *ev = NULL;
	event_err_t e;
	store_put_t put;
	const char *id;
	int rc = -1;

	if (text == NULL || (ev = event_parse(text, strlen(text), (size_t)c->max_event_size,
	    &e)) == NULL) {
		buf_notef(err, "%s (%s)", text ? e.message : "out of memory", text ? e.code : "");
		goto out;
	}
	if (strcmp(json_string_value(json_object_get(ev, "type")), "announcement") != 0) {
		buf_notef(err, "not an announcement");
		goto out;
	}
	id = json_string_value(json_object_get(ev, "id"));
	body = event_canonical(ev);
	if (store_begin(s) < 0 || store_event_put(s, id, "announcement", body,
	    event_regions(ev), event_at(ev), json_is_true(json_object_get(ev, "cancelled")),
	    now, &put, revision) < 0)
		goto fail;
	if (put == PUT_TYPE_MISMATCH) {
		store_rollback(s);
		buf_notef(err, "%s: this id belongs to an event of another type", id);
		goto out;
	}
	/* a cancelled announcement's queued messages go with it */
	if (json_is_true(json_object_get(ev, "cancelled")) &&
	    outbox_cancel(s, KIND_ANNOUNCEMENT, id, now) < 0)
		goto fail;
	if (store_commit(s) < 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	buf_notef(err, "storing the announcement: %s", store_errmsg(s));
	store_rollback(s);
out:
	free(text);
	free(body);
	json_decref(ev);
	return rc;
}

/* latest - the stored body of announcement id; fired says whether it has
 * gone to the outbox; 0, or -1 with err */
static int
latest(store_t *s, const char *id, json_t **body, int *fired, buf_t *err)
{
	static const char sql[] = "SELECT e.type, e.body, EXISTS (SELECT 1 FROM announcements a"
	    " WHERE a.event_id = e.id) FROM events e WHERE e.id = ?1";
	sqlite3_stmt *st = store_cached(s, sql);
	int step;

	*body = NULL;
	if (st == NULL) {
		buf_notef(err, "%s", store_errmsg(s));
		return -1;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if ((step = store_step(s, st)) == SQLITE_ROW &&
	    strcmp((const char *)sqlite3_column_text(st, 0), "announcement") == 0) {
		*body = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);
		*fired = sqlite3_column_int(st, 2);
	}
	sqlite3_reset(st);
	if (*body == NULL)
		buf_notef(err, "%s: %s", id, step == SQLITE_ROW ? "not an announcement" :
		    step == SQLITE_DONE ? "no such announcement" : store_errmsg(s));
	return *body ? 0 : -1;
}

int
announce_cancel(store_t *s, const conf_t *c, const char *id, int64_t now, buf_t *err)
{
	json_t *body;
	int fired, revision, rc;

	if (latest(s, id, &body, &fired, err) < 0)
		return -1;
	json_object_set_new(body, "cancelled", json_true());
	rc = announce_store(s, c, body, now, &revision, err);
	json_decref(body);
	return rc;
}

int
announce_reschedule(store_t *s, const conf_t *c, const char *id, int64_t at, int64_t now,
    buf_t *err)
{
	json_t *body;
	char t[32];
	int fired, revision, rc = -1;

	if (latest(s, id, &body, &fired, err) < 0)
		return -1;
	if (fired)
		buf_notef(err, "%s: already sent; it cannot be rescheduled", id);
	else if (json_is_true(json_object_get(body, "cancelled")))
		buf_notef(err, "%s: cancelled", id);
	else {
		clock_format(at, t);
		json_object_set_new(body, "send_at", json_string(t));
		json_object_del(body, "in_bulletin");
		rc = announce_store(s, c, body, now, &revision, err);
	}
	json_decref(body);
	return rc;
}

/* list_row - a store_rows() callback: one announcement of the listing */
struct list_walk {
	store_t	*s;
	const char *id;		/* one announcement, or NULL for all */
	json_t	*out;
};

static int
list_row(sqlite3_stmt *st, void *arg)
{
	struct list_walk *w = arg;
	const char *eid = (const char *)sqlite3_column_text(st, 0);
	json_t *body = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);
	json_t *o, *report = NULL;
	const char *aud, *state;
	int fired = sqlite3_column_type(st, 5) != SQLITE_NULL;
	int64_t at = sqlite3_column_int64(st, 3);
	buf_t regions;
	char t[32];

	if (body == NULL)
		return 0;
	aud = json_string_value(json_object_get(body, "audience"));
	state = sqlite3_column_int(st, 2) ? "cancelled" : fired ?
	    (const char *)sqlite3_column_text(st, 8) :
	    at > 0 ? "scheduled" : "in-bulletin";
	buf_init(&regions, 64);
	region_format(event_regions(body), &regions);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "id", eid,
	    "title", event_text(body, "title", "fi"), "state", state,
	    "audience", aud ? aud : "subscribers", "regions", buf_str(&regions),
	    "revision", sqlite3_column_int(st, 4));
	buf_free(&regions);
	if (at > 0) {
		clock_format(at, t);
		json_object_set_new(o, "send_at", json_string(t));
	}
	if (sqlite3_column_type(st, 9) != SQLITE_NULL)
		json_object_set_new(o, "issue",
		    json_string((const char *)sqlite3_column_text(st, 9)));
	if (fired) {
		clock_format(sqlite3_column_int64(st, 5), t);
		json_object_set_new(o, "fired", json_string(t));
		json_object_set_new(o, "recipients", json_integer(sqlite3_column_int64(st, 6)));
		json_object_set_new(o, "fired_revision", json_integer(sqlite3_column_int(st, 7)));
		if (outbox_report(w->s, KIND_ANNOUNCEMENT, eid, w->id ? 10 : 0, &report) < 0) {
			json_decref(o);
			json_decref(body);
			return -1;
		}
		json_object_update(o, report);
		json_decref(report);
		if (strcmp(state, "fired") == 0) {
			json_t *c = json_object_get(o, "counts");

			json_object_set_new(o, "state", json_string(
			    json_integer_value(json_object_get(c, "queued")) +
			    json_integer_value(json_object_get(c, "sending")) +
			    json_integer_value(json_object_get(c, "deferred")) ?
			    "sending" : "sent"));
		}
	}
	if (w->id)
		json_object_set(o, "event", body);
	json_decref(body);
	json_array_append_new(w->out, o);
	return 0;
}

int
announce_list(store_t *s, const char *id, json_t **out)
{
	/* an in-bulletin one is carried by the issue whose period holds the
	 * time it arrived (compose_issue_load()) */
	static const char sql[] = "SELECT e.id, e.body, e.cancelled, e.at, e.revision,"
	    " a.fired, a.recipients, a.revision, a.state,"
	    " (SELECT i.number FROM issues i WHERE e.at IS NULL"
	    "   AND e.created > i.period_start AND e.created <= i.period_end"
	    "   AND i.state IN ('sending', 'sent') ORDER BY i.id LIMIT 1) FROM events e"
	    " LEFT JOIN announcements a ON a.event_id = e.id"
	    " WHERE e.type = 'announcement' AND (?1 IS NULL OR e.id = ?1)"
	    " ORDER BY coalesce(a.fired, e.at, e.created) DESC, e.id";
	sqlite3_stmt *st;
	struct list_walk w = { s, id, json_array() };
	int rc = -1;

	*out = w.out;
	if ((st = store_cached(s, sql)) == NULL)
		return -1;
	if (id)
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if ((rc = store_rows(s, st, list_row, &w)) == 0)
		rc = id && json_array_size(*out) == 0 ? 1 : 0;
	return rc < 0 ? -1 : rc;
}
