/*
 * datefmt - localised dates and local-calendar arithmetic; contract in
 * datefmt.h.
 *
 * Only localtime_r() knows about zones, so everything else is done on its
 * struct tm and on "local seconds" (a wall-clock time counted as if it
 * were UTC).  The zone is switched through TZ for the length of one public
 * call and restored before it returns; all the conversions a call needs
 * happen inside one switch, because with glibc each change of TZ makes
 * tzset() read the zone file again.  The other way, parsing TZif files
 * ourselves, would duplicate the C library's handling of the footer rules
 * for times past the last transition; not worth it for a single-threaded
 * worker that formats tens of dates per bulletin.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "datefmt.h"
#include "util.h"

#define ZONE_MAX	200		/* bytes in a zone name */
#define FMT_MAX		128		/* one formatted date, with room to spare */
#define T_MIN		(-62135596800LL)	/* 0001-01-01T00:00:00Z */
#define T_MAX		253402300799LL		/* 9999-12-31T23:59:59Z */
#define DAY		86400

#define DASH		"\xe2\x80\x93"	/* U+2013 EN DASH */

enum { L_FI, L_SV, L_EN };

static const char *const weekdays[3][7] = {	/* Monday first */
	{ "ma", "ti", "ke", "to", "pe", "la", "su" },
	{ "mån", "tis", "ons", "tors", "fre", "lör", "sön" },
	{ "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" },
};

static const char *const months_en[12] = {
	"January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December",
};

/* the last zone name found in the database: spares a file read per call */
static char known_zone[ZONE_MAX + 1];

struct zone_env {
	char	*saved;		/* TZ before the switch, or NULL */
	int	 had;		/* TZ was set */
	int	 switched;
};

static int
lang_index(const char *lang)
{
	if (lang == NULL)
		return -1;
	if (strcmp(lang, "fi") == 0)
		return L_FI;
	if (strcmp(lang, "sv") == 0)
		return L_SV;
	if (strcmp(lang, "en") == 0)
		return L_EN;
	return -1;
}

int
datefmt_lang_valid(const char *lang)
{
	return lang_index(lang) >= 0;
}

/* zone_name_ok - a relative path of tz database names: anything else
 * could make TZ read a file outside the database, or be taken by the C
 * library for a POSIX rule such as "EST5EDT" and silently mean UTC */
static int
zone_name_ok(const char *zone)
{
	size_t i, n = strlen(zone);

	if (n == 0 || n > ZONE_MAX || zone[0] == '/' || zone[n - 1] == '/')
		return 0;
	for (i = 0; i < n; i++) {
		char c = zone[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '/' || c == '_' ||
		    c == '-' || c == '+' || c == '.'))
			return 0;
		/* no "." or ".." components, no empty ones */
		if (c == '.' && (i == 0 || zone[i - 1] == '/'))
			return 0;
		if (c == '/' && zone[i + 1] == '/')
			return 0;
	}
	return 1;
}

int
datefmt_zone_valid(const char *zone)
{
	char path[4096], magic[4];
	const char *dir;
	int fd, ok = 0;

	if (zone == NULL)
		zone = DATEFMT_ZONE_DEFAULT;
	if (!zone_name_ok(zone))
		return 0;
	if (strcmp(zone, known_zone) == 0)
		return 1;
	if ((dir = getenv("TZDIR")) == NULL || *dir == '\0')
		dir = "/usr/share/zoneinfo";
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, zone) >=
	    sizeof(path))
		return 0;
	/* zone.tab and friends live beside the zones: insist on TZif data */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	if (read(fd, magic, sizeof(magic)) == (ssize_t)sizeof(magic) &&
	    memcmp(magic, "TZif", 4) == 0)
		ok = 1;
	close(fd);
	if (ok)
		snprintf(known_zone, sizeof(known_zone), "%s", zone);
	return ok;
}

/* zone_enter - make zone the one localtime_r() uses, until zone_leave() */
static int
zone_enter(const char *zone, struct zone_env *ze)
{
	char want[ZONE_MAX + 2];
	const char *cur;

	ze->saved = NULL;
	ze->had = ze->switched = 0;
	if (zone == NULL)
		zone = DATEFMT_ZONE_DEFAULT;
	if (!datefmt_zone_valid(zone))
		return -1;
	/* the leading colon: a file in the database, never a POSIX rule */
	snprintf(want, sizeof(want), ":%s", zone);
	cur = getenv("TZ");
	if (cur == NULL || (strcmp(cur, want) != 0 && strcmp(cur, zone) != 0)) {
		if (cur != NULL) {
			ze->saved = xstrdup(cur);
			ze->had = 1;
		}
		if (setenv("TZ", want, 1) < 0)
			fatal("setenv TZ: %s", strerror(errno));
		ze->switched = 1;
	}
	/* cheap when TZ is unchanged; needed because localtime_r() does not
	 * look at TZ itself */
	tzset();
	return 0;
}

