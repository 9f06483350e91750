/*
 * remind - deadline reminders; contract in remind.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "compose.h"
#include "datefmt.h"
#include "event.h"
#include "ical.h"
#include "log.h"
#include "remind.h"
#include "util.h"

/* parse_days - "14,7,1" into days[]; the count or -1 */
static int
parse_days(const char *s, int *days)
{
	int n = 0;

	while (*s) {
		char *end;
		long d = strtol(s, &end, 10);

		if (end == s || d < 0 || d > 365 || n == REMIND_MAX_OFFSETS)
			return -1;
		for (int i = 0; i < n; i++)
			if (days[i] == d)
				return -1;
		days[n++] = (int)d;
		s = end;
		if (*s == ',')
			s++;
		else if (*s)
			return -1;
	}
	return n;
}

static int
parse_hhmm(const char *s, int *hour, int *minute)
{
	char tail;

	return sscanf(s, "%2d:%2d%c", hour, minute, &tail) == 2 && *hour >= 0 && *hour < 24 &&
	    *minute >= 0 && *minute < 60 && strlen(s) == 5 ? 0 : -1;
}

int
remind_conf_check(const conf_t *c, buf_t *err)
{
	int days[REMIND_MAX_OFFSETS], h, m;

	if (parse_days(c->remind_days, days) < 0) {
		buf_notef(err, "reminders.days: \"%s\" is not a list of 0-365 days without repeats",
		    c->remind_days);
		return -1;
	}
	if (parse_hhmm(c->remind_time, &h, &m) < 0) {
		buf_notef(err, "reminders.time: \"%s\" is not HH:MM", c->remind_time);
		return -1;
	}
	return 0;
}

/* offsets - the event's "remind" days, else the configured ones */
static int
offsets(json_t *body, const conf_t *c, int *days)
{
	json_t *r = json_object_get(body, "remind"), *v;
	size_t i;
	int n = 0;

	if (r == NULL)
		return parse_days(c->remind_days, days);
	json_array_foreach(r, i, v)
		if (n < REMIND_MAX_OFFSETS)
			days[n++] = (int)json_integer_value(v);
	return n;
}

