/*
 * mime - one outgoing message built and written by libetpan; contract in
 * mime.h.
 *
 * libetpan owns the structure: the header is a mailimf_fields list, the
 * body a mailmime tree, and mailmime_write_driver() serialises both
 * straight into the caller's buf_t through w_buf().  What libetpan 1.9.4
 * does not do, or does wrongly, is done here before it sees the data:
 *
 *  - RFC 2047.  Its writers put display names, Subject and optional fields
 *    out as given (8-bit included) and fold unstructured values at spaces,
 *    collapsing and trimming runs of them.  So each such value reaches it
 *    either as single-spaced printable ASCII that it cannot change, or as a
 *    row of encoded-words sized here so that every folded line stays
 *    within 78 columns.
 *  - Quoted-printable.  Its encoder writes a space that ends a line twice
 *    ("a \n" becomes "a =20", decoded "a  "), emits a NUL and loses a byte
 *    after "space, bare CR", and leaves white space at the end of a body
 *    unprotected.  qp_encode() does the job; libetpan gets the encoded text
 *    (dt_encoded = 1) and copies it.  Its base64 encoder is right and
 *    writes the attachments.
 *  - Boundaries.  It would make random ones (mailmime_generate_boundary());
 *    we create multiparts with our own boundary parameter already set.
 *
 * Boundaries are "=_td_" + 16 hex digits of FNV-1a over the Message-ID +
 * "_" + one digit per multipart.  No part can contain one: QP output has
 * '=' only in "=XX" with hex digits or in the soft break "=CRLF" (and
 * escapes '_' anyway); base64 has no '_' and '=' only as padding before
 * '=' or CRLF; header lines of parts start with a field name or, folded,
 * with a space.  The boundaries of one message have equal length, so none
 * is a prefix of another.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libetpan/libetpan.h>
#include <sodium.h>
#include <libetpan/mailmime_write_generic.h>

#include "addr.h"
#include "mime.h"
#include "util.h"

/* libetpan's header writer folds before a word that would reach column
 * 72, and continuation lines start with one space: so a word may take 71
 * columns less where it starts, and 70 on a line of its own */
#define FOLD_COL	72
#define EW_MAX		(FOLD_COL - 2)	/* RFC 2047 allows 75 */
#define EW_MIN		20	/* room for at least one 4-octet character */
#define QP_LINE		76	/* RFC 2045: the soft break's '=' included */
#define QP_PLAIN(c)	((unsigned char)((c) - 0x21) < 0x5e && (c) != '=')

/* nn - libetpan reports running out of memory with NULL; that is fatal
 * here as everywhere (util.h) */
static void *
nn(void *p)
{
	if (p == NULL)
		fatal("mime: out of memory");
	return p;
}

static void
ok_or_die(int r)
{
	if (r != MAILIMF_NO_ERROR)
		fatal("mime: libetpan error %d", r);
}

/*
 * the sink libetpan writes through; full is sticky because some of its
 * writers ignore a failed write.  The encoded bodies do not go through
 * libetpan: it would copy them line by line, looking at every byte, and
 * give back exactly what it got (QP lines are CRLF-ended and far below
 * its 998-octet cut).  Each body part gets a one-octet stand-in instead,
 * which libetpan hands to the sink in one write, by address; the sink
 * encodes the body straight into the output in its place.
 */
#define SINK_RAW 8	/* pre-encoded attachments written the same way */

struct sink {
	buf_t	*out;
	int	 full;
	const char *stand_in[2];
	const char *body[2];	/* ... stands for the encoding of this */
	size_t	 len[2];
	int	 close[2];	/* qp_encode()'s close */
	const char *raw[SINK_RAW];	/* stand_in_raw + i stands for this */
	size_t	 raw_len[SINK_RAW];
};

static const char stand_in_text[] = "T", stand_in_html[] = "H";
static const char stand_in_raw[SINK_RAW] = "01234567";

static int qp_encode(buf_t *, const char *, size_t, int);

static int
w_buf(void *arg, const char *p, size_t n)
{
	struct sink *w = arg;

	for (int i = 0; i < 2; i++)
		if (p == w->stand_in[i] && n == 1) {
			if (w->full || qp_encode(w->out, w->body[i], w->len[i], w->close[i]) < 0) {
				w->full = 1;
				return 0;
			}
			return 1;
		}
	if (n == 1 && p >= stand_in_raw && p < stand_in_raw + SINK_RAW) {
		if (w->full || buf_add(w->out, w->raw[p - stand_in_raw],
		    w->raw_len[p - stand_in_raw]) < 0) {
			w->full = 1;
			return 0;
		}
		return 1;
	}
	if (w->full || buf_add(w->out, p, n) < 0) {
		w->full = 1;
		return 0;
	}
	return 1;
}

