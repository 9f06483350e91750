/*
 * test_datefmt - the three languages, both DST changes of 2020 in
 * Helsinki (29.3. 03:00 -> 04:00, 25.10. 04:00 -> 03:00), year
 * boundaries, reminder times across DST, and TZ left as it was.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "clock.h"
#include "datefmt.h"
#include "test.h"

static int64_t
T(const char *s)
{
	int64_t t;

	if (clock_parse(s, &t, NULL) < 0) {
		fprintf(stderr, "bad time in test: %s\n", s);
		exit(2);
	}
	return t;
}

enum { DT, DATE, TIME };

/* fmt - one formatted time as a string (static: valid until next call) */
static const char *
fmt(int kind, int64_t t, const char *lang, const char *zone)
{
	static char s[256];
	buf_t b;
	int rc;

	buf_init(&b, 0);
	if (kind == DT)
		rc = datefmt_datetime(&b, t, lang, zone);
	else if (kind == DATE)
		rc = datefmt_date(&b, t, lang, zone);
	else
		rc = datefmt_time(&b, t, lang, zone);
	snprintf(s, sizeof(s), "%s", rc == 0 ? buf_str(&b) : "(error)");
	buf_free(&b);
	return s;
}

static const char *
period(int64_t from, int64_t to, const char *lang)
{
	static char s[256];
	buf_t b;

	buf_init(&b, 0);
	snprintf(s, sizeof(s), "%s",
	    datefmt_period(&b, from, to, lang, NULL) == 0 ? buf_str(&b) :
	    "(error)");
	buf_free(&b);
	return s;
}

static const char *
ends(int64_t start, int64_t end, const char *lang)
{
	static char s[256];
	buf_t b;

	buf_init(&b, 0);
	snprintf(s, sizeof(s), "%s",
	    datefmt_end(&b, start, end, lang, NULL) == 0 ? buf_str(&b) :
	    "(error)");
	buf_free(&b);
	return s;
}

static int64_t
local(int64_t t, int days, int hour, int minute)
{
	int64_t r;

	if (datefmt_local_time(t, "Europe/Helsinki", days, hour, minute,
	    &r) < 0)
		return -1;
	return r;
}

TEST(three_languages)
{
	int64_t due = T("2020-03-31T16:15:00+03:00");

	CHECK_STR(fmt(DT, due, "fi", NULL), "ti 31.3.2020 klo 16.15");
	CHECK_STR(fmt(DT, due, "sv", NULL), "tis 31.3.2020 kl. 16.15");
	CHECK_STR(fmt(DT, due, "en", NULL), "Tue 31 March 2020, 16:15");
	CHECK_STR(fmt(DATE, due, "fi", NULL), "ti 31.3.2020");
	CHECK_STR(fmt(DATE, due, "sv", NULL), "tis 31.3.2020");
	CHECK_STR(fmt(DATE, due, "en", NULL), "Tue 31 March 2020");
	CHECK_STR(fmt(TIME, due, "fi", NULL), "16.15");
	CHECK_STR(fmt(TIME, due, "en", NULL), "16:15");
	/* hours are not padded in Finnish and Swedish, minutes are */
	CHECK_STR(fmt(DT, T("2020-05-12T09:05+03:00"), "fi", NULL),
	    "ti 12.5.2020 klo 9.05");
	CHECK_STR(fmt(DT, T("2020-05-12T09:05+03:00"), "sv", NULL),
	    "tis 12.5.2020 kl. 9.05");
	CHECK_STR(fmt(DT, T("2020-05-12T09:05+03:00"), "en", NULL),
	    "Tue 12 May 2020, 09:05");
	CHECK_STR(fmt(DT, due, "fi", "Europe/Helsinki"),
	    "ti 31.3.2020 klo 16.15");
}

