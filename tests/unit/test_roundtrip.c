/*
 * test_roundtrip - hostile events through the whole pipeline, and every
 * message read back.
 *
 * 1,200 generated events of all six types, with the content a producer
 * may legally send and a renderer must survive (<script> and broken
 * markup, Mustache tags {{x}} {{{y}}} {{=<% %>=}}, emoji and ZWJ
 * sequences, combining marks, Hebrew and Arabic text with direction
 * overrides, U+2028, NEL, BOM, 2,000-character words, 10,000-character
 * lines, CR LF, tabs, trailing spaces, lines that are only "." or start
 * with "From "), go through the real validator (event_parse, so each is
 * accepted exactly as intake would accept it) into a temporary database
 * (store_event_put), spread over twelve two-week issues, with cancelled
 * items and deadlines whose date a later revision moved.  For each issue
 * and four recipients (fi/HYKS, sv/TYKS, en/all, sv/KYS+OYS, with hostile
 * display names) the bulletin is composed, rendered and built as MIME
 * (compose_issue_load, message_bulletin), then parsed back with libetpan:
 * the decoded text/plain and text/html must equal what the renderer
 * produced (line ends normalised to LF), the Subject and To must decode to
 * what was put in, every item's title must be in both parts (HTML-escaped
 * in the HTML), no markup may leak into the HTML, and the text stays
 * within 76 columns but for single words.
 *
 * The forms the validator must refuse (NUL, lone CR, other control
 * characters, lone surrogates, invalid UTF-8, over-long text) are checked
 * to be refused with the contract's code and field.
 *
 * "test_roundtrip --write DIR" also writes every message as DIR/NNN.eml
 * with DIR/NNN.json holding the parts (subject, text, html) and the
 * recipient; tests/it/test_roundtrip_python.py reads them with Python's
 * email package under email.policy.strict.  Templates are read from
 * $TIEDOTE_ROOT/templates (default ./templates).
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>
#include <libetpan/libetpan.h>

#include "buf.h"
#include "clock.h"
#include "compose.h"
#include "conf.h"
#include "event.h"
#include "message.h"
#include "store.h"
#include "test.h"
#include "util.h"

#define NEVENTS		1200
#define NISSUES		12
#define DAY		((int64_t)86400)
#define MAX_EVENT	262144

static const char *write_dir;
static char tmpdir[] = "/tmp/tiedote-roundtrip.XXXXXX";
static char db_path[512], templates[512];
static conf_t conf;
static store_t *store;
static int64_t issue_end[NISSUES];
static int events_stored, revisions_stored, cancelled_stored;

/* --- a fixed pseudo-random sequence (xorshift64*), so every run is the same */

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t
rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1du;
}

static int
pick(int n)
{
	return (int)(rnd() % (uint64_t)n);
}

static int64_t
between(int64_t lo, int64_t hi)
{
	return lo + (int64_t)(rnd() % (uint64_t)(hi - lo));
}

/* --- hostile material ------------------------------------------------------ */

/* one-line fragments: no control characters (U+0000-U+001F, U+007F) and
 * no bidirectional controls (U+202A-U+202E, U+2066-U+2069), which the
 * validator refuses (validator_refuses_what_cannot_be_sent); the marks
 * RLM, LRM and ALM are text */
static const char *const hostile[] = {
	"<script>alert(\"x\")</script>", "<SCRIPT src=//evil.example/x.js></SCRIPT>",
	"</td></tr></table><h1>rikki</h1>", "<!-- kommentti -->", "<b>lihava",
	"<img src=x onerror=alert(1)>", "&amp; &lt; &#39; & &nbsp;", "\"lainaus\" 'heitto'",
	"{{x}}", "{{{y}}}", "{{>more}}", "{{/layout}}", "{{#deadlines}}", "{{^url}}",
	"{{! kommentti }}", "{{=<% %>=}}", "{{&z}}", "{{$content}}", "{{<layout}}", "}}{{",
	"\xf0\x9f\x8e\x89", "\xf0\x9f\x91\xa9\xe2\x80\x8d\xe2\x9a\x95\xef\xb8\x8f",
	"\xf0\x9f\x87\xab\xf0\x9f\x87\xae", "\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd", "💉🏥🩺",
	"e\xcc\x81 Å Å", "Z̷̢͓a̴l̶g̸o̵ ̵t̷e̶x̴t̷", "n\xcc\x83\xcc\x8a\xcc\xa3",
	"שלום עולם", "مرحبا بالعالم", ("\xd8\x9c" "ALM-merkki"),
	"\xe2\x80\x8f" "RLM \xe2\x80\x8e" "LRM", "עברית mixed English 123 العربية",
	"non\xc2\xa0" "breaking\xc2\xa0" "space",
	"\xe2\x80\xa8" "line separator", "\xe2\x80\xa9" "paragraph separator",
	"\xc2\x85" "NEL", "\xef\xbb\xbf" "BOM", "\xef\xbf\xbd", "\xef\xbf\xbf",
	"\xe2\x80\x8b" "zero" "\xe2\x80\x8b" "width", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟙𝟚𝟛", "Ääkköset åäö ÅÄÖ",
	"=?UTF-8?B?SGVsbG8=?=", "=_td_0000000000000000_2", "--=_td_", "=3D=20=", "\\ \\n \\u0000",
	"Subject: injektio", "bcc: x@evil.example", "%s %n %x", "../../etc/passwd",
	"Verkostopäivä", "valtionavustushaku", "hyvinvointialue", "sote-keskus",
	"Framtidens social- och hälsocentral", "programme", "  välilyöntejä  ",
};

