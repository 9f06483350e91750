/*
 * bulletin - issue lifecycle and the scheduler; contract in bulletin.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bulletin.h"
#include "compose.h"
#include "log.h"
#include "message.h"
#include "outbox.h"
#include "sched.h"
#include "util.h"

#define ISSUE_COLUMNS "id, number, coalesce(slot, -1), period_start, period_end, state," \
	" approved, recipients"

static void
row_issue(sqlite3_stmt *st, bulletin_issue_t *is)
{
	is->id = sqlite3_column_int64(st, 0);
	snprintf(is->number, sizeof is->number, "%s", sqlite3_column_text(st, 1));
	is->slot = sqlite3_column_int64(st, 2);
	is->period_start = sqlite3_column_int64(st, 3);
	is->period_end = sqlite3_column_int64(st, 4);
	snprintf(is->state, sizeof is->state, "%s", sqlite3_column_text(st, 5));
	is->approved = sqlite3_column_int(st, 6);
	is->recipients = sqlite3_column_int64(st, 7);
}

/* issue_row - a store_rows() callback: the row into the bulletin_issue_t,
 * and stop (1) */
static int
issue_row(sqlite3_stmt *st, void *is)
{
	row_issue(st, is);
	return 1;
}

/* one_issue - the first row of sql (a static text bound with an int64)
 * into is: 0, 1 none, -1 */
static int
one_issue(store_t *s, const char *sql, int64_t arg, bulletin_issue_t *is)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = store_cached(s, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, arg);
	rc = store_rows(s, st, issue_row, is);
	return rc == 1 ? 0 : rc == 0 ? 1 : -1;
}

int
bulletin_get(store_t *s, int64_t id, bulletin_issue_t *is)
{
	static const char sql[] = "SELECT " ISSUE_COLUMNS " FROM issues WHERE id = ?1";

	return one_issue(s, sql, id, is);
}

/* number_at - the number of an issue sent at t: one more than the issues
 * of that year numbered before t, in any state since (a cancelled one
 * keeps its number: readers may have had it); with fresh, also past every
 * number taken, so that an issue started out of order (an older draft
 * approved late) never gets a number again */