static int
exec1(store_t *s, const char *sql, const char *id, int64_t now)
{
	sqlite3_stmt *st = store_cached(s, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	return store_run(s, st);
}

/* plan_offset - one offset of a live deadline: insert, move, bring back
 * or leave its plan row */
static int
plan_offset(store_t *s, const char *id, int days, int64_t due, int64_t fire, int64_t now)
{
	static const char get_sql[] = "SELECT state, due FROM reminders"
	    " WHERE event_id = ?1 AND days = ?2";
	static const char put_sql[] = "INSERT INTO reminders (event_id, days, due, fire_at,"
	    " state, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (event_id, days)"
	    " DO UPDATE SET due = ?3, fire_at = ?4, state = ?5, updated = ?6";
	sqlite3_stmt *st = store_cached(s, get_sql);
	const char *state = "planned";
	char was[16] = "";
	int64_t was_due = 0;
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, days);
	if ((rc = store_step(s, st)) == SQLITE_ROW) {
		snprintf(was, sizeof was, "%s", (const char *)sqlite3_column_text(st, 0));
		was_due = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -1;
	if (strcmp(was, "sent") == 0) {
		/* sent once: again only for a date that moved earlier */
		if (due >= was_due)
			return 0;
	} else if (*was && strcmp(was, "planned") != 0 && fire <= now)
		return 0;	/* skipped or cancelled, and its time is gone */
	if (fire >= due)
		state = "skipped";	/* e.g. 0 days before a deadline at 8.00 */
	if ((st = store_cached(s, put_sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, days);
	sqlite3_bind_int64(st, 3, due);
	sqlite3_bind_int64(st, 4, fire);
	sqlite3_bind_text(st, 5, state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, now);
	return store_run(s, st);
}

/* plan - the plan of one deadline revision, in the caller's transaction */
static int
plan(store_t *s, const conf_t *c, const char *id, int revision, json_t *body, int cancelled,
    int64_t now)
{
	static const char stop_sql[] = "UPDATE reminders SET state = 'cancelled', updated = ?2"
	    " WHERE event_id = ?1 AND state = 'planned'";
	static const char unqueue_sql[] = "UPDATE outbox SET state = 'cancelled', updated = ?2,"
	    " reply = 'deadline cancelled' WHERE kind = 'reminder'"
	    " AND state IN ('queued', 'deferred') AND ref IN"
	    " (SELECT CAST(id AS TEXT) FROM reminder_sends WHERE event_id = ?1)";
	static const char drop_sql[] = "DELETE FROM reminders WHERE event_id = ?1"
	    " AND state != 'sent' AND days NOT IN (SELECT value FROM json_each(?2))";
	static const char done_sql[] = "INSERT INTO deadline_plans (event_id, revision, due)"
	    " VALUES (?1, ?2, ?3) ON CONFLICT (event_id) DO UPDATE SET revision = ?2, due = ?3";
	int days[REMIND_MAX_OFFSETS], n, hour, minute;
	int64_t due = 0, fire;
	sqlite3_stmt *st;
	char list[REMIND_MAX_OFFSETS * 5 + 3];
	size_t len = 0;
	int rc;

	clock_parse(json_string_value(json_object_get(body, "due")), &due, NULL);
	if (cancelled || due <= now) {
		if (exec1(s, stop_sql, id, now) < 0 ||
		    (cancelled && exec1(s, unqueue_sql, id, now) < 0))
			return -1;
	} else {
		if ((n = offsets(body, c, days)) < 0 || parse_hhmm(c->remind_time, &hour, &minute) < 0)
			return -1;
		list[len++] = '[';
		for (int i = 0; i < n; i++)
			len += (size_t)snprintf(list + len, sizeof list - len, "%s%d", i ? "," : "",
			    days[i]);
		snprintf(list + len, sizeof list - len, "]");
		/* offsets no longer asked for go, unless already sent */
		if ((st = store_cached(s, drop_sql)) == NULL)
			return -1;
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, list, -1, SQLITE_STATIC);
		rc = store_run(s, st);
		if (rc < 0)
			return -1;
		for (int i = 0; i < n; i++)
			if (datefmt_local_time(due, c->time_zone, -days[i], hour, minute, &fire) < 0 ||
			    plan_offset(s, id, days[i], due, fire, now) < 0)
				return -1;
	}
	if ((st = store_cached(s, done_sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, revision);
	sqlite3_bind_int64(st, 3, due);
	return store_run(s, st);
}

/* replan - every deadline whose plan is not of its latest revision, each
 * in its own transaction */
static int
replan(store_t *s, const conf_t *c, int64_t now, buf_t *err)
{
	static const char sql[] = "SELECT e.id, e.revision, e.body, e.cancelled FROM events e"
	    " LEFT JOIN deadline_plans d ON d.event_id = e.id WHERE e.type = 'deadline'"
	    " AND (d.revision IS NULL OR d.revision != e.revision) ORDER BY e.id LIMIT 64";
	sqlite3_stmt *st = store_cached(s, sql);
	struct { char *id; int revision, cancelled; json_t *body; } todo[64];
	int n = 0, rc = 0;

	if (st == NULL)
		goto fail;
	while (n < 64 && store_step(s, st) == SQLITE_ROW) {
		todo[n].id = xstrdup((const char *)sqlite3_column_text(st, 0));
		todo[n].revision = sqlite3_column_int(st, 1);
		todo[n].body = json_loads((const char *)sqlite3_column_text(st, 2), 0, NULL);
		todo[n].cancelled = sqlite3_column_int(st, 3);
		n++;
	}
	sqlite3_reset(st);
	for (int i = 0; i < n && rc == 0; i++) {
		if (todo[i].body == NULL || store_begin(s) < 0 ||
		    plan(s, c, todo[i].id, todo[i].revision, todo[i].body, todo[i].cancelled,
		    now) < 0 || store_commit(s) < 0) {
			buf_notef(err, "reminders: planning %s: %s", todo[i].id,
			    todo[i].body ? store_errmsg(s) : "stored body is not JSON");
			store_rollback(s);
			rc = -1;
			break;
		}
		log_info("reminders: planned %s revision %d%s", todo[i].id, todo[i].revision,
		    todo[i].cancelled ? " (cancelled)" : "");
	}
	for (int i = 0; i < n; i++) {
		free(todo[i].id);
		json_decref(todo[i].body);
	}
	return rc;
fail:
	buf_notef(err, "reminders: %s", store_errmsg(s));
	return -1;
}

/* mark - plan row id's state, and the due time it was decided for */
static int
mark(store_t *s, int64_t id, const char *state, int64_t due, int64_t now)
{
	static const char sql[] = "UPDATE reminders SET state = ?2, due = ?3, updated = ?4"
	    " WHERE id = ?1";
	sqlite3_stmt *st = store_cached(s, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, due);
	sqlite3_bind_int64(st, 4, now);
	return store_run(s, st);
}

/* fire - the reminder plan row id of deadline eid now; its other due
 * rows, with more days, are superseded by this one and skipped: all of
 * them, also those past the tick's batch, or a later tick would send
 * them as a second reminder */
static int
fire(store_t *s, const char *eid, int64_t id, int days, int64_t now, buf_t *err)
{
	static const char skip_sql[] = "UPDATE reminders SET state = 'skipped', due = ?3,"
	    " updated = ?4 WHERE event_id = ?1 AND state = 'planned' AND days > ?2"
	    " AND fire_at <= ?4";
	static const char ev_sql[] = "SELECT body, cancelled, regions FROM events WHERE id = ?1";
	static const char prev_sql[] = "SELECT due FROM reminder_sends WHERE event_id = ?1"
	    " ORDER BY id DESC LIMIT 1";
	static const char send_sql[] = "INSERT INTO reminder_sends (event_id, days, due,"
	    " previous_due, fired, recipients) VALUES (?1, ?2, ?3, ?4, ?5, 0)";
	static const char count_sql[] = "UPDATE reminder_sends SET recipients = ?2 WHERE id = ?1";
	sqlite3_stmt *st;
	json_t *body = NULL, *projects;
	char *plist = NULL, ref[24];
	int64_t due = 0, prev = 0, send_id, count = 0;
	unsigned mask = 0;
	int cancelled = 1, has_prev = 0, rc = -1;

	if (store_begin(s) < 0 || (st = store_cached(s, ev_sql)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, eid, -1, SQLITE_STATIC);
	if (store_step(s, st) == SQLITE_ROW) {
		body = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
		cancelled = sqlite3_column_int(st, 1);
		mask = (unsigned)sqlite3_column_int(st, 2);
	}
	sqlite3_reset(st);
	if (body)
		clock_parse(json_string_value(json_object_get(body, "due")), &due, NULL);
	if ((st = store_cached(s, skip_sql)) == NULL)
		goto fail;
	sqlite3_bind_text(st, 1, eid, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, days);
	sqlite3_bind_int64(st, 3, due);
	sqlite3_bind_int64(st, 4, now);
	if (store_run(s, st) < 0)
		goto fail;
	if (body == NULL || cancelled || due <= now) {
		/* the re-plan of the next tick would say so; the row must not
		 * stay due meanwhile */
		if (mark(s, id, cancelled ? "cancelled" : "skipped", due, now) < 0 ||
		    store_commit(s) < 0)
			goto fail;
		rc = 0;
		goto out;
	}
	if ((st = store_cached(s, prev_sql)) == NULL)
		goto fail;
	sqlite3_bind_text(st, 1, eid, -1, SQLITE_STATIC);
	if (store_step(s, st) == SQLITE_ROW) {
		prev = sqlite3_column_int64(st, 0);
		has_prev = prev != due;
	}
	sqlite3_reset(st);
	if ((st = store_cached(s, send_sql)) == NULL)
		goto fail;
	sqlite3_bind_text(st, 1, eid, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, days);
	sqlite3_bind_int64(st, 3, due);
	if (has_prev)
		sqlite3_bind_int64(st, 4, prev);
	else
		sqlite3_bind_null(st, 4);
	sqlite3_bind_int64(st, 5, now);
	rc = store_step(s, st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		goto fail;
	send_id = store_last_id(s);
	snprintf(ref, sizeof ref, "%lld", (long long)send_id);
	if ((projects = json_object_get(body, "projects")) != NULL)
		plist = json_dumps(projects, JSON_COMPACT);
	if (outbox_fill_contacts(s, KIND_REMINDER, ref, plist, mask, now, &count) < 0 ||
	    (st = store_cached(s, count_sql)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, send_id);
	sqlite3_bind_int64(st, 2, count);
	rc = store_step(s, st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE || mark(s, id, "sent", due, now) < 0 || store_commit(s) < 0)
		goto fail;
	if (count == 0)
		log_warn("reminders: %s, %d days before: no project contact in its audience",
		    eid, days);
	else
		log_info("reminders: %s, %d days before: %lld messages queued%s", eid, days,
		    (long long)count, has_prev ? " (the date changed)" : "");
	rc = 0;
	goto out;
fail:
	rc = -1;
out:
	if (rc < 0) {
		buf_notef(err, "reminders: firing %s: %s", eid, store_errmsg(s));
		store_rollback(s);
	}
	json_decref(body);
	free(plist);
	return rc;
}

int
remind_tick(store_t *s, const conf_t *c, int64_t now, buf_t *err)
{
	/* only rows of a plan made for the deadline's latest revision: a
	 * tick replans 64 deadlines, and one not yet replanned must not
	 * fire from the plan of a date it no longer has */
	static const char due_sql[] = "SELECT r.id, r.event_id, r.days FROM reminders r"
	    " JOIN events e ON e.id = r.event_id"
	    " JOIN deadline_plans d ON d.event_id = r.event_id AND d.revision = e.revision"
	    " WHERE r.state = 'planned' AND r.fire_at <= ?1 ORDER BY r.event_id, r.days LIMIT 256";
	struct { int64_t id; char *eid; int days; } row[256];
	sqlite3_stmt *st;
	int n = 0, rc = 0;

	if (replan(s, c, now, err) < 0)
		return -1;
	if ((st = store_cached(s, due_sql)) == NULL) {
		buf_notef(err, "reminders: %s", store_errmsg(s));
		return -1;
	}
	sqlite3_bind_int64(st, 1, now);
	while (n < 256 && store_step(s, st) == SQLITE_ROW) {
		row[n].id = sqlite3_column_int64(st, 0);
		row[n].eid = xstrdup((const char *)sqlite3_column_text(st, 1));
		row[n].days = sqlite3_column_int(st, 2);
		n++;
	}
	sqlite3_reset(st);
	/* per deadline, the row with the fewest days is the latest due: it
	 * goes, the earlier ones it supersedes are skipped (fire()) */
	for (int i = 0, j; i < n && rc == 0; i = j) {
		for (j = i + 1; j < n && strcmp(row[j].eid, row[i].eid) == 0; j++)
			;
		rc = fire(s, row[i].eid, row[i].id, row[i].days, now, err);
	}
	for (int i = 0; i < n; i++)
		free(row[i].eid);
	return rc;
}

int64_t
remind_next_due(store_t *s, int64_t now)
{
	static const char sql[] = "SELECT fire_at FROM reminders"
	    " WHERE state = 'planned' AND fire_at > ?1 ORDER BY fire_at LIMIT 1";

	return store_first_after(s, sql, now);
}

int
remind_message(const build_env_t *env, void **cache, const outbox_row_t *row,
    int64_t now, buf_t *eml, buf_t *err)
{
	store_t *s = env->store;
	const conf_t *c = env->conf;
	message_ctx_t *m = env->msg;
	static const char sql[] = "SELECT r.days, r.previous_due, e.body, e.revision,"
	    " e.cancelled FROM reminder_sends r JOIN events e ON e.id = r.event_id"
	    " WHERE r.id = ?1";
	sqlite3_stmt *st = store_cached(s, sql);
	message_rcpt_t rcpt = { row->contact_id, row->recipient, "", row->lang, row->regions,
	    0, 1 };
	json_t *body = NULL, *data = NULL, *dl;
	int64_t due = 0, prev = 0, left = 0;
	int step, revision = 1, cancelled = 0;
	buf_t when, ics, ref;
	mime_attachment_t att = { "deadline.ics", ICAL_CONTENT_TYPE, NULL, 0, 0 };
	ical_item_t item;
	int rc = -1;

	(void)cache;
	buf_init(&when, 1024);
	buf_init(&ics, (size_t)1 << 20);
	buf_init(&ref, 64);
	if (st == NULL) {
		buf_notef(err, "reminder %s: %s", row->ref, store_errmsg(s));
		goto out;
	}
	sqlite3_bind_int64(st, 1, strtoll(row->ref, NULL, 10));
	if ((step = store_step(s, st)) == SQLITE_ROW) {
		prev = sqlite3_column_int64(st, 1);
		body = json_loads((const char *)sqlite3_column_text(st, 2), 0, NULL);
		revision = sqlite3_column_int(st, 3);
		cancelled = sqlite3_column_int(st, 4);
	}
	sqlite3_reset(st);
	if (step != SQLITE_ROW || body == NULL) {
		buf_notef(err, "reminder %s: %s", row->ref, step == SQLITE_DONE ?
		    "its deadline is gone" : store_errmsg(s));
		rc = step == SQLITE_DONE ? 1 : -1;
		goto out;
	}
	clock_parse(json_string_value(json_object_get(body, "due")), &due, NULL);
	rc = 1;
	if (*row->project == '\0') {
		buf_note(err, "the project, or this contact of it, was removed");
		goto out;
	}
	if (cancelled) {
		buf_note(err, "the deadline was cancelled");
		goto out;
	}
	if (due <= now) {
		buf_note(err, "the deadline has passed");
		goto out;
	}
	rc = -1;
	datefmt_days_between(now, due, c->time_zone, &left);
	datefmt_datetime(&when, due, row->lang, c->time_zone);
	dl = json_pack("{s:s, s:s, s:I, s:b, s:b, s:b}",
	    "title", event_text(body, "title", row->lang), "when", buf_str(&when),
	    "days_left", (json_int_t)left, "today", left == 0, "tomorrow", left == 1,
	    "changed", prev != 0);
	if (event_text(body, "summary", row->lang))
		json_object_set_new(dl, "summary", json_string(event_text(body, "summary", row->lang)));
	compose_text_lang(dl, "title", body, "title", row->lang);
	compose_text_lang(dl, "summary", body, "summary", row->lang);
	if (json_object_get(body, "url"))
		json_object_set(dl, "url", json_object_get(body, "url"));
	if (prev) {
		buf_reset(&when);
		datefmt_datetime(&when, prev, row->lang, c->time_zone);
		json_object_set_new(dl, "previous_when", json_string(buf_str(&when)));
	}
	data = json_pack("{s:{s:s}, s:o}", "project", "name", row->project, "deadline", dl);
	item = (ical_item_t){ "deadline", body, revision };
	if (ical_build(&item, 1, row->lang, c->time_zone, c->list_id, now, &ics, err) < 0)
		goto out;
	att.data = ics.data;
	att.len = ics.len;
	if (buf_printf(&ref, "reminder-%s", row->ref) < 0) {
		buf_notef(err, "reminder %s: ref too long", row->ref);
		goto out;
	}
	rc = message_notice(m, "reminder", buf_str(&ref), &rcpt, data, &att, 1, now, NULL, eml,
	    err);
out:
	json_decref(body);
	json_decref(data);
	buf_free(&when);
	buf_free(&ics);
	buf_free(&ref);
	return rc;
}

/* plan_row, send_row, deadline_row - store_rows() callbacks building
 * remind_list()'s objects: a planned reminder, a reminder sent, a deadline
 * with both of its lists */
static int
plan_row(sqlite3_stmt *st, void *plans)
{
	char t[32];

	clock_format(sqlite3_column_int64(st, 1), t);
	json_array_append_new(plans, json_pack("{s:i, s:s, s:s}", "days",
	    sqlite3_column_int(st, 0), "at", t, "state", (const char *)sqlite3_column_text(st, 2)));
	return 0;
}

static int
send_row(sqlite3_stmt *st, void *sends)
{
	char t1[32], t2[32];
	json_t *o;

	clock_format(sqlite3_column_int64(st, 1), t1);
	clock_format(sqlite3_column_int64(st, 3), t2);
	o = json_pack("{s:i, s:s, s:s, s:I, s:I}", "days", sqlite3_column_int(st, 0),
	    "due", t1, "fired", t2, "recipients", (json_int_t)sqlite3_column_int64(st, 4),
	    "delivered", (json_int_t)sqlite3_column_int64(st, 5));
	if (sqlite3_column_type(st, 2) != SQLITE_NULL) {
		clock_format(sqlite3_column_int64(st, 2), t2);
		json_object_set_new(o, "previous_due", json_string(t2));
	}
	json_array_append_new(sends, o);
	return 0;
}

struct list_walk {
	store_t	*s;
	json_t	*out;
};

static int
deadline_row(sqlite3_stmt *ev, void *arg)
{
	static const char plan_sql[] = "SELECT days, fire_at, state FROM reminders"
	    " WHERE event_id = ?1 ORDER BY days DESC";
	static const char sends_sql[] = "SELECT s.days, s.due, s.previous_due, s.fired,"
	    " s.recipients, (SELECT count(*) FROM outbox o WHERE o.kind = 'reminder'"
	    "  AND o.ref = CAST(s.id AS TEXT) AND o.state = 'sent')"
	    " FROM reminder_sends s WHERE s.event_id = ?1 ORDER BY s.id";
	struct list_walk *w = arg;
	const char *id = (const char *)sqlite3_column_text(ev, 0);
	json_t *body = json_loads((const char *)sqlite3_column_text(ev, 1), 0, NULL);
	json_t *plans = json_array(), *sends = json_array();
	sqlite3_stmt *st;
	int64_t due = 0;
	char t[32];

	if (body == NULL) {
		json_decref(plans);
		json_decref(sends);
		return 0;
	}
	clock_parse(json_string_value(json_object_get(body, "due")), &due, NULL);
	clock_format(due, t);
	json_array_append_new(w->out, json_pack("{s:s, s:s, s:s, s:b, s:o, s:o}", "event", id,
	    "title", event_text(body, "title", "fi"), "due", t,
	    "cancelled", sqlite3_column_int(ev, 2), "reminders", plans, "sends", sends));
	json_decref(body);
	if ((st = store_cached(w->s, plan_sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (store_rows(w->s, st, plan_row, plans) < 0 ||
	    (st = store_cached(w->s, sends_sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	return store_rows(w->s, st, send_row, sends);
}

int
remind_list(store_t *s, const char *event_id, json_t **out)
{
	static const char ev_sql[] = "SELECT e.id, e.body, e.cancelled FROM events e"
	    " WHERE e.type = 'deadline' AND (?1 IS NULL OR e.id = ?1) ORDER BY e.at, e.id";
	struct list_walk w = { s, json_array() };
	sqlite3_stmt *ev;

	*out = w.out;
	if ((ev = store_cached(s, ev_sql)) == NULL)
		return -1;
	if (event_id)
		sqlite3_bind_text(ev, 1, event_id, -1, SQLITE_STATIC);
	return store_rows(s, ev, deadline_row, &w) == 0 ? 0 : -1;
}