/* separators in multi-line text (summary, body); a lone CR is not allowed */
static const char *const seps[] = {
	" ", " ", " ", "\n", "\r\n", "\t", "   \n", "\n.\n", "\nFrom ", "\n- ", " \t ",
};

/* characters a long word is made of (one code point each) */
static const char *const wordchars[] = {
	"a", "ä", "ö", "Å", "🎉", "ß", "ж", "ש", "\xcc\x81", "k", "x", "{", "<",
};

static size_t
cps(const char *s, size_t n)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xc0) != 0x80;
	return c;
}

/* long_word - n code points without a space */
static void
long_word(buf_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		PUT(buf_adds(b, wordchars[(i * 7 + i / 13) % NELEM(wordchars)]));
}

/* line - a one-line text of at most max code points */
static void
line(buf_t *b, size_t max, int n)
{
	size_t start = b->len;

	PUT(buf_printf(b, "Kohde %d", n));
	for (int i = 0, k = 1 + pick(5); i < k; i++) {
		const char *f = hostile[pick(NELEM(hostile))];

		if (cps(b->data + start, b->len - start) + 1 + strlen(f) > max)
			break;
		PUT(buf_addc(b, ' '));
		PUT(buf_adds(b, f));
	}
}

/* multi - a multi-line text of at most max code points (bytes when bytes) */
static void
multi(buf_t *b, size_t max, int bytes, int words)
{
	size_t start = b->len;

	for (int i = 0; i < words; i++) {
		const char *sep = i ? seps[pick(NELEM(seps))] : "";
		const char *f = hostile[pick(NELEM(hostile))];
		size_t used = bytes ? b->len - start : cps(b->data + start, b->len - start);

		if (used + strlen(sep) + strlen(f) > max)
			break;
		PUT(buf_adds(b, sep));
		PUT(buf_adds(b, f));
	}
}

static json_t *
text_value(const char *fi, const char *sv, const char *en)
{
	json_t *o;

	if (fi && !sv && !en && pick(2))
		return json_string(fi);		/* a plain string is Finnish */
	o = json_object();
	if (fi)
		json_object_set_new(o, "fi", json_string(fi));
	if (sv)
		json_object_set_new(o, "sv", json_string(sv));
	if (en)
		json_object_set_new(o, "en", json_string(en));
	return o;
}

/* set_text - field in a random non-empty set of languages; kind 0 one
 * line, 1 summary, 2 body */
static void
set_text(json_t *ev, const char *field, int kind, int n)
{
	static const char *const tag[] = { "[fi] ", "[sv] ", "[en] " };
	char *s[3] = { NULL, NULL, NULL };
	unsigned langs = 1 + (unsigned)pick(7);
	json_t *v;

	for (int l = 0; l < 3; l++) {
		buf_t b;

		if (!(langs & (1u << l)))
			continue;
		buf_init(&b, 0);
		PUT(buf_adds(&b, tag[l]));
		switch (kind) {
		case 0:
			line(&b, 300, n);
			break;
		case 1:
			switch (pick(12)) {
			case 0:		/* one word of exactly 2,000 characters */
				buf_reset(&b);
				long_word(&b, 2000);
				break;
			case 1:
				long_word(&b, 1000);
				multi(&b, 2000 - 1000, 0, 40);
				break;
			default:
				multi(&b, 2000 - 5, 0, 3 + pick(pick(8) ? 12 : 60));
				break;
			}
			break;
		case 2:
			/* paragraphs, lists, a 2,000-character word, a long line */
			for (int p = 0, np = 1 + pick(4); p < np; p++) {
				if (p)
					PUT(buf_adds(&b, pick(3) ? "\n\n" : pick(2) ? "\r\n\r\n" : "\n\n\n\n"));
				switch (pick(8)) {
				case 0:
					long_word(&b, 2000);
					break;
				case 1:
					for (int w = 0; w < 1000; w++)
						PUT(buf_adds(&b, w ? " sana" : "Pitkä rivi:"));
					break;
				default:
					multi(&b, 3000, 1, 5 + pick(40));
					break;
				}
			}
			break;
		}
		s[l] = buf_take(&b);
	}
	v = text_value(s[0], s[1], s[2]);
	json_object_set_new(ev, field, v);
	for (int l = 0; l < 3; l++)
		free(s[l]);
}

static json_t *
regions_value(void)
{
	static const char *const names[] = { "HYKS", "TYKS", "TAYS", "KYS", "OYS" };
	json_t *a = json_array();
	unsigned m = (unsigned)pick(40);

	if (m >= 31) {
		json_array_append_new(a, json_string("all"));
		return a;
	}
	m += 1;
	for (int i = 0; i < 5; i++)
		if (m & (1u << i))
			json_array_append_new(a, json_string(names[i]));
	return a;
}

static void
set_time(json_t *ev, const char *key, int64_t t)
{
	char s[32];

	clock_format(t, s);
	json_object_set_new(ev, key, json_string(s));
}

