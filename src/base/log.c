/*
 * log - journald-friendly one-line logging; contract in log.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "log.h"
#include "util.h"

#define LOG_LINE_MAX	2048	/* one line, longer is cut */
#define LOG_FIELDS	6	/* MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, 3 ids */
#define LOG_FIELD_MAX	(LOG_LINE_MAX + 32)

static const char *log_prog = "tiedote";
static int log_level = LOG_INFO;
static int log_journal;

static const char *const log_words[] = {
	"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"
};

/* journal_stream - stderr is the stream systemd connected to journald:
 * JOURNAL_STREAM is "DEVICE:INODE" of it (systemd.exec(5)); a child whose
 * stderr was redirected keeps the variable but not the stream */
static int
journal_stream(void)
{
	const char *v = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	return v && sscanf(v, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
	    (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void
log_init(const char *progname)
{
	log_prog = progname;
	log_journal = journal_stream();
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

static void
clean(char *p)
{
	for (size_t n = strlen(p), c; *p; p++, n--)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
		else if ((c = utf8_line_control(p, n)) != 0)
			memset(p, '?', c);	/* each octet a '?': still UTF-8 */
}

/* entry - the fields of one journal entry into f; their number */
static int
entry(int prio, const log_ids_t *ids, const char *line, char f[LOG_FIELDS][LOG_FIELD_MAX])
{
	int n = 0;

	snprintf(f[n++], LOG_FIELD_MAX, "MESSAGE=%s", line);
	snprintf(f[n++], LOG_FIELD_MAX, "PRIORITY=%d", prio & 7);
	snprintf(f[n++], LOG_FIELD_MAX, "SYSLOG_IDENTIFIER=%s", log_prog);
	if (ids && ids->event)
		snprintf(f[n++], LOG_FIELD_MAX, "TIEDOTE_EVENT_ID=%s", ids->event);
	if (ids && ids->issue > 0)
		snprintf(f[n++], LOG_FIELD_MAX, "TIEDOTE_ISSUE=%lld", ids->issue);
	if (ids && ids->recipient)
		snprintf(f[n++], LOG_FIELD_MAX, "TIEDOTE_RECIPIENT=%s", ids->recipient);
	for (int i = 3; i < n; i++)
		clean(f[i]);
	return n;
}

int
log_fields(int prio, const log_ids_t *ids, const char *line, char *out, size_t size)
{
	char f[LOG_FIELDS][LOG_FIELD_MAX];
	int n = entry(prio, ids, line, f);
	size_t len = 0;

	*out = '\0';
	for (int i = 0; i < n; i++) {
		int w = snprintf(out + len, size - len, "%s\n", f[i]);

		if (w < 0 || (size_t)w >= size - len)
			return -1;
		len += (size_t)w;
	}
	return n;
}

static void
emit(int prio, const log_ids_t *ids, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX], stamp[32];
	struct tm tm;
	time_t now;

	if (prio > log_level)
		return;
	vsnprintf(line, sizeof line, fmt, ap);
	utf8_scrub(line);	/* a line cut inside a character: journald keeps text */
	clean(line);
	if (log_journal) {
		char f[LOG_FIELDS][LOG_FIELD_MAX];
		struct iovec iov[LOG_FIELDS];
		int n = entry(prio, ids, line, f);

		for (int i = 0; i < n; i++) {
			iov[i].iov_base = f[i];
			iov[i].iov_len = strlen(f[i]);
		}
		if (sd_journal_sendv(iov, n) < 0)
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
log_vmsg(int prio, const char *fmt, va_list ap)
{
	emit(prio, NULL, fmt, ap);
}

void
log_ids(int prio, const log_ids_t *ids, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(prio, ids, fmt, ap);
	va_end(ap);
}

void
log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(prio, fmt, ap);
	va_end(ap);
}