TEST(every_weekday)
{
	static const char *const want[3][7] = {
		{ "ma", "ti", "ke", "to", "pe", "la", "su" },
		{ "mån", "tis", "ons", "tors", "fre", "lör", "sön" },
		{ "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" },
	};
	static const char *const langs[3] = { "fi", "sv", "en" };
	int64_t monday = T("2020-03-30T12:00+03:00");
	char w[32];
	int l, d;

	for (l = 0; l < 3; l++)
		for (d = 0; d < 7; d++) {
			const char *s = fmt(DATE, monday + d * 86400, langs[l],
			    NULL);

			snprintf(w, sizeof(w), "%s ", want[l][d]);
			CHECK(strncmp(s, w, strlen(w)) == 0);
		}
	CHECK_STR(fmt(DATE, monday + 3 * 86400, "sv", NULL), "tors 2.4.2020");
	CHECK_STR(fmt(DATE, monday + 5 * 86400, "sv", NULL), "lör 4.4.2020");
}

TEST(spring_forward)
{
	/* 29.3.2020: 03:00 EET becomes 04:00 EEST at 01:00Z */
	int64_t before = T("2020-03-29T02:59:59+02:00");

	CHECK(before + 1 == T("2020-03-29T04:00:00+03:00"));
	CHECK_STR(fmt(DT, before, "fi", NULL), "su 29.3.2020 klo 2.59");
	CHECK_STR(fmt(DT, before + 1, "fi", NULL), "su 29.3.2020 klo 4.00");
	CHECK_STR(fmt(DT, before + 1, "sv", NULL), "sön 29.3.2020 kl. 4.00");
	CHECK_STR(fmt(DT, before + 1, "en", NULL), "Sun 29 March 2020, 04:00");
	CHECK_STR(fmt(DT, T("2020-03-28T23:30Z"), "fi", NULL),
	    "su 29.3.2020 klo 1.30");
	CHECK_STR(fmt(DT, T("2020-03-29T21:30Z"), "fi", NULL),
	    "ma 30.3.2020 klo 0.30");
}

TEST(fall_back)
{
	/* 25.10.2020: 04:00 EEST becomes 03:00 EET at 01:00Z; 03:30 twice */
	int64_t first = T("2020-10-25T03:30+03:00");
	int64_t second = T("2020-10-25T03:30+02:00");

	CHECK(second - first == 3600);
	CHECK_STR(fmt(DT, first, "fi", NULL), "su 25.10.2020 klo 3.30");
	CHECK_STR(fmt(DT, second, "fi", NULL), "su 25.10.2020 klo 3.30");
	CHECK_STR(fmt(DT, second, "en", NULL), "Sun 25 October 2020, 03:30");
	CHECK_STR(fmt(DT, T("2020-10-24T21:00Z"), "sv", NULL),
	    "sön 25.10.2020 kl. 0.00");
	CHECK_STR(fmt(DT, T("2020-10-25T22:00Z"), "sv", NULL),
	    "mån 26.10.2020 kl. 0.00");
}

TEST(year_boundaries)
{
	int64_t t = T("2020-12-31T22:30Z");

	CHECK_STR(fmt(DT, t, "fi", NULL), "pe 1.1.2021 klo 0.30");
	CHECK_STR(fmt(DT, t, "sv", NULL), "fre 1.1.2021 kl. 0.30");
	CHECK_STR(fmt(DT, t, "en", NULL), "Fri 1 January 2021, 00:30");
	CHECK_STR(fmt(DT, t, "fi", "UTC"), "to 31.12.2020 klo 22.30");
	CHECK_STR(fmt(DT, T("2020-12-31T21:59:59Z"), "fi", NULL),
	    "to 31.12.2020 klo 23.59");
	CHECK_STR(fmt(DATE, T("2019-12-31T22:00Z"), "en", NULL),
	    "Wed 1 January 2020");
	CHECK_STR(fmt(DATE, T("2020-02-29T12:00Z"), "fi", NULL),
	    "la 29.2.2020");
	/* the epoch itself, and the edges of the supported years */
	CHECK_STR(fmt(DT, 0, "fi", NULL), "to 1.1.1970 klo 2.00");
	CHECK_STR(fmt(DT, -1, "en", "UTC"), "Wed 31 December 1969, 23:59");
	CHECK_STR(fmt(DT, 253402300799LL, "en", "UTC"),
	    "Fri 31 December 9999, 23:59");
	CHECK_STR(fmt(DT, 253402300799LL, "en", NULL), "(error)");
	CHECK_STR(fmt(DT, 253402300800LL, "en", "UTC"), "(error)");
	CHECK_STR(fmt(DT, INT64_MIN, "en", "UTC"), "(error)");
}