static void
zone_leave(struct zone_env *ze)
{
	if (!ze->switched)
		return;
	if (ze->had) {
		if (setenv("TZ", ze->saved, 1) < 0)
			fatal("setenv TZ: %s", strerror(errno));
	} else
		unsetenv("TZ");
	tzset();
	free(ze->saved);
	ze->saved = NULL;
	ze->switched = 0;
}

/* breakdown - t in the current zone; -1 outside the years 1-9999 */
static int
breakdown(int64_t t, struct tm *tm)
{
	time_t tt = (time_t)t;

	if (t < T_MIN || t > T_MAX || localtime_r(&tt, tm) == NULL)
		return -1;
	if (tm->tm_year + 1900 < 1 || tm->tm_year + 1900 > 9999)
		return -1;
	return 0;
}

/* local_tms - n times broken down in zone, under one switch of TZ */
static int
local_tms(const char *zone, size_t n, const int64_t *t, struct tm *tm)
{
	struct zone_env ze;
	size_t i;
	int rc = -1;

	if (zone_enter(zone, &ze) < 0)
		goto out;
	for (i = 0; i < n; i++)
		if (breakdown(t[i], &tm[i]) < 0)
			goto out;
	rc = 0;
out:
	zone_leave(&ze);
	return rc;
}

/* local_day - days since 1970-01-01 of tm's local date */
static int64_t
local_day(const struct tm *tm)
{
	return clock_days_from_civil(tm->tm_year + 1900,
	    (unsigned)tm->tm_mon + 1, (unsigned)tm->tm_mday);
}

static const char *
weekday(int l, const struct tm *tm)
{
	return weekdays[l][(tm->tm_wday + 6) % 7];
}

/* put - append s whole, or nothing */
static int
put(buf_t *b, const char *s, int n)
{
	if (n < 0 || n >= FMT_MAX)
		return -1;
	return buf_add(b, s, (size_t)n);
}

static int
fmt_date(char *s, int l, const struct tm *tm)
{
	if (l == L_EN)
		return snprintf(s, FMT_MAX, "%s %d %s %d", weekday(l, tm),
		    tm->tm_mday, months_en[tm->tm_mon], tm->tm_year + 1900);
	return snprintf(s, FMT_MAX, "%s %d.%d.%d", weekday(l, tm),
	    tm->tm_mday, tm->tm_mon + 1, tm->tm_year + 1900);
}

static int
fmt_time(char *s, int l, const struct tm *tm)
{
	/* Finnish and Swedish write 9.05; English 24-hour time 09:05 */
	if (l == L_EN)
		return snprintf(s, FMT_MAX, "%02d:%02d", tm->tm_hour,
		    tm->tm_min);
	return snprintf(s, FMT_MAX, "%d.%02d", tm->tm_hour, tm->tm_min);
}

static int
fmt_datetime(char *s, int l, const struct tm *tm)
{
	static const char *const joint[3] = { " klo ", " kl. ", ", " };
	char d[FMT_MAX], t[FMT_MAX];

	fmt_date(d, l, tm);
	fmt_time(t, l, tm);
	return snprintf(s, FMT_MAX, "%s%s%s", d, joint[l], t);
}

int
datefmt_year(int64_t t, const char *zone, int *year)
{
	struct tm tm;

	if (local_tms(zone, 1, &t, &tm) < 0)
		return -1;
	*year = tm.tm_year + 1900;
	return 0;
}

int
datefmt_clock(int64_t t, const char *zone, int *hour, int *minute)
{
	struct tm tm;

	if (local_tms(zone, 1, &t, &tm) < 0)
		return -1;
	*hour = tm.tm_hour;
	*minute = tm.tm_min;
	return 0;
}

int
datefmt_datetime(buf_t *b, int64_t t, const char *lang, const char *zone)
{
	char s[FMT_MAX];
	struct tm tm;
	int l;

	if ((l = lang_index(lang)) < 0 || local_tms(zone, 1, &t, &tm) < 0)
		return -1;
	return put(b, s, fmt_datetime(s, l, &tm));
}

