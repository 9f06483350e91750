/*
 * log - journald-friendly one-line logging; contract in log.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *log_prog = "tiedote";
static int log_level = LOG_INFO;
static int log_journal;

static const char *const log_words[] = {
	"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"
};

void
log_init(const char *progname)
{
	log_prog = progname;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

void
log_set_level(int prio)
{
	log_level = prio;
}

int
log_level_parse(const char *s)
{
	for (int i = 0; i < 8; i++)
		if (strcmp(s, log_words[i]) == 0)
			return i;
	return -1;
}

void
log_vmsg(int prio, const char *fmt, va_list ap)
{
	char line[2048], stamp[32];
	struct tm tm;
	time_t now;

	if (prio > log_level)
		return;
	vsnprintf(line, sizeof line, fmt, ap);
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	if (log_journal) {
		fprintf(stderr, "<%d>%s\n", prio, line);
		return;
	}
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(stderr, "%s %s[%ld] %s: %s\n", stamp, log_prog, (long)getpid(),
	    log_words[prio & 7], line);
}

void
log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(prio, fmt, ap);
	va_end(ap);
}
