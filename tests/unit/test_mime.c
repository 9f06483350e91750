/*
 * test_mime - the message mime_build() writes: structure, header fields,
 * RFC 2047, hostile input, line limits, determinism, errors, attachments;
 * each message is parsed back with libetpan and its decoded parts compared
 * with the input.
 *
 * "test_mime --write DIR [N]" writes N (default 1200) generated messages
 * with hostile content instead, DIR/NNNN.eml each with a DIR/NNNN.json
 * that holds the raw input and what a reader must decode from it;
 * tests/it/test_mime_python.py checks them with Python's email package.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <libetpan/libetpan.h>

#include "buf.h"
#include "mime.h"
#include "test.h"
#include "util.h"

/* --- helpers ------------------------------------------------------------- */

static const char *const std_extra[] = { "Auto-Submitted: auto-generated", NULL };

static mime_msg_t
base_msg(void)
{
	mime_msg_t m = {
		.from_name = "Tiedote", .from_addr = "tiedote@tiedote.example",
		.to_name = "Anu Niemi", .to_addr = "anu.niemi@thl.fi",
		.subject = "Ajankohtaistiedote 2020/09",
		.date = 1600000000,	/* Sun, 13 Sep 2020 12:26:40 UTC */
		.message_id = "2020-09.3f2a9c@tiedote.example",
		.list_id = "Ajankohtaistiedote <ajankohtaistiedote.tiedote.example>",
		.unsubscribe_url = "https://tiedote.example/u/3f2a9c",
		.unsubscribe_mailto = "unsubscribe+3f2a9c@tiedote.example",
		.text = "Hei Anu,\n\ntässä syyskuun tiedote.\n",
		.html = "<p>Hei Anu,</p>\n<p>tässä syyskuun tiedote.</p>\n",
		.extra_headers = std_extra,
	};

	return m;
}

/* lines_ok - every line ends in CRLF and has at most max octets before
 * it, no bare CR or LF, and the message ends in CRLF */
static int
lines_ok(const char *s, size_t n, size_t max)
{
	size_t i, len = 0;

	if (n < 2 || s[n - 2] != '\r' || s[n - 1] != '\n')
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '\r') {
			if (i + 1 >= n || s[i + 1] != '\n')
				return 0;
			i++;
			len = 0;
		} else if (s[i] == '\n')
			return 0;
		else if (++len > max)
			return 0;
	}
	return 1;
}

/* header_len - octets of the top header block, its blank line excluded */
static size_t
header_len(const char *s)
{
	const char *e = strstr(s, "\r\n\r\n");

	return e ? (size_t)(e - s) + 2 : strlen(s);
}

/* field_names - the names of the header fields in s[0..n), one per line
 * start that is not a continuation, joined with ',' */
static void
field_names(const char *s, size_t n, buf_t *names)
{
	size_t i = 0;

	while (i < n) {
		const char *eol = memchr(s + i, '\r', n - i);
		size_t end = eol ? (size_t)(eol - s) : n;

		if (s[i] != ' ' && s[i] != '\t') {
			const char *c = memchr(s + i, ':', end - i);

			if (names->len)
				PUT(buf_addc(names, ','));
			PUT(buf_add(names, s + i, c ? (size_t)(c - (s + i)) : end - i));
		}
		i = end + 2;
	}
}

/* field - the unfolded value of the first top-level field called name,
 * into v; 0 if found */
static int
field(const char *msg, const char *name, buf_t *v)
{
	size_t hl = header_len(msg), nl = strlen(name), i = 0;

	buf_reset(v);
	while (i < hl) {
		const char *eol = strstr(msg + i, "\r\n");
		size_t end = (size_t)(eol - msg);

		if (strncasecmp(msg + i, name, nl) == 0 && msg[i + nl] == ':') {
			i += nl + 1;
			while (msg[i] == ' ')
				i++;
			for (;;) {
				eol = strstr(msg + i, "\r\n");
				PUT(buf_add(v, msg + i, (size_t)(eol - (msg + i))));
				i = (size_t)(eol - msg) + 2;
				if (msg[i] != ' ' && msg[i] != '\t')
					return 0;
			}
		}
		i = end + 2;
	}
	return -1;
}

/* norm - s[0..n) with NUL dropped and CRLF, CR and LF all as LF: what
 * mime_build promises a body decodes to */
static void
norm(buf_t *dst, const char *s, size_t n)
{
	size_t i;

	buf_reset(dst);
	for (i = 0; i < n; i++) {
		if (s[i] == '\0')
			continue;
		if (s[i] == '\r') {
			if (i + 1 < n && s[i + 1] == '\n')
				i++;
			PUT(buf_addc(dst, '\n'));
		} else
			PUT(buf_addc(dst, s[i]));
	}
}

/* cleaned - header text as a reader must see it: each run of C0, DEL and
 * C1 (U+0080-U+009F) characters is one space; written apart from mime.c on
 * purpose */
static void
cleaned(buf_t *dst, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int in_run = 0;

	buf_reset(dst);
	while (*p) {
		int ctl = *p < 0x20 || *p == 0x7f ? 1 :
		    (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) ? 2 : 0;

		if (ctl) {
			if (!in_run)
				PUT(buf_addc(dst, ' '));
			in_run = 1;
			p += ctl;
		} else {
			PUT(buf_addc(dst, (char)*p++));
			in_run = 0;
		}
	}
}

/* squeezed - a phrase as a reader must see it: cleaned, runs of spaces
 * as one, none at either end */
static void
squeezed(buf_t *dst, const char *s)
{
	buf_t c;
	size_t i;

	buf_init(&c, 0);
	cleaned(&c, s);
	buf_reset(dst);
	for (i = 0; i < c.len; i++)
		if (c.data[i] != ' ' || (dst->len && dst->data[dst->len - 1] != ' '))
			PUT(buf_addc(dst, c.data[i]));
	if (dst->len && dst->data[dst->len - 1] == ' ')
		buf_truncate(dst, dst->len - 1);
	buf_free(&c);
}

static void
trim_spaces(buf_t *b)
{
	size_t i = 0, n = b->len;

	while (n && b->data[n - 1] == ' ')
		n--;
	while (i < n && b->data[i] == ' ')
		i++;
	memmove(b->data, b->data + i, n - i);
	buf_truncate(b, n - i);
}

/* the parts libetpan finds in a message, decoded */
#define MAXPARTS 16
typedef struct parsed {
	int	 ok;
	char	*subject, *from_name, *from_addr, *to_name, *to_addr;
	int	 nparts;
	struct {
		char	 type[64];
		char	 charset[32];
		char	 filename[256];
		int	 encoding;
		buf_t	 body;	/* decoded */
	} part[MAXPARTS];
	char	 shape[256];	/* e.g. "mixed(alternative(plain,html),calendar)" */
} parsed_t;

/* decode_words - an RFC 2047 phrase or text decoded to UTF-8 */
static char *
decode_words(const char *s)
{
	char *dec = NULL;
	size_t idx = 0;

	if (s == NULL)
		return NULL;
	if (mailmime_encoded_phrase_parse("us-ascii", s, strlen(s), &idx, "utf-8",
	    &dec) != MAILIMF_NO_ERROR)
		return strdup("(undecodable)");
	return dec;
}