static const char *const urls[] = {
	"https://stm.fi/tulevaisuuden-sote-keskus/valtionavustus",
	"https://esimerkki.example/haku?a=1&b=2&c='x'",
	"https://esimerkki.example/polku/{{x}}/{{{y}}}/%3Cscript%3E#top",
	"https://www.innokyla.fi/fi/toimintamalli/äö-ÅÄÖ?q=👍",
	"http://example.fi:8080/a;b=c?d=e&f=g#h",
};

static void
set_url(json_t *ev, int required)
{
	if (!required && pick(4) == 0)
		return;
	if (pick(20) == 0) {
		buf_t b;

		/* close to the 2,048-byte limit */
		buf_init(&b, 0);
		PUT(buf_adds(&b, "https://pitka.example/"));
		while (b.len < 2000)
			PUT(buf_adds(&b, "polku/"));
		json_object_set_new(ev, "url", json_string(buf_str(&b)));
		buf_free(&b);
		return;
	}
	json_object_set_new(ev, "url", json_string(urls[pick(NELEM(urls))]));
}

/* --- the store ------------------------------------------------------------- */

/* put - the event's bytes through the validator into the store, as intake
 * does; 0, or -1 (reported) when the validator refuses it */
static int
put(json_t *raw, int64_t now, int ascii)
{
	char *data = json_dumps(raw, JSON_COMPACT | (ascii ? JSON_ENSURE_ASCII : 0));
	event_err_t err;
	json_t *ev;
	char *body;
	store_put_t res;
	int rev, rc = -1;

	ev = event_parse(data, strlen(data), MAX_EVENT, &err);
	if (ev == NULL) {
		fprintf(stderr, "  refused: %s %s: %s\n    %.300s\n", err.code, err.field,
		    err.message, data);
		goto out;
	}
	body = event_canonical(ev);
	if (store_event_put(store, json_string_value(json_object_get(ev, "id")),
	    json_string_value(json_object_get(ev, "type")), body, event_regions(ev),
	    event_at(ev), json_is_true(json_object_get(ev, "cancelled")), now, &res,
	    &rev) < 0)
		fprintf(stderr, "  store: %s\n", store_errmsg(store));
	else if (res == PUT_NEW || res == PUT_REVISION) {
		rc = 0;
		events_stored += res == PUT_NEW;
		revisions_stored += res == PUT_REVISION;
	}
	free(body);
	json_decref(ev);
out:
	free(data);
	return rc;
}

static const char *const types[] = {
	"deadline", "network_day", "event", "practice", "announcement", "news"
};

/* generate - NEVENTS events over the issues' span; 0 or -1 */
static int
generate(void)
{
	int64_t first = issue_end[0] - 14 * DAY, last = issue_end[NISSUES - 1];
	int bad = 0;

	if (store_begin(store) < 0)
		return -1;
	for (int i = 0; i < NEVENTS; i++) {
		const char *type = types[i % NELEM(types)];
		json_t *ev = json_object();
		int64_t now = between(first, last), t;
		char id[64];

		snprintf(id, sizeof id, "gen-%s-%04d", type, i);
		json_object_set_new(ev, "id", json_string(id));
		json_object_set_new(ev, "type", json_string(type));
		set_text(ev, "title", 0, i);
		if (pick(5))
			set_text(ev, "summary", 1, i);
		if (strcmp(type, "announcement") == 0 || pick(6) == 0)
			set_text(ev, "body", 2, i);
		json_object_set_new(ev, "regions", regions_value());
		set_url(ev, strcmp(type, "practice") == 0);
		switch (i % NELEM(types)) {
		case 0:		/* deadline */
			/* some beyond every issue's 60-day window */
			t = between(issue_end[0], last + 200 * DAY);
			set_time(ev, "due", t);
			if (pick(2))
				set_time(ev, "opens", t - between(0, 90 * DAY));
			break;
		case 1:		/* network_day */
		case 2:		/* event */
			t = between(issue_end[0], last + 400 * DAY);
			set_time(ev, "starts", t);
			if (pick(3))
				set_time(ev, "ends", t + (pick(4) ? between(0, 8 * 3600) :
				    between(DAY, 3 * DAY)));
			if (pick(2))
				set_text(ev, "location", 0, i);
			break;
		case 3:		/* practice */
			set_time(ev, "published", between(first, last));
			if (pick(2))
				set_text(ev, "organisation", 0, i);
			break;
		case 4:		/* announcement */
			if (pick(5) == 0)	/* its own message: never in a bulletin */
				set_time(ev, "send_at", between(first, last));
			else if (pick(2))
				json_object_set_new(ev, "in_bulletin", json_true());
			break;
		case 5:		/* news */
			if (pick(2))
				set_time(ev, "published", between(first, last));
			if (pick(2))
				set_text(ev, "source", 0, i);
			break;
		}
		if (i % NELEM(types) < 3 && pick(20) == 0) {
			json_object_set_new(ev, "cancelled", json_true());
			cancelled_stored++;
		}
		bad += put(ev, now, pick(4) == 0) < 0;
		/* a later revision moves some deadlines: "changed" in an issue */
		if (i % NELEM(types) == 0 && pick(8) == 0) {
			set_time(ev, "due", between(issue_end[0], last + 60 * DAY));
			json_object_del(ev, "opens");	/* it may be after the new date */
			bad += put(ev, between(now, last + DAY), 0) < 0;
		}
		json_decref(ev);
	}
	if (store_commit(store) < 0) {
		store_rollback(store);
		return -1;
	}
	return bad ? -1 : 0;
}

