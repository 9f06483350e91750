/*
 * clock - injectable "now" and RFC 3339 parsing; contract in clock.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "util.h"

int64_t
clock_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	/* Howard Hinnant's algorithm: exact for every Gregorian date */
	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int
digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int
clock_civil_valid(int y, int mo, int d, int h, int mi, int sec)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return y >= 1970 && y <= 9999 && mo >= 1 && mo <= 12 && d >= 1 &&
	    d <= mdays[mo - 1] + (mo == 2 && leap) && h >= 0 && h <= 23 &&
	    mi >= 0 && mi <= 59 && sec >= 0 && sec <= 60;
}

int
clock_parse(const char *s, int64_t *epoch, int *offset_min)
{
	int y, mo, d, h, mi, sec = 0, oh, om, off;
	const char *p = s;

	if (digits(p, 4, &y) || p[4] != '-' || digits(p + 5, 2, &mo) ||
	    p[7] != '-' || digits(p + 8, 2, &d) ||
	    (p[10] != 'T' && p[10] != 't') ||
	    digits(p + 11, 2, &h) || p[13] != ':' || digits(p + 14, 2, &mi))
		return -1;
	p += 16;
	if (*p == ':') {
		if (digits(p + 1, 2, &sec))
			return -1;
		p += 3;
		if (*p == '.') {
			if (!isdigit((unsigned char)p[1]))
				return -1;
			for (p++; isdigit((unsigned char)*p); p++)
				;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		off = 0;
		p++;
	} else if (*p == '+' || *p == '-') {
		if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) ||
		    oh > 14 || om > 59 || oh * 60 + om > 14 * 60)
			return -1;
		off = (oh * 60 + om) * (*p == '-' ? -1 : 1);
		p += 6;
	} else
		return -1;
	if (*p != '\0')
		return -1;
	if (!clock_civil_valid(y, mo, d, h, mi, sec))
		return -1;
	if (sec == 60)		/* a leap second is the same instant as :59 here */
		sec = 59;
	*epoch = clock_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
	    h * 3600 + mi * 60 + sec - (int64_t)off * 60;
	if (offset_min)
		*offset_min = off;
	return 0;
}

void
clock_format(int64_t t, char *out)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* clock_fixed - the test hook's value in ms, or -1 when the clock is real */
static int64_t
clock_fixed(void)
{
	const char *file = getenv("TIEDOTE_NOW_FILE"), *v = getenv("TIEDOTE_NOW");
	char line[128], *end;
	int64_t t;
	FILE *fp;

	if (file && *file) {
		/* re-read at most every 20 ms: a busy worker asks for the time
		 * several times per message, a test needs no finer steps */
		static char cached[128];
		static int64_t read_at = -1;
		struct timespec ts;
		int64_t mono;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		mono = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		if (read_at < 0 || mono - read_at >= 20) {
			if ((fp = fopen(file, "r")) == NULL)
				fatal("TIEDOTE_NOW_FILE %s: cannot open", file);
			if (fgets(line, sizeof line, fp) == NULL)
				line[0] = '\0';
			fclose(fp);
			line[strcspn(line, "\r\n")] = '\0';
			memcpy(cached, line, sizeof cached);
			read_at = mono;
		}
		v = cached;
	}
	if (v == NULL || *v == '\0')
		return -1;
	if (v[0] == '@') {
		long long n = strtoll(v + 1, &end, 10);

		if (end == v + 1 || *end != '\0')
			fatal("TIEDOTE_NOW: bad epoch value \"%s\"", v);
		return (int64_t)n * 1000;
	}
	if (clock_parse(v, &t, NULL) < 0)
		fatal("TIEDOTE_NOW: not an RFC 3339 time \"%s\"", v);
	return t * 1000;
}

int64_t
clock_now_ms(void)
{
	struct timespec ts;
	int64_t fixed = clock_fixed();

	if (fixed >= 0)
		return fixed;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
clock_now(void)
{
	return clock_now_ms() / 1000;
}
