/* test_compose - what an issue holds and how a recipient sees it */
#include <stdlib.h>

#include "clock.h"
#include "compose.h"
#include "conf.h"
#include "event.h"
#include "store.h"
#include "test.h"

static char dir[] = "/tmp/tiedote-compose.XXXXXX";

static int64_t
T(const char *s)
{
	int64_t t = 0;

	clock_parse(s, &t, NULL);
	return t;
}

static void
put(store_t *s, const char *json, const char *received)
{
	event_err_t err;
	json_t *ev = event_parse(json, strlen(json), 1 << 20, &err);
	store_put_t res;
	char *body;
	int rev;

	if (ev == NULL) {
		fprintf(stderr, "  %s: %s\n", json, err.message);
		return;
	}
	body = event_canonical(ev);
	store_begin(s);
	store_event_put(s, json_string_value(json_object_get(ev, "id")),
	    json_string_value(json_object_get(ev, "type")), body, event_regions(ev),
	    event_at(ev), 0, T(received), &res, &rev);
	store_commit(s);
	free(body);
	json_decref(ev);
}

TEST(events_deadlines_regions_and_changes)
{
	char path[256];
	conf_t c;
	store_t *s = NULL;
	compose_issue_t *is = NULL;
	compose_conf_t cc = { "Europe/Helsinki", 60, 90 };
	json_t *fi, *en, *ev;
	buf_t err;

	conf_init(&c);
	buf_init(&err, 1024);
	snprintf(path, sizeof path, "%s/c.db", dir);
	conf_set(&c, "store", "path", path, &err);
	CHECK(store_open(&c, &s, &err) == 0);
	if (s == NULL)
		goto out;
	put(s, "{\"id\":\"ws\",\"type\":\"event\",\"title\":\"Työpaja\",\"regions\":[\"KYS\"],"
	    "\"starts\":\"2020-04-01T10:00+03:00\",\"ends\":\"2020-04-02T12:00+03:00\"}",
	    "2020-03-01T12:00Z");
	put(s, "{\"id\":\"vp\",\"type\":\"network_day\",\"title\":\"Verkostopäivä\","
	    "\"regions\":[\"all\"],\"starts\":\"2020-05-12T09:00+03:00\","
	    "\"ends\":\"2020-05-12T16:00+03:00\"}", "2020-03-01T12:00Z");
	/* a deadline moved during the period: "changed", with the old date */
	put(s, "{\"id\":\"dl\",\"type\":\"deadline\",\"title\":\"Haku\",\"regions\":[\"all\"],"
	    "\"due\":\"2020-03-20T16:15+02:00\"}", "2020-02-01T12:00Z");
	put(s, "{\"id\":\"dl\",\"type\":\"deadline\",\"title\":\"Haku\",\"regions\":[\"all\"],"
	    "\"due\":\"2020-03-31T16:15+03:00\"}", "2020-03-10T12:00Z");
	CHECK(compose_issue_load(s, &cc, "2020/06", T("2020-03-03T09:00+02:00"),
	    T("2020-03-17T09:00+02:00"), &is, &err) == 0);
	if (is == NULL)
		goto out;
	CHECK(compose_issue_count(is, 1) == 2);		/* HYKS: not the KYS workshop */
	CHECK(compose_issue_count(is, 8) == 3);
	fi = compose_bulletin(is, "fi", 8);
	ev = json_array_get(json_object_get(fi, "events"), 0);
	CHECK_STR(json_string_value(json_object_get(ev, "when")),
	    "ke 1.4.2020 klo 10.00 – to 2.4.2020 klo 12.00");
	CHECK(json_object_get(ev, "ends") == NULL);
	ev = json_array_get(json_object_get(fi, "events"), 1);
	CHECK_STR(json_string_value(json_object_get(ev, "ends")), "16.00");
	ev = json_array_get(json_object_get(fi, "deadlines"), 0);
	CHECK(json_is_true(json_object_get(ev, "changed")));
	CHECK_STR(json_string_value(json_object_get(ev, "previous_when")), "pe 20.3.2020 klo 16.15");
	CHECK(json_integer_value(json_object_get(ev, "days_left")) == 14);
	CHECK_STR(json_string_value(json_object_get(json_object_get(fi, "issue"), "period")),
	    "3.–17.3.2020");
	en = compose_bulletin(is, "en", 1);
	CHECK(json_array_size(json_object_get(en, "events")) == 1);
	CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(en,
	    "deadlines"), 0), "when")), "Tue 31 March 2020, 16:15");
	json_decref(fi);
	json_decref(en);
