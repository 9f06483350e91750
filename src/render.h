/*
 * render - templates/ turned into a message's subject, text and HTML.
 *
 * render_open() loads every template under the directory once and checks
 * that each language (fi, sv, en) has every message kind (bulletin,
 * reminder, announcement, confirm, welcome) as .html, .txt and a subject
 * template; a missing file or a template error is reported then, with
 * file, line and column, never at send time.  render_message() renders one
 * kind in one language from a JSON data object (docs/templates.md): the
 * subject comes out as one line (any line breaks and runs of spaces become
 * one space), the text wrapped at 76 columns, the HTML as written.  The
 * caller's buffers are appended to; the renderer owns the templates.
 */
#ifndef TIEDOTE_RENDER_H
#define TIEDOTE_RENDER_H

#include <jansson.h>

#include "buf.h"

typedef struct render render_t;

render_t *render_open(const char *dir, buf_t *err);
void	 render_close(render_t *);
int	 render_message(render_t *, const char *kind, const char *lang, json_t *data,
	    buf_t *subject, buf_t *text, buf_t *html, buf_t *err);
/* render_raw - the templates of render_message() alone, appended to the
 * buffers as they come out: the subject not yet made one line, the text
 * not yet wrapped; render_message() is render_raw(), then
 * render_one_line() on the subject and wrap_text() on the text */
int	 render_raw(render_t *, const char *kind, const char *lang, json_t *data,
	    buf_t *subject, buf_t *text, buf_t *html, buf_t *err);
/* render_one_line - s as one line, appended to out: runs of white space
 * become one space, none at either end */
int	 render_one_line(buf_t *out, const char *s, size_t len);

#endif
