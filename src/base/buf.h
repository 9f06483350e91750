/*
 * buf - the one growable byte buffer, with a ceiling.
 *
 * Every piece of text tiedote builds (JSON replies, SQL-bound strings,
 * rendered templates, MIME) goes through buf_t.  A buffer is created with a
 * maximum size; an append that would cross it fails with -1 and leaves the
 * buffer as it was, so hostile input fails cleanly instead of eating memory
 * (curl's dynbuf).  Allocation failure is fatal (see util.h), so -1 means
 * "over the ceiling" and nothing else.
 *
 * The contents are always NUL-terminated; buf_str() never returns NULL.
 * The buffer owns its memory: buf_free() releases it, buf_take() hands it
 * to the caller (who then frees it with free()).
 *
 * An append's result must be used: buf_add, buf_adds, buf_addc,
 * buf_printf and buf_vprintf are warn_unused_result, so code
 * that would go on with a truncated message, protocol line or SQL text
 * does not compile (-Werror).  GCC does not accept a (void) cast as use:
 * test the result.  Text for people only (the err buffers of every
 * module, log lines) goes through buf_note()/buf_notef(), which append
 * what fits and return nothing: a diagnostic cut at its ceiling is still
 * a diagnostic.  Never use them for data.
 */
#ifndef TIEDOTE_BUF_H
#define TIEDOTE_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct buf {
	char   *data;
	size_t  len;
	size_t  cap;
	size_t  max;
} buf_t;

#define BUF_MAX_DEFAULT ((size_t)64 << 20)

void	 buf_init(buf_t *, size_t max);
void	 buf_free(buf_t *);
void	 buf_reset(buf_t *);
void	 buf_truncate(buf_t *, size_t len);
/* BUF_CHECKED - an append's result must be used: ignoring a full buffer
 * would send a message cut short */
#define BUF_CHECKED __attribute__((warn_unused_result))

/* buf_reserve - room for n more bytes, so that appends up to that do not
 * reallocate; -1 (nothing changed) when that would cross the ceiling.  A
 * hint: its result may be ignored, the appends still check theirs */
int	 buf_reserve(buf_t *, size_t n);
int	 buf_add(buf_t *, const void *, size_t) BUF_CHECKED;
int	 buf_adds(buf_t *, const char *) BUF_CHECKED;
int	 buf_addc(buf_t *, char) BUF_CHECKED;
int	 buf_printf(buf_t *, const char *, ...)
	    __attribute__((format(printf, 2, 3))) BUF_CHECKED;
int	 buf_vprintf(buf_t *, const char *, va_list) BUF_CHECKED;
/* buf_addesc - s[0..n) as text safe for a terminal or a log line: valid
 * UTF-8 printable text as it is; backslash, TAB, LF, CR as \\ \t \n \r;
 * other C0 controls, DEL and each byte of invalid UTF-8 as \xNN; C1
 * controls (U+0080-U+009F), the line and paragraph separators and the
 * bidi embeddings, overrides and isolates as \uNNNN.  -1 (buffer as it
 * was) at the ceiling; at most 4n bytes are added. */
int	 buf_addesc(buf_t *, const char *s, size_t n) BUF_CHECKED;
/* buf_note, buf_notef - a diagnostic for people, appended as far as it
 * fits under the ceiling (cut at a character boundary); never fails */
void	 buf_note(buf_t *, const char *);
void	 buf_notef(buf_t *, const char *, ...) __attribute__((format(printf, 2, 3)));
void	 buf_vnotef(buf_t *, const char *, va_list);
const char *buf_str(const buf_t *);
char	*buf_take(buf_t *);

#endif
