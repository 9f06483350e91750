/*
 * mime - build one outgoing message, with libetpan doing the MIME.
 *
 * mime_build() turns a mime_msg_t (all strings borrowed, UTF-8) into a
 * finished RFC 5322 message appended to a buf_t: CRLF line ends, lines
 * of at most 78 octets (up to 998 for a long URL, address or id), a final
 * CRLF, 7-bit unless an address is UTF-8.  libetpan builds the tree
 * (mailimf_fields, mailmime) and serialises it; bodies are
 * quoted-printable, text/plain alone or with text/html in a
 * multipart/alternative, and attachments base64 in a multipart/mixed
 * around that.  Parameters come out quoted (charset="UTF-8"): libetpan
 * quotes every parameter value.  Output depends only on the input and
 * the local time zone (TZ): boundaries come from the Message-ID, nothing
 * is random, so equal inputs give byte-identical messages.
 *
 * What happens to hostile input:
 *  - header text (subject, display names, the list-id phrase, extra
 *    header values) is C strings, so a NUL ends it; every run of other
 *    control characters (C0, DEL, C1 U+0080-U+009F; TAB, CR and LF
 *    included) becomes one space BEFORE encoding, so nothing can start a
 *    new header line.  Display names and the List-Id name are phrases,
 *    where white space only separates words: runs of spaces become one
 *    and none is kept at either end (extra header values are only
 *    trimmed).  Text that is not plain printable ASCII is RFC 2047
 *    encoded (B, UTF-8); display names with specials are quoted.
 *  - addresses (from, to, reply-to, unsubscribe mailto) must pass
 *    addr_check(); message_id, list-id and the unsubscribe URL must be
 *    well formed, extra header names must be tokens and must not repeat a
 *    header mime_build writes itself; mime_build fails otherwise.
 *  - bodies have explicit lengths and may hold any bytes of valid UTF-8:
 *    NUL bytes are dropped, bare LF and bare CR become CRLF.
 *  - strings that are not valid UTF-8 are refused.
 */
#ifndef TIEDOTE_MIME_H
#define TIEDOTE_MIME_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define MIME_FILENAME_MAX	200	/* octets in an attachment's name */
#define MIME_URL_MAX		900	/* octets in the unsubscribe URL */
#define MIME_HEADER_NAME_MAX	40	/* octets in an extra header's name */

typedef struct mime_attachment {
	const char *filename;		/* "verkostopaiva.ics"; NULL: none.
					 * Characters other than printable
					 * ASCII, and " \ /, become '_' */
	const char *content_type;	/* "text/calendar; charset=UTF-8;
					 * method=PUBLISH"; NULL:
					 * application/octet-stream */
	const char *data;
	size_t	 len;
	int	 base64;		/* data is already base64, exactly as
					 * mime_base64() writes it (checked) */
} mime_attachment_t;

typedef struct mime_msg {
	const char *from_name, *from_addr;	/* name may be NULL or "" */
	const char *to_name, *to_addr;
	const char *reply_to;		/* bare address; NULL: none */
	const char *subject;		/* NULL: no Subject field */
	int64_t	 date;			/* epoch seconds, shown in local time
					 * (TZ) with a numeric offset */
	const char *message_id;		/* "id-left@id-right", without <> */
	const char *list_id;		/* "Name <list.example>" or
					 * "list.example"; NULL: none */
	const char *unsubscribe_url;	/* http(s) URL; NULL: none.  https
					 * adds List-Unsubscribe-Post */
	const char *unsubscribe_mailto;	/* address; NULL: none */
	const char *text;		/* text/plain body, required */
	size_t	 text_len;		/* 0: strlen(text) */
	const char *html;		/* text/html body; NULL: text only */
	size_t	 html_len;		/* 0: strlen(html) */
	const mime_attachment_t *attachments;
	size_t	 nattachments;
	const char *const *extra_headers;	/* "Name: value", NULL-ended;
					 * may be NULL.  Values are trimmed */
} mime_msg_t;

/*
 * mime_build - append the whole message to out; 0, or -1 with one line
 * saying why appended to err (may be NULL), naming the field: a bad
 * address, message_id, list_id, URL, extra header or attachment type,
 * invalid UTF-8, a date before 1970 or after 9999, or out's ceiling hit.
 * On -1 out is as it was.  Reentrant: nothing is kept between calls.
 */
int	mime_build(const mime_msg_t *, buf_t *out, buf_t *err);

/*
 * mime_base64 - data as an attachment's body: base64 in lines of 76
 * octets, each ended by CRLF.  For an attachment that many messages carry:
 * encode it once, then give it with base64 set.  0, or -1 at out's ceiling.
 */
int	mime_base64(const void *data, size_t len, buf_t *out);

#endif