static void
walk(parsed_t *p, struct mailmime *m)
{
	clistiter *c;
	size_t len;

	if (m->mm_type == MAILMIME_MESSAGE) {
		struct mailimf_fields *f = m->mm_data.mm_message.mm_fields;

		for (c = f ? clist_begin(f->fld_list) : NULL; c; c = clist_next(c)) {
			struct mailimf_field *fl = clist_content(c);
			struct mailimf_mailbox *mb = NULL;

			if (fl->fld_type == MAILIMF_FIELD_SUBJECT)
				p->subject = decode_words(fl->fld_data.fld_subject->sbj_value);
			else if (fl->fld_type == MAILIMF_FIELD_FROM) {
				mb = clist_content(clist_begin(
				    fl->fld_data.fld_from->frm_mb_list->mb_list));
				p->from_name = decode_words(mb->mb_display_name);
				p->from_addr = strdup(mb->mb_addr_spec);
			} else if (fl->fld_type == MAILIMF_FIELD_TO) {
				struct mailimf_address *a = clist_content(clist_begin(
				    fl->fld_data.fld_to->to_addr_list->ad_list));

				mb = a->ad_data.ad_mailbox;
				p->to_name = decode_words(mb->mb_display_name);
				p->to_addr = strdup(mb->mb_addr_spec);
			}
		}
		if (m->mm_data.mm_message.mm_msg_mime)
			walk(p, m->mm_data.mm_message.mm_msg_mime);
		return;
	}
	len = strlen(p->shape);
	snprintf(p->shape + len, sizeof p->shape - len, "%s",
	    m->mm_content_type ? m->mm_content_type->ct_subtype : "?");
	if (m->mm_type == MAILMIME_MULTIPLE) {
		strncat(p->shape, "(", sizeof p->shape - strlen(p->shape) - 1);
		for (c = clist_begin(m->mm_data.mm_multipart.mm_mp_list); c; c = clist_next(c)) {
			walk(p, clist_content(c));
			if (clist_next(c))
				strncat(p->shape, ",", sizeof p->shape - strlen(p->shape) - 1);
		}
		strncat(p->shape, ")", sizeof p->shape - strlen(p->shape) - 1);
		return;
	}
	if (p->nparts < MAXPARTS) {
		struct mailmime_single_fields sf;
		struct mailmime_data *d = m->mm_data.mm_single;
		char *res = NULL;
		size_t rl = 0, idx = 0;
		int i = p->nparts++;

		mailmime_single_fields_init(&sf, m->mm_mime_fields, m->mm_content_type);
		snprintf(p->part[i].type, sizeof p->part[i].type, "%s",
		    m->mm_content_type->ct_subtype);
		snprintf(p->part[i].charset, sizeof p->part[i].charset, "%s",
		    sf.fld_content_charset ? sf.fld_content_charset : "");
		snprintf(p->part[i].filename, sizeof p->part[i].filename, "%s",
		    sf.fld_disposition_filename ? sf.fld_disposition_filename : "");
		p->part[i].encoding = d->dt_encoding;
		buf_init(&p->part[i].body, 0);
		if (mailmime_part_parse(d->dt_data.dt_text.dt_data,
		    d->dt_data.dt_text.dt_length, &idx, d->dt_encoding, &res, &rl) ==
		    MAILIMF_NO_ERROR) {
			PUT(buf_add(&p->part[i].body, res, rl));
			mailmime_decoded_part_free(res);
		} else
			p->ok = 0;
	}
}

static void
parse(parsed_t *p, const buf_t *msg)
{
	struct mailmime *m = NULL;
	size_t idx = 0;

	memset(p, 0, sizeof *p);
	p->ok = mailmime_parse(msg->data, msg->len, &idx, &m) == MAILIMF_NO_ERROR;
	if (!p->ok)
		return;
	walk(p, m);
	mailmime_free(m);
}

static void
parsed_free(parsed_t *p)
{
	int i;

	free(p->subject);
	free(p->from_name);
	free(p->from_addr);
	free(p->to_name);
	free(p->to_addr);
	for (i = 0; i < p->nparts; i++)
		buf_free(&p->part[i].body);
}

/* body_is - a decoded part equals the input after CRLF normalisation */
static int
body_is(const buf_t *decoded, const char *in, size_t n)
{
	buf_t a, b;
	int same;

	buf_init(&a, 0);
	buf_init(&b, 0);
	norm(&a, decoded->data ? decoded->data : "", decoded->len);
	norm(&b, in, n);
	same = a.len == b.len && memcmp(buf_str(&a), buf_str(&b), a.len) == 0;
	if (!same)
		fprintf(stderr, "    decoded: %.200s\n    input:   %.200s\n",
		    buf_str(&a), buf_str(&b));
	buf_free(&a);
	buf_free(&b);
	return same;
}

static int
build(const mime_msg_t *m, buf_t *out, buf_t *err)
{
	buf_reset(out);
	buf_reset(err);
	if (mime_build(m, out, err) < 0) {
		fprintf(stderr, "    mime_build: %s\n", buf_str(err));
		return -1;
	}
	return 0;
}

/* --- structure ----------------------------------------------------------- */

TEST(alternative_structure)
{
	mime_msg_t m = base_msg();
	buf_t out, err, v;
	parsed_t p;

	buf_init(&out, 0);
	buf_init(&err, 0);
	buf_init(&v, 0);
	CHECK(build(&m, &out, &err) == 0);
	CHECK(field(buf_str(&out), "Content-Type", &v) == 0);
	CHECK(strncmp(buf_str(&v), "multipart/alternative; boundary=\"=_td_", 38) == 0);
	CHECK(strstr(buf_str(&out), "Content-Type: text/plain; charset=\"UTF-8\"\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n") != NULL);
	CHECK(strstr(buf_str(&out), "Content-Type: text/html; charset=\"UTF-8\"\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n") != NULL);
	parse(&p, &out);
	CHECK(p.ok);
	CHECK_STR(p.shape, "alternative(plain,html)");
	CHECK(p.nparts == 2);
	CHECK(strcasecmp(p.part[0].charset, "UTF-8") == 0);
	CHECK(p.part[0].encoding == MAILMIME_MECHANISM_QUOTED_PRINTABLE);
	CHECK(p.part[1].encoding == MAILMIME_MECHANISM_QUOTED_PRINTABLE);
	CHECK(body_is(&p.part[0].body, m.text, strlen(m.text)));
	CHECK(body_is(&p.part[1].body, m.html, strlen(m.html)));
	parsed_free(&p);
	buf_free(&out);
	buf_free(&err);
	buf_free(&v);
}

TEST(text_only_is_one_part)
{
	mime_msg_t m = base_msg();
	buf_t out, err, v;
	parsed_t p;

	buf_init(&out, 0);
	buf_init(&err, 0);
	buf_init(&v, 0);
	m.html = NULL;
	m.text = "Ei HTML:ää.\nViimeinen rivi ilman rivinvaihtoa";
	CHECK(build(&m, &out, &err) == 0);
	CHECK(field(buf_str(&out), "Content-Type", &v) == 0);
	CHECK_STR(buf_str(&v), "text/plain; charset=\"UTF-8\"");
	CHECK(field(buf_str(&out), "Content-Transfer-Encoding", &v) == 0);
	CHECK_STR(buf_str(&v), "quoted-printable");
	CHECK(strstr(buf_str(&out), "multipart") == NULL);
	CHECK(lines_ok(out.data, out.len, 998));
	/* the body's last line ends in a soft break: CRLF ends the message
	 * but adds nothing to the text */
	CHECK(out.len > 3 && memcmp(out.data + out.len - 3, "=\r\n", 3) == 0);
	parse(&p, &out);
	CHECK(p.ok && p.nparts == 1);
	CHECK_STR(p.shape, "plain");
	CHECK(p.nparts == 1 && body_is(&p.part[0].body, m.text, strlen(m.text)));
	parsed_free(&p);
	buf_free(&out);
	buf_free(&err);
	buf_free(&v);
}