out:
	compose_issue_free(is);
	store_close(s);
	conf_free(&c);
	buf_free(&err);
}

/* A practice published at 08:00 that arrives at 10:00, after the 09:00
 * issue of that day went out, is in the next issue (it was in none); one
 * that arrived in time is in its own period's only */
TEST(a_practice_that_comes_late_is_in_the_next_issue)
{
	char path[256];
	conf_t c;
	store_t *s = NULL;
	compose_issue_t *is = NULL;
	compose_conf_t cc = { "Europe/Helsinki", 60, 90 };
	const int64_t ends[] = { T("2020-03-17T09:00+02:00"), T("2020-03-31T09:00+03:00") };
	buf_t err;

	conf_init(&c);
	buf_init(&err, 1024);
	snprintf(path, sizeof path, "%s/late.db", dir);
	conf_set(&c, "store", "path", path, &err);
	CHECK(store_open(&c, &s, &err) == 0);
	if (s == NULL)
		goto out;
	put(s, "{\"id\":\"late\",\"type\":\"practice\",\"title\":\"Myöhässä\","
	    "\"regions\":[\"all\"],\"url\":\"https://innokyla.fi/a\","
	    "\"published\":\"2020-03-17T08:00+02:00\"}", "2020-03-17T08:00Z");
	put(s, "{\"id\":\"early\",\"type\":\"practice\",\"title\":\"Ajoissa\","
	    "\"regions\":[\"all\"],\"url\":\"https://innokyla.fi/b\","
	    "\"published\":\"2020-03-16T08:00+02:00\"}", "2020-03-16T06:00Z");
	for (int i = 0; i < 2; i++) {
		json_t *fi, *p;

		CHECK(compose_issue_load(s, &cc, "x", i ? ends[0] : T("2020-03-03T09:00+02:00"),
		    ends[i], &is, &err) == 0);
		if (is == NULL)
			goto out;
		fi = compose_bulletin(is, "fi", 1);
		p = json_object_get(fi, "practices");
		CHECK(json_array_size(p) == 1);
		CHECK_STR(json_string_value(json_object_get(json_array_get(p, 0), "title")),
		    i ? "Myöhässä" : "Ajoissa");
		json_decref(fi);
		compose_issue_free(is);
		is = NULL;
	}
out:
	compose_issue_free(is);
	store_close(s);
	conf_free(&c);
	buf_free(&err);
}

TEST(numbers_by_local_year)
{
	buf_t b;

	buf_init(&b, 64);
	/* 23.30 UTC on New Year's Eve is already 2020 in Helsinki */
	compose_number(T("2019-12-31T23:30:00Z"), "Europe/Helsinki", 0, &b);
	CHECK_STR(buf_str(&b), "2020/01");
	buf_reset(&b);
	compose_number(T("2020-12-31T21:59:00Z"), "Europe/Helsinki", 25, &b);
	CHECK_STR(buf_str(&b), "2020/26");
	buf_free(&b);
}

TEST(paragraphs)
{
	json_t *p = compose_paragraphs("\n\nEka kappale\nrivi 2\n\n\n  \nToinen  \n\n");

	CHECK(json_array_size(p) == 2);
	CHECK_STR(json_string_value(json_object_get(json_array_get(p, 0), "text")),
	    "Eka kappale\nrivi 2");
	CHECK_STR(json_string_value(json_object_get(json_array_get(p, 1), "text")), "Toinen");
	json_decref(p);
}

int
main(void)
{
	char cmd[300];
	int rc;

	setenv("TZ", "Europe/Helsinki", 1);
	if (mkdtemp(dir) == NULL)
		return 1;
	RUN(events_deadlines_regions_and_changes);
	RUN(a_practice_that_comes_late_is_in_the_next_issue);
	RUN(numbers_by_local_year);
	RUN(paragraphs);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	rc = system(cmd);
	(void)rc;
	return TEST_DONE();
}
