/*
 * log - one line per event on stderr, in a form journald understands.
 *
 * Under systemd (JOURNAL_STREAM set) each line starts with the syslog
 * priority as "<N>", which journald turns into the entry's priority; on a
 * terminal or in a file each line carries a UTC timestamp, the program name,
 * pid and level word instead.  Messages are single lines: any CR, LF or
 * other control character in the formatted text is shown as '?', so input
 * quoted in a log line can never forge a second entry.
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

#define log_error(...)	log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