TEST(attachments_in_mixed)
{
	static char bin[256];
	static const char ics[] = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:PUBLISH\r\n"
	    "END:VCALENDAR\r\n";
	mime_attachment_t att[3] = {
		{ "verkostopaiva.ics", "text/calendar; charset=UTF-8; method=PUBLISH",
		    ics, sizeof ics - 1, 0 },
		{ "tyhjä \"ja\" /polku\\.bin", NULL, bin, sizeof bin, 0 },
		{ NULL, "application/pdf", "", 0, 0 },
	};
	mime_msg_t m = base_msg();
	buf_t out, err;
	parsed_t p;
	int i;

	for (i = 0; i < 256; i++)
		bin[i] = (char)i;
	buf_init(&out, 0);
	buf_init(&err, 0);
	m.attachments = att;
	m.nattachments = 3;
	CHECK(build(&m, &out, &err) == 0);
	CHECK(lines_ok(out.data, out.len, 76));
	CHECK(strstr(buf_str(&out), "Content-Type: text/calendar; charset=\"UTF-8\"; "
	    "method=\"PUBLISH\"\r\nContent-Transfer-Encoding: base64\r\n"
	    "Content-Disposition: attachment; filename=\"verkostopaiva.ics\"\r\n") != NULL);
	CHECK(strstr(buf_str(&out), "Content-Type: application/octet-stream\r\n") != NULL);
	CHECK(strstr(buf_str(&out), "Content-Disposition: attachment\r\n") != NULL);
	parse(&p, &out);
	CHECK(p.ok);
	CHECK_STR(p.shape, "mixed(alternative(plain,html),calendar,octet-stream,pdf)");
	CHECK(p.nparts == 5);
	if (p.nparts == 5) {
		CHECK(p.part[2].encoding == MAILMIME_MECHANISM_BASE64);
		CHECK_STR(p.part[2].filename, "verkostopaiva.ics");
		CHECK(p.part[2].body.len == sizeof ics - 1 &&
		    memcmp(p.part[2].body.data, ics, sizeof ics - 1) == 0);
		/* a name is made safe, never refused: one '_' per character */
		CHECK_STR(p.part[3].filename, "tyhj_ _ja_ _polku_.bin");
		CHECK(p.part[3].body.len == 256 && memcmp(p.part[3].body.data, bin, 256) == 0);
		CHECK_STR(p.part[4].filename, "");
		CHECK(p.part[4].body.len == 0);
	}
	parsed_free(&p);
	/* without html: mixed(plain, ...) */
	m.html = NULL;
	m.nattachments = 1;
	CHECK(build(&m, &out, &err) == 0);
	parse(&p, &out);
	CHECK_STR(p.shape, "mixed(plain,calendar)");
	parsed_free(&p);
	buf_free(&out);
	buf_free(&err);
}

/* --- header fields --------------------------------------------------------- */

TEST(header_fields)
{
	mime_msg_t m = base_msg();
	buf_t out, err, v, names;

	buf_init(&out, 0);
	buf_init(&err, 0);
	buf_init(&v, 0);
	buf_init(&names, 0);
	m.reply_to = "kirjaamo@thl.fi";
	setenv("TZ", "EET-2EEST,M3.5.0/3,M10.5.0/4", 1);
	tzset();
	CHECK(build(&m, &out, &err) == 0);
	field_names(out.data, header_len(buf_str(&out)), &names);
	CHECK_STR(buf_str(&names), "Date,From,Reply-To,To,Message-ID,Subject,List-Id,"
	    "List-Unsubscribe,List-Unsubscribe-Post,Auto-Submitted,MIME-Version,"
	    "Content-Type");
	CHECK(field(buf_str(&out), "Date", &v) == 0);
	CHECK_STR(buf_str(&v), "Sun, 13 Sep 2020 15:26:40 +0300");
	CHECK(field(buf_str(&out), "From", &v) == 0);
	CHECK_STR(buf_str(&v), "Tiedote <tiedote@tiedote.example>");
	CHECK(field(buf_str(&out), "To", &v) == 0);
	CHECK_STR(buf_str(&v), "Anu Niemi <anu.niemi@thl.fi>");
	CHECK(field(buf_str(&out), "Reply-To", &v) == 0);
	CHECK_STR(buf_str(&v), "kirjaamo@thl.fi");
	CHECK(field(buf_str(&out), "Subject", &v) == 0);
	CHECK_STR(buf_str(&v), "Ajankohtaistiedote 2020/09");
	CHECK(field(buf_str(&out), "Message-ID", &v) == 0);
	CHECK_STR(buf_str(&v), "<2020-09.3f2a9c@tiedote.example>");
	CHECK(field(buf_str(&out), "MIME-Version", &v) == 0);
	CHECK_STR(buf_str(&v), "1.0");
	CHECK(field(buf_str(&out), "List-Id", &v) == 0);
	CHECK_STR(buf_str(&v), "Ajankohtaistiedote <ajankohtaistiedote.tiedote.example>");
	CHECK(field(buf_str(&out), "List-Unsubscribe", &v) == 0);
	CHECK_STR(buf_str(&v), "<https://tiedote.example/u/3f2a9c>, "
	    "<mailto:unsubscribe+3f2a9c@tiedote.example>");
	CHECK(field(buf_str(&out), "List-Unsubscribe-Post", &v) == 0);
	CHECK_STR(buf_str(&v), "List-Unsubscribe=One-Click");
	CHECK(field(buf_str(&out), "Auto-Submitted", &v) == 0);
	CHECK_STR(buf_str(&v), "auto-generated");

	/* optional fields stay out when not given; http gets no One-Click */
	m.reply_to = NULL;
	m.list_id = NULL;
	m.unsubscribe_mailto = NULL;
	m.unsubscribe_url = "http://tiedote.example/u/x";
	m.extra_headers = NULL;
	m.from_name = "";
	m.to_name = NULL;
	CHECK(build(&m, &out, &err) == 0);
	buf_reset(&names);
	field_names(out.data, header_len(buf_str(&out)), &names);
	CHECK_STR(buf_str(&names), "Date,From,To,Message-ID,Subject,List-Unsubscribe,"
	    "MIME-Version,Content-Type");
	CHECK(field(buf_str(&out), "List-Unsubscribe", &v) == 0);
	CHECK_STR(buf_str(&v), "<http://tiedote.example/u/x>");
	CHECK(field(buf_str(&out), "From", &v) == 0);
	CHECK_STR(buf_str(&v), "tiedote@tiedote.example");
	CHECK(field(buf_str(&out), "To", &v) == 0);
	CHECK_STR(buf_str(&v), "anu.niemi@thl.fi");
	/* mailto only; its address is percent-encoded where RFC 6068 asks */
	m.unsubscribe_url = NULL;
	m.unsubscribe_mailto = "pois?x&y%z#@tiedote.example";
	CHECK(build(&m, &out, &err) == 0);
	CHECK(field(buf_str(&out), "List-Unsubscribe", &v) == 0);
	CHECK_STR(buf_str(&v), "<mailto:pois%3Fx%26y%25z%23@tiedote.example>");
	CHECK(field(buf_str(&out), "List-Unsubscribe-Post", &v) < 0);
	/* a List-Id without a phrase */
	m.list_id = "tiedote.example";
	CHECK(build(&m, &out, &err) == 0);
	CHECK(field(buf_str(&out), "List-Id", &v) == 0);
	CHECK_STR(buf_str(&v), "<tiedote.example>");
	buf_free(&out);
	buf_free(&err);
	buf_free(&v);
	buf_free(&names);
}

TEST(date_offsets)
{
	static const struct { const char *tz, *want; } cases[] = {
		{ "UTC0", "Sun, 13 Sep 2020 12:26:40 +0000" },
		{ "EET-2EEST,M3.5.0/3,M10.5.0/4", "Sun, 13 Sep 2020 15:26:40 +0300" },
		{ "IST-5:30", "Sun, 13 Sep 2020 17:56:40 +0530" },
		{ "NST3:30", "Sun, 13 Sep 2020 08:56:40 -0330" },
		{ "XYZ10", "Sun, 13 Sep 2020 02:26:40 -1000" },
	};
	mime_msg_t m = base_msg();
	buf_t out, err, v;
	size_t i;

	buf_init(&out, 0);
	buf_init(&err, 0);
	buf_init(&v, 0);
	for (i = 0; i < NELEM(cases); i++) {
		setenv("TZ", cases[i].tz, 1);
		tzset();
		CHECK(build(&m, &out, &err) == 0);
		CHECK(field(buf_str(&out), "Date", &v) == 0);
		CHECK_STR(buf_str(&v), cases[i].want);
	}
	/* winter time in Helsinki; a single-digit day */
	setenv("TZ", "EET-2EEST,M3.5.0/3,M10.5.0/4", 1);
	tzset();
	m.date = 1577836800;	/* 2020-01-01 00:00:00 UTC */
	CHECK(build(&m, &out, &err) == 0);
	CHECK(field(buf_str(&out), "Date", &v) == 0);
	CHECK_STR(buf_str(&v), "Wed, 1 Jan 2020 02:00:00 +0200");
	m.date = -1;
	CHECK(mime_build(&m, &out, &err) < 0);
	buf_free(&out);
	buf_free(&err);
	buf_free(&v);
}