/* --- reading a message back with libetpan ---------------------------------- */

typedef struct readback {
	int	 ok;
	char	*subject, *to_name, *to_addr;
	int	 nparts;
	char	 shape[64];
	buf_t	 part[2];	/* decoded text/plain, text/html */
	char	 charset[2][32], type[2][16];
} readback_t;

static char *
decode_words(const char *s)
{
	char *dec = NULL;
	size_t idx = 0;

	if (s == NULL)
		return xstrdup("");
	if (mailmime_encoded_phrase_parse("us-ascii", s, strlen(s), &idx, "utf-8",
	    &dec) != MAILIMF_NO_ERROR)
		return xstrdup("(undecodable)");
	return dec;
}

static void
walk(readback_t *rb, struct mailmime *m)
{
	clistiter *c;

	if (m->mm_type == MAILMIME_MESSAGE) {
		struct mailimf_fields *f = m->mm_data.mm_message.mm_fields;

		for (c = f ? clist_begin(f->fld_list) : NULL; c; c = clist_next(c)) {
			struct mailimf_field *fl = clist_content(c);

			if (fl->fld_type == MAILIMF_FIELD_SUBJECT && !rb->subject)
				rb->subject = decode_words(fl->fld_data.fld_subject->sbj_value);
			else if (fl->fld_type == MAILIMF_FIELD_TO && !rb->to_addr) {
				struct mailimf_address *a = clist_content(clist_begin(
				    fl->fld_data.fld_to->to_addr_list->ad_list));

				if (a->ad_type == MAILIMF_ADDRESS_MAILBOX) {
					rb->to_name = decode_words(a->ad_data.ad_mailbox->mb_display_name);
					rb->to_addr = xstrdup(a->ad_data.ad_mailbox->mb_addr_spec);
				}
			}
		}
		if (m->mm_data.mm_message.mm_msg_mime)
			walk(rb, m->mm_data.mm_message.mm_msg_mime);
		return;
	}
	if (m->mm_type == MAILMIME_MULTIPLE) {
		snprintf(rb->shape, sizeof rb->shape, "%s",
		    m->mm_content_type ? m->mm_content_type->ct_subtype : "?");
		for (c = clist_begin(m->mm_data.mm_multipart.mm_mp_list); c; c = clist_next(c))
			walk(rb, clist_content(c));
		return;
	}
	if (rb->nparts < 2) {
		struct mailmime_single_fields sf;
		struct mailmime_data *d = m->mm_data.mm_single;
		char *res = NULL;
		size_t rl = 0, idx = 0;
		int i = rb->nparts++;

		mailmime_single_fields_init(&sf, m->mm_mime_fields, m->mm_content_type);
		snprintf(rb->type[i], sizeof rb->type[i], "%s", m->mm_content_type ?
		    m->mm_content_type->ct_subtype : "?");
		snprintf(rb->charset[i], sizeof rb->charset[i], "%s",
		    sf.fld_content_charset ? sf.fld_content_charset : "");
		if (d->dt_encoding != MAILMIME_MECHANISM_QUOTED_PRINTABLE)
			rb->ok = 0;
		if (mailmime_part_parse(d->dt_data.dt_text.dt_data, d->dt_data.dt_text.dt_length,
		    &idx, d->dt_encoding, &res, &rl) == MAILIMF_NO_ERROR) {
			/* CR LF back to LF, as the renderer wrote it */
			for (size_t k = 0; k < rl; k++)
				if (!(res[k] == '\r' && k + 1 < rl && res[k + 1] == '\n'))
					PUT(buf_addc(&rb->part[i], res[k]));
			mailmime_decoded_part_free(res);
		} else
			rb->ok = 0;
	} else
		rb->ok = 0;	/* more leaves than text and HTML */
}

static void
read_back(readback_t *rb, const buf_t *eml)
{
	struct mailmime *m = NULL;
	size_t idx = 0;

	memset(rb, 0, sizeof *rb);
	buf_init(&rb->part[0], 0);
	buf_init(&rb->part[1], 0);
	rb->ok = mailmime_parse(eml->data, eml->len, &idx, &m) == MAILIMF_NO_ERROR;
	if (!rb->ok)
		return;
	walk(rb, m);
	mailmime_free(m);
}

static void
readback_free(readback_t *rb)
{
	free(rb->subject);
	free(rb->to_name);
	free(rb->to_addr);
	buf_free(&rb->part[0]);
	buf_free(&rb->part[1]);
}

/* --- checks on one message -------------------------------------------------- */

static int
same(const buf_t *a, const buf_t *b, const char *what, int msg)
{
	size_t i = 0;

	if (a->len == b->len && memcmp(a->data, b->data, a->len) == 0)
		return 1;
	while (i < a->len && i < b->len && a->data[i] == b->data[i])
		i++;
	fprintf(stderr, "  message %d: decoded %s differs at byte %zu of %zu/%zu:\n"
	    "    decoded:  %.80s\n    rendered: %.80s\n", msg, what, i, a->len, b->len,
	    i < a->len ? a->data + i : "", i < b->len ? b->data + i : "");
	return 0;
}