int
datefmt_date(buf_t *b, int64_t t, const char *lang, const char *zone)
{
	char s[FMT_MAX];
	struct tm tm;
	int l;

	if ((l = lang_index(lang)) < 0 || local_tms(zone, 1, &t, &tm) < 0)
		return -1;
	return put(b, s, fmt_date(s, l, &tm));
}

int
datefmt_time(buf_t *b, int64_t t, const char *lang, const char *zone)
{
	char s[FMT_MAX];
	struct tm tm;
	int l;

	if ((l = lang_index(lang)) < 0 || local_tms(zone, 1, &t, &tm) < 0)
		return -1;
	return put(b, s, fmt_time(s, l, &tm));
}

int
datefmt_end(buf_t *b, int64_t start, int64_t end, const char *lang,
    const char *zone)
{
	int64_t t[2] = { start, end };
	char s[FMT_MAX];
	struct tm tm[2];
	int l, n;

	if ((l = lang_index(lang)) < 0 || local_tms(zone, 2, t, tm) < 0)
		return -1;
	if (local_day(&tm[0]) == local_day(&tm[1]))
		n = fmt_time(s, l, &tm[1]);
	else
		n = fmt_datetime(s, l, &tm[1]);
	return put(b, s, n);
}

/*
 * datefmt_period - the shared tail is written once: Finnish and Swedish
 * 4.–8.5.2020, 21.4.–5.5.2020, 28.12.2020–3.1.2021 (the dash without
 * spaces, as Kielitoimisto recommends for dates); English 4–8 May 2020,
 * 21 April – 5 May 2020, 28 December 2020 – 3 January 2021 (spaced where
 * either side has a space in it).
 */
int
datefmt_period(buf_t *b, int64_t from, int64_t to, const char *lang,
    const char *zone)
{
	int64_t t[2] = { from, to };
	char s[FMT_MAX];
	struct tm tm[2];
	const struct tm *f = &tm[0], *e = &tm[1];
	int l, n, fy, ey, sameyear, samemonth;

	if ((l = lang_index(lang)) < 0 || to < from ||
	    local_tms(zone, 2, t, tm) < 0)
		return -1;
	fy = f->tm_year + 1900;
	ey = e->tm_year + 1900;
	sameyear = fy == ey;
	samemonth = sameyear && f->tm_mon == e->tm_mon;
	if (local_day(f) == local_day(e)) {
		if (l == L_EN)
			n = snprintf(s, sizeof(s), "%d %s %d", e->tm_mday,
			    months_en[e->tm_mon], ey);
		else
			n = snprintf(s, sizeof(s), "%d.%d.%d", e->tm_mday,
			    e->tm_mon + 1, ey);
	} else if (l == L_EN) {
		if (samemonth)
			n = snprintf(s, sizeof(s), "%d" DASH "%d %s %d",
			    f->tm_mday, e->tm_mday, months_en[e->tm_mon], ey);
		else if (sameyear)
			n = snprintf(s, sizeof(s), "%d %s " DASH " %d %s %d",
			    f->tm_mday, months_en[f->tm_mon], e->tm_mday,
			    months_en[e->tm_mon], ey);
		else
			n = snprintf(s, sizeof(s),
			    "%d %s %d " DASH " %d %s %d", f->tm_mday,
			    months_en[f->tm_mon], fy, e->tm_mday,
			    months_en[e->tm_mon], ey);
	} else {
		if (samemonth)
			n = snprintf(s, sizeof(s), "%d." DASH "%d.%d.%d",
			    f->tm_mday, e->tm_mday, e->tm_mon + 1, ey);
		else if (sameyear)
			n = snprintf(s, sizeof(s), "%d.%d." DASH "%d.%d.%d",
			    f->tm_mday, f->tm_mon + 1, e->tm_mday,
			    e->tm_mon + 1, ey);
		else
			n = snprintf(s, sizeof(s), "%d.%d.%d" DASH "%d.%d.%d",
			    f->tm_mday, f->tm_mon + 1, fy, e->tm_mday,
			    e->tm_mon + 1, ey);
	}
	return put(b, s, n);
}

/* offset_at - seconds east of UTC at t in the current zone */
static int
offset_at(int64_t t, int64_t *off)
{
	struct tm tm;

	if (breakdown(t, &tm) < 0)
		return -1;
	*off = tm.tm_gmtoff;
	return 0;
}