static void
fail(buf_t *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
fail(buf_t *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	buf_vnotef(err, fmt, ap);
	va_end(ap);
}

/* ctl_len - octets of the control character at s (C0, DEL, or C1 in
 * UTF-8), 0 if there is none */
static size_t
ctl_len(const unsigned char *s, size_t n)
{
	if (s[0] < 0x20 || s[0] == 0x7f)
		return 1;
	if (s[0] == 0xc2 && n > 1 && s[1] >= 0x80 && s[1] <= 0x9f)
		return 2;
	return 0;
}

/* clean - s with each run of control characters as one space, appended to
 * dst; -1 when s is not UTF-8 (*bad set) or dst is full */
static int
clean(buf_t *dst, const char *s, int *bad)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, start, k;

	*bad = !utf8_valid(s, n);
	if (*bad)
		return -1;
	while (i < n) {
		if (ctl_len(p + i, n - i)) {
			while (i < n && (k = ctl_len(p + i, n - i)) != 0)
				i += k;
			if (buf_addc(dst, ' ') < 0)
				return -1;
			continue;
		}
		for (start = i; i < n && ctl_len(p + i, n - i) == 0; i++)
			;
		if (buf_add(dst, s + start, i - start) < 0)
			return -1;
	}
	return 0;
}

/* squeeze - b with runs of spaces as one and none at either end: in a
 * phrase (display name, List-Id name) white space is only a separator,
 * and readers such as Python's email package collapse it anyway */
static void
squeeze(buf_t *b)
{
	size_t i, k = 0;

	for (i = 0; i < b->len; i++)
		if (b->data[i] != ' ' || (k > 0 && b->data[k - 1] != ' '))
			b->data[k++] = b->data[i];
	if (k > 0 && b->data[k - 1] == ' ')
		k--;
	buf_truncate(b, k);
}

/* is_atext - RFC 5322 atext, ASCII only */
static int
is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* dot_atom - RFC 5322 dot-atom-text */
static int
dot_atom(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] == '.' ? s[i + 1] == '.' : !is_atext((unsigned char)s[i]))
			return 0;
	return 1;
}

/*
 * fits_plain - 1 when libetpan can write s as it is and a reader gets s
 * back: printable ASCII (atext and spaces only, if atext_only) without
 * "=?", which a reader would take for an encoded-word; single spaces
 * between words and none at either end, because libetpan's folding
 * collapses and trims them; the first word within `first` columns and
 * the others within 70, so that no folded line reaches 72.
 */
static int
fits_plain(const char *s, size_t n, size_t first, int atext_only)
{
	size_t i, word = 0, limit = first;

	if (n == 0 || s[0] == ' ' || s[n - 1] == ' ')
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == ' ') {
			if (i + 1 < n && s[i + 1] == ' ')
				return 0;
			word = 0;
			limit = FOLD_COL - 2;
			continue;
		}
		if (c < 0x20 || c > 0x7e || (atext_only && !is_atext(c)))
			return 0;
		if (c == '=' && i + 1 < n && s[i + 1] == '?')
			return 0;
		if (++word > limit)
			return 0;
	}
	return 1;
}

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/*
 * ew_add - s[0..n) as RFC 2047 encoded-words (B, UTF-8) separated by
 * single spaces, which libetpan folds at and readers drop.  The first
 * word fits in `room` columns, the others in EW_MAX (a folded line of
 * 71; the RFC allows 75); each ends on a character boundary, as section 5
 * asks, so no word holds half a character.
 */
static int
ew_add(buf_t *dst, const char *s, size_t n, size_t room)
{
	const unsigned char *p = (const unsigned char *)s;
	char w[EW_MAX + 1];
	size_t i = 0, take, max, j, k;

	while (i < n) {
		if (room < EW_MIN)
			room = EW_MIN;
		if (room > EW_MAX)
			room = EW_MAX;
		max = (room - 12) / 4 * 3;
		take = n - i < max ? n - i : max;
		while (i + take < n && (p[i + take] & 0xc0) == 0x80)
			take--;
		/* end before a space if one is near, so that the next word
		 * starts with it: a reader that wrongly keeps the white space
		 * between encoded-words (Python before gh-128110 does in
		 * display names) shows two spaces, not one inside a word */
		for (j = take; i + take < n && j > take / 2; j--)
			if (p[i + j] == ' ') {
				take = j;
				break;
			}
		memcpy(w, "=?UTF-8?B?", 10);
		k = 10;
		for (j = 0; j < take; j += 3) {
			unsigned a = p[i + j];
			unsigned b = j + 1 < take ? p[i + j + 1] : 0;
			unsigned c = j + 2 < take ? p[i + j + 2] : 0;

			w[k++] = b64[a >> 2];
			w[k++] = b64[((a & 3) << 4) | (b >> 4)];
			w[k++] = j + 1 < take ? b64[((b & 15) << 2) | (c >> 6)] : '=';
			w[k++] = j + 2 < take ? b64[c & 63] : '=';
		}
		w[k++] = '?';
		w[k++] = '=';
		if ((i && buf_addc(dst, ' ') < 0) || buf_add(dst, w, k) < 0)
			return -1;
		i += take;
		room = EW_MAX;
	}
	return 0;
}

