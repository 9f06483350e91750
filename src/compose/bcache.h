/*
 * bcache - a bulletin rendered once per (issue, language, regions) and
 * made personal per recipient by substitution.
 *
 * What the templates make of a recipient's copy depends on the issue,
 * the language, the regions and three personal values: the address, the
 * name and the unsubscribe link.  The sender renders one copy per key
 * with a marker in place of each personal value (bcache_marker()) and
 * stores it (bcache_put()); every recipient with that key then gets the
 * stored copy with their values put in place of the markers
 * (bcache_fill()): the subject made one line after that, and each line of
 * the text that held a marker wrapped after that (wrapping is line by
 * line, so the other lines are stored wrapped).
 *
 * This gives what render_message() gives the recipient exactly when the
 * values reach the output as they are, wherever a marker does: values
 * with none of the characters HTML escaping changes and no control
 * characters (bcache_plain()), and the same ones empty (a section tests
 * for that; empty values are rendered as they are and are part of the
 * key).  Markers hold a random part, so no item text can contain one.
 * The cache holds the entries of one issue, at most BCACHE_MAX of them,
 * and forgets them all when another issue comes or it is full.
 */
#ifndef TIEDOTE_BCACHE_H
#define TIEDOTE_BCACHE_H

#include <stdint.h>

#include "buf.h"

#define BCACHE_MAX	64

enum { BCACHE_EMAIL, BCACHE_NAME, BCACHE_UNSUBSCRIBE, BCACHE_NVALUES };

typedef struct bcache bcache_t;
typedef struct bcache_entry bcache_entry_t;

typedef struct bcache_key {
	uint64_t issue;		/* compose_issue_serial() */
	char	 lang[8];
	unsigned regions;
	unsigned empty;		/* bit k: value k is "" */
} bcache_key_t;

bcache_t *bcache_new(void);
void	 bcache_free(bcache_t *);
/* bcache_plain - 1 when the value can stand where its marker stood */
int	 bcache_plain(const char *value);
/* bcache_marker - what to render in place of value k (borrowed) */
const char *bcache_marker(const bcache_t *, int k);
/* bcache_get - the entry for key, or NULL; borrowed until the next put */
const bcache_entry_t *bcache_get(const bcache_t *, const bcache_key_t *);
/* bcache_put - the raw render_raw() output for key, with markers, stored
 * for bcache_fill(); NULL when it does not fit the ceiling of text */
const bcache_entry_t *bcache_put(bcache_t *, const bcache_key_t *, const buf_t *subject,
	    const buf_t *text, const buf_t *html);
/* bcache_fill - the recipient's subject, text and HTML appended to the
 * buffers, as render_message() would append them; -1 when a buffer's
 * ceiling is hit (the buffers may hold part of it then) */
int	 bcache_fill(bcache_t *, const bcache_entry_t *, const char *const values[BCACHE_NVALUES],
	    buf_t *subject, buf_t *text, buf_t *html);

#endif