/* header_lines_max - longest header line of the top header */
static size_t
header_lines_max(const buf_t *out)
{
	size_t hl = header_len(buf_str(out)), i = 0, max = 0;

	while (i < hl) {
		const char *eol = strstr(out->data + i, "\r\n");
		size_t len = (size_t)(eol - (out->data + i));

		if (len > max)
			max = len;
		i += len + 2;
	}
	return max;
}

TEST(subject_rfc2047_round_trip)
{
	static const char *const subjects[] = {
		"Ajankohtaistiedote 2020/09 – ÄÖÅ äöå",
		"Plain ASCII stays as it is",
		"Two  spaces, and a trailing one ",
		" leading space",
		"=?utf-8?q?not_an_encoded_word?= but looks like one",
		"😀👨‍👩‍👧‍👦 e\xcc\x81 שלום مرحبا \xe2\x80\xae",
		("Pitkä otsikko joka jatkuu ja jatkuu: Sosiaali- ja terveysministeriön "
		    "tiedote hyvinvointialueille, kunnille ja järjestöille syyskuussa 2020"),
		"",
	};
	mime_msg_t m = base_msg();
	buf_t out, err, v;
	parsed_t p;
	size_t i;

	buf_init(&out, 0);
	buf_init(&err, 0);
	buf_init(&v, 0);
	for (i = 0; i < NELEM(subjects); i++) {
		m.subject = subjects[i];
		CHECK(build(&m, &out, &err) == 0);
		CHECK(header_lines_max(&out) <= 78);
		parse(&p, &out);
		CHECK(p.ok);
		CHECK_STR(p.subject ? p.subject : "", subjects[i]);
		parsed_free(&p);
		CHECK(field(buf_str(&out), "Subject", &v) == 0);
		if (i == 0)
			CHECK(strncmp(buf_str(&v), "=?UTF-8?B?", 10) == 0);
		if (i == 1)
			CHECK_STR(buf_str(&v), subjects[1]);
		if (i == 4)
			CHECK(strstr(buf_str(&v), "=?utf-8?q?") == NULL);
	}
	m.subject = NULL;
	CHECK(build(&m, &out, &err) == 0);
	CHECK(field(buf_str(&out), "Subject", &v) < 0);
	buf_free(&out);
	buf_free(&err);
	buf_free(&v);
}

TEST(display_names)
{
	static const struct { const char *name, *wire, *read; } cases[] = {
		{ "Anu Niemi", "Anu Niemi <a@thl.fi>", NULL },
		{ "Niemi, Anu", "\"Niemi, Anu\" <a@thl.fi>", NULL },
		{ "Anu \"Ansku\" Niemi", "\"Anu \\\"Ansku\\\" Niemi\" <a@thl.fi>", NULL },
		{ "back\\slash", "\"back\\\\slash\" <a@thl.fi>", NULL },
		{ "Anu N. Niemi (THL)", "\"Anu N. Niemi (THL)\" <a@thl.fi>", NULL },
		{ "Äiti Meikäläinen", NULL, NULL },
		{ "Meikäläinen, Äiti \"Mummo\"", NULL, NULL },
		{ "  Two  spaces ", "Two spaces <a@thl.fi>", "Two spaces" },
		{ "Kaksi  väliä ", NULL, "Kaksi väliä" },
		{ "=?utf-8?q?x?=", NULL, NULL },
		{ "<evil@x.fi>", "\"<evil@x.fi>\" <a@thl.fi>", NULL },
		{ "Sosiaali- ja terveysministeriön hallinnonalan tiedotus- ja "
		    "viestintäyksikkö, Helsinki", NULL, NULL },
	};
	mime_msg_t m = base_msg();
	buf_t out, err, v;
	parsed_t p;
	size_t i;

	buf_init(&out, 0);
	buf_init(&err, 0);
	buf_init(&v, 0);
	m.to_addr = "a@thl.fi";
	for (i = 0; i < NELEM(cases); i++) {
		m.to_name = cases[i].name;
		m.from_name = cases[i].name;
		CHECK(build(&m, &out, &err) == 0);
		CHECK(header_lines_max(&out) <= 78);
		CHECK(field(buf_str(&out), "To", &v) == 0);
		if (cases[i].wire)
			CHECK_STR(buf_str(&v), cases[i].wire);
		else
			CHECK(strncmp(buf_str(&v), "=?UTF-8?B?", 10) == 0);
		parse(&p, &out);
		CHECK(p.ok);
		CHECK_STR(p.to_name, cases[i].read ? cases[i].read : cases[i].name);
		CHECK_STR(p.to_addr, "a@thl.fi");
		CHECK_STR(p.from_name, cases[i].read ? cases[i].read : cases[i].name);
		CHECK_STR(p.from_addr, "tiedote@tiedote.example");
		parsed_free(&p);
	}
	buf_free(&out);
	buf_free(&err);
	buf_free(&v);
}

/* --- hostile input --------------------------------------------------------- */

TEST(no_header_injection)
{
	static const char *const extra[] = {
		"X-Tiedote-Note: a\r\nBcc: evil@x.fi",
		"X-Tiedote-Other:\n\nevil body",
		NULL,
	};
	mime_msg_t m = base_msg();
	buf_t out, err, v, names;
	parsed_t p;

	buf_init(&out, 0);
	buf_init(&err, 0);
	buf_init(&v, 0);
	buf_init(&names, 0);
	m.subject = "x\r\nBcc: evil@x.fi";
	m.from_name = "Anu\nBcc: evil@x.fi";
	m.to_name = "Anu\r\n\r\nNUL\0Bcc: evil@x.fi";
	m.list_id = "Lista\r\nBcc: evil@x.fi <lista.tiedote.example>";
	m.extra_headers = extra;
	CHECK(build(&m, &out, &err) == 0);
	CHECK(lines_ok(out.data, out.len, 998));
	field_names(out.data, header_len(buf_str(&out)), &names);
	CHECK_STR(buf_str(&names), "Date,From,To,Message-ID,Subject,List-Id,"
	    "List-Unsubscribe,List-Unsubscribe-Post,X-Tiedote-Note,X-Tiedote-Other,"
	    "MIME-Version,Content-Type");
	CHECK(strstr(buf_str(&out), "\r\nBcc:") == NULL);
	parse(&p, &out);
	CHECK_STR(p.subject, "x Bcc: evil@x.fi");
	CHECK_STR(p.from_name, "Anu Bcc: evil@x.fi");
	CHECK_STR(p.to_name, "Anu NUL");
	parsed_free(&p);
	CHECK(field(buf_str(&out), "X-Tiedote-Note", &v) == 0);
	CHECK_STR(buf_str(&v), "a Bcc: evil@x.fi");
	CHECK(field(buf_str(&out), "X-Tiedote-Other", &v) == 0);
	CHECK_STR(buf_str(&v), "evil body");
	CHECK(field(buf_str(&out), "List-Id", &v) == 0);
	CHECK(strncmp(buf_str(&v), "=?UTF-8?B?", 10) == 0);
	{
		char *d = decode_words(buf_str(&v));

		CHECK_STR(d, "Lista Bcc: evil@x.fi <lista.tiedote.example>");
		free(d);
	}

	/* C1 controls, DEL, tabs, escape sequences */
	m.subject = "a\xc2\x85" "b\x7f\x1b[31mc\td\xc2\x9b\xc2\x9b" "e";
	CHECK(build(&m, &out, &err) == 0);
	parse(&p, &out);
	CHECK_STR(p.subject, "a b [31mc d e");
	parsed_free(&p);
	buf_free(&out);
	buf_free(&err);
	buf_free(&v);
	buf_free(&names);
}