/*
 * text_value - the unstructured value s (clean) for a field whose value
 * starts at column col: as it is when that is safe, else encoded-words
 */
static int
text_value(buf_t *dst, const char *s, size_t n, size_t col)
{
	if (n == 0 || fits_plain(s, n, FOLD_COL - 1 - col, 0))
		return buf_add(dst, s, n);
	return ew_add(dst, s, n, FOLD_COL - 1 - col);
}

/*
 * name_value - a display name (clean, non-empty) as libetpan's mailbox
 * writer wants it at column col.  It writes atext-only names as atoms
 * (through the folding writer) and quotes any other name exactly as
 * given, escaping " and \; a quoted name must fit on the line, since it
 * is never folded.  Everything else becomes encoded-words, which it sees
 * as atoms.
 */
static int
name_value(buf_t *dst, const char *s, size_t n, size_t col)
{
	size_t i, esc = 0, atext = 1, ascii = 1;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c > 0x7e || (c == '=' && i + 1 < n && s[i + 1] == '?'))
			ascii = 0;
		if (c != ' ' && !is_atext(c))
			atext = 0;
		if (c == '"' || c == '\\')
			esc++;
	}
	if (atext && fits_plain(s, n, FOLD_COL - 1 - col, 1))
		return buf_add(dst, s, n);
	if (!atext && ascii && col + n + esc + 2 <= FOLD_COL - 1)
		return buf_add(dst, s, n);
	return ew_add(dst, s, n, FOLD_COL - 1 - col);
}

/* what each octet is to qp_encode(): escaped, kept as it is (QP_PLAIN),
 * a blank (kept unless a line break or the end follows), a line break,
 * NUL (dropped) */
enum { Q_ESC, Q_PLAIN, Q_BLANK, Q_EOL, Q_NUL };

static const unsigned char qp_class[256] = {
	[0] = Q_NUL, ['\t'] = Q_BLANK, ['\n'] = Q_EOL, ['\r'] = Q_EOL, [' '] = Q_BLANK,
	[0x21 ... 0x3c] = Q_PLAIN, [0x3e ... 0x7e] = Q_PLAIN,
};

/* qp_plain8 - 1 when the eight octets at p all stand as they are inside a
 * line: printable ASCII or space, none '=', and the last not a space (so
 * every space has a printable octet after it).  Word-at-a-time tests
 * (each exact as a yes or no): an octet below 0x20, above 0x7e, equal
 * to '=' */
static inline int
qp_plain8(const unsigned char *p)
{
	const uint64_t ones = UINT64_C(0x0101010101010101), high = ones * 0x80;
	uint64_t w, eq;

	if (p[7] == ' ')
		return 0;
	memcpy(&w, p, 8);
	eq = w ^ (ones * '=');
	return ((((w - ones * 0x20) & ~w) | (w + ones) | w | ((eq - ones) & ~eq)) & high) == 0;
}

/*
 * qp_encode - s[0..n) as quoted-printable text (RFC 2045 6.7) appended to
 * dst.  NUL bytes are dropped; LF, CR and CRLF all become the line break
 * CRLF.  Literal: printable ASCII but '=', and space or tab unless a line
 * break or the end follows (readers strip trailing white space); '.' and
 * 'F' at the start of a line are escaped too, for relays that still care
 * about ".\r\n" and "From ".  Lines have at most 76 characters.  When
 * close is set and the text does not end with a line break, a final soft
 * break makes the output end in CRLF without adding one to the text.
 */
static int
qp_encode(buf_t *dst, const char *s, size_t n, int close)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s;
	char chunk[8192];
	size_t i, j, m, lim, k = 0, col = 0;
	unsigned char c;

	for (i = 0; i < n; i++) {
		/* one round writes at most a soft break and a line's worth */
		if (k + QP_LINE + 8 > sizeof chunk) {
			if (buf_add(dst, chunk, k) < 0)
				return -1;
			k = 0;
		}
		c = p[i];
		switch (qp_class[c]) {
		case Q_NUL:
			continue;
		case Q_EOL:
			if (c == '\r' && i + 1 < n && p[i + 1] == '\n')
				i++;
			chunk[k++] = '\r';
			chunk[k++] = '\n';
			col = 0;
			continue;
		case Q_BLANK:
			for (j = i + 1; j < n && p[j] == '\0'; j++)
				;
			if (j == n || p[j] == '\r' || p[j] == '\n')
				goto escape;
			break;
		case Q_ESC:
			goto escape;
		}
		/* literal */
		if (col == QP_LINE - 1) {
			chunk[k++] = '=';
			chunk[k++] = '\r';
			chunk[k++] = '\n';
			col = 0;
		}
		if (col == 0 && (c == '.' || c == 'F'))
			goto escape;
		/* it and the octets after it that stand as they are and fit the
		 * line, in one copy: eight at a time while qp_plain8() takes
		 * them, then one at a time, a blank while a printable octet
		 * follows it (else the switch above decides) */
		lim = QP_LINE - 1 - col < n - i ? QP_LINE - 1 - col : n - i;
		for (m = 1; m + 8 <= lim && qp_plain8(p + i + m); m += 8)
			;
		for (; m < lim; m++) {
			unsigned char q = qp_class[p[i + m]];

			if (q != Q_PLAIN && (q != Q_BLANK || i + m + 1 >= n ||
			    qp_class[p[i + m + 1]] > Q_BLANK))
				break;
		}
		memcpy(chunk + k, p + i, m);
		k += m;
		col += m;
		i += m - 1;
		continue;
escape:
		if (col + 3 > QP_LINE - 1) {
			chunk[k++] = '=';
			chunk[k++] = '\r';
			chunk[k++] = '\n';
			col = 0;
		}
		chunk[k++] = '=';
		chunk[k++] = hex[c >> 4];
		chunk[k++] = hex[c & 15];
		col += 3;
	}
	if (close && col > 0) {
		chunk[k++] = '=';
		chunk[k++] = '\r';
		chunk[k++] = '\n';
	}
	return buf_add(dst, chunk, k);
}