TEST(periods)
{
	int64_t a = T("2020-04-21T10:00+03:00"), b = T("2020-05-05T10:00+03:00");

	CHECK_STR(period(a, b, "fi"), "21.4.\xe2\x80\x93" "5.5.2020");
	CHECK_STR(period(a, b, "sv"), "21.4.\xe2\x80\x93" "5.5.2020");
	CHECK_STR(period(a, b, "en"), "21 April \xe2\x80\x93 5 May 2020");
	/* local dates, not UTC dates: 00:30 on 21.4. is 20.4. in UTC */
	CHECK_STR(period(T("2020-04-20T21:30Z"), b, "fi"),
	    "21.4.\xe2\x80\x93" "5.5.2020");
	a = T("2020-12-28T09:00+02:00");
	b = T("2021-01-03T09:00+02:00");
	CHECK_STR(period(a, b, "fi"), "28.12.2020\xe2\x80\x93" "3.1.2021");
	CHECK_STR(period(a, b, "en"),
	    "28 December 2020 \xe2\x80\x93 3 January 2021");
	/* the last days of a year reach into the next only locally */
	CHECK_STR(period(a, T("2020-12-31T22:30Z"), "sv"),
	    "28.12.2020\xe2\x80\x93" "1.1.2021");
	a = T("2020-05-04T09:00+03:00");
	b = T("2020-05-08T09:00+03:00");
	CHECK_STR(period(a, b, "fi"), "4.\xe2\x80\x93" "8.5.2020");
	CHECK_STR(period(a, b, "en"), "4\xe2\x80\x93" "8 May 2020");
	CHECK_STR(period(a, a + 3600, "fi"), "4.5.2020");
	CHECK_STR(period(a, a + 3600, "en"), "4 May 2020");
	/* across both DST changes of a year */
	CHECK_STR(period(T("2020-03-01T00:00+02:00"),
	    T("2020-11-01T00:00+02:00"), "fi"),
	    "1.3.\xe2\x80\x93" "1.11.2020");
	CHECK_STR(period(b, a, "fi"), "(error)");
}

TEST(event_ends)
{
	int64_t s = T("2020-05-12T09:00+03:00");

	CHECK_STR(ends(s, T("2020-05-12T16:00+03:00"), "fi"), "16.00");
	CHECK_STR(ends(s, T("2020-05-12T16:00+03:00"), "en"), "16:00");
	CHECK_STR(ends(s, T("2020-05-13T16:00+03:00"), "fi"),
	    "ke 13.5.2020 klo 16.00");
	CHECK_STR(ends(s, T("2020-05-13T16:00+03:00"), "sv"),
	    "ons 13.5.2020 kl. 16.00");
	/* 23.30-00.30 local is one UTC day but two local ones */
	CHECK_STR(ends(T("2020-05-12T23:30+03:00"),
	    T("2020-05-13T00:30+03:00"), "fi"), "ke 13.5.2020 klo 0.30");
}

TEST(reminders_across_spring_dst)
{
	int64_t due = T("2020-03-31T16:15:00+03:00");

	/* 14 and 7 days before are still winter time, 1 day before not */
	CHECK(local(due, -14, 9, 0) == T("2020-03-17T09:00+02:00"));
	CHECK(local(due, -14, 9, 0) == 1584428400);
	CHECK(local(due, -7, 9, 0) == T("2020-03-24T09:00+02:00"));
	CHECK(local(due, -1, 9, 0) == T("2020-03-30T09:00+03:00"));
	CHECK(local(due, 0, 9, 0) == T("2020-03-31T09:00+03:00"));
	CHECK_STR(fmt(DT, local(due, -14, 9, 0), "fi", NULL),
	    "ti 17.3.2020 klo 9.00");
	/* the day of the change itself */
	CHECK(local(T("2020-03-29T12:00+03:00"), 0, 0, 0) ==
	    T("2020-03-29T00:00+02:00"));
	CHECK(local(T("2020-03-29T12:00+03:00"), 0, 9, 0) ==
	    T("2020-03-29T09:00+03:00"));
	CHECK(local(T("2020-03-29T12:00+03:00"), 0, 2, 59) ==
	    T("2020-03-29T02:59+02:00"));
	/* 03:30 does not exist that night: moved forward by the hour */
	CHECK(local(T("2020-03-29T12:00+03:00"), 0, 3, 30) ==
	    T("2020-03-29T04:30+03:00"));
}