/* squash - runs of space, tab and line feed as one space: wrapping only
 * ever breaks or indents at those */
static void
squash(buf_t *out, const char *s, size_t n)
{
	int sp = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n') {
			sp = 1;
			continue;
		}
		if (sp && out->len)
			PUT(buf_addc(out, ' '));
		sp = 0;
		PUT(buf_addc(out, s[i]));
	}
}

static void
escape_html(buf_t *out, const char *s)
{
	for (; *s; s++)
		switch (*s) {
		case '&': PUT(buf_adds(out, "&amp;")); break;
		case '<': PUT(buf_adds(out, "&lt;")); break;
		case '>': PUT(buf_adds(out, "&gt;")); break;
		case '"': PUT(buf_adds(out, "&quot;")); break;
		case '\'': PUT(buf_adds(out, "&#39;")); break;
		default: PUT(buf_addc(out, *s)); break;
		}
}

/* titles_present - every item title the composer gave this recipient is in
 * the text (white space squashed) and, escaped, in the HTML; the number of
 * items is the issue's count for the recipient's regions */
static int
titles_present(json_t *data, const message_parts_t *p, int expect_count, int msg)
{
	static const char *const sections[] = {
		"deadlines", "events", "practices", "announcements", "news"
	};
	buf_t text, want, esc;
	size_t at_text = 0, at_html = 0;
	int ok = 1, n = 0;

	buf_init(&text, 0);
	buf_init(&want, 0);
	buf_init(&esc, 0);
	squash(&text, p->text.data, p->text.len);
	for (size_t s = 0; s < NELEM(sections); s++) {
		json_t *list = json_object_get(data, sections[s]), *item;
		size_t i;

		json_array_foreach(list, i, item) {
			const char *title = json_string_value(json_object_get(item, "title"));
			const void *ft, *fh;

			n++;
			buf_reset(&want);
			buf_reset(&esc);
			squash(&want, title, strlen(title));
			escape_html(&esc, title);
			/* in the data's order, so each search starts where the
			 * last one ended */
			ft = memmem(text.data + at_text, text.len - at_text, want.data, want.len);
			fh = memmem(p->html.data + at_html, p->html.len - at_html, esc.data, esc.len);
			if (ft == NULL || fh == NULL) {
				if (ok)
					fprintf(stderr, "  message %d: title missing or out of order "
					    "(%s): %.120s\n", msg, ft ? "HTML" : "text", title);
				ok = 0;
				continue;
			}
			at_text = (size_t)((const char *)ft - text.data) + want.len;
			at_html = (size_t)((const char *)fh - p->html.data) + esc.len;
		}
	}
	if (n != expect_count) {
		fprintf(stderr, "  message %d: %d items, the issue counts %d\n", msg, n,
		    expect_count);
		ok = 0;
	}
	buf_free(&text);
	buf_free(&want);
	buf_free(&esc);
	return ok;
}

/* wrapped - every text line fits 76 columns, or is indentation, an
 * optional list mark and one word that is wider alone */
static int
wrapped(const buf_t *text, int msg)
{
	const char *p = text->data, *end = text->data + text->len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ? nl : end, *w = p;
		size_t col = 0;

		for (const char *q = p; q < e; q++) {
			if (*q == '\t')
				col = (col / 8 + 1) * 8;
			else
				col += ((unsigned char)*q & 0xc0) != 0x80;
		}
		if (col > 76) {
			while (w < e && (*w == ' ' || *w == '\t'))
				w++;
			if (e - w > 2 && (w[0] == '*' || w[0] == '-') && w[1] == ' ')
				w += 2;
			for (const char *q = w; q < e; q++)
				if (*q == ' ' || *q == '\t') {
					fprintf(stderr, "  message %d: a line of %zu columns could "
					    "break: %.100s\n", msg, col, p);
					return 0;
				}
		}
		p = e + 1;
	}
	return 1;
}

static int
write_file(const char *path, const char *data, size_t len)
{
	FILE *fp = fopen(path, "wb");
	int rc = 0;

	if (fp == NULL)
		return -1;
	if (fwrite(data, 1, len, fp) != len)
		rc = -1;
	if (fclose(fp) != 0)
		rc = -1;
	return rc;
}

static int
write_message(int n, const buf_t *eml, const message_parts_t *p, const message_rcpt_t *r,
    const char *number)
{
	char path[1024];
	char *js;
	json_t *o;
	int rc;

	snprintf(path, sizeof path, "%s/%03d.eml", write_dir, n);
	if (write_file(path, eml->data, eml->len) < 0)
		return -1;
	o = json_pack("{s:s%, s:s%, s:s%, s:s, s:s, s:s, s:s, s:s, s:s, s:b}",
	    "subject", buf_str(&p->subject), p->subject.len,
	    "text", buf_str(&p->text), p->text.len,
	    "html", buf_str(&p->html), p->html.len,
	    "to_name", r->name ? r->name : "", "to_addr", r->email,
	    "from_name", conf.from_name, "from_addr", conf.from_address,
	    "lang", r->lang, "issue", number, "draft", r->draft);
	js = json_dumps(o, JSON_INDENT(1) | JSON_ENSURE_ASCII);
	snprintf(path, sizeof path, "%s/%03d.json", write_dir, n);
	rc = write_file(path, js, strlen(js));
	free(js);
	json_decref(o);
	return rc;
}