/* url_ok - an http or https URL of RFC 3986 characters, nothing that could
 * end the <...> around it; 2 for https, 1 for http, 0 when bad */
static int
url_ok(const char *u)
{
	size_t n = strlen(u), i, start;
	int kind;

	if (strncasecmp(u, "https://", 8) == 0)
		kind = 2, start = 8;
	else if (strncasecmp(u, "http://", 7) == 0)
		kind = 1, start = 7;
	else
		return 0;
	if (n == start || n > MIME_URL_MAX)
		return 0;
	for (i = start; i < n; i++) {
		unsigned char c = (unsigned char)u[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-._~:/?#[]@!$&'()*+,;=%", c)))
			return 0;
	}
	return kind;
}

/* mailto_add - "mailto:" and the address, percent-encoding what RFC 6068
 * does not allow there as it is */
static int
mailto_add(buf_t *dst, const char *a)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)a;
	int rc = buf_adds(dst, "mailto:");

	for (; rc == 0 && *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~!$'*+=@", *p))
			rc = buf_addc(dst, (char)*p);
		else
			rc = buf_printf(dst, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
	}
	return rc;
}

/* the fields mime_build writes itself; an extra header may not repeat one */
static const char *const own_fields[] = {
	"Date", "From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Message-ID",
	"Subject", "MIME-Version", "List-Id", "List-Unsubscribe",
	"List-Unsubscribe-Post",
};

/* header_name_bad - what is wrong with an extra field's name, or NULL for
 * a token of letters, digits and '-' that is no field of ours */
static const char *
header_name_bad(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return "empty field name";
	if (n > MIME_HEADER_NAME_MAX)
		return "field name too long";
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return "field name is not letters, digits and '-'";
	if (n >= 8 && strncasecmp(s, "Content-", 8) == 0)
		return "Content-* fields are mime_build's own";
	for (i = 0; i < NELEM(own_fields); i++)
		if (strlen(own_fields[i]) == n && strncasecmp(s, own_fields[i], n) == 0)
			return "mime_build writes this field itself";
	return NULL;
}

/* fnv1a - the 64-bit FNV-1a hash; only needs to spread Message-IDs */
static uint64_t
fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

/* mailbox - one name and address, strings copied for libetpan */
static struct mailimf_mailbox *
mailbox(const buf_t *name, const char *addr)
{
	return nn(mailimf_mailbox_new(name && name->len ? xstrdup(buf_str(name)) : NULL,
	    xstrdup(addr)));
}

static struct mailimf_address_list *
address_list(const buf_t *name, const char *addr)
{
	struct mailimf_address_list *l = nn(mailimf_address_list_new_empty());
	struct mailimf_address *a = nn(mailimf_address_new(MAILIMF_ADDRESS_MAILBOX,
	    mailbox(name, addr), NULL));

	ok_or_die(mailimf_address_list_add(l, a));
	return l;
}

static void
add_custom(struct mailimf_fields *f, const char *name, const char *value)
{
	ok_or_die(mailimf_fields_add(f,
	    nn(mailimf_field_new_custom(xstrdup(name), xstrdup(value)))));
}

/* content - text/sub or multipart/sub with one parameter, made without
 * libetpan's parser: the parts every message has are made this way, as
 * parsing their types was a twentieth of building a message */
static struct mailmime_content *
content(int multi, const char *sub, const char *param, const char *value)
{
	struct mailmime_type *t = multi ?
	    nn(mailmime_type_new(MAILMIME_TYPE_COMPOSITE_TYPE, NULL,
	    nn(mailmime_composite_type_new(MAILMIME_COMPOSITE_TYPE_MULTIPART, NULL)))) :
	    nn(mailmime_type_new(MAILMIME_TYPE_DISCRETE_TYPE,
	    nn(mailmime_discrete_type_new(MAILMIME_DISCRETE_TYPE_TEXT, NULL)), NULL));
	clist *params = nn(clist_new());

	ok_or_die(clist_append(params, nn(mailmime_param_new_with_data((char *)param,
	    (char *)value))));
	return nn(mailmime_content_new(t, xstrdup(sub), params));
}

