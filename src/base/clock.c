/*
 * clock - injectable "now" and RFC 3339 parsing; contract in clock.h.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <sys/inotify.h>
#include <unistd.h>
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

/*
 * The test hook.  A program that never calls clock_watch() (the CLI) reads
 * TIEDOTE_NOW_FILE at every clock read.  The worker calls clock_watch():
 * the file is read once, then again only when inotify reports the file
 * itself renamed over or closed after a write (events for other files in
 * its directory, such as the database's, are read and dropped), and
 * clock_refresh() - at each loop turn that the watch descriptor woke, and
 * before each intake batch is stamped - is where that happens.  So the
 * loop pays no system call per message, and a request sent after the
 * test's rename() returned is handled at the new time.  Each new value
 * read counts one in `changes`, which the worker's loop compares at every
 * turn (clock_changes()) to run its scheduler at once.
 */
static struct {
	int	 fd;		/* inotify on the file's directory, -1 none */
	int	 stale;		/* re-read before the next use */
	const char *name;	/* the file's name in its directory */
	unsigned long changes;	/* values read that differ from the one before */
	char	 value[128];
} hook = { -1, 1, NULL, 0, "" };
static pthread_mutex_t hook_lock = PTHREAD_MUTEX_INITIALIZER;

static void
hook_read(const char *file)
{
	char line[128];
	FILE *fp;

	if ((fp = fopen(file, "r")) == NULL)
		fatal("TIEDOTE_NOW_FILE %s: cannot open", file);
	if (fgets(line, sizeof line, fp) == NULL)
		line[0] = '\0';
	fclose(fp);
	line[strcspn(line, "\r\n")] = '\0';
	if (strcmp(line, hook.value) != 0)
		__atomic_add_fetch(&hook.changes, 1, __ATOMIC_RELEASE);
	memcpy(hook.value, line, sizeof hook.value);
	hook.stale = 0;
}

int
clock_watch(void)
{
	const char *file = getenv("TIEDOTE_NOW_FILE");
	char dir[4096], *slash;

	if (file == NULL || *file == '\0' || hook.fd >= 0)
		return hook.fd;
	if (strlen(file) >= sizeof dir)
		fatal("TIEDOTE_NOW_FILE: path too long");
	strcpy(dir, file);
	slash = strrchr(file, '/');
	hook.name = slash ? slash + 1 : file;
	if ((slash = strrchr(dir, '/')) == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	/* not IN_MODIFY: a file written in place is read once closed, and
	 * the database beside it in a test's directory would wake the loop
	 * at every write */
	if ((hook.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0 ||
	    inotify_add_watch(hook.fd, dir, IN_MOVED_TO | IN_CLOSE_WRITE) < 0)
		fatal("TIEDOTE_NOW_FILE %s: cannot watch: %s", dir, strerror(errno));
	hook.stale = 1;
	return hook.fd;
}

void
clock_refresh(void)
{
	char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *e;
	const char *file;
	ssize_t n;

	if (hook.fd < 0)
		return;
	/* under the lock: the web front's thread refreshes too (web.c), and
	 * whichever thread reads the events takes the new value for both */
	pthread_mutex_lock(&hook_lock);
	while ((n = read(hook.fd, ev, sizeof ev)) > 0)
		for (char *p = ev; p < ev + n; p += sizeof *e + e->len) {
			e = (const struct inotify_event *)(void *)p;
			if (e->len > 0 && strcmp(e->name, hook.name) == 0)
				hook.stale = 1;
		}
	/* read now, not at the next clock read: clock_changes() counts it */
	if (hook.stale && (file = getenv("TIEDOTE_NOW_FILE")) != NULL && *file)
		hook_read(file);
	pthread_mutex_unlock(&hook_lock);
}

unsigned long
clock_changes(void)
{
	return __atomic_load_n(&hook.changes, __ATOMIC_ACQUIRE);
}

/* clock_fixed - the test hook's value in ms, or -1 when the clock is real */
static int64_t
clock_fixed(void)
{
	const char *file = getenv("TIEDOTE_NOW_FILE"), *v = getenv("TIEDOTE_NOW");
	char *end;
	int64_t t;

	char copy[sizeof hook.value];

	if (file && *file) {
		/* the web front's thread reads the clock too (web.h) */
		pthread_mutex_lock(&hook_lock);
		if (hook.fd < 0 || hook.stale)
			hook_read(file);
		memcpy(copy, hook.value, sizeof copy);
		pthread_mutex_unlock(&hook_lock);
		/* an empty file is no time: a test writing it in place, or
		 * none written; never the real clock in its stead */
		if (*copy == '\0')
			fatal("TIEDOTE_NOW_FILE %s: empty (write it whole, then rename it)", file);
		v = copy;
	}
	if (v == NULL || *v == '\0')
		return -1;
	if (v[0] == '@') {
		long long n = strtoll(v + 1, &end, 10);

		if (end == v + 1 || *end != '\0' || n < 0)
			fatal("TIEDOTE_NOW: bad epoch value \"%s\"", v);
		return (int64_t)n * 1000;
	}
	if (clock_parse(v, &t, NULL) < 0 || t < 0)
		fatal("TIEDOTE_NOW: not an RFC 3339 time from 1970 on \"%s\"", v);
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
clock_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
clock_mono_ms(void)
{
	return clock_mono_us() / 1000;
}

int64_t
clock_now(void)
{
	return clock_now_ms() / 1000;
}