/* --- the cases --------------------------------------------------------------- */

static json_t *
parse_raw(const char *s, event_err_t *err)
{
	return event_parse(s, strlen(s), MAX_EVENT, err);
}

static int
refused(const char *raw, const char *code, const char *field)
{
	event_err_t err;
	json_t *ev = parse_raw(raw, &err);

	if (ev) {
		fprintf(stderr, "  accepted: %.200s\n", raw);
		json_decref(ev);
		return 0;
	}
	if (strcmp(err.code, code) != 0 || (field && strcmp(err.field, field) != 0)) {
		fprintf(stderr, "  %.200s\n    got %s %s, want %s %s\n", raw, err.code, err.field,
		    code, field ? field : "");
		return 0;
	}
	return 1;
}

#define NEWS(fields) "{\"id\":\"x\",\"type\":\"news\",\"regions\":[\"all\"]," fields "}"

TEST(validator_refuses_what_cannot_be_sent)
{
	buf_t b;

	CHECK(refused(NEWS("\"title\":\"a\\u0000b\""), "malformed_json", NULL));
	CHECK(refused(NEWS("\"title\":\"t\",\"body\":\"a\\u0000b\""), "malformed_json", NULL));
	CHECK(refused(NEWS("\"title\":\"\\ud800\""), "malformed_json", NULL));
	CHECK(refused(NEWS("\"title\":\"\xff\""), "malformed_json", NULL));
	CHECK(refused(NEWS("\"title\":\"a\\u0001b\""), "invalid_value", "title"));
	CHECK(refused(NEWS("\"title\":\"a\\nb\""), "invalid_value", "title"));
	CHECK(refused(NEWS("\"title\":\"a\\r\\nb\""), "invalid_value", "title"));
	CHECK(refused(NEWS("\"title\":\"a\\tb\""), "invalid_value", "title"));
	CHECK(refused(NEWS("\"title\":\"a\\u007fb\""), "invalid_value", "title"));
	CHECK(refused(NEWS("\"title\":\"   \""), "invalid_value", "title"));
	CHECK(refused(NEWS("\"title\":{\"sv\":\"a\\u001bb\"}"), "invalid_value", "title.sv"));
	CHECK(refused(NEWS("\"title\":\"t\",\"summary\":\"a\\rb\""), "invalid_value", "summary"));
	CHECK(refused(NEWS("\"title\":\"t\",\"summary\":\"a\\n\\r\""), "invalid_value", "summary"));
	CHECK(refused(NEWS("\"title\":\"t\",\"body\":{\"en\":\"a\\u000bb\"}"), "invalid_value",
	    "body.en"));
	CHECK(refused(NEWS("\"title\":\"t\",\"source\":\"a\\u001fb\""), "invalid_value", "source"));
	CHECK(refused(NEWS("\"title\":\"t\",\"url\":\"javascript:alert(1)\""), "invalid_url", "url"));
	/* text that shows other than it reads: bidirectional overrides and
	 * isolates, in a subject or a page */
	CHECK(refused(NEWS("\"title\":\"\\u202eRLO-ohitus\\u202c\""), "invalid_value", "title"));
	CHECK(refused(NEWS("\"title\":\"t\",\"summary\":{\"en\":\"\\u2067isolate\\u2069\"}"),
	    "invalid_value", "summary.en"));
	CHECK(refused(NEWS("\"title\":\"t\",\"source\":\"x\\u202a\""), "invalid_value", "source"));
	CHECK(refused(NEWS("\"title\":\"t\",\"url\":\"https://x.example/<script>\""), "invalid_url",
	    "url"));

	/* the limits count code points: 300 emoji fit a title, 301 do not */
	buf_init(&b, 0);
	PUT(buf_adds(&b, "{\"id\":\"x\",\"type\":\"news\",\"regions\":[\"all\"],\"title\":\""));
	for (int i = 0; i < 300; i++)
		PUT(buf_adds(&b, "\xf0\x9f\x8e\x89"));
	PUT(buf_adds(&b, "\"}"));
	{
		event_err_t err;
		json_t *ev = parse_raw(buf_str(&b), &err);

		CHECK(ev != NULL);
		json_decref(ev);
	}
	buf_truncate(&b, b.len - 2);
	PUT(buf_adds(&b, "x\"}"));
	CHECK(refused(buf_str(&b), "invalid_value", "title"));
	/* a 2,000-character word is a summary; 2,001 is not */
	buf_reset(&b);
	PUT(buf_adds(&b, "{\"id\":\"x\",\"type\":\"news\",\"regions\":[\"all\"],\"title\":\"t\",\"summary\":\""));
	long_word(&b, 2000);
	PUT(buf_adds(&b, "\"}"));
	{
		event_err_t err;
		json_t *ev = parse_raw(buf_str(&b), &err);

		CHECK(ev != NULL);
		json_decref(ev);
	}
	buf_truncate(&b, b.len - 2);
	PUT(buf_adds(&b, "a\"}"));
	CHECK(refused(buf_str(&b), "invalid_value", "summary"));
	buf_free(&b);
}

/* queue/README.md: text "must not consist only of spaces, tabs and line
 * breaks"; a CR LF is a line break too */