/* body_lines_max - the longest line after the top header */
static size_t
body_lines_max(const buf_t *out)
{
	size_t i = header_len(buf_str(out)), len = 0, max = 0;

	for (; i < out->len; i++) {
		if (out->data[i] == '\r') {
			len = 0;
			i++;
		} else if (++len > max)
			max = len;
	}
	return max;
}

TEST(long_words_and_lines)
{
	mime_msg_t m = base_msg();
	buf_t out, err, word, text, html;
	parsed_t p;
	size_t i;

	buf_init(&out, 0);
	buf_init(&err, 0);
	buf_init(&word, 0);
	buf_init(&text, 0);
	buf_init(&html, 0);
	for (i = 0; i < 2000; i++)
		PUT(buf_adds(&word, i % 7 == 3 ? "ä" : "a"));
	for (i = 0; i < 10000; i++)
		PUT(buf_addc(&text, "ab =.F\t"[i % 7]));
	PUT(buf_adds(&text, "\n"));
	PUT(buf_add(&text, word.data, word.len));
	PUT(buf_adds(&text, "\n"));
	for (i = 0; i < 10000; i++)
		PUT(buf_addc(&text, ' '));
	PUT(buf_adds(&text, "\nend"));
	PUT(buf_printf(&html, "<p>%s</p><p>", buf_str(&word)));
	for (i = 0; i < 10000; i++)
		PUT(buf_adds(&html, "<b>x</b>"));
	m.subject = buf_str(&word);
	m.to_name = buf_str(&word);
	m.text = buf_str(&text);
	m.html = buf_str(&html);
	m.extra_headers = NULL;
	CHECK(build(&m, &out, &err) == 0);
	CHECK(lines_ok(out.data, out.len, 998));
	CHECK(header_lines_max(&out) <= 78);
	CHECK(body_lines_max(&out) <= 76);
	parse(&p, &out);
	CHECK(p.ok && p.nparts == 2);
	CHECK_STR(p.subject, buf_str(&word));
	CHECK_STR(p.to_name, buf_str(&word));
	if (p.nparts == 2) {
		CHECK(body_is(&p.part[0].body, text.data, text.len));
		CHECK(body_is(&p.part[1].body, html.data, html.len));
	}
	parsed_free(&p);
	buf_free(&out);
	buf_free(&err);
	buf_free(&word);
	buf_free(&text);
	buf_free(&html);
}

/* Quoted-printable copies runs of octets that stand as they are eight at
 * a time (mime.c, qp_plain8()): at every offset from the line's start and
 * every length of run, a blank before a line break or the end is still
 * escaped, '=' and 8-bit octets still are, no line passes 76, and the
 * body decodes to what was given. */
TEST(qp_every_offset)
{
	static const char *const tails[] = { " \n", "\t\n", " ", "=", "ä", " =x", "  \r\n",
	    " \0\n", ".", "~\x7f" };
	mime_msg_t m = base_msg();
	buf_t out, err, text;
	parsed_t p;
	size_t k, t, len;

	buf_init(&out, 0);
	buf_init(&err, 0);
	buf_init(&text, 0);
	for (t = 0; t < NELEM(tails); t++)
		for (k = 0; k < 90; k++) {
			for (len = 0; len < k; len++)
				PUT(buf_addc(&text, "abc d"[len % 5]));
			PUT(buf_add(&text, tails[t], strlen(tails[t]) + (t == 7)));
			PUT(buf_adds(&text, "\n"));
		}
	PUT(buf_adds(&text, "last words "));
	m.text = text.data;
	m.text_len = text.len;
	m.html = NULL;
	CHECK(build(&m, &out, &err) == 0);
	CHECK(lines_ok(out.data, out.len, 76));
	CHECK(body_lines_max(&out) <= 76);
	CHECK(strstr(buf_str(&out), " \r\n") == NULL);
	CHECK(strstr(buf_str(&out), "\t\r\n") == NULL);
	CHECK(strstr(buf_str(&out), "\r\n.") == NULL);
	parse(&p, &out);
	CHECK(p.nparts == 1);
	if (p.nparts == 1)
		CHECK(body_is(&p.part[0].body, text.data, text.len));
	parsed_free(&p);
	buf_free(&out);
	buf_free(&err);
	buf_free(&text);
}

TEST(body_normalisation)
{
	static const char text[] = "a\nb\rc\r\nd\0e  \n\tf\t\r\n.\n.x\nFrom me\n"
	    "\r\r\n\n=3D =?utf-8?q?x?= --=_td_0000000000000000_1\n \0\n\0";
	static const char want[] = "a\r\nb\r\nc\r\nde  \r\n\tf\t\r\n.\r\n.x\r\nFrom me\r\n"
	    "\r\n\r\n\r\n=3D =?utf-8?q?x?= --=_td_0000000000000000_1\r\n \r\n";
	mime_msg_t m = base_msg();
	buf_t out, err;
	parsed_t p;

	buf_init(&out, 0);
	buf_init(&err, 0);
	m.text = text;
	m.text_len = sizeof text - 1;
	m.html = NULL;
	CHECK(build(&m, &out, &err) == 0);
	CHECK(lines_ok(out.data, out.len, 76));
	/* no white space ends a line; dots and From are escaped at the start */
	CHECK(strstr(buf_str(&out), " \r\n") == NULL);
	CHECK(strstr(buf_str(&out), "\t\r\n") == NULL);
	CHECK(strstr(buf_str(&out), "\r\n.") == NULL);
	CHECK(strstr(buf_str(&out), "\r\nFrom ") == NULL);
	parse(&p, &out);
	CHECK(p.nparts == 1);
	if (p.nparts == 1)
		CHECK(body_is(&p.part[0].body, want, sizeof want - 1));
	parsed_free(&p);
	buf_free(&out);
	buf_free(&err);
}

TEST(boundary_never_in_parts)
{
	mime_msg_t m = base_msg();
	mime_attachment_t att = { "b.txt", "text/plain", NULL, 0, 0 };
	buf_t out, err, v, text;
	const char *b, *q;
	size_t n = 0;

	buf_init(&out, 0);
	buf_init(&err, 0);
	buf_init(&v, 0);
	buf_init(&text, 0);
	/* learn the boundaries, then put them everywhere */
	m.attachments = &att;
	m.nattachments = 1;
	CHECK(build(&m, &out, &err) == 0);
	CHECK(field(buf_str(&out), "Content-Type", &v) == 0);
	b = strstr(buf_str(&v), "boundary=\"");
	CHECK(b != NULL);
	if (b == NULL)
		goto out;
	b += 10;
	PUT(buf_printf(&text, "--%.*s\n--%.*s--\n", 23, b, 23, b));
	PUT(buf_printf(&text, "--%.*s2\n", 22, b));
	att.data = text.data;
	att.len = text.len;
	m.text = m.html = buf_str(&text);
	m.subject = m.from_name = buf_str(&text);
	CHECK(build(&m, &out, &err) == 0);
	/* "--=_td_" starts exactly the 6 delimiter lines: 2 + 1 closing for
	 * the mixed part, 2 + 1 for the alternative one */
	for (q = buf_str(&out); (q = strstr(q, "\r\n--=_td_")) != NULL; q++)
		n++;
	CHECK(n == 6);
	CHECK(strstr(buf_str(&out), "=_td_") != NULL);
out:
	buf_free(&out);
	buf_free(&err);
	buf_free(&v);
	buf_free(&text);
}

TEST(deterministic)
{
	mime_msg_t m = base_msg();
	mime_attachment_t att = { "a.ics", "text/calendar", "BEGIN:VCALENDAR", 15, 0 };
	buf_t a, b, err;

	buf_init(&a, 0);
	buf_init(&b, 0);
	buf_init(&err, 0);
	m.attachments = &att;
	m.nattachments = 1;
	CHECK(build(&m, &a, &err) == 0);
	CHECK(build(&m, &b, &err) == 0);
	CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	/* another Message-ID, other boundaries */
	m.message_id = "2020-09.other@tiedote.example";
	CHECK(build(&m, &b, &err) == 0);
	CHECK(strstr(buf_str(&a), "=_td_") && strstr(buf_str(&b), "=_td_") &&
	    strncmp(strstr(buf_str(&a), "=_td_"), strstr(buf_str(&b), "=_td_"), 21) != 0);
	buf_free(&a);
	buf_free(&b);
	buf_free(&err);
}

