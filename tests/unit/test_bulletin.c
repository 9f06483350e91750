/* test_bulletin - the scheduler and issue lifecycle on an injected clock:
 * both DST changes, a 5-day outage, approval, staff control */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "bulletin.h"
#include "clock.h"
#include "conf.h"
#include "outbox.h"
#include "sched.h"
#include "store.h"
#include "test.h"

static char dir[] = "/tmp/tiedote-bulletin.XXXXXX";
static int dbn;

static int64_t
T(const char *s)
{
	int64_t t = 0;

	if (clock_parse(s, &t, NULL) < 0)
		fprintf(stderr, "  bad time %s\n", s);
	return t;
}

/* fresh - a new database with one subscriber and one news item a day */
static store_t *
fresh(conf_t *c, const char *first, const char *interval)
{
	char path[256];
	store_t *s = NULL;
	buf_t err;
	subscriber_t sub = { 0, "anu.niemi@thl.fi", "Anu", "fi", 0x1f, "active", 0, 0 };
	store_sub_t res;
	store_put_t put;
	int rev;

	conf_init(c);
	buf_init(&err, 1024);
	snprintf(path, sizeof path, "%s/b%d.db", dir, dbn++);
	conf_set(c, "store", "path", path, &err);
	conf_set(c, "bulletin", "first", first, &err);
	conf_set(c, "bulletin", "interval_days", interval, &err);
	if (store_open(c, &s, &err) < 0) {
		fprintf(stderr, "  %s\n", buf_str(&err));
		goto out;
	}
	store_subscriber_put(s, &sub, 0, 0, &res);
	/* news "published" every day of 2020, so every period has items */
	store_begin(s);
	for (int d = 0; d < 366; d++) {
		char id[32], body[256];
		int64_t at = T("2020-01-01T12:00:00Z") + (int64_t)d * 86400;

		snprintf(id, sizeof id, "news-%d", d);
		snprintf(body, sizeof body, "{\"id\":\"%s\",\"type\":\"news\",\"title\":{\"fi\":\"U %d\"},"
		    "\"regions\":[\"all\"]}", id, d);
		store_event_put(s, id, "news", body, 0x1f, at, 0, at, &put, &rev);
	}
	store_commit(s);
out:
	buf_free(&err);
	return s;
}