TEST(validator_refuses_blank_text_with_crlf)
{
	CHECK(refused(NEWS("\"title\":\"t\",\"summary\":\" \\n\\t \""), "invalid_value",
	    "summary"));
	CHECK(refused(NEWS("\"title\":\"t\",\"summary\":\" \\r\\n \""), "invalid_value",
	    "summary"));
	CHECK(refused(NEWS("\"title\":\"t\",\"body\":\"\\r\\n\\r\\n\""), "invalid_value",
	    "body"));
}

TEST(validator_keeps_what_can_be_sent)
{
	event_err_t err;
	json_t *ev = parse_raw(NEWS("\"title\":\"<script>{{x}} \\u2028 \\u0085 \\u200f\\ufeff\","
	    "\"summary\":\"rivi\\r\\nrivi\\n\\tsisennys   \\n.\\nFrom x\","
	    "\"body\":{\"sv\":\"a\\r\\n\\r\\nb\"}"), &err);
	char *canon;

	CHECK(ev != NULL);
	if (ev == NULL) {
		fprintf(stderr, "  %s %s: %s\n", err.code, err.field, err.message);
		return;
	}
	CHECK_STR(event_text(ev, "title", "fi"),
	    "<script>{{x}} \xe2\x80\xa8 \xc2\x85 \xe2\x80\x8f\xef\xbb\xbf");
	CHECK_STR(event_text(ev, "summary", "sv"), "rivi\nrivi\n\tsisennys   \n.\nFrom x");
	CHECK_STR(event_text(ev, "body", "en"), "a\n\nb");
	canon = event_canonical(ev);
	CHECK(strchr(canon, '\r') == NULL && strstr(canon, "\\r") == NULL);
	free(canon);
	json_decref(ev);
}

static const message_rcpt_t rcpts[] = {
	{ 1, "aino.aaltonen@hus.example", "Aino Äälto 🌲", "fi", 0x01, 0, 0 },
	{ 2, "sara.cohen@tyks.example", "שרה כהן \xe2\x80\x8f" "Sara", "sv", 0x02, 0, 0 },
	{ 3, "pat.obrien+news@example.org", "O'Brien, \"Pat\" <x@y> (THL)", "en", 0x1f, 0, 0 },
	{ 4, "kys-oys@example.org", "", "sv", 0x18, 0, 0 },
};

TEST(round_trip)
{
	compose_conf_t cc = { conf.time_zone, (int)conf.deadline_days, (int)conf.event_days };
	message_parts_t parts;
	message_ctx_t *ctx;
	buf_t err, eml, number;
	int msgs = 0, script_text = 0, script_html_escaped = 0, mustache = 0, changed = 0;
	int rtl = 0, big = 0;

	buf_init(&err, 4096);
	buf_init(&eml, (size_t)64 << 20);
	buf_init(&number, 64);
	message_parts_init(&parts);
	CHECK(generate() == 0);
	CHECK(events_stored == NEVENTS && revisions_stored > 10 && cancelled_stored > 10);
	printf("# %d events stored, %d revisions, %d cancelled\n", events_stored,
	    revisions_stored, cancelled_stored);
	if ((ctx = message_open(&conf, store, &err)) == NULL) {
		fprintf(stderr, "  message_open: %s\n", buf_str(&err));
		CHECK(0);
		goto out;
	}
	for (int k = 0; k < NISSUES; k++) {
		compose_issue_t *issue = NULL;
		int64_t start = k ? issue_end[k - 1] : issue_end[0] - 14 * DAY;

		buf_reset(&number);
		compose_number(issue_end[k], conf.time_zone, k + 2, &number);
		buf_reset(&err);
		if (compose_issue_load(store, &cc, buf_str(&number), start, issue_end[k], &issue,
		    &err) < 0) {
			fprintf(stderr, "  compose_issue_load: %s\n", buf_str(&err));
			CHECK(0);
			continue;
		}
		for (size_t i = 0; i < NELEM(rcpts); i++) {
			message_rcpt_t r = rcpts[i];
			json_t *data;
			readback_t rb;
			int rc;

			r.draft = (int)i == k % 4 && k % 2;	/* a few approval copies */
			buf_reset(&eml);
			buf_reset(&err);
			rc = message_bulletin(ctx, issue, buf_str(&number), &r, issue_end[k], &parts,
			    &eml, &err);
			if (rc != 0) {
				fprintf(stderr, "  issue %s for %s: %d %s\n", buf_str(&number),
				    r.email, rc, buf_str(&err));
				CHECK(0);
				continue;
			}
			read_back(&rb, &eml);
			CHECK(rb.ok);
			CHECK(rb.nparts == 2 && strcmp(rb.shape, "alternative") == 0);
			CHECK(strcmp(rb.type[0], "plain") == 0 && strcmp(rb.type[1], "html") == 0);
			CHECK(strcasecmp(rb.charset[0], "utf-8") == 0 &&
			    strcasecmp(rb.charset[1], "utf-8") == 0);
			CHECK(same(&rb.part[0], &parts.text, "text/plain", msgs));
			CHECK(same(&rb.part[1], &parts.html, "text/html", msgs));
			CHECK_STR(rb.subject, buf_str(&parts.subject));
			CHECK_STR(rb.to_addr, r.email);
			CHECK_STR(rb.to_name, r.name);
			CHECK(strncmp(buf_str(&parts.subject), "[LUONNOS / DRAFT] ", 18) == 0 ||
			    !r.draft);
			/* an approval copy: no unsubscribing, no archive link yet */
			CHECK(!r.draft == (strstr(buf_str(&eml), "\r\nList-Unsubscribe:") != NULL));
			CHECK(!r.draft || strstr(buf_str(&parts.text), "/issues/") == NULL);
			/* nothing a producer wrote becomes markup */
			CHECK(strcasestr(buf_str(&parts.html), "<script") == NULL);
			CHECK(strstr(buf_str(&parts.html), "<img") == NULL);
			CHECK(strstr(buf_str(&parts.html), "&lt;/td&gt;") != NULL ||
			    strstr(buf_str(&parts.text), "</td>") == NULL);
			data = compose_bulletin(issue, r.lang, r.regions);
			CHECK(titles_present(data, &parts, compose_issue_count(issue, r.regions),
			    msgs));
			json_decref(data);
			CHECK(wrapped(&parts.text, msgs));
			script_text += strstr(buf_str(&parts.text), "<script>") != NULL;
			script_html_escaped += strstr(buf_str(&parts.html), "&lt;script&gt;") != NULL;
			mustache += strstr(buf_str(&parts.text), "{{=<% %>=}}") != NULL &&
			    strstr(buf_str(&parts.html), "{{{y}}}") != NULL;
			rtl += strstr(buf_str(&parts.html), "שלום") != NULL;
			changed += strstr(buf_str(&parts.text), "aiemmin") != NULL ||
			    strstr(buf_str(&parts.text), "tidigare") != NULL ||
			    strstr(buf_str(&parts.text), "previously") != NULL;
			big += eml.len > 100000;
			if (write_dir && write_message(msgs, &eml, &parts, &r, buf_str(&number)) < 0) {
				fprintf(stderr, "  %s: cannot write: %s\n", write_dir, strerror(errno));
				CHECK(0);
			}
			readback_free(&rb);
			msgs++;
		}
		compose_issue_free(issue);
	}
	printf("# %d messages read back; with <script> %d, escaped in HTML %d, Mustache "
	    "text %d, RTL %d, changed deadlines %d, over 100 kB %d\n", msgs, script_text,
	    script_html_escaped, mustache, rtl, changed, big);
	CHECK(msgs == NISSUES * (int)NELEM(rcpts));
	/* the material really reached the messages */
	CHECK(script_text > msgs / 2 && script_html_escaped == script_text);
	CHECK(mustache > 0 && rtl > 0 && changed > 0);
	message_close(ctx);
out:
	message_parts_free(&parts);
	buf_free(&err);
	buf_free(&eml);
	buf_free(&number);
}