static int
number_at(store_t *s, const conf_t *conf, int64_t t, int fresh, buf_t *out)
{
	static const char sql[] = "SELECT count(*) FROM issues WHERE substr(number, 1, 4) = ?1"
	    " AND number NOT LIKE 'slot-%' AND period_end < ?2";
	static const char taken_sql[] = "SELECT count(*) FROM issues WHERE number = ?1";
	sqlite3_stmt *st;
	char year[8];
	int64_t before, taken = 0;

	compose_number(t, conf->time_zone, 0, out);
	snprintf(year, sizeof year, "%.4s", buf_str(out));
	if ((st = store_cached(s, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, year, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, t);
	if (store_int(s, st, &before) != 0)
		return -1;
	do {
		buf_reset(out);
		compose_number(t, conf->time_zone, (int)before++, out);
		if (fresh) {
			if ((st = store_cached(s, taken_sql)) == NULL)
				return -1;
			sqlite3_bind_text(st, 1, buf_str(out), -1, SQLITE_STATIC);
			if (store_int(s, st, &taken) != 0)
				return -1;
		}
	} while (taken);
	return 0;
}

int
bulletin_number(store_t *s, const conf_t *conf, int64_t t, buf_t *out)
{
	return number_at(s, conf, t, 0, out);
}

/* create - a draft issue for (start, end]; slot -1 for one sent by hand;
 * inside the caller's transaction, which logs it once that committed */
static int
create(store_t *s, const conf_t *conf, int64_t slot, int64_t start, int64_t end,
    int approved, int64_t now, int64_t *id)
{
	/* a placeholder until sending gives the real number (an issue that
	 * turns out empty keeps it and takes no number): slot-END-ID, with
	 * the id the row gets (one more than any), so two issues ending in
	 * the same second (send-now twice in a second) never share it */
	static const char sql[] = "INSERT INTO issues (number, slot, period_start, period_end,"
	    " state, approved, created, updated) VALUES ('slot-' || ?4 || '-' ||"
	    " (SELECT coalesce(max(id), 0) + 1 FROM issues), ?2, ?3, ?4, 'draft', ?5, ?6, ?6)";
	sqlite3_stmt *st;
	int rc = -1;

	if ((st = store_cached(s, sql)) == NULL)
		goto out;
	slot >= 0 ? sqlite3_bind_int64(st, 2, slot) : sqlite3_bind_null(st, 2);
	sqlite3_bind_int64(st, 3, start);
	sqlite3_bind_int64(st, 4, end);
	sqlite3_bind_int(st, 5, approved);
	sqlite3_bind_int64(st, 6, now);
	if (store_run(s, st) < 0)
		goto out;
	*id = store_last_id(s);
	(void)conf;
	rc = 0;
out:
	return rc;
}

/* last_end - the end of the latest issue that was not cancelled */
static int64_t
last_end(store_t *s, int64_t before, int64_t fallback)
{
	int64_t t;

	return store_issue_last_before(s, before, &t) == 0 ? t : fallback;
}

/* set_state - state (and number, recipients when given) of an issue */
static int
set_state(store_t *s, int64_t id, const char *state, const char *number,
    int64_t recipients, int64_t now)
{
	static const char sql[] = "UPDATE issues SET state = ?2, number = coalesce(?3, number),"
	    " recipients = coalesce(?4, recipients), updated = ?5 WHERE id = ?1";
	sqlite3_stmt *st;

	if ((st = store_cached(s, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
	number ? sqlite3_bind_text(st, 3, number, -1, SQLITE_STATIC) : sqlite3_bind_null(st, 3);
	recipients >= 0 ? sqlite3_bind_int64(st, 4, recipients) : sqlite3_bind_null(st, 4);
	sqlite3_bind_int64(st, 5, now);
	return store_run(s, st);
}

/* start - fix the number and fill the outbox, in one transaction */
static int
start(store_t *s, const conf_t *conf, const bulletin_issue_t *is, int64_t now, buf_t *err)
{
	compose_conf_t cc = { conf->time_zone, (int)conf->deadline_days, (int)conf->event_days };
	compose_issue_t *items = NULL;
	uint32_t masks = 0;
	int rc = -1;
	int64_t count = 0;
	char ref[32];
	buf_t number;

	buf_init(&number, 64);
	snprintf(ref, sizeof ref, "%lld", (long long)is->id);
	if (store_begin(s) < 0 || number_at(s, conf, is->period_end, 1, &number) < 0 ||
	    compose_issue_load(s, &cc, buf_str(&number), is->period_start, is->period_end,
	    &items, err) < 0)
		goto fail;
	/* only recipients whose regions meet an item get the issue */
	for (unsigned m = 1; m <= 31; m++)
		if (conf->send_empty || compose_issue_count(items, m) > 0)
			masks |= (uint32_t)1 << m;
	if (outbox_fill_bulletin(s, ref, masks, now, &count) < 0 ||
	    set_state(s, is->id, count ? "sending" : "empty", count ? buf_str(&number) : NULL,
	    count, now) < 0 ||
	    store_commit(s) < 0)
		goto fail;
	/* an empty issue takes no number (the next one gets it): not named */
	if (count)
		log_ids(LOG_INFO, &(log_ids_t){ .issue = is->id },
		    "bulletin: issue %s (%lld) sending: %lld recipients", buf_str(&number),
		    (long long)is->id, (long long)count);
	else
		log_ids(LOG_INFO, &(log_ids_t){ .issue = is->id },
		    "bulletin: issue %lld has nothing for anyone: no number, nothing sent",
		    (long long)is->id);
	rc = 0;
	goto out;
fail:
	if (err->len == 0)
		buf_notef(err, "starting issue %lld: %s", (long long)is->id, store_errmsg(s));
	store_rollback(s);
out:
	compose_issue_free(items);
	buf_free(&number);
	return rc;
}

int
bulletin_retain(store_t *s, const conf_t *conf, int64_t now, buf_t *err)
{
	static const char due_sql[] = "SELECT i.id FROM issues i WHERE i.state = 'sent'"
	    " AND i.updated <= ?1 AND EXISTS (SELECT 1 FROM outbox o"
	    "  WHERE o.kind IN ('bulletin', 'draft') AND o.ref = CAST(i.id AS TEXT)"
	    "  AND o.state IN ('sent', 'skipped', 'cancelled')) ORDER BY i.id LIMIT 1";
	sqlite3_stmt *st;
	int64_t id, folded = 0;
	char ref[32];
	int got;

	if ((st = store_cached(s, due_sql)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, now - conf->outbox_keep_days * 86400);
	if ((got = store_int(s, st, &id)) != 0) {
		if (got > 0)
			return 0;
		goto fail;
	}
	snprintf(ref, sizeof ref, "%lld", (long long)id);
	if (store_begin(s) < 0 || outbox_compact(s, KIND_DRAFT, ref, BULLETIN_RETAIN_ROWS) < 0 ||
	    (folded = outbox_compact(s, KIND_BULLETIN, ref, BULLETIN_RETAIN_ROWS)) < 0 ||
	    store_commit(s) < 0)
		goto fail;
	if (folded < BULLETIN_RETAIN_ROWS)
		log_ids(LOG_INFO, &(log_ids_t){ .issue = id }, "bulletin: issue %lld: its outbox is"
		    " folded into totals (sent more than outbox.keep_days = %ld days ago)",
		    (long long)id, conf->outbox_keep_days);
	return 1;
fail:
	buf_notef(err, "bulletin: retention: %s", store_errmsg(s));
	store_rollback(s);
	return -1;
}

/* drafts_to_editors - the approval copy, one outbox row per editor */
static int
drafts_to_editors(store_t *s, const conf_t *conf, int64_t id, int64_t now)
{
	char *list = xstrdup(conf->editors), *tok, *save = NULL, ref[32];
	int rc = 0;

	snprintf(ref, sizeof ref, "%lld", (long long)id);
	for (tok = strtok_r(list, ", ", &save); tok && rc == 0; tok = strtok_r(NULL, ", ", &save))
		rc = outbox_add(s, KIND_DRAFT, ref, tok, now);
	free(list);
	return rc;
}

/* due_after - the next draft due by now after (end, id) in the order
 * (period_end, id): 0, 1 none, -1 */
static int
due_after(store_t *s, int64_t now, int64_t end, int64_t id, bulletin_issue_t *is)
{
	static const char sql[] = "SELECT " ISSUE_COLUMNS " FROM issues"
	    " WHERE state = 'draft' AND period_end <= ?1 AND (period_end, id) > (?2, ?3)"
	    " ORDER BY period_end, id LIMIT 1";
	sqlite3_stmt *st;
	int rc;

	if ((st = store_cached(s, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, end);
	sqlite3_bind_int64(st, 3, id);
	rc = store_rows(s, st, issue_row, is);
	return rc == 1 ? 0 : rc == 0 ? 1 : -1;
}

/* start_or_hold - start is; an issue that cannot start (its content does
 * not build, a constraint) is held and logged once, so that it neither
 * blocks the drafts after it nor logs its error every second: `tiedote
 * issue resume N` tries again.  A full disk is the worker's to handle
 * (store_full()): -1 with err, tried again once there is room. */
static int
start_or_hold(store_t *s, const conf_t *conf, const bulletin_issue_t *is, int64_t now,
    buf_t *err)
{
	buf_t why;
	int rc = 0;

	buf_init(&why, 4096);
	if (start(s, conf, is, now, &why) == 0)
		goto out;
	if (store_full(s)) {
		buf_notef(err, "%s", buf_str(&why));
		rc = -1;
		goto out;
	}
	if (set_state(s, is->id, "held", NULL, -1, now) < 0) {
		buf_notef(err, "%s; holding it: %s", buf_str(&why), store_errmsg(s));
		rc = -1;
		goto out;
	}
	log_ids(LOG_ERR, &(log_ids_t){ .issue = is->id }, "bulletin: %s; issue %lld held"
	    " (tiedote issue resume %lld tries again)", buf_str(&why), (long long)is->id,
	    (long long)is->id);
out:
	buf_free(&why);
	return rc;
}

int
bulletin_tick(store_t *s, const conf_t *conf, int64_t now, buf_t *err)
{
	bulletin_issue_t is;
	sched_t sched;
	int64_t k, id, next, lead, last_end_seen = INT64_MIN, last_id = 0;
	int got;

	if (sched_init(&sched, conf, err) < 0)
		return -1;
	/* the latest due slot, and with approval the next one's draft */
	k = sched_index(&sched, now);
	lead = conf->approval ? conf->draft_lead_hours * 3600 : 0;
	for (int64_t slot = k; slot <= k + 1; slot++) {
		if (slot < 0 || (slot > k && (!conf->approval || sched_due(&sched, slot) - lead > now)))
			continue;
		got = one_issue(s, "SELECT " ISSUE_COLUMNS " FROM issues WHERE slot >= ?1"
		    " ORDER BY slot LIMIT 1", slot, &is);
		if (got < 0)
			goto dberr;
		if (got == 0)
			continue;	/* this slot, or a later one, exists */
		next = sched_due(&sched, slot);
		if (store_begin(s) < 0 ||
		    create(s, conf, slot, last_end(s, next, sched_due(&sched, slot - 1)), next,
		    !conf->approval, now, &id) < 0 ||
		    (conf->approval && drafts_to_editors(s, conf, id, now) < 0) ||
		    store_commit(s) < 0) {
			store_rollback(s);
			goto dberr;
		}
		/* after the commit: a try rolled back (a full disk) is no issue */
		log_ids(LOG_INFO, &(log_ids_t){ .issue = id },
		    "bulletin: issue %lld created for its scheduled slot", (long long)id);
	}
	/* drafts whose time has come, oldest first: start each once approved;
	 * one still unapproved does not hold back a later one that is */
	while ((got = due_after(s, now, last_end_seen, last_id, &is)) == 0) {
		last_end_seen = is.period_end;
		last_id = is.id;
		if (!is.approved && conf->approval) {
			log_debug("bulletin: issue %lld waits for approval", (long long)is.id);
			continue;
		}
		if (start_or_hold(s, conf, &is, now, err) < 0)
			return -1;
	}
	if (got < 0)
		goto dberr;
	return bulletin_finish(s, now, err);
dberr:
	if (err->len == 0)
		buf_notef(err, "scheduler: %s", store_errmsg(s));
	return -1;
}

int
bulletin_finish(store_t *s, int64_t now, buf_t *err)
{
	static const char sending_sql[] = "SELECT " ISSUE_COLUMNS " FROM issues"
	    " WHERE state = 'sending' AND id > ?1 ORDER BY id LIMIT 1";
	bulletin_issue_t is;
	int64_t id;
	int got, open;

	for (id = 0; (got = one_issue(s, sending_sql, id, &is)) == 0; id = is.id) {
		char ref[32];

		snprintf(ref, sizeof ref, "%lld", (long long)is.id);
		if ((open = outbox_any_open(s, KIND_BULLETIN, ref)) < 0)
			goto dberr;
		if (open == 0) {
			if (set_state(s, is.id, "sent", NULL, -1, now) < 0)
				goto dberr;
			log_ids(LOG_INFO, &(log_ids_t){ .issue = is.id },
			    "bulletin: issue %s (%lld) sent", is.number, (long long)is.id);
		}
	}
	if (got < 0)
		goto dberr;
	return 0;
dberr:
	if (err->len == 0)
		buf_notef(err, "scheduler: %s", store_errmsg(s));
	return -1;
}

int64_t
bulletin_next_due(const conf_t *conf, int64_t now)
{
	sched_t sched;
	buf_t err;
	int64_t k, t, next = -1, lead;

	buf_init(&err, 256);
	if (sched_init(&sched, conf, &err) < 0) {
		buf_free(&err);
		return -1;
	}
	buf_free(&err);
	k = sched_index(&sched, now);
	lead = conf->approval ? conf->draft_lead_hours * 3600 : 0;
	/* the next slot's send time, and with approval the draft times
	 * (lead hours before) of that slot and the one after */
	for (int64_t slot = k + 1; slot <= k + 2; slot++) {
		if (slot < 0)
			continue;
		t = sched_due(&sched, slot);
		if (slot == k + 1 && t > now && (next < 0 || t < next))
			next = t;
		if (conf->approval && t - lead > now && (next < 0 || t - lead < next))
			next = t - lead;
	}
	return next;
}

int
bulletin_send_now(store_t *s, const conf_t *conf, int64_t now, int64_t *id, buf_t *err)
{
	if (store_begin(s) < 0 ||
	    create(s, conf, -1, last_end(s, now + 1, now - conf->bulletin_interval_days * 86400),
	    now, 1, now, id) < 0 || store_commit(s) < 0) {
		buf_notef(err, "%s", store_errmsg(s));
		store_rollback(s);
		return -1;
	}
	log_ids(LOG_INFO, &(log_ids_t){ .issue = *id }, "bulletin: issue %lld created for sending"
	    " now", (long long)*id);
	return 0;
}

int
bulletin_control(store_t *s, int64_t id, const char *verb, int64_t now, buf_t *err)
{
	bulletin_issue_t is;
	static const char approve_sql[] =
	    "UPDATE issues SET approved = 1, updated = ?2 WHERE id = ?1";
	const char *to = NULL;
	sqlite3_stmt *st;
	int64_t open = 0;
	char ref[32];
	size_t said = err->len;	/* more after this: the request was refused */
	int got, rc = -1;

	if ((got = bulletin_get(s, id, &is)) != 0) {
		if (got > 0)
			buf_notef(err, "no issue %lld", (long long)id);
		else
			buf_notef(err, "%s", store_errmsg(s));
		return got > 0 ? -1 : -2;
	}
	snprintf(ref, sizeof ref, "%lld", (long long)id);
	if (store_begin(s) < 0)
		goto out;
	if (strcmp(verb, "approve") == 0) {
		if (strcmp(is.state, "draft") != 0 && strcmp(is.state, "held") != 0) {
			buf_notef(err, "issue %lld is %s; only a draft can be approved",
			    (long long)id, is.state);
			goto out;
		}
		if ((st = store_cached(s, approve_sql)) == NULL)
			goto out;
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, now);
		if (store_run(s, st) < 0)
			goto out;
	} else if (strcmp(verb, "hold") == 0) {
		if (strcmp(is.state, "draft") != 0 && strcmp(is.state, "sending") != 0) {
			buf_notef(err, "issue %lld is %s; only a draft or a sending issue can be held",
			    (long long)id, is.state);
			goto out;
		}
		to = "held";
	} else if (strcmp(verb, "resume") == 0) {
		if (strcmp(is.state, "held") != 0) {
			buf_notef(err, "issue %lld is %s, not held", (long long)id, is.state);
			goto out;
		}
		/* back to where it was: sending if its outbox was filled */
		if (outbox_open(s, KIND_BULLETIN, ref, &open) < 0)
			goto out;
		to = open || is.recipients ? "sending" : "draft";
	} else if (strcmp(verb, "cancel") == 0) {
		if (strcmp(is.state, "sent") == 0 || strcmp(is.state, "cancelled") == 0 ||
		    strcmp(is.state, "empty") == 0) {
			buf_notef(err, "issue %lld is already %s", (long long)id, is.state);
			goto out;
		}
		if (outbox_cancel(s, KIND_BULLETIN, ref, now) < 0 ||
		    outbox_cancel(s, KIND_DRAFT, ref, now) < 0)
			goto out;
		to = "cancelled";
	} else {
		buf_notef(err, "unknown action \"%s\"", verb);
		goto out;
	}
	if (to && set_state(s, id, to, NULL, -1, now) < 0)
		goto out;
	if (store_commit(s) < 0)
		goto out;
	log_ids(LOG_INFO, &(log_ids_t){ .issue = id }, "bulletin: issue %lld: %s",
	    (long long)id, verb);
	rc = 0;
out:
	if (rc < 0) {
		/* nothing said: the store failed, not the request */
		if (err->len == said) {
			buf_notef(err, "%s", store_errmsg(s));
			rc = -2;
		}
		store_rollback(s);
	}
	return rc;
}

/* paused - "paused": {"by": "relay", "reply": ..., "since": ...} while the
 * sender's relay breaker (relay.h) is open: the sender records its state
 * as meta "relay" at each change */
static void
paused(store_t *s, json_t *j)
{
	buf_t v;
	json_t *relay;
	const char *state;

	buf_init(&v, 4096);
	if (store_meta_get(s, "relay", &v) == 0 &&
	    (relay = json_loads(buf_str(&v), 0, NULL)) != NULL) {
		state = json_string_value(json_object_get(relay, "state"));
		if (state && strcmp(state, "closed") != 0)
			json_object_set_new(j, "paused", json_pack("{s:s, s:s, s:O, s:O}",
			    "by", "relay", "state", state, "reply", json_object_get(relay, "reply"),
			    "since", json_object_get(relay, "since")));
		json_decref(relay);
	}
	buf_free(&v);
}

static json_t *
issue_json(store_t *s, const bulletin_issue_t *is, int failures)
{
	json_t *j = json_pack("{s:I, s:s, s:s, s:I, s:I, s:b, s:I}", "id", (json_int_t)is->id,
	    "number", is->number, "state", is->state,
	    "period_start", (json_int_t)is->period_start,
	    "period_end", (json_int_t)is->period_end, "approved", is->approved,
	    "recipients", (json_int_t)is->recipients), *report = NULL;
	char ref[32];

	snprintf(ref, sizeof ref, "%lld", (long long)is->id);
	if (is->slot >= 0)
		json_object_set_new(j, "slot", json_integer(is->slot));
	if (outbox_report(s, KIND_BULLETIN, ref, failures, &report) == 0) {
		json_object_update(j, report);
		json_decref(report);
	}
	if (strcmp(is->state, "sending") == 0)
		paused(s, j);
	return j;
}

/* list_row - a store_rows() callback: one issue of bulletin_list() */
struct list_walk {
	store_t	*s;
	json_t	*arr;
};

static int
list_row(sqlite3_stmt *st, void *arg)
{
	struct list_walk *w = arg;
	bulletin_issue_t is;

	row_issue(st, &is);
	json_array_append_new(w->arr, issue_json(w->s, &is, 0));
	return 0;
}

int
bulletin_list(store_t *s, json_t **out)
{
	static const char sql[] = "SELECT " ISSUE_COLUMNS " FROM issues"
	    " ORDER BY period_end DESC, id DESC";
	struct list_walk w = { s, json_array() };
	sqlite3_stmt *st;
	int rc = -1;

	if ((st = store_cached(s, sql)) != NULL && (rc = store_rows(s, st, list_row, &w)) == 0)
		*out = json_incref(w.arr);
	json_decref(w.arr);
	return rc;
}

int
bulletin_status(store_t *s, int64_t id, int failures, json_t **out)
{
	bulletin_issue_t is;
	int got;

	static const char latest_sql[] = "SELECT " ISSUE_COLUMNS " FROM issues WHERE id > ?1"
	    " ORDER BY (state = 'sending') DESC, id DESC LIMIT 1";

	got = id ? bulletin_get(s, id, &is) : one_issue(s, latest_sql, 0, &is);
	if (got != 0)
		return got;
	*out = issue_json(s, &is, failures);
	return 0;
}

/* the issue being sent, loaded once for all its readers */
struct bulletin_cache {
	int64_t	 id;
	bulletin_issue_t issue;
	compose_issue_t *items;
};

void
bulletin_cache_free(void *arg)
{
	struct bulletin_cache *c = arg;

	if (c == NULL)
		return;
	compose_issue_free(c->items);
	free(c);
}

int
bulletin_message(const build_env_t *env, void **cache, const outbox_row_t *row,
    int64_t now, buf_t *eml, buf_t *err)
{
	compose_conf_t cc = { env->conf->time_zone, (int)env->conf->deadline_days,
	    (int)env->conf->event_days };
	struct bulletin_cache *c = *cache;
	message_rcpt_t r = { row->subscriber_id, row->recipient, row->name, row->lang,
	    row->regions, 0, 0 };
	int64_t id = strtoll(row->ref, NULL, 10);

	if (c == NULL)
		*cache = c = xcalloc(1, sizeof *c);
	if (c->items == NULL || c->id != id) {
		compose_issue_free(c->items);
		c->items = NULL;
		if (bulletin_get(env->store, id, &c->issue) != 0) {
			buf_notef(err, "issue %lld is gone", (long long)id);
			return -1;
		}
		if (compose_issue_load(env->store, &cc, c->issue.number, c->issue.period_start,
		    c->issue.period_end, &c->items, err) < 0)
			return -1;
		c->id = id;
	}
	if (row->kind == KIND_DRAFT)
		r = (message_rcpt_t){ 0, row->recipient, "", "fi", 0x1f, 1, 0 };
	return message_bulletin(env->msg, c->items, c->issue.number, &r, now, NULL, eml, err);
}
