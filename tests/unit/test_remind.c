/* test_remind - deadline reminders on an injected clock: each offset once
 * at 09:00 Helsinki time across a DST change, audiences, late arrival, a
 * date moved later and earlier, cancellation, a past deadline, a restart */
#include <stdlib.h>
#include <unistd.h>

#include "announce.h"
#include "clock.h"
#include "conf.h"
#include "event.h"
#include "project.h"
#include "remind.h"
#include "store.h"
#include "test.h"

static char dir[] = "/tmp/tiedote-remind.XXXXXX";
static int dbn;
static conf_t conf;

static int64_t
T(const char *s)
{
	int64_t t = 0;

	if (clock_parse(s, &t, NULL) < 0)
		fprintf(stderr, "  bad time %s\n", s);
	return t;
}

static store_t *
open_db(int n)
{
	char path[256];
	store_t *s = NULL;
	buf_t err;

	buf_init(&err, 1024);
	snprintf(path, sizeof path, "%s/r%d.db", dir, n);
	conf_set(&conf, "store", "path", path, &err);
	if (store_open(&conf, &s, &err) < 0)
		fprintf(stderr, "  %s\n", buf_str(&err));
	buf_free(&err);
	return s;
}

/* fresh - three projects; a@kys is also a contact of the OYS project */
static store_t *
fresh(void)
{
	static const char *const kys[] = { "a@kys.example", "b@kys.example" };
	static const char *const hus[] = { "c@hus.example" };
	static const char *const oys[] = { "d@oys.example", "A@kys.example" };
	const project_t p[] = {
		{ "p-kys", "Pohjois-Savo", "fi", 0x08, kys, 2 },
		{ "p-hus", "HUS", "sv", 0x01, hus, 1 },
		{ "p-oys", "Pohjois-Pohjanmaa", "en", 0x10, oys, 2 },
	};
	store_t *s = open_db(dbn++);
	int created;

	store_begin(s);
	for (size_t i = 0; i < 3; i++)
		project_put(s, &p[i], 0, &created);
	store_commit(s);
	return s;
}

/* deadline - store a revision of deadline id received at now */
static void
deadline(store_t *s, const char *id, const char *due, const char *extra, int64_t now)
{
	char text[1024];
	event_err_t err;
	json_t *ev;
	char *body;
	store_put_t put;
	int rev;

	snprintf(text, sizeof text, "{\"id\":\"%s\",\"type\":\"deadline\",\"title\":\"Haku\","
	    "\"due\":\"%s\"%s%s}", id, due, *extra ? "," : "", extra);
	if ((ev = event_parse(text, strlen(text), 65536, &err)) == NULL) {
		fprintf(stderr, "  %s: %s\n", text, err.message);
		CHECK(0);
		return;
	}
	body = event_canonical(ev);
	store_begin(s);
	store_event_put(s, id, "deadline", body, event_regions(ev), event_at(ev),
	    json_is_true(json_object_get(ev, "cancelled")), now, &put, &rev);
	store_commit(s);
	free(body);
	json_decref(ev);
}

static int
tick(store_t *s, int64_t now)
{
	buf_t err;
	int rc;

	buf_init(&err, 1024);
	if ((rc = remind_tick(s, &conf, now, &err)) < 0)
		fprintf(stderr, "  %s\n", buf_str(&err));
	buf_free(&err);
	return rc;
}

/* run - tick every 15 minutes over [from, to) */
static void
run(store_t *s, int64_t from, int64_t to)
{
	for (int64_t t = from; t < to; t += 900)
		CHECK(tick(s, t) == 0);
}

