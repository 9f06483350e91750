/*
 * log - one line per event on stderr, in a form journald understands.
 *
 * Under systemd (JOURNAL_STREAM set) each line starts with the syslog
 * priority as "<N>", which journald turns into the entry's priority; on a
 * terminal or in a file each line carries a UTC timestamp, the program name,
 * pid and level word instead.  Messages are single lines: any CR, LF or
 * other control character in the formatted text is shown as '?', so input
 * quoted in a log line can never forge a second entry.
 *
 * log_ids() is log_msg() for a line about an event, an issue or a
 * recipient.  When stderr is the journal's stream (JOURNAL_STREAM names
 * stderr's device and inode, as systemd sets it), every line goes to
 * journald natively with sd_journal_sendv(): MESSAGE, PRIORITY,
 * SYSLOG_IDENTIFIER, and for log_ids() the fields TIEDOTE_EVENT_ID,
 * TIEDOTE_ISSUE and TIEDOTE_RECIPIENT of the ids it is given, so
 * `journalctl TIEDOTE_ISSUE=12` finds an issue's lines; should that fail,
 * the "<N>" line goes to stderr.  Otherwise the lines are as above, the ids
 * only in the text.  A recipient is given as a log may show it
 * (addr_redact(): no token); ids pass the same control-character rule.
 * log_fields() is the list of fields one entry gets ("KEY=value" lines
 * into out), for tests.  Threads: a line is one write (stderr) or one
 * datagram (journald), so threads' lines do not mix.
 */
#ifndef TIEDOTE_LOG_H
#define TIEDOTE_LOG_H

#include <stdarg.h>
#include <syslog.h>

void	log_init(const char *progname);
void	log_set_level(int prio);
int	log_level_parse(const char *);	/* -1 if unknown */
void	log_msg(int prio, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_vmsg(int prio, const char *, va_list);

typedef struct log_ids {
	const char *event;	/* an event's id, or NULL */
	long long issue;	/* an issue's id, or 0 */
	const char *recipient;	/* an address, redacted (addr.h), or NULL */
} log_ids_t;

void	log_ids(int prio, const log_ids_t *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
int	log_fields(int prio, const log_ids_t *, const char *line, char *out, size_t size);

#define log_error(...)	log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
