/*
 * util - allocation wrappers and small string helpers.
 *
 * The x-wrappers never return NULL: running out of memory is fatal, so that
 * error paths elsewhere are about real failures (bad input, I/O, network),
 * as with Postfix's mymalloc.  fatal() logs one line and exits 75
 * (EX_TEMPFAIL): a supervisor restarts us and no durable state is lost
 * because nothing is acknowledged before it is committed.
 */
#ifndef TIEDOTE_UTIL_H
#define TIEDOTE_UTIL_H

#include <stddef.h>
#include <stdlib.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
void	 fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/* utf8_valid - 1 when s[0..n) is well-formed UTF-8 (no overlongs, no
 * surrogates, nothing past U+10FFFF) */
int	 utf8_valid(const char *, size_t);
/* utf8_scrub - drop from the NUL-terminated s, in place, every octet that
 * is not part of a well-formed character: what a cut by bytes (%.Ns,
 * snprintf into a fixed buffer) leaves of a character, before the text
 * goes where only UTF-8 may (jansson refuses the rest) */
void	 utf8_scrub(char *);
/* utf8_bidi_control - the code point when s[0..n) starts with one of the
 * bidirectional embedding, override or isolate controls (U+202A-U+202E,
 * U+2066-U+2069: "Trojan Source" text that shows other than it reads),
 * else 0.  The marks U+200E, U+200F and U+061C are not among them */
unsigned utf8_bidi_control(const char *, size_t);
/* utf8_line_control - the length of the C1 control (U+0080-U+009F: NEL
 * among them) or line or paragraph separator (U+2028, U+2029) s[0..n)
 * starts with, else 0: characters that break a line or drive a terminal
 * as the C0 controls do */
size_t	 utf8_line_control(const char *, size_t);

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#endif