static int64_t
num(store_t *s, const char *sql)
{
	sqlite3_stmt *st;
	int64_t n = -1;

	if (store_prepare(s, sql, &st) == 0 && store_step(s, st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	else
		fprintf(stderr, "  %s: %s\n", sql, store_errmsg(s));
	sqlite3_finalize(st);
	return n;
}

/* sends - "days@fired-UTC,..." of every reminder sent */
static void
sends(store_t *s, char *out, size_t max)
{
	sqlite3_stmt *st;
	size_t n = 0;

	*out = '\0';
	if (store_prepare(s, "SELECT days, fired, previous_due IS NOT NULL, recipients"
	    " FROM reminder_sends ORDER BY id", &st) < 0)
		return;
	while (store_step(s, st) == SQLITE_ROW && n < max) {
		char t[32];

		clock_format(sqlite3_column_int64(st, 1), t);
		n += (size_t)snprintf(out + n, max - n, "%s%d@%s%s/%d", n ? "," : "",
		    sqlite3_column_int(st, 0), t, sqlite3_column_int(st, 2) ? "+changed" : "",
		    sqlite3_column_int(st, 3));
	}
	sqlite3_finalize(st);
}

TEST(each_offset_once_at_nine_across_dst)
{
	store_t *s = fresh();
	char got[1024];

	deadline(s, "haku", "2020-03-31T16:15:00+03:00", "\"regions\":[\"all\"]",
	    T("2020-03-01T10:00:00Z"));
	run(s, T("2020-03-01T10:00:00Z"), T("2020-03-17T07:00:00Z"));
	CHECK(num(s, "SELECT count(*) FROM reminder_sends") == 0);
	CHECK(tick(s, T("2020-03-17T08:59:59+02:00")) == 0);
	CHECK(num(s, "SELECT count(*) FROM reminder_sends") == 0);
	run(s, T("2020-03-17T07:00:00Z"), T("2020-04-02T00:00:00Z"));
	sends(s, got, sizeof got);
	/* 09:00 local: +02:00 before 29.3, +03:00 after; a shared address once */
	CHECK_STR(got, "14@2020-03-17T07:00:00Z/4,7@2020-03-24T07:00:00Z/4,"
	    "1@2020-03-30T06:00:00Z/4");
	CHECK(num(s, "SELECT count(*) FROM outbox WHERE kind = 'reminder'") == 12);
	CHECK(num(s, "SELECT count(DISTINCT ref || lower(recipient)) FROM outbox") == 12);
	store_close(s);
}

TEST(autumn_dst_and_configured_days)
{
	store_t *s = fresh();
	char got[1024];

	/* summer time ends 25.10.2020: 09:00 is 06:00Z before, 07:00Z after */
	deadline(s, "syys", "2020-10-30T12:00:00+02:00",
	    "\"regions\":[\"OYS\"],\"remind\":[7,1]", T("2020-10-01T10:00:00Z"));
	run(s, T("2020-10-01T10:00:00Z"), T("2020-11-01T00:00:00Z"));
	sends(s, got, sizeof got);
	CHECK_STR(got, "7@2020-10-23T06:00:00Z/2,1@2020-10-29T07:00:00Z/2");
	store_close(s);
}

TEST(audience_regions_and_projects)
{
	store_t *s = fresh();

	deadline(s, "kys-oys", "2020-06-30T16:00:00+03:00",
	    "\"regions\":[\"KYS\",\"OYS\"],\"remind\":[1]", T("2020-06-01T10:00:00Z"));
	deadline(s, "vain-hus", "2020-06-30T16:00:00+03:00",
	    "\"regions\":[\"all\"],\"remind\":[1],\"projects\":[\"p-hus\"]",
	    T("2020-06-01T10:00:00Z"));
	run(s, T("2020-06-29T05:00:00Z"), T("2020-06-29T07:00:00Z"));
	CHECK(num(s, "SELECT count(*) FROM outbox o JOIN reminder_sends r ON o.ref = r.id"
	    " WHERE r.event_id = 'kys-oys'") == 3);
	CHECK(num(s, "SELECT count(*) FROM outbox o JOIN reminder_sends r ON o.ref = r.id"
	    " WHERE r.event_id = 'kys-oys' AND o.recipient LIKE '%hus%'") == 0);
	CHECK(num(s, "SELECT count(*) FROM outbox o JOIN reminder_sends r ON o.ref = r.id"
	    " WHERE r.event_id = 'vain-hus' AND o.recipient = 'c@hus.example'") == 1);
	CHECK(num(s, "SELECT count(*) FROM outbox WHERE kind = 'reminder'") == 4);
	store_close(s);
}

TEST(late_arrival_sends_one_at_once)
{
	store_t *s = fresh();
	char got[1024];

	/* after the 14- and 7-day offsets: one now, then the 1-day one */
	deadline(s, "myoh", "2020-03-31T16:15:00+03:00", "\"regions\":[\"KYS\"]",
	    T("2020-03-26T10:00:00Z"));
	run(s, T("2020-03-26T10:00:00Z"), T("2020-04-01T00:00:00Z"));
	sends(s, got, sizeof got);
	CHECK_STR(got, "7@2020-03-26T10:00:00Z/2,1@2020-03-30T06:00:00Z/2");
	CHECK(num(s, "SELECT count(*) FROM reminders WHERE state = 'skipped'") == 1);
	store_close(s);
}

/* After an outage more rows are due than a tick takes (256): a deadline
 * cut by that limit still gets one reminder, not a second one from its
 * rows past the batch at the next tick */
TEST(a_backlog_past_one_batch_sends_one_each)
{
	store_t *s = fresh();
	int64_t t0 = T("2020-03-01T10:00:00Z");
	char id[32];

	for (int i = 0; i < 100; i++) {
		snprintf(id, sizeof id, "d%03d", i);
		deadline(s, id, "2020-03-31T16:15:00+03:00",
		    "\"regions\":[\"KYS\"],\"remind\":[14,7,3,1]", t0);
	}
	CHECK(tick(s, t0) == 0 && tick(s, t0 + 1) == 0);
	CHECK(num(s, "SELECT count(*) FROM reminders WHERE state = 'planned'") == 400);
	/* down until two days before: 14, 7 and 3 are all due, 300 rows */
	CHECK(tick(s, T("2020-03-29T10:00:00Z")) == 0);
	CHECK(tick(s, T("2020-03-29T10:00:01Z")) == 0);
	CHECK(num(s, "SELECT count(*) FROM reminder_sends") == 100);
	CHECK(num(s, "SELECT count(*) FROM (SELECT event_id FROM reminder_sends"
	    " GROUP BY event_id HAVING count(*) > 1)") == 0);
	CHECK(num(s, "SELECT count(*) FROM reminder_sends WHERE days <> 3") == 0);
	CHECK(num(s, "SELECT count(*) FROM reminders WHERE state = 'skipped'") == 200);
	store_close(s);
}

/* More deadlines moved at once than a tick replans (64): one not yet
 * replanned does not fire from the plan of its old date */
TEST(a_stale_plan_does_not_fire)
{
	store_t *s = fresh();
	char id[32];

	for (int i = 0; i < 70; i++) {
		snprintf(id, sizeof id, "m%03d", i);
		deadline(s, id, "2020-04-30T16:15:00+03:00", "\"regions\":[\"KYS\"],\"remind\":[7]",
		    T("2020-04-01T10:00:00Z"));
	}
	CHECK(tick(s, T("2020-04-01T10:00:00Z")) == 0 && tick(s, T("2020-04-01T10:00:01Z")) == 0);
	for (int i = 0; i < 70; i++) {
		snprintf(id, sizeof id, "m%03d", i);
		deadline(s, id, "2020-05-31T16:15:00+03:00", "\"regions\":[\"KYS\"],\"remind\":[7]",
		    T("2020-04-22T10:00:00Z"));
	}
	/* the old date's 7-day reminder is overdue, the new date's is not */
	CHECK(tick(s, T("2020-04-24T10:00:00Z")) == 0);
	CHECK(tick(s, T("2020-04-24T10:00:01Z")) == 0);
	CHECK(num(s, "SELECT count(*) FROM reminder_sends") == 0);
	CHECK(num(s, "SELECT count(*) FROM reminders WHERE state = 'planned'") == 70);
	store_close(s);
}

TEST(date_moved_later_not_repeated)
{
	store_t *s = fresh();
	char got[1024];

	deadline(s, "siirto", "2020-03-31T16:15:00+03:00", "\"regions\":[\"HYKS\"]",
	    T("2020-03-01T10:00:00Z"));
	run(s, T("2020-03-01T10:00:00Z"), T("2020-03-18T00:00:00Z"));
	/* two weeks later: the 14-day reminder is not repeated (its new time
	 * 31.3 is ahead, but it was sent); the next one says the date moved */
	deadline(s, "siirto", "2020-04-14T16:15:00+03:00", "\"regions\":[\"HYKS\"]",
	    T("2020-03-18T00:00:00Z"));
	run(s, T("2020-03-18T00:00:00Z"), T("2020-04-15T00:00:00Z"));
	sends(s, got, sizeof got);
	CHECK_STR(got, "14@2020-03-17T07:00:00Z/1,7@2020-04-07T06:00:00Z+changed/1,"
	    "1@2020-04-13T06:00:00Z/1");
	store_close(s);
}

TEST(date_moved_earlier_reminds_again)
{
	store_t *s = fresh();
	char got[1024];

	deadline(s, "aiemmin", "2020-03-31T16:15:00+03:00", "\"regions\":[\"HYKS\"]",
	    T("2020-03-01T10:00:00Z"));
	run(s, T("2020-03-01T10:00:00Z"), T("2020-03-25T10:00:00Z"));
	/* on 25.3 the date moves to 27.3: the passed offsets collapse into one
	 * reminder at once, saying the date changed, then the 1-day one */
	deadline(s, "aiemmin", "2020-03-27T16:15:00+02:00", "\"regions\":[\"HYKS\"]",
	    T("2020-03-25T10:00:00Z"));
	run(s, T("2020-03-25T10:00:00Z"), T("2020-03-28T00:00:00Z"));
	sends(s, got, sizeof got);
	CHECK_STR(got, "14@2020-03-17T07:00:00Z/1,7@2020-03-24T07:00:00Z/1,"
	    "7@2020-03-25T10:00:00Z+changed/1,1@2020-03-26T07:00:00Z/1");
	store_close(s);
}

TEST(cancelled_and_past_send_nothing)
{
	store_t *s = fresh();
	char got[1024];

	deadline(s, "peru", "2020-03-31T16:15:00+03:00", "\"regions\":[\"all\"]",
	    T("2020-03-01T10:00:00Z"));
	run(s, T("2020-03-01T10:00:00Z"), T("2020-03-18T00:00:00Z"));
	CHECK(num(s, "SELECT count(*) FROM outbox WHERE state = 'queued'") == 4);
	deadline(s, "peru", "2020-03-31T16:15:00+03:00",
	    "\"regions\":[\"all\"],\"cancelled\":true", T("2020-03-18T00:00:00Z"));
	/* a deadline that arrives after it closed */
	deadline(s, "ohi", "2020-03-10T16:15:00+02:00", "\"regions\":[\"all\"]",
	    T("2020-03-18T00:00:00Z"));
	run(s, T("2020-03-18T00:00:00Z"), T("2020-04-02T00:00:00Z"));
	sends(s, got, sizeof got);
	CHECK_STR(got, "14@2020-03-17T07:00:00Z/4");
	/* what was still queued of the cancelled one is cancelled */
	CHECK(num(s, "SELECT count(*) FROM outbox WHERE state = 'cancelled'") == 4);
	CHECK(num(s, "SELECT count(*) FROM reminders WHERE state = 'planned'") == 0);
	store_close(s);
}

TEST(restart_between_offsets)
{
	store_t *s = fresh();
	int n = dbn - 1;
	char got[1024];

	deadline(s, "uudelleen", "2020-03-31T16:15:00+03:00", "\"regions\":[\"all\"]",
	    T("2020-03-01T10:00:00Z"));
	run(s, T("2020-03-01T10:00:00Z"), T("2020-03-20T00:00:00Z"));
	store_close(s);
	s = open_db(n);
	/* the same instant again, and on */
	run(s, T("2020-03-17T07:00:00Z"), T("2020-04-01T00:00:00Z"));
	sends(s, got, sizeof got);
	CHECK_STR(got, "14@2020-03-17T07:00:00Z/4,7@2020-03-24T07:00:00Z/4,"
	    "1@2020-03-30T06:00:00Z/4");
	store_close(s);
}

TEST(next_due_is_the_next_reminder_or_announcement)
{
	store_t *s = fresh();
	int64_t t0 = T("2020-03-01T10:00:00Z");
	event_err_t eerr;
	store_put_t put;
	json_t *ev;
	char *body;
	int rev;
	static const char ann[] = "{\"id\":\"tiedote-1\",\"type\":\"announcement\","
	    "\"title\":\"Tiedote\",\"body\":\"Teksti\",\"regions\":[\"all\"],"
	    "\"send_at\":\"2020-03-05T12:00:00+02:00\"}";

	CHECK(remind_next_due(s, t0) == -1);
	CHECK(announce_next_due(s, t0) == -1);
	deadline(s, "haku", "2020-03-31T16:15:00+03:00", "\"regions\":[\"all\"]", t0);
	CHECK(tick(s, t0) == 0);	/* plans the reminders */
	/* 14 days before, at 09:00 Helsinki time; then each next one */
	CHECK(remind_next_due(s, t0) == T("2020-03-17T09:00:00+02:00"));
	CHECK(remind_next_due(s, T("2020-03-17T09:00:00+02:00")) ==
	    T("2020-03-24T09:00:00+02:00"));
	ev = event_parse(ann, strlen(ann), 65536, &eerr);
	CHECK(ev != NULL);
	if (ev == NULL)
		return;
	body = event_canonical(ev);
	store_begin(s);
	CHECK(store_event_put(s, "tiedote-1", "announcement", body, event_regions(ev),
	    event_at(ev), 0, t0, &put, &rev) == 0);
	store_commit(s);
	CHECK(announce_next_due(s, t0) == T("2020-03-05T12:00:00+02:00"));
	/* at its time it is due now, not next */
	CHECK(announce_next_due(s, T("2020-03-05T12:00:00+02:00")) == -1);
	free(body);
	json_decref(ev);
	store_close(s);
}

TEST(conf_checked)
{
	conf_t c;
	buf_t err;

	conf_init(&c);
	buf_init(&err, 256);
	CHECK(remind_conf_check(&c, &err) == 0);
	conf_set(&c, "reminders", "days", "14,x", &err);
	CHECK(remind_conf_check(&c, &err) < 0);
	conf_set(&c, "reminders", "days", "7,7", &err);
	CHECK(remind_conf_check(&c, &err) < 0);
	conf_set(&c, "reminders", "days", "7", &err);
	conf_set(&c, "reminders", "time", "9:00", &err);
	CHECK(remind_conf_check(&c, &err) < 0);
	conf_free(&c);
	buf_free(&err);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL)
		return 2;
	setenv("TZ", "Europe/Helsinki", 1);
	conf_init(&conf);
	RUN(each_offset_once_at_nine_across_dst);
	RUN(next_due_is_the_next_reminder_or_announcement);
	RUN(autumn_dst_and_configured_days);
	RUN(audience_regions_and_projects);
	RUN(late_arrival_sends_one_at_once);
	RUN(a_backlog_past_one_batch_sends_one_each);
	RUN(a_stale_plan_does_not_fire);
	RUN(date_moved_later_not_repeated);
	RUN(date_moved_earlier_reminds_again);
	RUN(cancelled_and_past_send_nothing);
	RUN(restart_between_offsets);
	RUN(conf_checked);
	conf_free(&conf);
	{
		char cmd[128];

		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "  could not remove %s\n", dir);
	}
	return TEST_DONE();
}