/* --- set-up ---------------------------------------------------------------------- */

static int
setup(void)
{
	const char *root = getenv("TIEDOTE_ROOT");
	buf_t err;
	int rc = -1;

	if (root == NULL || *root == '\0')
		root = ".";
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return -1;
	}
	snprintf(db_path, sizeof db_path, "%s/roundtrip.db", tmpdir);
	snprintf(templates, sizeof templates, "%s/templates", root);
	buf_init(&err, 4096);
	conf_init(&conf);
	if (conf_set(&conf, "store", "path", db_path, &err) < 0 ||
	    conf_set(&conf, "message", "templates", templates, &err) < 0 ||
	    /* text and HTML are what this reads back; test_golden.py and
	     * test_notices.py read the calendar file */
	    conf_set(&conf, "bulletin", "calendar", "no", &err) < 0 ||
	    store_open(&conf, &store, &err) < 0) {
		fprintf(stderr, "set-up: %s\n", buf_str(&err));
		goto out;
	}
	/* as tiedoted does: dates (and the Date field) in the configured zone */
	setenv("TZ", conf.time_zone, 1);
	/* issues every second Tuesday at 9.00 Helsinki time from 4.2.2020 */
	if (clock_parse("2020-02-04T09:00:00+02:00", &issue_end[0], NULL) < 0)
		goto out;
	for (int k = 1; k < NISSUES; k++)
		issue_end[k] = issue_end[0] + k * 14 * DAY;
	rc = 0;
out:
	buf_free(&err);
	return rc;
}

static void
teardown(void)
{
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
	char path[600];

	store_close(store);
	conf_free(&conf);
	for (size_t i = 0; i < NELEM(suffix); i++) {
		snprintf(path, sizeof path, "%s%s", db_path, suffix[i]);
		unlink(path);
	}
	rmdir(tmpdir);
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--write") == 0) {
		write_dir = argv[2];
		if (mkdir(write_dir, 0755) < 0 && errno != EEXIST) {
			perror(write_dir);
			return 2;
		}
	} else if (argc != 1) {
		fprintf(stderr, "usage: test_roundtrip [--write DIR]\n");
		return 2;
	}
	if (setup() < 0) {
		printf("0 passed, 1 failed\n");
		return 1;
	}
	RUN(validator_refuses_what_cannot_be_sent);
	RUN(validator_refuses_blank_text_with_crlf);
	RUN(validator_keeps_what_can_be_sent);
	RUN(round_trip);
	teardown();
	return TEST_DONE();
}