/* an attachment encoded once (mime_base64) comes out exactly as one that
 * mime_build encodes itself, whatever its length; bad base64 is refused */
TEST(pre_encoded_attachment_same_bytes)
{
	mime_msg_t m = base_msg();
	mime_attachment_t att = { "kalenteri.ics", "text/calendar; charset=UTF-8", NULL, 0, 0 };
	buf_t raw, enc, a, b, err;
	static const size_t lens[] = { 1, 2, 3, 56, 57, 58, 114, 1000, 20000 };

	buf_init(&raw, 0);
	buf_init(&enc, 0);
	buf_init(&a, 0);
	buf_init(&b, 0);
	buf_init(&err, 0);
	m.attachments = &att;
	m.nattachments = 1;
	for (size_t k = 0; k < NELEM(lens); k++) {
		buf_reset(&raw);
		buf_reset(&enc);
		for (size_t i = 0; i < lens[k]; i++)
			PUT(buf_add(&raw, (const char []){ (char)(i * 37 + k) }, 1));
		CHECK(mime_base64(raw.data, raw.len, &enc) == 0);
		att = (mime_attachment_t){ "kalenteri.ics", "text/calendar; charset=UTF-8",
		    raw.data, raw.len, 0 };
		buf_reset(&a);
		CHECK(build(&m, &a, &err) == 0);
		att = (mime_attachment_t){ "kalenteri.ics", "text/calendar; charset=UTF-8",
		    enc.data, enc.len, 1 };
		buf_reset(&b);
		CHECK(build(&m, &b, &err) == 0);
		CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	}
	att.data = "QUJD\r\n--=_td_x\r\n";
	att.len = strlen(att.data);
	CHECK(build(&m, &b, &err) < 0 && strstr(buf_str(&err), "base64"));
	att.data = "QUJD";	/* no CRLF at the end */
	att.len = 4;
	CHECK(build(&m, &b, &err) < 0);
	buf_free(&raw);
	buf_free(&enc);
	buf_free(&a);
	buf_free(&b);
	buf_free(&err);
}

/* --- errors ---------------------------------------------------------------- */

/* refused - mime_build fails, says something naming what, and leaves
 * out as it was */
static int
refused(const mime_msg_t *m, const char *what)
{
	buf_t out, err;
	int ok;

	buf_init(&out, 0);
	buf_init(&err, 0);
	PUT(buf_adds(&out, "earlier content"));
	ok = mime_build(m, &out, &err) == -1 && strstr(buf_str(&err), what) != NULL &&
	    strcmp(buf_str(&out), "earlier content") == 0;
	if (!ok)
		fprintf(stderr, "    want an error about %s, got \"%s\"\n", what,
		    buf_str(&err));
	buf_free(&out);
	buf_free(&err);
	return ok;
}

TEST(bad_addresses_refused)
{
	mime_msg_t m;

	m = base_msg(); m.from_addr = "not an address";
	CHECK(refused(&m, "from_addr"));
	m = base_msg(); m.from_addr = NULL;
	CHECK(refused(&m, "from_addr"));
	m = base_msg(); m.to_addr = "anu@thl";
	CHECK(refused(&m, "to_addr"));
	m = base_msg(); m.to_addr = "anu@thl.fi\r\nBcc: evil@x.fi";
	CHECK(refused(&m, "to_addr"));
	m = base_msg(); m.to_addr = "\"quoted\"@thl.fi";
	CHECK(refused(&m, "to_addr"));
	m = base_msg(); m.reply_to = "Kirjaamo <kirjaamo@thl.fi>";
	CHECK(refused(&m, "reply_to"));
	m = base_msg(); m.unsubscribe_mailto = "pois@tiedote.example>, <evil";
	CHECK(refused(&m, "unsubscribe_mailto"));
	/* err may be NULL */
	{
		buf_t out;

		buf_init(&out, 0);
		m = base_msg(); m.from_addr = "x";
		CHECK(mime_build(&m, &out, NULL) == -1 && out.len == 0);
		buf_free(&out);
	}
}

TEST(bad_fields_refused)
{
	static const char *const bcc[] = { "Bcc: evil@x.fi", NULL };
	static const char *const ct[] = { "content-type: text/html", NULL };
	static const char *const sp[] = { "X Bad: 1", NULL };
	static const char *const nocolon[] = { "X-Bad", NULL };
	static const char *const from[] = { "FROM: evil@x.fi", NULL };
	mime_attachment_t att = { "x", "multipart/mixed; boundary=x", "", 0, 0 };
	mime_msg_t m;

	m = base_msg(); m.message_id = "no-at-sign";
	CHECK(refused(&m, "message_id"));
	m = base_msg(); m.message_id = "a b@c";
	CHECK(refused(&m, "message_id"));
	m = base_msg(); m.message_id = "<a@b>";
	CHECK(refused(&m, "message_id"));
	m = base_msg(); m.message_id = NULL;
	CHECK(refused(&m, "message_id"));
	m = base_msg(); m.unsubscribe_url = "javascript:alert(1)";
	CHECK(refused(&m, "unsubscribe_url"));
	m = base_msg(); m.unsubscribe_url = "https://x.example/a>, <mailto:evil@x.fi";
	CHECK(refused(&m, "unsubscribe_url"));
	m = base_msg(); m.unsubscribe_url = "https://x.example/a\r\nBcc: evil@x.fi";
	CHECK(refused(&m, "unsubscribe_url"));
	m = base_msg(); m.list_id = "Lista <not a list id>";
	CHECK(refused(&m, "list_id"));
	m = base_msg(); m.list_id = "";
	CHECK(refused(&m, "list_id"));
	m = base_msg(); m.extra_headers = bcc;
	CHECK(refused(&m, "extra header 1"));
	m = base_msg(); m.extra_headers = ct;
	CHECK(refused(&m, "extra header 1"));
	m = base_msg(); m.extra_headers = sp;
	CHECK(refused(&m, "extra header 1"));
	m = base_msg(); m.extra_headers = nocolon;
	CHECK(refused(&m, "extra header 1"));
	m = base_msg(); m.extra_headers = from;
	CHECK(refused(&m, "extra header 1"));
	m = base_msg(); m.subject = "bad \xff UTF-8";
	CHECK(refused(&m, "subject"));
	m = base_msg(); m.to_name = "bad \xc3";
	CHECK(refused(&m, "to_name"));
	m = base_msg(); m.text = "bad \xed\xa0\x80 surrogate";
	CHECK(refused(&m, "text"));
	m = base_msg(); m.html = "\xc0\xaf";
	CHECK(refused(&m, "html"));
	m = base_msg(); m.text = NULL;
	CHECK(refused(&m, "text"));
	m = base_msg(); m.attachments = &att; m.nattachments = 1;
	CHECK(refused(&m, "attachment 1"));
	att.content_type = "text/plain\r\nBcc: evil@x.fi";
	CHECK(refused(&m, "attachment 1"));
	att.content_type = "text/plain; charset=UTF-8 trailing junk";
	CHECK(refused(&m, "attachment 1"));
}

TEST(ceiling_fails_cleanly)
{
	mime_msg_t m = base_msg();
	buf_t out, err, small;
	size_t need;

	buf_init(&out, 0);
	buf_init(&err, 0);
	CHECK(build(&m, &out, &err) == 0);
	need = out.len;
	/* exactly enough works, one octet less does not and leaves the
	 * buffer as it was */
	buf_init(&small, need);
	CHECK(mime_build(&m, &small, &err) == 0);
	CHECK(small.len == need && memcmp(small.data, out.data, need) == 0);
	buf_free(&small);
	buf_init(&small, need - 1);
	buf_reset(&err);
	CHECK(mime_build(&m, &small, &err) == -1);
	CHECK(small.len == 0);
	CHECK(strstr(buf_str(&err), "output limit") != NULL);
	buf_free(&small);
	buf_init(&small, 300);
	PUT(buf_adds(&small, "kept"));
	buf_reset(&err);
	CHECK(mime_build(&m, &small, &err) == -1);
	CHECK_STR(buf_str(&small), "kept");
	buf_free(&small);
	buf_free(&out);
	buf_free(&err);
}

