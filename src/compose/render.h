/*
 * render - templates/ turned into a message's subject, text and HTML.
 *
 * render_open() loads the folder once: the shared templates at its top
 * (layout.html, bulletin.txt, subject-bulletin.txt, ...), and for each
 * language (fi, sv, en) the words in LANG/strings.json and any template of
 * the language's own in LANG/, which is used for that language instead of
 * the shared one of the same name.  It checks, and reports then with the
 * file (and line and column, or the key) rather than at send time: every
 * kind (bulletin, reminder, announcement, confirm, welcome) has .html,
 * .txt and a subject template in every language; the templates and the
 * strings parse; every language has every key another has; every
 * {{t.x}} and {{underline.x}} a template names exists.  A language with
 * no strings.json has no words, which is right only when no language has.
 *
 * render_message() renders one kind in one language from a JSON data
 * object (docs/templates.md), not changed: the templates see it with t,
 * the language's words (a string's {{name}} tags filled from the data,
 * escaped in HTML, not in text), and in text underline, a run of "=" as
 * wide as each string without tags.  The subject comes out as one line
 * (any line breaks and runs of spaces become one space), the text wrapped
 * at 76 columns, the HTML as written.  The caller's buffers are appended
 * to; the renderer owns the templates.
 *
 * A render_t is immutable once open and counted: threads may render from
 * one at once (each render has its own scratch buffer), render_hold()
 * takes one more reference, render_close() gives one back and the last
 * frees it.  One set is the process's current one: render_publish() makes
 * r current (taking its own reference; the one before is let go) and
 * moves the epoch on; render_current(&epoch) returns a new reference to
 * the current set and sets epoch when it is not the one the caller last
 * took (NULL when it is, or none was published).  tiedoted publishes at
 * start and at each SIGHUP that loads cleanly; every message context
 * (message.h) takes the new set at its next message, so a message is
 * rendered from one set, start to end, and a set is freed when the last
 * message using it is done.
 */
#ifndef TIEDOTE_RENDER_H
#define TIEDOTE_RENDER_H

#include <jansson.h>

#include "buf.h"

typedef struct render render_t;

render_t *render_open(const char *dir, buf_t *err);
void	 render_close(render_t *);
render_t *render_hold(render_t *);
void	 render_publish(render_t *);
render_t *render_current(unsigned *epoch);
int	 render_message(render_t *, const char *kind, const char *lang, json_t *data,
	    buf_t *subject, buf_t *text, buf_t *html, buf_t *err);
/* render_raw - the templates of render_message() alone, appended to the
 * buffers as they come out: the subject not yet made one line, the text
 * not yet wrapped; render_message() is render_raw(), then
 * render_one_line() on the subject and wrap_text() on the text */
int	 render_raw(render_t *, const char *kind, const char *lang, json_t *data,
	    buf_t *subject, buf_t *text, buf_t *html, buf_t *err);
/* render_page - the web page template name ("page-unsubscribe.html": the
 * language's own, else the shared one) in lang, HTML only, appended to
 * html; t as for a message's HTML */
int	 render_page(render_t *, const char *name, const char *lang, json_t *data,
	    buf_t *html, buf_t *err);
/* render_one_line - s as one line, appended to out: runs of white space
 * become one space, none at either end */
int	 render_one_line(buf_t *out, const char *s, size_t len);

#endif