static int
count(store_t *s, const char *where)
{
	char sql[256];
	sqlite3_stmt *st;
	int n = -1;

	snprintf(sql, sizeof sql, "SELECT count(*) FROM issues WHERE %s", where);
	if (store_prepare(s, sql, &st) == 0 && store_step(s, st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

static int64_t
end_of(store_t *s, int64_t id)
{
	bulletin_issue_t is;

	return bulletin_get(s, id, &is) == 0 ? is.period_end : -1;
}

static int
tick(store_t *s, conf_t *c, const char *when)
{
	buf_t err;
	int rc;

	buf_init(&err, 1024);
	if ((rc = bulletin_tick(s, c, T(when), &err)) < 0)
		fprintf(stderr, "  tick %s: %s\n", when, buf_str(&err));
	buf_free(&err);
	return rc;
}

TEST(one_issue_per_period_across_restarts)
{
	conf_t c;
	store_t *s = fresh(&c, "2020-01-07T09:00:00+02:00", "14");

	CHECK(tick(s, &c, "2020-01-07T08:59:59+02:00") == 0);
	CHECK(count(s, "1") == 0);
	CHECK(tick(s, &c, "2020-01-07T09:00:00+02:00") == 0);
	CHECK(count(s, "state = 'sending'") == 1);
	/* a restart, or many ticks, in the same period change nothing */
	for (int i = 0; i < 5; i++)
		CHECK(tick(s, &c, "2020-01-10T12:00:00+02:00") == 0);
	CHECK(count(s, "1") == 1);
	CHECK(tick(s, &c, "2020-01-21T09:00:00+02:00") == 0);
	CHECK(count(s, "1") == 2);
	CHECK(count(s, "number = '2020/01'") == 1 && count(s, "number = '2020/02'") == 1);
	store_close(s);
	conf_free(&c);
}

/* sql_run - one statement of test setup on the store's connection */
static int
sql_run(store_t *s, const char *sql)
{
	sqlite3_stmt *st;
	int rc = store_prepare(s, sql, &st) == 0 && store_step(s, st) == SQLITE_DONE ? 0 : -1;

	sqlite3_finalize(st);
	return rc;
}

/* logged - what the scheduler's tick at when writes to stderr, in out */
static int
logged(store_t *s, conf_t *c, const char *when, char *out, size_t size)
{
	char path[256];
	int fd, saved, rc;
	ssize_t n;

	snprintf(path, sizeof path, "%s/log.txt", dir);
	fflush(stderr);
	saved = dup(2);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	rc = tick(s, c, when);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, out, size - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	return rc;
}

TEST(a_rolled_back_issue_is_not_logged_as_created)
{
	conf_t c;
	store_t *s = fresh(&c, "2020-01-07T09:00:00+02:00", "14");
	char log[4096];

	/* a commit that fails after the INSERT went through, as on a full
	 * disk: a deferred foreign key the new issue's row breaks */
	CHECK(sql_run(s, "CREATE TABLE t (x INTEGER REFERENCES issues(id)"
	    " DEFERRABLE INITIALLY DEFERRED)") == 0);
	CHECK(sql_run(s, "CREATE TRIGGER tr AFTER INSERT ON issues"
	    " BEGIN INSERT INTO t VALUES (-1); END") == 0);
	for (int i = 0; i < 3; i++) {
		CHECK(logged(s, &c, "2020-01-07T09:00:00+02:00", log, sizeof log) == -1);
		CHECK(strstr(log, "created") == NULL);
		CHECK(count(s, "1") == 0);
	}
	CHECK(sql_run(s, "DROP TRIGGER tr") == 0);
	CHECK(logged(s, &c, "2020-01-07T09:00:00+02:00", log, sizeof log) == 0);
	CHECK(strstr(log, "issue 1 created") != NULL);
	CHECK(count(s, "1") == 1);
	store_close(s);
	conf_free(&c);
}

/* count_rows - the outbox's rows */
static int
count_rows(store_t *s)
{
	sqlite3_stmt *st;
	int n = -1;

	if (store_prepare(s, "SELECT count(*) FROM outbox", &st) == 0 &&
	    store_step(s, st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* row - an outbox row of issue 7 with the given times */
static void
row(store_t *s, int i, const char *state, int64_t first, int64_t updated)
{
	char sql[512];

	snprintf(sql, sizeof sql, "INSERT INTO outbox (kind, ref, recipient, state,"
	    " first_attempt, created, updated) VALUES ('bulletin', '7', 'r%d@x.fi', '%s',"
	    " %lld, 0, %lld)", i, state, (long long)first, (long long)updated);
	CHECK(sql_run(s, sql) == 0);
}

TEST(issue_rate_is_the_last_minute_while_sending_then_the_average)
{
	conf_t c;
	store_t *s = fresh(&c, "2020-01-07T09:00:00+02:00", "14");
	double rate = -1;
	int live = -1, i;

	/* nothing yet */
	CHECK(outbox_rate(s, "bulletin", "7", 1000, &rate, &live) == 0 && rate == 0 && !live);
	/* started at 1000; 10 a second for 100 s, then 2 a second for 60 s;
	 * 50 rows still queued */
	for (i = 0; i < 1000; i++)
		row(s, i, "sent", 1000, 1000 + i / 10 + 1);
	for (i = 0; i < 120; i++)
		row(s, 1000 + i, "sent", 1000, 1100 + i / 2 + 1);
	for (i = 0; i < 50; i++)
		row(s, 2000 + i, i ? "queued" : "sending", 1000, 1160);
	CHECK(outbox_rate(s, "bulletin", "7", 1160, &rate, &live) == 0 && live);
	CHECK(rate == 2.0);
	/* 30 s in: over those 30 s, not a minute */
	CHECK(outbox_rate(s, "bulletin", "7", 1030, &rate, &live) == 0 && live);
	CHECK(rate == 10.0);
	/* the same second as the first attempt: over 1 s */
	CHECK(outbox_rate(s, "bulletin", "7", 1000, &rate, &live) == 0 && live && rate == 0);
	/* done: 1,120 sent between 1000 and 1160, whatever now is; a
	 * deferred row does not count as still sending */
	CHECK(sql_run(s, "UPDATE outbox SET state = 'failed' WHERE state = 'queued'") == 0);
	CHECK(sql_run(s, "UPDATE outbox SET state = 'deferred' WHERE state = 'sending'") == 0);
	CHECK(outbox_rate(s, "bulletin", "7", 99999, &rate, &live) == 0 && !live);
	CHECK(rate == 1120.0 / 160);
	/* another issue's rows are not counted */
	CHECK(outbox_rate(s, "bulletin", "8", 99999, &rate, &live) == 0 && !live && rate == 0);
	store_close(s);
	conf_free(&c);
}

TEST(retention_folds_a_sent_issue_and_status_says_the_same)
{
	conf_t c;
	store_t *s = fresh(&c, "2020-01-07T09:00:00+02:00", "14");
	json_t *before = NULL, *after = NULL;
	double rate0 = -1, rate1 = -2;
	int live = -1, i, n = 0, got;
	char *a = NULL, *b = NULL;
	buf_t err;

	buf_init(&err, 1024);
	/* issue 7, sent at 2000: 25,000 sent, 300 skipped, 40 failed with
	 * replies, 10 suppressed, 5 cancelled; and an editor's draft */
	CHECK(sql_run(s, "INSERT INTO issues (id, number, slot, period_start, period_end, state,"
	    " approved, recipients, created, updated) VALUES (7, '2020/01', NULL, 0, 1000, 'sent',"
	    " 1, 25355, 1000, 2000)") == 0);
	CHECK(sql_run(s, "BEGIN") == 0);
	for (i = 0; i < 25355; i++)
		row(s, i, i < 25000 ? "sent" : i < 25300 ? "skipped" : i < 25340 ? "failed" :
		    i < 25350 ? "suppressed" : "cancelled", 1000 + i % 7, 1000 + i / 25);
	CHECK(sql_run(s, "UPDATE outbox SET reply_code = 550, reply = '5.1.1 no such user ' || id"
	    " WHERE state IN ('failed', 'suppressed')") == 0);
	CHECK(sql_run(s, "INSERT INTO outbox (kind, ref, recipient, state, created, updated)"
	    " VALUES ('draft', '7', 'editor@x.fi', 'sent', 0, 900)") == 0);
	CHECK(sql_run(s, "COMMIT") == 0);
	CHECK(bulletin_status(s, 7, 10, &before) == 0);
	CHECK(outbox_rate(s, "bulletin", "7", 99999, &rate0, &live) == 0 && !live);
	/* not yet: keep_days (30) after the send */
	CHECK(bulletin_retain(s, &c, 2000 + 30 * 86400 - 1, &err) == 0);
	CHECK(count_rows(s) == 25356);
	/* then a slice a call until nothing is left to fold */
	while ((got = bulletin_retain(s, &c, 2000 + 30 * 86400, &err)) == 1 && n < 10)
		n++;
	CHECK(got == 0 && n == 3);
	CHECK(count_rows(s) == 50);	/* the failures, with their replies */
	CHECK(bulletin_status(s, 7, 10, &after) == 0);
	CHECK(outbox_rate(s, "bulletin", "7", 99999, &rate1, &live) == 0 && !live);
	CHECK(rate0 == rate1 && rate0 > 0);
	a = json_dumps(before, JSON_SORT_KEYS | JSON_COMPACT);
	b = json_dumps(after, JSON_SORT_KEYS | JSON_COMPACT);
	CHECK(a && b && strcmp(a, b) == 0);
	if (a && b && strcmp(a, b) != 0)
		fprintf(stderr, "  before %s\n  after  %s\n", a, b);
	free(a);
	free(b);
	json_decref(before);
	json_decref(after);
	buf_free(&err);
	store_close(s);
	conf_free(&c);
}

TEST(an_empty_issue_takes_no_number)
{
	conf_t c;
	store_t *s = fresh(&c, "2019-12-10T09:00:00+02:00", "14");
	char log[4096];

	/* 7.1.2020: the period 24.12.-7.1. has items (news from 1.1. on) */
	CHECK(logged(s, &c, "2019-12-24T09:00:00+02:00", log, sizeof log) == 0); /* none in 2019 */
	CHECK(count(s, "state = 'empty' AND number LIKE 'slot-%'") == 1);
	/* the log names no number it never got */
	CHECK(strstr(log, "nothing for anyone") != NULL && strstr(log, "2019/") == NULL);
	CHECK(tick(s, &c, "2020-01-07T09:00:00+02:00") == 0);
	CHECK(count(s, "state = 'sending' AND number = '2020/01'") == 1);
	CHECK(tick(s, &c, "2020-01-21T09:00:00+02:00") == 0);
	CHECK(count(s, "number = '2020/02'") == 1);
	store_close(s);
	conf_free(&c);
}

TEST(spring_dst_keeps_nine_oclock)
{
	conf_t c;
	store_t *s = fresh(&c, "2020-03-17T09:00:00+02:00", "14");
	sched_t sc;
	buf_t err;

	buf_init(&err, 256);
	CHECK(sched_init(&sc, &c, &err) == 0);
	/* Helsinki moves to +03:00 on 29.3.2020 */
	CHECK(sched_due(&sc, 1) == T("2020-03-31T09:00:00+03:00"));
	CHECK(sched_index(&sc, T("2020-03-31T08:59:59+03:00")) == 0);
	CHECK(sched_index(&sc, T("2020-03-31T09:00:00+03:00")) == 1);
	CHECK(tick(s, &c, "2020-03-31T08:30:00+03:00") == 0);
	CHECK(count(s, "1") == 1);	/* only slot 0 so far */
	CHECK(tick(s, &c, "2020-03-31T09:00:00+03:00") == 0);
	CHECK(count(s, "1") == 2);
	CHECK(end_of(s, 2) == T("2020-03-31T06:00:00Z"));
	buf_free(&err);
	store_close(s);
	conf_free(&c);
}

TEST(autumn_dst_keeps_nine_oclock)
{
	conf_t c;
	store_t *s = fresh(&c, "2020-10-20T09:00:00+03:00", "14");
	sched_t sc;
	buf_t err;

	buf_init(&err, 256);
	CHECK(sched_init(&sc, &c, &err) == 0);
	/* back to +02:00 on 25.10.2020 */
	CHECK(sched_due(&sc, 1) == T("2020-11-03T09:00:00+02:00"));
	CHECK(sched_due(&sc, 2) == T("2020-11-17T07:00:00Z"));
	CHECK(tick(s, &c, "2020-10-20T09:00:00+03:00") == 0);
	CHECK(tick(s, &c, "2020-11-03T09:00:00+02:00") == 0);
	CHECK(end_of(s, 2) == T("2020-11-03T07:00:00Z"));
	buf_free(&err);
	store_close(s);
	conf_free(&c);
}

/* first on a day of a DST change itself: its time on the clock (9.00),
 * not the hours since that day's midnight (8 in spring, 10 in autumn) */
TEST(first_on_a_dst_day_keeps_its_clock_time)
{
	const char *firsts[] = { "2020-03-29T09:00:00+03:00", "2020-10-25T09:00:00+02:00" };
	const char *seconds[] = { "2020-04-12T09:00:00+03:00", "2020-11-08T09:00:00+02:00" };

	for (int i = 0; i < 2; i++) {
		conf_t c;
		store_t *s = fresh(&c, firsts[i], "14");
		sched_t sc;
		buf_t err;

		buf_init(&err, 256);
		CHECK(sched_init(&sc, &c, &err) == 0);
		CHECK(sc.hour == 9 && sc.minute == 0);
		CHECK(sched_due(&sc, 0) == T(firsts[i]));
		CHECK(sched_due(&sc, 1) == T(seconds[i]));
		buf_free(&err);
		store_close(s);
		conf_free(&c);
	}
}

TEST(five_day_outage_sends_the_missed_issue_once)
{
	conf_t c;
	store_t *s = fresh(&c, "2020-01-07T09:00:00+02:00", "14");

	CHECK(tick(s, &c, "2020-01-07T09:00:01+02:00") == 0);
	/* down from 20.1. to 26.1.: slot 1 (21.1. 09:00) was missed */
	CHECK(tick(s, &c, "2020-01-26T10:00:00+02:00") == 0);
	CHECK(count(s, "1") == 2);
	CHECK(end_of(s, 2) == T("2020-01-21T09:00:00+02:00"));
	CHECK(tick(s, &c, "2020-01-26T10:00:01+02:00") == 0);
	CHECK(count(s, "1") == 2);
	store_close(s);
	conf_free(&c);
	/* with a 2-day cadence the outage spans slots 1 and 2: one issue, the
	 * latest, and its period covers all the missed days */
	s = fresh(&c, "2020-01-07T09:00:00+02:00", "2");
	CHECK(tick(s, &c, "2020-01-07T09:00:01+02:00") == 0);
	CHECK(tick(s, &c, "2020-01-12T10:00:00+02:00") == 0);
	CHECK(count(s, "1") == 2);
	CHECK(count(s, "slot = 2 AND period_start = (SELECT period_end FROM issues WHERE slot = 0)") == 1);
	store_close(s);
	conf_free(&c);
}

TEST(approval_gate)
{
	conf_t c;
	store_t *s = fresh(&c, "2020-01-07T09:00:00+02:00", "14");
	buf_t err;
	int64_t open = 0;

	buf_init(&err, 256);
	conf_set(&c, "bulletin", "approval", "yes", &err);
	conf_set(&c, "bulletin", "editors", "editor@thl.fi, toinen@thl.fi", &err);
	CHECK(tick(s, &c, "2020-01-06T08:00:00+02:00") == 0);
	CHECK(count(s, "1") == 0);	/* 25 h ahead: too early for the draft */
	CHECK(tick(s, &c, "2020-01-06T10:00:00+02:00") == 0);
	CHECK(count(s, "state = 'draft' AND approved = 0") == 1);
	CHECK(outbox_open(s, KIND_DRAFT, "1", &open) == 0 && open == 2);
	CHECK(tick(s, &c, "2020-01-07T09:30:00+02:00") == 0);
	CHECK(count(s, "state = 'draft'") == 1);	/* waits for approval */
	CHECK(bulletin_control(s, 1, "approve", T("2020-01-07T10:00:00+02:00"), &err) == 0);
	CHECK(tick(s, &c, "2020-01-07T10:00:01+02:00") == 0);
	CHECK(count(s, "state = 'sending' AND number = '2020/01'") == 1);
	buf_free(&err);
	store_close(s);
	conf_free(&c);
}

/* an approved issue goes at its time though an older draft still waits
 * for approval; that one, approved later, takes the next number */
TEST(an_unapproved_draft_does_not_hold_back_an_approved_one)
{
	conf_t c;
	store_t *s = fresh(&c, "2020-01-07T09:00:00+02:00", "14");
	buf_t err;

	buf_init(&err, 256);
	conf_set(&c, "bulletin", "approval", "yes", &err);
	conf_set(&c, "bulletin", "editors", "editor@thl.fi", &err);
	CHECK(tick(s, &c, "2020-01-06T10:00:00+02:00") == 0);
	CHECK(tick(s, &c, "2020-01-20T10:00:00+02:00") == 0);
	CHECK(count(s, "state = 'draft' AND approved = 0") == 2);
	CHECK(bulletin_control(s, 2, "approve", T("2020-01-20T11:00:00+02:00"), &err) == 0);
	CHECK(tick(s, &c, "2020-01-21T09:00:00+02:00") == 0);
	CHECK(count(s, "id = 2 AND state = 'sending' AND number = '2020/01'") == 1);
	CHECK(count(s, "id = 1 AND state = 'draft'") == 1);
	CHECK(bulletin_control(s, 1, "approve", T("2020-01-21T10:00:00+02:00"), &err) == 0);
	CHECK(tick(s, &c, "2020-01-21T10:00:01+02:00") == 0);
	CHECK(count(s, "id = 1 AND state = 'sending' AND number = '2020/02'") == 1);
	buf_free(&err);
	store_close(s);
	conf_free(&c);
}

TEST(staff_control)
{
	conf_t c;
	store_t *s = fresh(&c, "2030-01-01T09:00:00+02:00", "14");
	buf_t err;
	int64_t id = 0, open = 0;

	buf_init(&err, 256);
	CHECK(bulletin_send_now(s, &c, T("2020-05-05T12:00:00+03:00"), &id, &err) == 0);
	CHECK(bulletin_control(s, id, "hold", T("2020-05-05T12:00:01+03:00"), &err) == 0);
	CHECK(tick(s, &c, "2020-05-05T12:00:02+03:00") == 0);
	CHECK(count(s, "state = 'held'") == 1);	/* a held draft does not start */
	CHECK(bulletin_control(s, id, "resume", T("2020-05-05T12:00:03+03:00"), &err) == 0);
	CHECK(tick(s, &c, "2020-05-05T12:00:04+03:00") == 0);
	CHECK(count(s, "state = 'sending'") == 1);
	CHECK(outbox_open(s, KIND_BULLETIN, "1", &open) == 0 && open == 1);
	CHECK(bulletin_control(s, id, "cancel", T("2020-05-05T12:00:05+03:00"), &err) == 0);
	CHECK(outbox_open(s, KIND_BULLETIN, "1", &open) == 0 && open == 0);
	CHECK(bulletin_control(s, id, "resume", T("2020-05-05T12:00:06+03:00"), &err) == -1);
	buf_reset(&err);
	CHECK(bulletin_control(s, 99, "hold", T("2020-05-05T12:00:06+03:00"), &err) == -1);
	CHECK(strstr(buf_str(&err), "no issue 99") != NULL);
	buf_free(&err);
	store_close(s);
	conf_free(&c);
}

static int
claimed(const outbox_row_t *row, void *arg)
{
	char one[128];

	snprintf(one, sizeof one, "%s:%d ", row->recipient, (int)row->stopped);
	return buf_adds(arg, one);
}

/* claim - what outbox_claim() hands over now, as "recipient:stopped ..." */
static const char *
claim(store_t *s, int64_t now, buf_t *got)
{
	buf_reset(got);
	return outbox_claim(s, now, 64, claimed, got) < 0 ? "(failed)" : buf_str(got);
}

/* release - the claimed rows back to the queue, as a paused relay, a stop
 * or a crash's recovery puts them */
static int
release(store_t *s, int64_t now)
{
	return outbox_recover(s, now);
}

/* A held issue's rows are not claimed until it is resumed (the claim
 * looks the issue up by the rows' ref, its id).  Rows in flight when the
 * issue was cancelled or the reader left come back to the queue (a
 * paused relay, a stop, a crash) and are claimed as stopped, so the
 * sender cancels them instead of sending */
TEST(hold_pauses_the_claim_and_stopped_rows_do_not_go)
{
	conf_t c;
	store_t *s = fresh(&c, "2030-01-01T09:00:00+02:00", "14");
	subscriber_t bo = { 0, "bo@example.se", "Bo", "sv", 0x1f, "active", 0, 0 };
	store_sub_t res;
	buf_t err, got;
	int64_t id = 0, t = T("2020-05-05T12:00:00+03:00");
	int found = 0;

	buf_init(&err, 256);
	buf_init(&got, 1024);
	CHECK(store_subscriber_put(s, &bo, 0, t, &res) == 0);
	CHECK(bulletin_send_now(s, &c, t, &id, &err) == 0);
	CHECK(tick(s, &c, "2020-05-05T12:00:01+03:00") == 0);
	CHECK(count(s, "state = 'sending'") == 1);
	CHECK(bulletin_control(s, id, "hold", t + 2, &err) == 0);
	CHECK_STR(claim(s, t + 3, &got), "");
	CHECK(bulletin_control(s, id, "resume", t + 4, &err) == 0);
	CHECK_STR(claim(s, t + 5, &got), "anu.niemi@thl.fi:0 bo@example.se:0 ");
	/* in flight: the unsubscribe cancels what is queued, not these */
	CHECK(store_subscriber_remove(s, "bo@example.se", 0, t + 6, &found) == 0 && found);
	CHECK(release(s, t + 7) == 2);
	CHECK_STR(claim(s, t + 8, &got), "anu.niemi@thl.fi:0 bo@example.se:2 ");
	CHECK(bulletin_control(s, id, "cancel", t + 9, &err) == 0);
	CHECK(release(s, t + 10) == 2);
	CHECK_STR(claim(s, t + 11, &got), "anu.niemi@thl.fi:1 bo@example.se:1 ");
	buf_free(&err);
	buf_free(&got);
	store_close(s);
	conf_free(&c);
}

/* The audit's case: issue 1 cancelled while sending keeps 2020/01; the
 * issues after it take 2020/02 and 2020/03 (the cancelled number was
 * handed out again, the insert failed every tick and blocked them all) */
TEST(a_cancelled_number_is_never_given_again)
{
	conf_t c;
	store_t *s = fresh(&c, "2020-01-07T09:00:00+02:00", "14");
	buf_t err;
	int64_t id = 0;

	buf_init(&err, 256);
	CHECK(tick(s, &c, "2020-01-07T09:00:00+02:00") == 0);
	CHECK(count(s, "id = 1 AND state = 'sending' AND number = '2020/01'") == 1);
	CHECK(bulletin_control(s, 1, "cancel", T("2020-01-07T10:00:00+02:00"), &err) == 0);
	CHECK(bulletin_send_now(s, &c, T("2020-01-08T12:00:00+02:00"), &id, &err) == 0);
	CHECK(tick(s, &c, "2020-01-08T12:00:00+02:00") == 0);
	CHECK(count(s, "id = 2 AND state = 'sending' AND number = '2020/02'") == 1);
	CHECK(tick(s, &c, "2020-01-21T09:00:00+02:00") == 0);
	CHECK(count(s, "id = 3 AND state = 'sending' AND number = '2020/03'") == 1);
	CHECK(count(s, "state = 'draft'") == 0);
	buf_free(&err);
	store_close(s);
	conf_free(&c);
}

/* A draft that cannot start is held and logged once; the drafts after it
 * go; resumed, it takes a number nobody has had */
TEST(a_draft_that_cannot_start_is_held_once_and_blocks_nothing)
{
	conf_t c;
	store_t *s = fresh(&c, "2020-01-07T09:00:00+02:00", "14");
	buf_t err;
	int64_t id = 0;
	char log[4096];

	buf_init(&err, 256);
	CHECK(sql_run(s, "CREATE TRIGGER f BEFORE UPDATE OF state ON issues"
	    " WHEN NEW.id = 1 AND NEW.state = 'sending'"
	    " BEGIN SELECT RAISE(ABORT, 'injected failure'); END") == 0);
	CHECK(logged(s, &c, "2020-01-07T09:00:00+02:00", log, sizeof log) == 0);
	CHECK(strstr(log, "injected failure") != NULL && strstr(log, "issue 1 held") != NULL);
	CHECK(count(s, "id = 1 AND state = 'held'") == 1);
	CHECK(bulletin_send_now(s, &c, T("2020-01-08T12:00:00+02:00"), &id, &err) == 0);
	CHECK(logged(s, &c, "2020-01-08T12:00:00+02:00", log, sizeof log) == 0);
	CHECK(strstr(log, "injected failure") == NULL);
	CHECK(count(s, "id = 2 AND state = 'sending' AND number = '2020/01'") == 1);
	CHECK(sql_run(s, "DROP TRIGGER f") == 0);
	CHECK(bulletin_control(s, 1, "resume", T("2020-01-08T12:00:01+02:00"), &err) == 0);
	CHECK(count(s, "id = 1 AND state = 'draft'") == 1);
	CHECK(tick(s, &c, "2020-01-08T12:00:02+02:00") == 0);
	CHECK(count(s, "id = 1 AND state = 'sending' AND number = '2020/02'") == 1);
	buf_free(&err);
	store_close(s);
	conf_free(&c);
}

/* send-now twice in one second: two issues (the second covers no new
 * time: here, with news only, it is empty), not a clash of their
 * placeholder numbers */
TEST(send_now_twice_in_a_second)
{
	conf_t c;
	store_t *s = fresh(&c, "2030-01-01T09:00:00+02:00", "14");
	buf_t err;
	int64_t a = 0, b = 0, now = T("2020-05-05T12:00:00+03:00");

	buf_init(&err, 256);
	CHECK(bulletin_send_now(s, &c, now, &a, &err) == 0);
	CHECK(bulletin_send_now(s, &c, now, &b, &err) == 0);
	if (err.len)
		fprintf(stderr, "  %s\n", buf_str(&err));
	CHECK(a > 0 && b > a && count(s, "state = 'draft'") == 2);
	CHECK(tick(s, &c, "2020-05-05T12:00:00+03:00") == 0);
	CHECK(count(s, "state = 'sending' AND number = '2020/01'") == 1);
	CHECK(count(s, "state = 'empty' AND number LIKE 'slot-%'") == 1);
	buf_free(&err);
	store_close(s);
	conf_free(&c);
}

/* rows - the outbox rows of ref as "subscriber_id recipient state created"
 * lines in subscriber order, into out */
static void
rows(store_t *s, const char *ref, buf_t *out)
{
	sqlite3_stmt *st;

	buf_reset(out);
	if (store_prepare(s, "SELECT subscriber_id, recipient, state, created, updated,"
	    " attempts, next_attempt FROM outbox WHERE kind = 'bulletin' AND ref = ?1"
	    " ORDER BY subscriber_id", &st) < 0)
		return;
	sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
	while (store_step(s, st) == SQLITE_ROW)
		PUT(buf_printf(out, "%lld %s %s %lld %lld %d %lld\n",
		    (long long)sqlite3_column_int64(st, 0), sqlite3_column_text(st, 1),
		    sqlite3_column_text(st, 2), (long long)sqlite3_column_int64(st, 3),
		    (long long)sqlite3_column_int64(st, 4), sqlite3_column_int(st, 5),
		    (long long)sqlite3_column_int64(st, 6)));
	sqlite3_finalize(st);
}

/* The fill in one pass gives the rows that the fill it replaced gave: one
 * INSERT .. SELECT per regions value in the set (the old statement, run
 * here as the reference), over subscribers of every regions value 1..31,
 * of every status, paused until before, at and after now, suppressed in
 * another case of the address, for sets of masks from none to all */
TEST(fill_in_one_pass_gives_the_rows_of_one_statement_per_mask)
{
	static const char old_sql[] = "INSERT OR IGNORE INTO outbox (kind, ref, subscriber_id,"
	    " recipient, state, created, updated)"
	    " SELECT 'bulletin', ?1, id, email, 'queued', ?2, ?2 FROM subscribers"
	    " WHERE status = 'active' AND regions = ?3"
	    " AND (paused_until IS NULL OR paused_until <= ?2)"
	    " AND email NOT IN (SELECT email FROM suppressions)";
	static const char *const statuses[] = { "active", "unsubscribed", "pending", "suppressed",
	    "active", "active" };
	static const uint32_t sets[] = { 0, 1u << 1, (1u << 31) | (1u << 5) | (1u << 8),
	    0x55555554u, 0xaaaaaaaau, OUTBOX_MASKS_ALL, 0xffffffffu };
	conf_t c;
	store_t *s = fresh(&c, "2020-01-07T09:00:00+02:00", "14");
	int64_t now = T("2020-03-17T09:00:00+02:00"), n, total = 0;
	sqlite3_stmt *st;
	buf_t want, got;
	char ref[32];

	buf_init(&want, 1 << 20);
	buf_init(&got, 1 << 20);
	CHECK(store_begin(s) == 0);
	CHECK(sql_run(s, "DELETE FROM subscribers") == 0);
	for (int i = 0; i < 2000; i++) {
		char sql[512];
		int64_t pause = i % 5 == 0 ? now - 60 : i % 5 == 1 ? now : i % 5 == 2 ? now + 60 : -1;

		snprintf(sql, sizeof sql, "INSERT INTO subscribers (id, email, lang, regions, status,"
		    " created, updated, paused_until) VALUES (%d, 'Tilaaja%d@Example.fi', 'fi', %d,"
		    " '%s', 0, 0, %s%lld)", 3 * i + 7, i, 1 + (i * 7) % 31, statuses[i % 6],
		    pause < 0 ? "NULL + " : "", (long long)(pause < 0 ? 0 : pause));
		CHECK(sql_run(s, sql) == 0);
		if (i % 11 == 0) {
			snprintf(sql, sizeof sql, "INSERT INTO suppressions (email, reason, created)"
			    " VALUES ('tilaaja%d@example.FI', '550 5.1.1 no such user', 0)", i);
			CHECK(sql_run(s, sql) == 0);
		}
	}
	CHECK(store_commit(s) == 0);
	for (size_t k = 0; k < sizeof sets / sizeof sets[0]; k++) {
		snprintf(ref, sizeof ref, "old%zu", k);
		CHECK(store_prepare(s, old_sql, &st) == 0);
		for (unsigned m = 1; m <= 31; m++) {
			if (!(sets[k] >> m & 1))
				continue;
			sqlite3_reset(st);
			sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, now);
			sqlite3_bind_int(st, 3, (int)m);
			CHECK(store_step(s, st) == SQLITE_DONE);
		}
		sqlite3_finalize(st);
		rows(s, ref, &want);
		snprintf(ref, sizeof ref, "new%zu", k);
		CHECK(outbox_fill_bulletin(s, ref, sets[k], now, &n) == 0);
		rows(s, ref, &got);
		CHECK_STR(buf_str(&got), buf_str(&want));
		/* each line is one row: the count is the rows added */
		{
			int64_t lines = 0;

			for (size_t i = 0; i < got.len; i++)
				lines += got.data[i] == '\n';
			CHECK(n == lines);
		}
		total += n;
		if (sets[k] == 0)
			CHECK(n == 0);
	}
	/* the sets were not all empty: the comparison compared rows, and every
	 * rule dropped someone (2000 subscribers, a fill of all took fewer) */
	CHECK(total > 0);
	CHECK(outbox_fill_bulletin(s, "all", OUTBOX_MASKS_ALL, now, &n) == 0);
	CHECK(n > 300 && n < 2000);
	buf_free(&want);
	buf_free(&got);
	store_close(s);
	conf_free(&c);
}

int
main(void)
{
	char cmd[300];
	int rc;

	setenv("TZ", "Europe/Helsinki", 1);
	if (mkdtemp(dir) == NULL)
		return 1;
	RUN(one_issue_per_period_across_restarts);
	RUN(a_rolled_back_issue_is_not_logged_as_created);
	RUN(issue_rate_is_the_last_minute_while_sending_then_the_average);
	RUN(retention_folds_a_sent_issue_and_status_says_the_same);
	RUN(an_empty_issue_takes_no_number);
	RUN(spring_dst_keeps_nine_oclock);
	RUN(autumn_dst_keeps_nine_oclock);
	RUN(first_on_a_dst_day_keeps_its_clock_time);
	RUN(five_day_outage_sends_the_missed_issue_once);
	RUN(approval_gate);
	RUN(an_unapproved_draft_does_not_hold_back_an_approved_one);
	RUN(staff_control);
	RUN(send_now_twice_in_a_second);
	RUN(hold_pauses_the_claim_and_stopped_rows_do_not_go);
	RUN(a_cancelled_number_is_never_given_again);
	RUN(a_draft_that_cannot_start_is_held_once_and_blocks_nothing);
	RUN(fill_in_one_pass_gives_the_rows_of_one_statement_per_mask);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	rc = system(cmd);
	(void)rc;
	return TEST_DONE();
}