TEST(idn_and_utf8_addresses_pass_through)
{
	mime_msg_t m = base_msg();
	buf_t out, err, v;

	buf_init(&out, 0);
	buf_init(&err, 0);
	buf_init(&v, 0);
	m.to_addr = "äiti@päijät-häme.fi";
	CHECK(build(&m, &out, &err) == 0);
	CHECK(field(buf_str(&out), "To", &v) == 0);
	CHECK_STR(buf_str(&v), "Anu Niemi <äiti@päijät-häme.fi>");
	buf_free(&out);
	buf_free(&err);
	buf_free(&v);
}

/* --- speed ------------------------------------------------------------------ */

/* a ~20 KB newsletter: Finnish text and its HTML twin, each personalised */
static void
newsletter(buf_t *text, buf_t *html)
{
	static const char para[] = "Sosiaali- ja terveysministeriö on käynnistänyt "
	    "valmistelun, jonka tavoitteena on yhtenäistää hyvinvointialueiden "
	    "käytäntöjä. Lisätietoja antaa erityisasiantuntija Anu Niemi. ";
	int i;

	buf_reset(text);
	buf_reset(html);
	PUT(buf_adds(html, "<!DOCTYPE html><html><body style=\"font-family: sans-serif\">\n"));
	for (i = 0; i < 24; i++) {
		PUT(buf_printf(text, "%d. %s%s\n\n", i + 1, para, para));
		PUT(buf_printf(html, "<p class=\"kappale\"><a href=\"https://tiedote.example/"
		    "a/%d?utm_source=tiedote&amp;id=3f2a\">%d.</a> %s%s</p>\n", i, i + 1,
		    para, para));
	}
	PUT(buf_adds(html, "</body></html>\n"));
}

/* speed - messages per second of CPU time, best of three rounds (the
 * machine may be busy); reported, not judged */
TEST(speed)
{
	mime_msg_t m = base_msg();
	buf_t out, err, text, html;
	struct timespec t0, t1;
	double secs, best = 0;
	int i, round, n = 1000;

	buf_init(&out, 0);
	buf_init(&err, 0);
	buf_init(&text, 0);
	buf_init(&html, 0);
	newsletter(&text, &html);
	m.text = buf_str(&text);
	m.html = buf_str(&html);
	for (round = 0; round < 3; round++) {
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
		for (i = 0; i < n; i++) {
			buf_reset(&out);
			if (mime_build(&m, &out, &err) < 0)
				break;
		}
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
		CHECK(i == n);
		secs = (double)(t1.tv_sec - t0.tv_sec) +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		if (best == 0 || secs < best)
			best = secs;
	}
	printf("# %d messages of %zu + %zu octets (%zu on the wire): %.0f messages/s\n",
	    n, text.len, html.len, out.len, n / best);
	buf_free(&out);
	buf_free(&err);
	buf_free(&text);
	buf_free(&html);
}

/* --- test_mime --write DIR [N] ---------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static unsigned
rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static const char *const frag[] = {
	"Hei", "tiedote", "Ajankohtaistiedote 2020/09 – ÄÖÅ äöå", "Anu", "Niemi,",
	"<script>alert(1)</script>", "{{name}}", "{{{html}}}", "{{#x}}y{{/x}}",
	"😀", "👨‍👩‍👧‍👦", "e\xcc\x81", "A\xcc\x8a", "Z\xcd\x91\xcd\x92\xcd\x93\xcc\xb8",
	"שלום", "مرحبا", ("\xe2\x80\xae" "evil"), "\xe2\x80\x8b", "\xef\xbb\xbf",
	"\r\n", "\n", "\r", "\r\nBcc: evil@x.fi", "\nX-Injected: 1\n", "\r\n\r\n",
	"\0", "\x01\x1b[31m", "\x7f", "\xc2\x85", "\xc2\x9b", "\t", "\x0b\x0c",
	"=?utf-8?q?evil?=", "=?", "?=", "=_", "--=_td_", "=", "_", ".", "From ",
	"  ", " ", "   ", "\"", "\\", ",", ";", ":", "<", ">", "@", "(x)", "%",
	"&amp;", "=3D", "=\r\n", "\xc3\xa4", "\xe2\x80\x93", "Åbo Akademi",
	"Sosiaali- ja terveysministeriö",
};

/* hostile - some fragments in a row, now and then a 2,000-character word
 * or a line of 10,000; header text gets shorter runs */
static void
hostile(buf_t *b, unsigned nfrag, int big)
{
	unsigned i, k, n = 1 + rnd(nfrag);

	for (i = 0; i < n; i++) {
		unsigned f = rnd(NELEM(frag));

		/* "" stands for a NUL byte */
		PUT(buf_add(b, frag[f], frag[f][0] ? strlen(frag[f]) : 1));
		if (rnd(3) == 0)
			PUT(buf_addc(b, ' '));
	}
	if (big && rnd(8) == 0)
		for (k = 0; k < 2000; k++)
			PUT(buf_adds(b, k % 5 ? "x" : "ö"));
	if (big == 2 && rnd(16) == 0)
		for (k = 0; k < 10000; k++)
			PUT(buf_addc(b, "ab c.=\t"[rnd(7)]));
}

static json_t *
jstr(const char *s, size_t n)
{
	return json_stringn(s, n);
}

static json_t *
jsqueezed(const char *s)
{
	buf_t b;
	json_t *j;

	buf_init(&b, 0);
	squeezed(&b, s);
	j = jstr(buf_str(&b), b.len);
	buf_free(&b);
	return j;
}

static json_t *
jclean(const char *s, int trim)
{
	buf_t b;
	json_t *j;

	buf_init(&b, 0);
	cleaned(&b, s);
	if (trim)
		trim_spaces(&b);
	j = jstr(buf_str(&b), b.len);
	buf_free(&b);
	return j;
}

