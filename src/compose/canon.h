/*
 * canon - DKIM's "relaxed" canonicalisations (RFC 6376 3.4.2 and 3.4.4),
 * the text a signature's hashes are taken over.
 *
 * canon_header() appends one header field, "Name : value" as it stands in
 * the message (continuation lines included, its last CRLF not), in the
 * relaxed form: the name in lower case, the field unfolded, every run of
 * spaces and tabs one space, none around the colon nor at the value's
 * end.  No CRLF is added: the caller ends each field hashed with one, the
 * DKIM-Signature field itself without (RFC 6376 3.7).
 *
 * canon_body() appends the relaxed body: in each CRLF-ended line every
 * run of spaces and tabs one space and none at the line's end, the empty
 * lines at the end dropped, and a CRLF after a last line that has none; an
 * empty body stays empty.  A CR or LF that is not part of a CRLF is an
 * ordinary byte (sign.c gives it only its own messages, CRLF throughout).
 *
 * Both return 0, or -1 when out's ceiling is reached (out then holds a
 * part: the caller discards it).  Pure functions of their input: any
 * thread.  Only relaxed: tiedote signs c=relaxed/relaxed and verifies
 * nothing (sign.h).
 */
#ifndef TIEDOTE_CANON_H
#define TIEDOTE_CANON_H

#include <stddef.h>

#include "buf.h"

int	canon_header(const char *field, size_t n, buf_t *out);
int	canon_body(const char *body, size_t n, buf_t *out);

#endif
