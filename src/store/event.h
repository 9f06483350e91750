/*
 * event - validate and normalise one producer event (the edge of tiedote).
 *
 * event_parse() takes the raw bytes of a request, checks them against the
 * contract in queue/README.md and returns a new, normalised JSON object
 * (caller owns it: json_decref).  Normalised means: text fields are always
 * {"fi"|"sv"|"en": string} objects, CR LF in multi-line text is LF.
 * event_canonical() gives the canonical serialisation used for storage and
 * for "same content" comparison (sorted keys, compact).
 * On failure it returns NULL and fills the caller's event_err_t with the
 * contract's machine code, the JSON path of the field and a message that
 * names it.  No input makes it crash, allocate without bound or recurse
 * deeper than jansson's own parser limit.
 */
#ifndef TIEDOTE_EVENT_H
#define TIEDOTE_EVENT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "buf.h"

typedef struct event_err {
	const char *code;	/* static: "invalid_time", ... */
	char	field[128];	/* "" when not about one field */
	char	message[512];
} event_err_t;

json_t	*event_parse(const char *data, size_t len, size_t max_size,
	    event_err_t *);
/* event_canonical - new string, caller frees */
char	*event_canonical(json_t *);
/* event_canonical_buf - the same appended to out, without an allocation
 * once out has room (the intake's path); -1 at out's ceiling, out as it
 * was.  Byte for byte what json_dumps(ev, JSON_SORT_KEYS | JSON_COMPACT)
 * writes, so that bodies stored before compare equal; jansson's own
 * writer is slower than the SQLite commit it feeds (bench/intake) */
int	 event_canonical_buf(json_t *, buf_t *out);
/* event_text - the text of field in lang, falling back to fi, then to any
 * language; borrowed from ev, NULL when the field is absent */
const char *event_text(json_t *ev, const char *field, const char *lang);
/* event_text_lang - the language event_text() takes the text from
 * ("fi", "sv", "en"; static or borrowed from ev), NULL when the field is
 * absent: a page in lang marks the text with it when it differs */
const char *event_text_lang(json_t *ev, const char *field, const char *lang);
/* event_url_check - 0 if url follows the contract's url rule (the
 * "url" field; queue/README.md), else -1 with err filled */
int	 event_url_check(const char *url, event_err_t *err);
/* event_regions - the region mask of ev */
unsigned event_regions(json_t *ev);
/* event_id_check - 0 if id follows the contract's id rules (also the
 * rules of project ids), else -1 with err filled */
int	 event_id_check(const char *id, event_err_t *err);
/* event_at - the time ev is about (due, starts, send_at or published),
 * epoch seconds; 0 when it has none */
int64_t	 event_at(json_t *ev);

#endif