/* write_one - message i into dir; 0, or -1 after saying why */
static int
write_one(const char *dir, unsigned i)
{
	static const char *const addrs[] = {
		"anu.niemi@thl.fi", "kirjaamo@stm.fi", "o'brien+tiedote@example.com",
		"a@b.fi", "first.last@sub-domain.example.org",
	};
	static const char *const types[] = {
		"text/calendar; charset=UTF-8; method=PUBLISH", "application/pdf",
		"image/png", NULL,
	};
	buf_t subject, fname, tname, list, text, html, extra1, out, err, path, name;
	const char *extra[3] = { NULL, NULL, NULL };
	mime_attachment_t att[2];
	mime_msg_t m = base_msg();
	json_t *j = json_object(), *ja, *jx, *jf;
	char id[64], idbuf[64];
	unsigned k, natt = rnd(3) == 0 ? 1 + rnd(2) : 0;
	int rc = -1;
	FILE *f;

	buf_init(&subject, 0);
	buf_init(&fname, 0);
	buf_init(&tname, 0);
	buf_init(&list, 0);
	buf_init(&text, 0);
	buf_init(&html, 0);
	buf_init(&extra1, 0);
	buf_init(&out, 0);
	buf_init(&err, 0);
	buf_init(&path, 0);
	buf_init(&name, 0);

	hostile(&subject, 8, i % 3 == 0);
	hostile(&fname, 4, i % 11 == 0);
	hostile(&tname, 4, 0);
	hostile(&list, 3, 0);
	/* a NUL would cut the list-id off its phrase */
	for (k = 0; k < list.len; k++)
		if (list.data[k] == '\0')
			list.data[k] = ' ';
	PUT(buf_adds(&list, " <lista-"));
	PUT(buf_printf(&list, "%u.tiedote.example>", i % 7));
	for (k = 0; k < 1 + rnd(12); k++)
		hostile(&text, 10, 2);
	for (k = 0; k < 1 + rnd(12); k++)
		hostile(&html, 10, 2);
	PUT(buf_adds(&extra1, "X-Tiedote-Test: "));
	hostile(&extra1, 4, 0);
	extra[0] = "Auto-Submitted: auto-generated";
	extra[1] = buf_str(&extra1);
	snprintf(id, sizeof id, "2020-09.%04u.%08x@tiedote.example", i, rnd(1u << 31));
	snprintf(idbuf, sizeof idbuf, "%s", id);

	m.subject = buf_str(&subject);
	m.from_name = buf_str(&fname);
	m.to_name = buf_str(&tname);
	m.to_addr = addrs[rnd(NELEM(addrs))];
	m.reply_to = rnd(2) ? "kirjaamo@thl.fi" : NULL;
	m.date = 1600000000 + (int64_t)rnd(100000000);
	m.message_id = idbuf;
	m.list_id = rnd(4) ? buf_str(&list) : NULL;
	m.unsubscribe_url = rnd(4) ? "https://tiedote.example/u/3f2a?x=1&y=%C3%A4" : NULL;
	m.unsubscribe_mailto = rnd(3) ? "unsubscribe+3f2a@tiedote.example" : NULL;
	m.text = buf_str(&text);
	m.text_len = text.len;
	m.html = rnd(5) ? buf_str(&html) : NULL;
	m.html_len = html.len;
	m.extra_headers = extra;
	for (k = 0; k < natt; k++) {
		buf_t *d = k ? &html : &text;

		att[k].filename = k ? "liite-äö.pdf" : "verkostopaiva.ics";
		att[k].content_type = types[rnd(NELEM(types))];
		att[k].data = d->data;
		att[k].len = d->len;
		att[k].base64 = 0;
	}
	m.attachments = att;
	m.nattachments = natt;

	if (mime_build(&m, &out, &err) < 0) {
		fprintf(stderr, "message %u: %s\n", i, buf_str(&err));
		goto out;
	}

	/* what a reader must get back: raw input and expectation side by side */
	json_object_set_new(j, "message_id", json_string(id));
	json_object_set_new(j, "subject_raw", json_string(m.subject));
	json_object_set_new(j, "subject", jclean(m.subject, 0));
	json_object_set_new(j, "from_name_raw", json_string(m.from_name));
	json_object_set_new(j, "from_name", jsqueezed(m.from_name));
	json_object_set_new(j, "from_addr", json_string(m.from_addr));
	json_object_set_new(j, "to_name_raw", json_string(m.to_name));
	json_object_set_new(j, "to_name", jsqueezed(m.to_name));
	json_object_set_new(j, "to_addr", json_string(m.to_addr));
	json_object_set_new(j, "reply_to", m.reply_to ? json_string(m.reply_to) : json_null());
	if (m.list_id) {
		buf_t c;
		const char *lt;

		buf_init(&c, 0);
		squeezed(&c, m.list_id);
		lt = strrchr(buf_str(&c), '<');
		buf_reset(&name);
		PUT(buf_add(&name, c.data, (size_t)(lt - c.data)));
		trim_spaces(&name);
		if (name.len)
			PUT(buf_addc(&name, ' '));
		PUT(buf_adds(&name, lt));
		json_object_set_new(j, "list_id_raw", json_string(m.list_id));
		json_object_set_new(j, "list_id", json_string(buf_str(&name)));
		buf_free(&c);
	} else {
		json_object_set_new(j, "list_id_raw", json_null());
		json_object_set_new(j, "list_id", json_null());
	}
	buf_reset(&name);
	if (m.unsubscribe_url)
		PUT(buf_printf(&name, "<%s>", m.unsubscribe_url));
	if (m.unsubscribe_mailto)
		PUT(buf_printf(&name, "%s<mailto:%s>", name.len ? ", " : "", m.unsubscribe_mailto));
	json_object_set_new(j, "list_unsubscribe", name.len ? json_string(buf_str(&name)) :
	    json_null());
	json_object_set_new(j, "one_click", json_boolean(m.unsubscribe_url != NULL));
	json_object_set_new(j, "text_raw", jstr(m.text, m.text_len));
	norm(&name, m.text, m.text_len);
	json_object_set_new(j, "text", jstr(name.data ? name.data : "", name.len));
	if (m.html) {
		json_object_set_new(j, "html_raw", jstr(m.html, m.html_len));
		norm(&name, m.html, m.html_len);
		json_object_set_new(j, "html", jstr(name.data ? name.data : "", name.len));
	} else {
		json_object_set_new(j, "html_raw", json_null());
		json_object_set_new(j, "html", json_null());
	}
	jx = json_array();
	json_array_append_new(jx, json_pack("[s,s]", "Auto-Submitted", "auto-generated"));
	json_array_append_new(jx, json_pack("[s,s,o]", "X-Tiedote-Test",
	    extra[1] + strlen("X-Tiedote-Test:"), jclean(extra[1] + strlen("X-Tiedote-Test:"), 1)));
	json_object_set_new(j, "extra", jx);
	ja = json_array();
	for (k = 0; k < natt; k++) {
		jf = json_object();
		json_object_set_new(jf, "filename", json_string(k ? "liite-__.pdf" :
		    "verkostopaiva.ics"));
		json_object_set_new(jf, "content_type", att[k].content_type ?
		    json_string(att[k].content_type) : json_null());
		/* the data is one of the raw bodies: UTF-8, NUL and all */
		json_object_set_new(jf, "data", jstr(att[k].data, att[k].len));
		json_array_append_new(ja, jf);
	}
	json_object_set_new(j, "attachments", ja);

	PUT(buf_printf(&path, "%s/%04u.eml", dir, i));
	if ((f = fopen(buf_str(&path), "wb")) == NULL ||
	    fwrite(out.data, 1, out.len, f) != out.len || fclose(f) != 0) {
		fprintf(stderr, "%s: %s\n", buf_str(&path), strerror(errno));
		goto out;
	}
	buf_reset(&path);
	PUT(buf_printf(&path, "%s/%04u.json", dir, i));
	if (json_dump_file(j, buf_str(&path), JSON_INDENT(1) | JSON_SORT_KEYS) != 0) {
		fprintf(stderr, "%s: cannot write\n", buf_str(&path));
		goto out;
	}
	rc = 0;
out:
	json_decref(j);
	buf_free(&subject);
	buf_free(&fname);
	buf_free(&tname);
	buf_free(&list);
	buf_free(&text);
	buf_free(&html);
	buf_free(&extra1);
	buf_free(&out);
	buf_free(&err);
	buf_free(&path);
	buf_free(&name);
	return rc;
}

static int
write_corpus(const char *dir, unsigned n)
{
	unsigned i;

	if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return 1;
	}
	setenv("TZ", "EET-2EEST,M3.5.0/3,M10.5.0/4", 1);
	tzset();
	for (i = 0; i < n; i++)
		if (write_one(dir, i) < 0)
			return 1;
	printf("wrote %u messages to %s\n", n, dir);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "--write") == 0)
		return write_corpus(argv[2], argc > 3 ? (unsigned)atoi(argv[3]) : 1200);

	RUN(alternative_structure);
	RUN(text_only_is_one_part);
	RUN(attachments_in_mixed);
	RUN(header_fields);
	RUN(date_offsets);
	RUN(subject_rfc2047_round_trip);
	RUN(display_names);
	RUN(no_header_injection);
	RUN(long_words_and_lines);
	RUN(qp_every_offset);
	RUN(body_normalisation);
	RUN(boundary_never_in_parts);
	RUN(deterministic);
	RUN(pre_encoded_attachment_same_bytes);
	RUN(bad_addresses_refused);
	RUN(bad_fields_refused);
	RUN(ceiling_fails_cleanly);
	RUN(idn_and_utf8_addresses_pass_through);
	RUN(speed);
	return TEST_DONE();
}