/*
 * resolve - the instant whose local time is w (local seconds).  The
 * offsets a day before and a day after are the only candidates (zones
 * change at most once in a day); a candidate is right when the zone has
 * that offset at that instant.  Both right: w occurs twice, take the
 * first.  Neither: w is in a gap; the offset from before the gap moves it
 * forward by the gap's length, as mktime() does.
 */
static int
resolve(int64_t w, int64_t *out)
{
	int64_t o1, o2, c1, c2, k;
	int ok1, ok2;

	if (offset_at(w - DAY, &o1) < 0 || offset_at(w + DAY, &o2) < 0)
		return -1;
	c1 = w - o1;
	c2 = w - o2;
	ok1 = offset_at(c1, &k) == 0 && k == o1;
	ok2 = offset_at(c2, &k) == 0 && k == o2;
	if (ok1 && ok2)
		*out = c1 < c2 ? c1 : c2;
	else if (ok2)
		*out = c2;
	else
		*out = c1;
	return 0;
}

int
datefmt_local_time(int64_t t, const char *zone, int days, int hour,
    int minute, int64_t *out)
{
	struct zone_env ze;
	struct tm tm;
	int64_t day, w, r;
	int rc = -1;

	if (hour < 0 || hour > 23 || minute < 0 || minute > 59)
		return -1;
	if (zone_enter(zone, &ze) < 0)
		goto out;
	if (breakdown(t, &tm) < 0)
		goto out;
	/* |days| is bounded by int, so this cannot overflow int64 */
	day = local_day(&tm) + days;
	w = day * DAY + hour * 3600 + minute * 60;
	if (w < T_MIN + DAY || w > T_MAX - DAY)
		goto out;
	if (resolve(w, &r) < 0)
		goto out;
	*out = r;
	rc = 0;
out:
	zone_leave(&ze);
	return rc;
}

int
datefmt_local_midnight(int64_t t, const char *zone, int64_t *out)
{
	return datefmt_local_time(t, zone, 0, 0, 0, out);
}

int
datefmt_days_between(int64_t from, int64_t to, const char *zone,
    int64_t *out)
{
	int64_t t[2] = { from, to };
	struct tm tm[2];

	if (local_tms(zone, 2, t, tm) < 0)
		return -1;
	*out = local_day(&tm[1]) - local_day(&tm[0]);
	return 0;
}

/* num - exactly n digits at s into *v; 0 or -1 */
static int
num(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

int
datefmt_parse_local(const char *s, const char *zone, int hour, int minute,
    int64_t *out, buf_t *err)
{
	int y, mo, d, h = hour, mi = minute, typed = 0;
	int64_t t, noon;
	struct tm tm;

	if (num(s, 4, &y) < 0 || s[4] != '-' || num(s + 5, 2, &mo) < 0 || s[7] != '-' ||
	    num(s + 8, 2, &d) < 0)
		goto syntax;
	if (s[10] == ' ' || s[10] == 'T' || s[10] == 't') {
		if (num(s + 11, 2, &h) < 0 || s[13] != ':' || num(s + 14, 2, &mi) < 0 ||
		    s[16] != '\0')
			goto syntax;
		typed = 1;
	} else if (s[10] != '\0' || hour < 0)
		goto syntax;
	if (!clock_civil_valid(y, mo, d, h, mi, 0)) {
		buf_notef(err, "%.*s: no such date or time", typed ? 16 : 10, s);
		return -1;
	}
	/* noon UTC of the typed date is that date or a day either side in
	 * the zone (+14 h in Kiritimati, +13 h in Auckland's summer): the
	 * local day is counted from there */
	noon = clock_days_from_civil(y, (unsigned)mo, (unsigned)d) * DAY + 43200;
	if (local_tms(zone, 1, &noon, &tm) < 0 || datefmt_local_time(noon, zone,
	    (int)(clock_days_from_civil(y, (unsigned)mo, (unsigned)d) - local_day(&tm)), h, mi,
	    &t) < 0 || local_tms(zone, 1, &t, &tm) < 0) {
		buf_notef(err, "%s: not a time in %s", s, zone ? zone : DATEFMT_ZONE_DEFAULT);
		return -1;
	}
	if (typed && (tm.tm_hour != h || tm.tm_min != mi)) {
		buf_notef(err, "%s does not exist in %s: the clocks skip it (summer time)", s,
		    zone ? zone : DATEFMT_ZONE_DEFAULT);
		return -1;
	}
	*out = t;
	return 0;
syntax:
	return -1;
}
