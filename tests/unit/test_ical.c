/* test_ical - the iCalendar files, read back with libical's own parser:
 * the same event, in the zone, with a stable UID and a growing SEQUENCE */
#include <libical/ical.h>
#include <stdlib.h>

#include "clock.h"
#include "event.h"
#include "ical.h"
#include "test.h"

static json_t *
ev(const char *text)
{
	event_err_t err;
	json_t *e = event_parse(text, strlen(text), 65536, &err);

	if (e == NULL)
		fprintf(stderr, "  %s\n", err.message);
	return e;
}

static icalcomponent *
build(ical_item_t *items, size_t n, const char *lang, buf_t *out)
{
	buf_t err;
	icalcomponent *c = NULL;

	buf_init(&err, 1024);
	buf_reset(out);
	if (ical_build(items, n, lang, "Europe/Helsinki", "list.example", 1583830800, out,
	    &err) < 0)
		fprintf(stderr, "  %s\n", buf_str(&err));
	else
		c = icalparser_parse_string(buf_str(out));
	buf_free(&err);
	return c;
}

/* utc - the instant of a DTSTART/DTEND property, through the VTIMEZONE the
 * file itself carries */
static int64_t
utc(icalcomponent *cal, icalproperty *p)
{
	struct icaltimetype t = icalproperty_get_dtstart(p);
	icalparameter *tzid = icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER);
	icaltimezone *z = tzid ? icalcomponent_get_timezone(cal,
	    icalparameter_get_tzid(tzid)) : NULL;

	if (icalproperty_isa(p) == ICAL_DTEND_PROPERTY)
		t = icalproperty_get_dtend(p);
	return (int64_t)icaltime_as_timet_with_zone(t, z);
}

TEST(deadline_reads_back)
{
	json_t *e = ev("{\"id\":\"stm-valtionavustus-2020\",\"type\":\"deadline\","
	    "\"title\":{\"fi\":\"Haku päättyy; pilkku, ja rivi\",\"en\":\"Call closes\"},"
	    "\"summary\":\"Lisää tietoa.\",\"url\":\"https://stm.fi/haku\","
	    "\"regions\":[\"all\"],\"due\":\"2020-03-31T16:15:00+03:00\"}");
	ical_item_t it = { "deadline", e, 3 };
	icalcomponent *cal, *v;
	icalproperty *p;
	buf_t out;
	int64_t due;

	buf_init(&out, 1 << 20);
	cal = build(&it, 1, "fi", &out);
	CHECK(cal != NULL);
	if (cal == NULL)
		goto out;
	CHECK(strstr(buf_str(&out), "\r\nMETHOD:PUBLISH\r\n") != NULL);
	CHECK(icalcomponent_get_method(cal) == ICAL_METHOD_PUBLISH);
	v = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT);
	CHECK(v != NULL);
	CHECK_STR(icalcomponent_get_uid(v), "stm-valtionavustus-2020@list.example");
	CHECK_STR(icalcomponent_get_summary(v), "Haku päättyy; pilkku, ja rivi");
	CHECK(icalcomponent_get_sequence(v) == 2);
	p = icalcomponent_get_first_property(v, ICAL_DTSTART_PROPERTY);
	clock_parse("2020-03-31T16:15:00+03:00", &due, NULL);
	CHECK(p && utc(cal, p) == due);
	CHECK(strstr(buf_str(&out), "DTSTART;TZID=Europe/Helsinki:20200331T161500\r\n") != NULL);
	CHECK(icalcomponent_get_first_property(v, ICAL_DTEND_PROPERTY) == NULL);
	CHECK(icalcomponent_get_status(v) == ICAL_STATUS_CONFIRMED);
	CHECK(strstr(icalcomponent_get_description(v), "https://stm.fi/haku") != NULL);
	CHECK(icalcomponent_get_first_component(cal, ICAL_VTIMEZONE_COMPONENT) != NULL);
	icalcomponent_free(cal);
	/* English words, same event */
	cal = build(&it, 1, "en", &out);
	v = cal ? icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT) : NULL;
	CHECK(v && strcmp(icalcomponent_get_summary(v), "Call closes") == 0);
	if (cal)
		icalcomponent_free(cal);
out:
	json_decref(e);
	buf_free(&out);
}

TEST(events_with_ends_across_dst_and_cancelled)
{
	json_t *a = ev("{\"id\":\"vp-2020-q2\",\"type\":\"network_day\",\"title\":\"Verkostopäivä\","
	    "\"regions\":[\"all\"],\"starts\":\"2020-03-27T09:00:00+02:00\","
	    "\"ends\":\"2020-03-27T16:00:00+02:00\",\"location\":\"Teams\"}");
	json_t *b = ev("{\"id\":\"webinaari\",\"type\":\"event\",\"title\":\"Webinaari\","
	    "\"regions\":[\"KYS\"],\"starts\":\"2020-05-12T13:00:00+03:00\",\"cancelled\":true}");
	ical_item_t it[2] = { { "network_day", a, 1 }, { "event", b, 2 } };
	icalcomponent *cal, *v;
	int64_t t;
	int n = 0;
	buf_t out;

	buf_init(&out, 1 << 20);
	cal = build(it, 2, "fi", &out);
	CHECK(cal != NULL);
	for (v = cal ? icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT) : NULL; v;
	    v = icalcomponent_get_next_component(cal, ICAL_VEVENT_COMPONENT), n++) {
		icalproperty *s = icalcomponent_get_first_property(v, ICAL_DTSTART_PROPERTY);
		icalproperty *e = icalcomponent_get_first_property(v, ICAL_DTEND_PROPERTY);

		if (n == 0) {
			clock_parse("2020-03-27T09:00:00+02:00", &t, NULL);
			CHECK(utc(cal, s) == t);
			clock_parse("2020-03-27T16:00:00+02:00", &t, NULL);
			CHECK(e && utc(cal, e) == t);
			CHECK_STR(icalcomponent_get_location(v), "Teams");
		} else {
			/* after the change to summer time: +03:00 */
			clock_parse("2020-05-12T13:00:00+03:00", &t, NULL);
			CHECK(utc(cal, s) == t);
			CHECK(icalcomponent_get_status(v) == ICAL_STATUS_CANCELLED);
			CHECK(icalcomponent_get_sequence(v) == 1);
		}
	}
	CHECK(n == 2);
	if (cal)
		icalcomponent_free(cal);
	json_decref(a);
	json_decref(b);
	buf_free(&out);
}

TEST(bad_zone_refused)
{
	json_t *e = ev("{\"id\":\"x\",\"type\":\"deadline\",\"title\":\"X\",\"regions\":[\"all\"],"
	    "\"due\":\"2020-03-31T16:15:00+03:00\"}");
	ical_item_t it = { "deadline", e, 1 };
	buf_t out, err;

	buf_init(&out, 1 << 20);
	buf_init(&err, 256);
	CHECK(ical_build(&it, 1, "fi", "Mars/Olympus", "l.example", 0, &out, &err) < 0);
	CHECK(strstr(buf_str(&err), "Mars/Olympus") != NULL);
	json_decref(e);
	buf_free(&out);
	buf_free(&err);
}

int
main(void)
{
	setenv("TZ", "Europe/Helsinki", 1);
	RUN(deadline_reads_back);
	RUN(events_with_ends_across_dst_and_cancelled);
	RUN(bad_zone_refused);
	return TEST_DONE();
}