/* leaf - one part of type ct (taken); data is borrowed and must outlive
 * the write.  A non-NULL filename makes it an attachment ("" for one
 * without a name) */
static struct mailmime *
leaf(struct mailmime_content *ct, int mechanism, int encoded, const char *data, size_t len,
    const char *filename)
{
	struct mailmime_fields *fl = filename ?
	    nn(mailmime_fields_new_filename(MAILMIME_DISPOSITION_TYPE_ATTACHMENT,
	    *filename ? xstrdup(filename) : NULL, mechanism)) :
	    nn(mailmime_fields_new_encoding(mechanism));
	struct mailmime_data *d = nn(mailmime_data_new(MAILMIME_DATA_TEXT,
	    mechanism, encoded, data, len, NULL));

	return nn(mailmime_new(MAILMIME_SINGLE, NULL, 0, fl, ct, d,
	    NULL, NULL, NULL, NULL, NULL));
}

/* multipart - an empty multipart/sub with our boundary, so that libetpan
 * never draws a random one */
static struct mailmime *
multipart(const char *sub, uint64_t h, unsigned nth)
{
	char boundary[64];

	snprintf(boundary, sizeof boundary, "=_td_%016" PRIx64 "_%u", h, nth);
	return nn(mailmime_new(MAILMIME_MULTIPLE, NULL, 0,
	    nn(mailmime_fields_new_empty()), content(1, sub, "boundary", boundary),
	    NULL, NULL, NULL, nn(clist_new()),
	    NULL, NULL));
}

static void
add_part(struct mailmime *parent, struct mailmime *child)
{
	ok_or_die(mailmime_add_part(parent, child));
}

/* base64_lines_ok - base64 alphabet in CRLF-ended lines of 1 to 76, the
 * last one too: nothing a header or boundary could be made of */