TEST(reminders_across_autumn_dst)
{
	int64_t due = T("2020-10-27T12:00+02:00");
	int64_t r;

	CHECK(local(due, -14, 9, 0) == T("2020-10-13T09:00+03:00"));
	CHECK(local(due, -2, 9, 0) == T("2020-10-25T09:00+02:00"));
	CHECK(local(due, -3, 9, 0) == T("2020-10-24T09:00+03:00"));
	CHECK(local(due, 7, 9, 0) == T("2020-11-03T09:00+02:00"));
	CHECK(local(T("2020-10-25T12:00+02:00"), 0, 0, 0) ==
	    T("2020-10-25T00:00+03:00"));
	/* 03:30 happens twice that night: the first one */
	CHECK(local(T("2020-10-25T12:00+02:00"), 0, 3, 30) ==
	    T("2020-10-25T03:30+03:00"));
	CHECK(local(T("2020-10-25T12:00+02:00"), 0, 4, 0) ==
	    T("2020-10-25T04:00+02:00"));
	CHECK(datefmt_local_midnight(T("2020-10-26T00:00+02:00"), NULL, &r) == 0);
	CHECK(r == T("2020-10-26T00:00+02:00"));
	CHECK(datefmt_local_midnight(T("2020-10-25T23:59:59+02:00"), NULL,
	    &r) == 0);
	CHECK(r == T("2020-10-25T00:00+03:00"));
	/* across a year and in another zone */
	CHECK(local(T("2021-01-01T00:30+02:00"), -1, 9, 0) ==
	    T("2020-12-31T09:00+02:00"));
	CHECK(datefmt_local_time(T("2020-03-08T12:00-04:00"),
	    "America/New_York", 0, 2, 30, &r) == 0);
	CHECK(r == T("2020-03-08T03:30-04:00"));
	CHECK(local(due, 0, 24, 0) == -1);
	CHECK(local(due, 0, 9, 60) == -1);
	CHECK(local(due, 0, -1, 0) == -1);
	CHECK(datefmt_local_time(due, "Nowhere/Atlantis", 0, 9, 0, &r) == -1);
}

TEST(days_between)
{
	int64_t due = T("2020-03-31T16:15:00+03:00"), d;

	CHECK(datefmt_days_between(T("2020-03-17T09:00+02:00"), due, NULL,
	    &d) == 0 && d == 14);
	CHECK(datefmt_days_between(due, T("2020-03-17T09:00+02:00"), NULL,
	    &d) == 0 && d == -14);
	/* calendar days: ten minutes apart over midnight is "tomorrow" */
	CHECK(datefmt_days_between(T("2020-03-30T23:55+03:00"),
	    T("2020-03-31T00:05+03:00"), NULL, &d) == 0 && d == 1);
	CHECK(datefmt_days_between(T("2020-03-31T00:05+03:00"),
	    T("2020-03-31T23:55+03:00"), NULL, &d) == 0 && d == 0);
	/* a 23-hour and a 25-hour day are one day each */
	CHECK(datefmt_days_between(T("2020-03-28T12:00+02:00"),
	    T("2020-03-30T12:00+03:00"), NULL, &d) == 0 && d == 2);
	CHECK(datefmt_days_between(T("2020-10-24T12:00+03:00"),
	    T("2020-10-26T12:00+02:00"), NULL, &d) == 0 && d == 2);
	CHECK(datefmt_days_between(T("2020-12-31T23:59+02:00"),
	    T("2021-01-01T00:01+02:00"), NULL, &d) == 0 && d == 1);
	/* Helsinki's day, not UTC's */
	CHECK(datefmt_days_between(T("2020-12-31T21:30Z"),
	    T("2020-12-31T22:30Z"), NULL, &d) == 0 && d == 1);
	CHECK(datefmt_days_between(T("2020-12-31T21:30Z"),
	    T("2020-12-31T22:30Z"), "UTC", &d) == 0 && d == 0);
}

TEST(other_zones_and_bad_input)
{
	int64_t due = T("2020-03-31T16:15:00+03:00");
	buf_t b;

	CHECK_STR(fmt(DT, due, "sv", "Europe/Stockholm"),
	    "tis 31.3.2020 kl. 15.15");
	CHECK_STR(fmt(DT, due, "en", "America/New_York"),
	    "Tue 31 March 2020, 09:15");
	CHECK_STR(fmt(DT, due, "en", "Asia/Kolkata"),
	    "Tue 31 March 2020, 18:45");
	CHECK_STR(fmt(DT, due, "de", NULL), "(error)");
	CHECK_STR(fmt(DT, due, "FI", NULL), "(error)");
	CHECK_STR(fmt(DT, due, NULL, NULL), "(error)");
	CHECK(datefmt_zone_valid("Europe/Helsinki"));
	CHECK(datefmt_zone_valid(NULL));
	CHECK(datefmt_zone_valid("UTC"));
	CHECK(datefmt_zone_valid("Etc/GMT+2"));
	CHECK(!datefmt_zone_valid("Nowhere/Atlantis"));
	CHECK(!datefmt_zone_valid(""));
	CHECK(!datefmt_zone_valid("/etc/localtime"));
	CHECK(!datefmt_zone_valid("../../../etc/passwd"));
	CHECK(!datefmt_zone_valid("Europe/../Europe/Helsinki"));
	CHECK(!datefmt_zone_valid("Europe//Helsinki"));
	CHECK(!datefmt_zone_valid("Europe/"));
	CHECK(!datefmt_zone_valid("Europe"));		/* a directory */
	CHECK(!datefmt_zone_valid("zone.tab"));	/* not zone data */
	CHECK(!datefmt_zone_valid("EET-2EEST,M3.5.0/3,M10.5.0/4"));
	CHECK_STR(fmt(DT, due, "fi", "Nowhere/Atlantis"), "(error)");
	/* appends, and leaves the buffer alone on failure */
	buf_init(&b, 0);
	PUT(buf_adds(&b, "Määräaika: "));
	CHECK(datefmt_datetime(&b, due, "fi", NULL) == 0);
	CHECK(datefmt_datetime(&b, due, "xx", NULL) == -1);
	CHECK(datefmt_period(&b, due, due - 86400, "fi", NULL) == -1);
	CHECK_STR(buf_str(&b), "Määräaika: ti 31.3.2020 klo 16.15");
	buf_free(&b);
	/* a ceiling too low for the date */
	buf_init(&b, 8);
	CHECK(datefmt_datetime(&b, due, "fi", NULL) == -1);
	CHECK(b.len == 0);
	buf_free(&b);
}

TEST(tz_left_as_it_was)
{
	int64_t due = T("2020-03-31T16:15:00+03:00");
	time_t tt = (time_t)due;
	struct tm tm;

	setenv("TZ", "America/New_York", 1);
	tzset();
	CHECK_STR(fmt(DT, due, "fi", NULL), "ti 31.3.2020 klo 16.15");
	CHECK_STR(getenv("TZ"), "America/New_York");
	CHECK(localtime_r(&tt, &tm) != NULL && tm.tm_gmtoff == -4 * 3600);
	unsetenv("TZ");
	tzset();
	CHECK_STR(fmt(DT, due, "en", "Europe/Stockholm"),
	    "Tue 31 March 2020, 15:15");
	CHECK(getenv("TZ") == NULL);
	/* already the zone: nothing to switch, nothing to restore */
	setenv("TZ", ":Europe/Helsinki", 1);
	tzset();
	CHECK_STR(fmt(DT, due, "sv", NULL), "tis 31.3.2020 kl. 16.15");
	CHECK_STR(getenv("TZ"), ":Europe/Helsinki");
	CHECK_STR(fmt(DT, due, "sv", "UTC"), "tis 31.3.2020 kl. 13.15");
	CHECK_STR(getenv("TZ"), ":Europe/Helsinki");
	CHECK(localtime_r(&tt, &tm) != NULL && tm.tm_gmtoff == 3 * 3600);
	unsetenv("TZ");
	tzset();
}