static int
base64_lines_ok(const char *s, size_t n)
{
	static unsigned char alphabet[256];
	const unsigned char *p = (const unsigned char *)s, *end = p + n;

	if (!alphabet['A']) {
		for (int c = 0; c < 256; c++)
			alphabet[c] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			    (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
	}
	while (p < end) {
		const unsigned char *line = p;

		while (p < end && alphabet[*p])
			p++;
		if (p == line || p - line > 76 || end - p < 2 || p[0] != '\r' || p[1] != '\n')
			return 0;
		p += 2;
	}
	return 1;
}

int
mime_base64(const void *data, size_t len, buf_t *out)
{
	const unsigned char *p = data;
	char line[80];

	/* 57 octets make one 76-octet line */
	for (size_t off = 0; off < len; off += 57) {
		size_t n = len - off < 57 ? len - off : 57;

		sodium_bin2base64(line, sizeof line, p + off, n, sodium_base64_VARIANT_ORIGINAL);
		if (buf_adds(out, line) < 0 || buf_add(out, "\r\n", 2) < 0)
			return -1;
	}
	return 0;
}

/* content_type_ok - a discrete type/subtype with parameters that libetpan
 * parses to the end; printable ASCII only */
static int
content_type_ok(const char *s)
{
	struct mailmime_content *ct = NULL;
	size_t n = strlen(s), idx = 0, i;
	int ok = 0;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			goto out;
	if (mailmime_content_parse(s, n, &idx, &ct) != MAILIMF_NO_ERROR)
		goto out;
	while (idx < n && s[idx] == ' ')
		idx++;
	ok = idx == n && ct->ct_type->tp_type == MAILMIME_TYPE_DISCRETE_TYPE;
out:
	if (ct)
		mailmime_content_free(ct);
	return ok;
}

/* safe_filename - printable ASCII but " \ and /; each other character
 * (a whole UTF-8 sequence) becomes '_' */
static int
safe_filename(buf_t *dst, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int rc = 0;

	for (; rc == 0 && *p; p++) {
		if (*p >= 0x20 && *p <= 0x7e && !strchr("\"\\/", *p))
			rc = buf_addc(dst, (char)*p);
		else if ((*p & 0xc0) != 0x80)
			rc = buf_addc(dst, '_');
	}
	return rc;
}

/* check_addr - addr_check() with the field's name in the error */
static int
check_addr(const char *what, const char *a, buf_t *err)
{
	const char *why;

	if (a == NULL) {
		fail(err, "%s: missing", what);
		return -1;
	}
	if (addr_check(a, &why) < 0) {
		fail(err, "%s: %s", what, why);
		return -1;
	}
	return 0;
}

/* everything mime_build prepares before libetpan sees any of it; each
 * buffer has the output's ceiling, as nothing in it can be bigger */
typedef struct prep {
	buf_t	 from, to, subject, list, unsub, tmp;
	size_t	 text_len, html_len;
	struct tm tm;		/* the Date, local time */
	int	 https;		/* the unsubscribe URL is https */
	size_t	 max;		/* the output's ceiling, for the message */
	const char *raw[SINK_RAW];	/* pre-encoded attachments, by stand-in */
	size_t	 raw_len[SINK_RAW];
} prep_t;

static void
too_big(const prep_t *p, buf_t *err)
{
	fail(err, "message larger than the output limit of %zu octets", p->max);
}

/* check - refuse what cannot be sent as given; 0, or -1 with the reason */
static int
check(const mime_msg_t *m, prep_t *p, buf_t *err)
{
	const char *at, *why;
	time_t t;
	size_t i;

	if (check_addr("from_addr", m->from_addr, err) < 0 ||
	    check_addr("to_addr", m->to_addr, err) < 0 ||
	    (m->reply_to && check_addr("reply_to", m->reply_to, err) < 0) ||
	    (m->unsubscribe_mailto &&
	    check_addr("unsubscribe_mailto", m->unsubscribe_mailto, err) < 0))
		return -1;
	if (m->message_id == NULL || (at = strchr(m->message_id, '@')) == NULL ||
	    strlen(m->message_id) > 250 ||
	    !dot_atom(m->message_id, (size_t)(at - m->message_id)) ||
	    !dot_atom(at + 1, strlen(at + 1))) {
		fail(err, "message_id: not id-left@id-right of dot-atoms");
		return -1;
	}
	if (m->unsubscribe_url && (p->https = url_ok(m->unsubscribe_url)) == 0) {
		fail(err, "unsubscribe_url: not an http(s) URL of at most %d "
		    "octets of URL characters", MIME_URL_MAX);
		return -1;
	}
	p->https = p->https == 2;
	if (m->text == NULL) {
		fail(err, "text: missing");
		return -1;
	}
	p->text_len = m->text_len ? m->text_len : strlen(m->text);
	p->html_len = m->html == NULL ? 0 : m->html_len ? m->html_len : strlen(m->html);
	if (!utf8_valid(m->text, p->text_len)) {
		fail(err, "text: not valid UTF-8");
		return -1;
	}
	if (m->html && !utf8_valid(m->html, p->html_len)) {
		fail(err, "html: not valid UTF-8");
		return -1;
	}
	/* 1970 up to the end of 9999, the last year of a four-digit Date,
	 * in any zone */
	t = (time_t)m->date;
	if (m->date < 0 || m->date > INT64_C(253402300799) - 14 * 3600 ||
	    localtime_r(&t, &p->tm) == NULL) {
		fail(err, "date: out of range");
		return -1;
	}
	for (i = 0; i < m->nattachments; i++) {
		const mime_attachment_t *a = &m->attachments[i];

		why = NULL;
		if (a->content_type && !content_type_ok(a->content_type))
			why = "content type is not \"type/subtype; params\" of a "
			    "single part";
		else if (a->filename && strlen(a->filename) > MIME_FILENAME_MAX)
			why = "filename too long";
		else if (a->data == NULL && a->len)
			why = "no data";
		else if (a->base64 && !base64_lines_ok(a->data, a->len))
			why = "not base64 as mime_base64() writes it";
		else if (a->base64 && i >= SINK_RAW)
			why = "too many pre-encoded attachments";
		if (why) {
			fail(err, "attachment %zu: %s", i + 1, why);
			return -1;
		}
	}
	for (i = 0; m->extra_headers && m->extra_headers[i]; i++) {
		const char *hd = m->extra_headers[i], *colon = strchr(hd, ':');

		why = colon ? header_name_bad(hd, (size_t)(colon - hd)) : "no ':'";
		if (why == NULL && !utf8_valid(colon + 1, strlen(colon + 1)))
			why = "value is not valid UTF-8";
		if (why) {
			fail(err, "extra header %zu: %s", i + 1, why);
			return -1;
		}
	}
	return 0;
}

/*
 * header_text - s cleaned of control characters, appended to p->tmp and
 * squeezed there if it is a phrase; -1 after saying why
 */
static int
header_text(prep_t *p, const char *what, const char *s, int phrase, buf_t *err)
{
	int bad;

	if (clean(&p->tmp, s, &bad) < 0) {
		if (bad)
			fail(err, "%s: not valid UTF-8", what);
		else
			too_big(p, err);
		return -1;
	}
	if (phrase)
		squeeze(&p->tmp);
	return 0;
}

/* list_value - "[phrase] <list-id>" from list_id, into p->list */
static int
list_value(prep_t *p, const char *list_id, buf_t *err)
{
	const char *s, *lt, *id;
	size_t n, idlen, col = strlen("List-Id: ");

	buf_reset(&p->tmp);
	if (header_text(p, "list_id", list_id, 1, err) < 0)
		return -1;
	s = buf_str(&p->tmp);
	n = p->tmp.len;
	lt = n && s[n - 1] == '>' ? strrchr(s, '<') : NULL;
	id = lt ? lt + 1 : s;
	idlen = lt ? (size_t)(s + n - 1 - id) : n;
	if (idlen > 255 || !dot_atom(id, idlen)) {
		fail(err, "list_id: not \"[phrase] <list-id>\" with a dot-atom list-id");
		return -1;
	}
	if (lt && lt > s) {
		n = (size_t)(lt - s) - (lt[-1] == ' ');
		if ((fits_plain(s, n, FOLD_COL - 1 - col, 1) ?
		    buf_add(&p->list, s, n) : ew_add(&p->list, s, n, FOLD_COL - 1 - col)) < 0 ||
		    buf_addc(&p->list, ' ') < 0)
			goto full;
	}
	if (buf_addc(&p->list, '<') < 0 || buf_add(&p->list, id, idlen) < 0 ||
	    buf_addc(&p->list, '>') < 0)
		goto full;
	return 0;
full:
	too_big(p, err);
	return -1;
}

/* prepare - header text cleaned and encoded, bodies encoded */
static int
prepare(const mime_msg_t *m, prep_t *p, buf_t *err)
{
	if (m->from_name) {
		buf_reset(&p->tmp);
		if (header_text(p, "from_name", m->from_name, 1, err) < 0)
			return -1;
		if (p->tmp.len && name_value(&p->from, buf_str(&p->tmp), p->tmp.len,
		    strlen("From: ")) < 0)
			goto full;
	}
	if (m->to_name) {
		buf_reset(&p->tmp);
		if (header_text(p, "to_name", m->to_name, 1, err) < 0)
			return -1;
		if (p->tmp.len && name_value(&p->to, buf_str(&p->tmp), p->tmp.len,
		    strlen("To: ")) < 0)
			goto full;
	}
	if (m->subject) {
		buf_reset(&p->tmp);
		if (header_text(p, "subject", m->subject, 0, err) < 0)
			return -1;
		if (text_value(&p->subject, buf_str(&p->tmp), p->tmp.len,
		    strlen("Subject: ")) < 0)
			goto full;
	}
	if (m->list_id && list_value(p, m->list_id, err) < 0)
		return -1;
	if (m->unsubscribe_url &&
	    buf_printf(&p->unsub, "<%s>", m->unsubscribe_url) < 0)
		goto full;
	if (m->unsubscribe_mailto &&
	    (buf_adds(&p->unsub, m->unsubscribe_url ? ", <" : "<") < 0 ||
	    mailto_add(&p->unsub, m->unsubscribe_mailto) < 0 ||
	    buf_addc(&p->unsub, '>') < 0))
		goto full;
	return 0;
full:
	too_big(p, err);
	return -1;
}

/*
 * header - the fields into root: Date, From, Reply-To, To, Message-ID,
 * Subject (libetpan's order), the list fields, the extra ones.  libetpan
 * writes MIME-Version and Content-* after them.
 */
static int
header(struct mailmime *root, const mime_msg_t *m, prep_t *p, buf_t *err)
{
	struct mailimf_fields *f = nn(mailimf_fields_new_empty());
	struct mailimf_mailbox_list *from = nn(mailimf_mailbox_list_new_empty());
	struct mailimf_date_time *dt;
	long off = p->tm.tm_gmtoff, zone;
	size_t i, n, namelen;

	mailmime_set_imf_fields(root, f);
	/* +hhmm as the number hhmm, as libetpan wants it */
	zone = (off < 0 ? -1 : 1) * (labs(off) / 3600 * 100 + labs(off) % 3600 / 60);
	dt = nn(mailimf_date_time_new(p->tm.tm_mday, p->tm.tm_mon + 1,
	    p->tm.tm_year + 1900, p->tm.tm_hour, p->tm.tm_min, p->tm.tm_sec,
	    (int)zone));
	ok_or_die(mailimf_mailbox_list_add(from, mailbox(&p->from, m->from_addr)));
	ok_or_die(mailimf_fields_add_data(f, dt, from, NULL,
	    m->reply_to ? address_list(NULL, m->reply_to) : NULL,
	    address_list(&p->to, m->to_addr), NULL, NULL,
	    xstrdup(m->message_id), NULL, NULL,
	    m->subject ? xstrdup(buf_str(&p->subject)) : NULL));
	if (m->list_id)
		add_custom(f, "List-Id", buf_str(&p->list));
	if (p->unsub.len)
		add_custom(f, "List-Unsubscribe", buf_str(&p->unsub));
	if (p->https)
		add_custom(f, "List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
	for (i = 0; m->extra_headers && m->extra_headers[i]; i++) {
		const char *hd = m->extra_headers[i], *colon = strchr(hd, ':');

		/* p->tmp holds "name\0value", the value cleaned and trimmed */
		namelen = (size_t)(colon - hd);
		buf_reset(&p->tmp);
		buf_reset(&p->list);
		if (buf_add(&p->tmp, hd, namelen) < 0 || buf_addc(&p->tmp, '\0') < 0 ||
		    header_text(p, "extra header", colon + 1, 0, err) < 0)
			return -1;
		for (n = namelen + 1; n < p->tmp.len && p->tmp.data[n] == ' '; n++)
			;
		while (p->tmp.len > n && p->tmp.data[p->tmp.len - 1] == ' ')
			buf_truncate(&p->tmp, p->tmp.len - 1);
		if (text_value(&p->list, p->tmp.data + n, p->tmp.len - n,
		    namelen + 2) < 0) {
			too_big(p, err);
			return -1;
		}
		add_custom(f, buf_str(&p->tmp), buf_str(&p->list));
	}
	return 0;
}

/* has_octets - 1 when s[0..n) is more than NUL bytes, which QP drops */
static size_t
has_octets(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != '\0')
			return 1;
	return 0;
}

/* body - text, or alternative(text, html), inside mixed when there are
 * attachments; the sink writes the encoded text from p */
static int
body(struct mailmime *root, const mime_msg_t *m, prep_t *p, buf_t *err)
{
	struct mailmime *parent = root, *mix = NULL, *alt;
	uint64_t h = fnv1a(m->message_id);
	size_t i;

	if (m->nattachments) {
		parent = mix = multipart("mixed", h, 1);
		add_part(root, mix);
	}
	if (m->html) {
		alt = multipart("alternative", h, 2);
		add_part(parent, alt);
		parent = alt;
	}
	/* stand-ins for the encoded bodies, see struct sink; a body that
	 * encodes to nothing (only NULs) gets none, as libetpan would write
	 * nothing for it */
	add_part(parent, leaf(content(0, "plain", "charset", "UTF-8"),
	    MAILMIME_MECHANISM_QUOTED_PRINTABLE, 1, stand_in_text,
	    has_octets(m->text, p->text_len), NULL));
	if (m->html)
		add_part(parent, leaf(content(0, "html", "charset", "UTF-8"),
		    MAILMIME_MECHANISM_QUOTED_PRINTABLE, 1, stand_in_html,
		    has_octets(m->html, p->html_len), NULL));
	for (i = 0; i < m->nattachments; i++) {
		const mime_attachment_t *a = &m->attachments[i];

		buf_reset(&p->tmp);
		if (a->filename && safe_filename(&p->tmp, a->filename) < 0) {
			too_big(p, err);
			return -1;
		}
		if (a->base64 && a->len) {
			/* a stand-in, as for the bodies (struct sink) */
			p->raw[i] = a->data;
			p->raw_len[i] = a->len;
			add_part(mix, leaf(nn(mailmime_content_new_with_str(a->content_type ?
			    a->content_type : "application/octet-stream")), MAILMIME_MECHANISM_BASE64, 1,
			    stand_in_raw + i, 1, buf_str(&p->tmp)));
			continue;
		}
		add_part(mix, leaf(nn(mailmime_content_new_with_str(a->content_type ?
		    a->content_type : "application/octet-stream")), MAILMIME_MECHANISM_BASE64, a->base64,
		    a->data ? a->data : "", a->len, buf_str(&p->tmp)));
	}
	return 0;
}

int
mime_build(const mime_msg_t *m, buf_t *out, buf_t *err)
{
	prep_t p;
	buf_t *bufs[] = { &p.from, &p.to, &p.subject, &p.list, &p.unsub, &p.tmp };
	struct mailmime *root = NULL;
	struct sink sink = { out, 0, { stand_in_text, stand_in_html }, { NULL, NULL },
	    { 0, 0 }, { 0, 0 }, { NULL }, { 0 } };
	size_t i, start = out->len;
	int col = 0, rc = -1;

	memset(&p, 0, sizeof p);
	p.max = out->max;
	for (i = 0; i < NELEM(bufs); i++)
		buf_init(bufs[i], out->max);
	if (check(m, &p, err) < 0 || prepare(m, &p, err) < 0)
		goto out;
	/* a text-only message is one part, whose QP must end the message in
	 * CRLF itself; in a multipart the closing boundary does it */
	sink.body[0] = m->text;
	sink.len[0] = p.text_len;
	sink.close[0] = m->html == NULL && m->nattachments == 0;
	sink.body[1] = m->html;
	sink.len[1] = p.html_len;
	/* room for the whole message at once (QP adds a little to text,
	 * more to UTF-8), not a dozen doublings; only a hint */
	buf_reserve(out, p.text_len + p.text_len / 4 + p.html_len + p.html_len / 8 + 4096);
	/* from here on every libetpan object hangs off root as soon as it
	 * exists, so the one mailmime_free() releases all on any path */
	root = nn(mailmime_new_message_data(NULL));
	if (header(root, m, &p, err) < 0 || body(root, m, &p, err) < 0)
		goto out;
	memcpy(sink.raw, p.raw, sizeof sink.raw);
	memcpy(sink.raw_len, p.raw_len, sizeof sink.raw_len);
	if (mailmime_write_driver(w_buf, &sink, &col, root) != MAILIMF_NO_ERROR ||
	    sink.full) {
		too_big(&p, err);
		goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		buf_truncate(out, start);
	if (root)
		mailmime_free(root);
	for (i = 0; i < NELEM(bufs); i++)
		buf_free(bufs[i]);
	return rc;
}