TEST(parses_local_input)
{
	const char *z = "Europe/Helsinki";
	int64_t t, want;
	buf_t err;

	buf_init(&err, 256);
	CHECK(datefmt_parse_local("2020-05-04 09:00", z, -1, 0, &t, &err) == 0 &&
	    clock_parse("2020-05-04T09:00+03:00", &want, NULL) == 0 && t == want);
	CHECK(datefmt_parse_local("2020-01-04T09:00", z, -1, 0, &t, &err) == 0 &&
	    clock_parse("2020-01-04T09:00+02:00", &want, NULL) == 0 && t == want);
	/* the date alone only when the caller gives the time of day */
	CHECK(datefmt_parse_local("2020-03-17", z, 9, 0, &t, &err) == 0 &&
	    clock_parse("2020-03-17T09:00+02:00", &want, NULL) == 0 && t == want);
	CHECK(datefmt_parse_local("2020-03-17", z, -1, 0, &t, &err) == -1 && err.len == 0);
	/* not of the form: err untouched */
	CHECK(datefmt_parse_local("4.5.2020 09:00", z, -1, 0, &t, &err) == -1 && err.len == 0);
	CHECK(datefmt_parse_local(" 2020-05-04 09:00", z, -1, 0, &t, &err) == -1 && err.len == 0);
	CHECK(datefmt_parse_local("2020-05-04 9:00", z, -1, 0, &t, &err) == -1 && err.len == 0);
	CHECK(datefmt_parse_local("2020-05-04 09:00 ", z, -1, 0, &t, &err) == -1 && err.len == 0);
	CHECK(datefmt_parse_local("2020-05-04 09:00:00", z, -1, 0, &t, &err) == -1 &&
	    err.len == 0);
	/* a typed time the clocks skip is refused, with a reason */
	CHECK(datefmt_parse_local("2020-03-29 03:30", z, -1, 0, &t, &err) == -1 &&
	    strstr(buf_str(&err), "does not exist"));
	buf_reset(&err);
	CHECK(datefmt_parse_local("2020-03-29 04:00", z, -1, 0, &t, &err) == 0 &&
	    clock_parse("2020-03-29T04:00+03:00", &want, NULL) == 0 && t == want);
	/* a configured time of day moves with the gap, as the scheduler's does */
	CHECK(datefmt_parse_local("2020-03-29", z, 3, 30, &t, &err) == 0 &&
	    clock_parse("2020-03-29T04:30+03:00", &want, NULL) == 0 && t == want);
	/* one that occurs twice is the first */
	CHECK(datefmt_parse_local("2020-10-25 03:30", z, -1, 0, &t, &err) == 0 &&
	    clock_parse("2020-10-25T03:30+03:00", &want, NULL) == 0 && t == want);
	/* zones far from UTC: noon UTC is another local day there, the
	 * typed date is still the one meant */
	CHECK(datefmt_parse_local("2024-07-10 09:00", "Pacific/Auckland", -1, 0, &t, &err) == 0 &&
	    clock_parse("2024-07-10T09:00+12:00", &want, NULL) == 0 && t == want);
	CHECK(datefmt_parse_local("2024-01-10 09:00", "Pacific/Kiritimati", -1, 0, &t, &err) ==
	    0 && clock_parse("2024-01-10T09:00+14:00", &want, NULL) == 0 && t == want);
	CHECK(datefmt_parse_local("2024-01-10 09:00", "Pacific/Pago_Pago", -1, 0, &t, &err) ==
	    0 && clock_parse("2024-01-10T09:00-11:00", &want, NULL) == 0 && t == want);
	buf_free(&err);
}

int
main(void)
{
	RUN(parses_local_input);
	RUN(three_languages);
	RUN(every_weekday);
	RUN(spring_forward);
	RUN(fall_back);
	RUN(year_boundaries);
	RUN(periods);
	RUN(event_ends);
	RUN(reminders_across_spring_dst);
	RUN(reminders_across_autumn_dst);
	RUN(days_between);
	RUN(other_zones_and_bad_input);
	RUN(tz_left_as_it_was);
	return TEST_DONE();
}
