/*
 * event - the intake validator; contract in event.h, rules in
 * queue/README.md.  One table says which field each type has, which are
 * required and what kind of value each holds; the checks per kind follow.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "event.h"
#include "region.h"
#include "util.h"

enum ev_type { T_DEADLINE, T_NETWORK_DAY, T_EVENT, T_PRACTICE, T_ANNOUNCEMENT, T_NEWS };
static const char *const ev_types[] = {
	"deadline", "network_day", "event", "practice", "announcement", "news"
};

#define B(t)	(1u << (t))
#define ANY	0x3fu
#define DATED	(B(T_NETWORK_DAY) | B(T_EVENT))

enum kind { K_ID, K_TYPE, K_LINE, K_MULTI, K_TIME, K_REGIONS, K_URL, K_BOOL,
	K_DAYS, K_IDLIST, K_AUDIENCE };

static const struct field {
	const char *name;
	enum kind kind;
	unsigned allowed;	/* types that have the field */
	unsigned required;	/* types that must have it */
	size_t	max;		/* characters (text), bytes (body, url) */
} fields[] = {
	{ "id",		K_ID,		ANY, ANY, 128 },
	{ "type",	K_TYPE,		ANY, ANY, 0 },
	{ "title",	K_LINE,		ANY, ANY, 300 },
	{ "summary",	K_MULTI,	ANY, 0, 2000 },
	{ "body",	K_MULTI,	ANY, B(T_ANNOUNCEMENT), 65536 },
	{ "regions",	K_REGIONS,	ANY, ANY, 0 },
	{ "url",	K_URL,		ANY, B(T_PRACTICE), 2048 },
	{ "cancelled",	K_BOOL,		ANY, 0, 0 },
	{ "due",	K_TIME,		B(T_DEADLINE), B(T_DEADLINE), 0 },
	{ "opens",	K_TIME,		B(T_DEADLINE), 0, 0 },
	{ "remind",	K_DAYS,		B(T_DEADLINE), 0, 365 },
	{ "projects",	K_IDLIST,	B(T_DEADLINE), 0, 128 },
	{ "starts",	K_TIME,		DATED, DATED, 0 },
	{ "ends",	K_TIME,		DATED, 0, 0 },
	{ "location",	K_LINE,		DATED, 0, 300 },
	{ "published",	K_TIME,		B(T_PRACTICE) | B(T_NEWS), B(T_PRACTICE), 0 },
	{ "organisation", K_LINE,	B(T_PRACTICE), 0, 300 },
	{ "send_at",	K_TIME,		B(T_ANNOUNCEMENT), 0, 0 },
	{ "audience",	K_AUDIENCE,	B(T_ANNOUNCEMENT), 0, 0 },
	{ "in_bulletin", K_BOOL,	B(T_ANNOUNCEMENT), 0, 0 },
	{ "source",	K_LINE,		B(T_NEWS), 0, 300 },
};

static const char *const langs[] = { "fi", "sv", "en" };

/* fail - fill err; always returns -1 so checks can "return fail(...)" */
static int
fail(event_err_t *err, const char *code, const char *field, const char *fmt, ...)
{
	va_list ap;
	int n;

	err->code = code;
	snprintf(err->field, sizeof err->field, "%s", field ? field : "");
	/* a hostile key can be long: quote at most 100 bytes of it */
	n = field && *field ? snprintf(err->message, sizeof err->message, "%.100s: ", field) : 0;
	va_start(ap, fmt);
	vsnprintf(err->message + n, sizeof err->message - (size_t)n, fmt, ap);
	va_end(ap);
	/* a quote cut by bytes may end inside a character: the reply must
	 * be UTF-8 (jansson packs nothing else) */
	utf8_scrub(err->field);
	utf8_scrub(err->message);
	return -1;
}

static size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* check_string - control characters, blankness and length of one string;
 * for multi-line text a CR LF becomes LF, which may replace *sp */
static int
check_string(json_t *js, const struct field *f, const char *path, event_err_t *err)
{
	const char *s = json_string_value(js);
	size_t len = json_string_length(js), blank = 0;
	int multi = f->kind == K_MULTI, has_cr = 0;
	unsigned cp;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\r' && multi && i + 1 < len && s[i + 1] == '\n') {
			has_cr = 1;
			blank++;	/* a CR of CR LF is as blank as the LF */
			continue;
		}
		if ((c < 0x20 && !(multi && (c == '\n' || c == '\t'))) || c == 0x7f)
			return fail(err, "invalid_value", path,
			    "control character U+%04X at byte %zu%s", c, i,
			    multi ? " (only line feed and tab are allowed)" : " (one line only)");
		if ((cp = utf8_bidi_control(s + i, len - i)) != 0)
			return fail(err, "invalid_value", path,
			    "bidirectional control character U+%04X at byte %zu (it would"
			    " reorder the text around it in a subject or page)", cp, i);
		blank += c == ' ' || c == '\n' || c == '\t' || c == '\r';
	}
	if (blank == len)
		return fail(err, "invalid_value", path, "empty");
	/* the body is limited in bytes, everything else in characters */
	if (f->max > 2000 ? len > f->max : utf8_chars(s) > f->max)
		return fail(err, "invalid_value", path, "longer than %zu %s", f->max,
		    f->max > 2000 ? "bytes" : "characters");
	if (has_cr) {
		buf_t b;

		/* shorter than the string, which is within the event's size */
		buf_init(&b, len + 1);
		for (size_t i = 0; i < len; i++)
			if (!(s[i] == '\r' && s[i + 1] == '\n') && buf_addc(&b, s[i]) < 0)
				fatal("event: %zu bytes do not fit in %zu", len, len + 1);
		json_string_setn(js, buf_str(&b), b.len);
		buf_free(&b);
	}
	return 0;
}

/* check_text - a string, or an object of fi/sv/en strings; normalised to
 * the object form, which is stored in *out (a new reference) */
static int
check_text(json_t *v, const struct field *f, event_err_t *err, json_t **out)
{
	char path[128];
	const char *key;
	json_t *val;

	if (json_is_string(v)) {
		if (check_string(v, f, f->name, err) < 0)
			return -1;
		*out = json_pack("{sO}", "fi", v);
		return 0;
	}
	if (!json_is_object(v))
		return fail(err, "invalid_type", f->name,
		    "expected a string or an object of fi/sv/en strings");
	if (json_object_size(v) == 0)
		return fail(err, "invalid_value", f->name, "no language given (fi, sv, en)");
	json_object_foreach(v, key, val) {
		int ok = 0;

		snprintf(path, sizeof path, "%s.%s", f->name, key);
		for (size_t i = 0; i < NELEM(langs); i++)
			ok |= strcmp(key, langs[i]) == 0;
		if (!ok)
			return fail(err, "unknown_field", path,
			    "not a language of tiedote (fi, sv, en)");
		if (!json_is_string(val))
			return fail(err, "invalid_type", path, "expected a string");
		if (check_string(val, f, path, err) < 0)
			return -1;
	}
	*out = json_incref(v);
	return 0;
}

static int
check_id(const char *s, const char *path, size_t max, event_err_t *err)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return fail(err, "invalid_value", path, "must be 1-%zu characters", max);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9');

		if (i == 0 && !alnum)
			return fail(err, "invalid_value", path,
			    "must start with a letter or digit");
		if (!alnum && !strchr("._:/-", c))
			return fail(err, "invalid_value", path,
			    "byte 0x%02X at %zu not allowed (A-Z a-z 0-9 . _ : / -)", c, i);
	}
	return 0;
}

/*
 * The URL rule, the same in queue/README.md and queue/schema/common.json
 * (its "url" pattern): http:// or https:// (any case); then the
 * authority up to the first / ? # or the end, which is host[:port] only
 * (no userinfo, so no '@' in it); the host an IPv4 address in dotted
 * decimal (0-255, no leading zeros) or a DNS name: labels of 1-63
 * characters, letters, digits, hyphens and non-ASCII (IDN) characters, no
 * hyphen at either end of a label, no empty label (no final dot), the
 * last label not all digits, 253 characters at most; no IPv6 literal; a
 * port 1-65535 without leading zeros; and nowhere a character that is a
 * space or a control, or that breaks HTML or a header (URL_REFUSED).
 */
static int
url_digits(const char *s, size_t n, long max)
{
	long v = 0;

	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	return v <= max && (max == 255 || v >= 1);
}

/* url_refused - the code point at s when it is refused anywhere in a URL
 * (its length in *n), else 0 */
static unsigned
url_refused(const char *s, size_t len, size_t *n)
{
	unsigned char c = (unsigned char)s[0];
	unsigned cp;

	*n = 1;
	if (c <= 0x20 || c == 0x7f || strchr("\"<>\\`", c))
		return c ? c : 0x100;	/* NUL cannot be here; say something */
	if (c < 0x80)
		return 0;
	*n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
	if (*n > len)
		return 0;
	cp = c >= 0xf0 ? c & 0x07u : c >= 0xe0 ? c & 0x0fu : c & 0x1fu;
	for (size_t k = 1; k < *n; k++)
		cp = cp << 6 | ((unsigned char)s[k] & 0x3fu);
	/* C1 controls and NO-BREAK SPACE, the other spaces (Zs), the line and
	 * paragraph separators, the bidirectional controls */
	if ((cp >= 0x80 && cp <= 0xa0) || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
	    (cp >= 0x2028 && cp <= 0x202f) || cp == 0x205f || (cp >= 0x2066 && cp <= 0x2069) ||
	    cp == 0x3000)
		return cp;
	return 0;
}

static int
check_url(const char *s, size_t max, event_err_t *err)
{
	size_t n = strlen(s), skip, hostlen, k, chars = 0, label = 0;
	const char *host, *end, *colon;
	unsigned cp;
	int digits_only = 1, dots = 0, all_numeric = 1;

	if (n > max)
		return fail(err, "invalid_url", "url", "longer than %zu bytes", max);
	if (strncasecmp(s, "https://", 8) == 0)
		skip = 8;
	else if (strncasecmp(s, "http://", 7) == 0)
		skip = 7;
	else
		return fail(err, "invalid_url", "url", "not an absolute http(s) URL");
	for (size_t i = 0; i < n; i += k)
		if ((cp = url_refused(s + i, n - i, &k)) != 0)
			return fail(err, "invalid_url", "url", "U+%04X at byte %zu: no spaces,"
			    " control characters, \" < > \\ ` or bidirectional controls",
			    cp == 0x100 ? 0 : cp, i);
	host = s + skip;
	end = host + strcspn(host, "/?#");
	if (memchr(host, '@', (size_t)(end - host)))
		return fail(err, "invalid_url", "url", "user name or password before the host"
		    " (userinfo) is not allowed");
	if (*host == '[')
		return fail(err, "invalid_url", "url", "IPv6 address literals are not allowed");
	colon = memchr(host, ':', (size_t)(end - host));
	hostlen = (size_t)((colon ? colon : end) - host);
	if (hostlen == 0)
		return fail(err, "invalid_url", "url", "no host");
	if (colon && !url_digits(colon + 1, (size_t)(end - colon - 1), 65535))
		return fail(err, "invalid_url", "url", "port \"%.*s\" is not 1-65535",
		    (int)(end - colon - 1 > 16 ? 16 : end - colon - 1), colon + 1);
	for (size_t i = 0; i < hostlen; i++)
		if (host[i] != '.' && (host[i] < '0' || host[i] > '9'))
			all_numeric = 0;
	if (all_numeric) {
		/* four numbers 0-255, or it is no host at all */
		const char *p = host, *q;

		for (dots = 0; dots < 4; dots++, p = q + 1) {
			q = memchr(p, '.', (size_t)(host + hostlen - p));
			if (q == NULL)
				q = host + hostlen;
			if (!url_digits(p, (size_t)(q - p), 255) || (dots < 3) != (q < host + hostlen))
				return fail(err, "invalid_url", "url",
				    "host \"%.*s\" is not an IPv4 address (four numbers 0-255)",
				    (int)(hostlen > 64 ? 64 : hostlen), host);
		}
		return 0;
	}
	for (size_t i = 0; i <= hostlen; i++) {
		unsigned char c = i < hostlen ? (unsigned char)host[i] : '.';

		if (c == '.') {
			if (label == 0 || label > 63 || host[i - 1] == '-')
				return fail(err, "invalid_url", "url", "host \"%.*s\": labels are 1-63"
				    " characters, not ending in a hyphen, no empty label",
				    (int)(hostlen > 64 ? 64 : hostlen), host);
			if (i == hostlen && digits_only)
				return fail(err, "invalid_url", "url", "host \"%.*s\": the last label"
				    " is a number", (int)(hostlen > 64 ? 64 : hostlen), host);
			label = 0;
			digits_only = 1;
			chars++;	/* the dot; one too many after the last label */
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c >= 0x80))
			return fail(err, "invalid_url", "url", "host \"%.*s\": byte 0x%02X is not a"
			    " letter, digit or hyphen", (int)(hostlen > 64 ? 64 : hostlen), host, c);
		if (c == '-' && label == 0)
			return fail(err, "invalid_url", "url", "host \"%.*s\": a label starts with"
			    " a hyphen", (int)(hostlen > 64 ? 64 : hostlen), host);
		if ((c & 0xc0) != 0x80) {	/* a character starts here */
			label++;
			chars++;
		}
		if (c < '0' || c > '9')
			digits_only = 0;
	}
	if (chars - 1 > 253)
		return fail(err, "invalid_url", "url", "host longer than 253 characters");
	return 0;
}

/* check_field - one field's value; a normalised replacement, if any, is
 * returned in *norm (a new reference) */
static int
check_field(const struct field *f, json_t *v, event_err_t *err, json_t **norm)
{
	char path[160];
	json_t *item;
	size_t i, j;
	int64_t t;

	switch (f->kind) {
	case K_ID:
		if (!json_is_string(v))
			return fail(err, "invalid_type", f->name, "expected a string");
		return check_id(json_string_value(v), f->name, f->max, err);
	case K_TYPE:
		return 0;	/* checked before the walk */
	case K_LINE:
	case K_MULTI:
		return check_text(v, f, err, norm);
	case K_TIME:
		if (!json_is_string(v))
			return fail(err, "invalid_type", f->name, "expected an RFC 3339 time string");
		if (clock_parse(json_string_value(v), &t, NULL) < 0)
			return fail(err, "invalid_time", f->name,
			    "not an RFC 3339 time with offset: \"%.64s\"", json_string_value(v));
		return 0;
	case K_REGIONS: {
		unsigned mask = 0, bit;
		int all = 0;

		if (!json_is_array(v))
			return fail(err, "invalid_type", f->name, "expected an array of region names");
		if (json_array_size(v) == 0)
			return fail(err, "invalid_region", f->name,
			    "empty; name at least one of HYKS, TYKS, TAYS, KYS, OYS, or all");
		json_array_foreach(v, i, item) {
			snprintf(path, sizeof path, "%s[%zu]", f->name, i);
			if (!json_is_string(item))
				return fail(err, "invalid_type", path, "expected a string");
			/* exact spelling on the wire; region_bit ignores case */
			bit = region_bit(json_string_value(item));
			if (bit == 0 || strcmp(json_string_value(item), bit == REGION_ALL ?
			    "all" : region_name(__builtin_ctz(bit))) != 0)
				return fail(err, "invalid_region", path,
				    "\"%.32s\" is not one of HYKS, TYKS, TAYS, KYS, OYS, all",
				    json_string_value(item));
			if (all || (mask && bit == REGION_ALL))
				return fail(err, "invalid_region", f->name,
				    "\"all\" cannot be mixed with other regions");
			if (mask & bit)
				return fail(err, "invalid_region", path, "named twice");
			all = bit == REGION_ALL;
			mask |= bit;
		}
		return 0;
	}
	case K_URL:
		if (!json_is_string(v))
			return fail(err, "invalid_type", f->name, "expected a string");
		return check_url(json_string_value(v), f->max, err);
	case K_BOOL:
		if (!json_is_boolean(v))
			return fail(err, "invalid_type", f->name, "expected true or false");
		return 0;
	case K_DAYS:
		if (!json_is_array(v))
			return fail(err, "invalid_type", f->name, "expected an array of whole days");
		if (json_array_size(v) > 32)
			return fail(err, "invalid_value", f->name, "more than 32 reminders");
		json_array_foreach(v, i, item) {
			snprintf(path, sizeof path, "%s[%zu]", f->name, i);
			if (!json_is_integer(item))
				return fail(err, "invalid_type", path, "expected a whole number of days");
			if (json_integer_value(item) < 0 || json_integer_value(item) > (json_int_t)f->max)
				return fail(err, "invalid_value", path, "must be 0-%zu days", f->max);
			for (j = 0; j < i; j++)
				if (json_integer_value(json_array_get(v, j)) == json_integer_value(item))
					return fail(err, "invalid_value", path, "repeated");
		}
		return 0;
	case K_IDLIST:
		if (!json_is_array(v))
			return fail(err, "invalid_type", f->name, "expected an array of project ids");
		if (json_array_size(v) == 0 || json_array_size(v) > 10000)
			return fail(err, "invalid_value", f->name, "must list 1-10000 projects");
		json_array_foreach(v, i, item) {
			snprintf(path, sizeof path, "%s[%zu]", f->name, i);
			if (!json_is_string(item))
				return fail(err, "invalid_type", path, "expected a string");
			if (check_id(json_string_value(item), path, f->max, err) < 0)
				return -1;
		}
		return 0;
	case K_AUDIENCE:
		if (!json_is_string(v))
			return fail(err, "invalid_type", f->name, "expected a string");
		if (strcmp(json_string_value(v), "subscribers") != 0 &&
		    strcmp(json_string_value(v), "projects") != 0)
			return fail(err, "invalid_value", f->name,
			    "must be \"subscribers\" or \"projects\"");
		return 0;
	}
	return fail(err, "invalid_value", f->name, "internal: unknown field kind");
}

/* check_order - a later time that comes before an earlier one, reported
 * on the field whose rule it breaks (queue/README.md): "opens: not after
 * due" names opens, "ends: not before starts" names ends */
static int
check_order(json_t *ev, const char *first, const char *second, int on_first,
    event_err_t *err)
{
	json_t *a = json_object_get(ev, first), *b = json_object_get(ev, second);
	int64_t ta, tb;

	if (a == NULL || b == NULL)
		return 0;
	clock_parse(json_string_value(a), &ta, NULL);
	clock_parse(json_string_value(b), &tb, NULL);
	if (tb >= ta)
		return 0;
	if (on_first)
		return fail(err, "invalid_time", first, "is after %s", second);
	return fail(err, "invalid_time", second, "is before %s", first);
}

json_t *
event_parse(const char *data, size_t len, size_t max_size, event_err_t *err)
{
	json_error_t jerr;
	json_t *ev = NULL, *v, *norm;
	const char *type, *key;
	void *iter;
	size_t i;
	int t = -1;

	memset(err, 0, sizeof *err);
	if (len > max_size) {
		fail(err, "too_large", NULL, "event of %zu bytes is over the limit of %zu bytes",
		    len, max_size);
		goto bad;
	}
	ev = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (ev == NULL) {
		fail(err, "malformed_json", NULL, "not valid JSON at byte %d: %s",
		    jerr.position, jerr.text);
		goto bad;
	}
	if (!json_is_object(ev)) {
		fail(err, "not_an_object", NULL, "the event must be a JSON object");
		goto bad;
	}
	if ((v = json_object_get(ev, "type")) == NULL) {
		fail(err, "missing_field", "type", "required");
		goto bad;
	}
	if (!json_is_string(v)) {
		fail(err, "invalid_type", "type", "expected a string");
		goto bad;
	}
	type = json_string_value(v);
	for (i = 0; i < NELEM(ev_types); i++)
		if (strcmp(type, ev_types[i]) == 0)
			t = (int)i;
	if (t < 0) {
		fail(err, "unknown_type", "type", "\"%.32s\" is not one of deadline, "
		    "network_day, event, practice, announcement, news", type);
		goto bad;
	}
	/* check_field may hand back a normalised value for the key in hand */
	for (iter = json_object_iter(ev); iter; iter = json_object_iter_next(ev, iter)) {
		const struct field *f = NULL;

		key = json_object_iter_key(iter);
		/* each name is in the table once: stop at it */
		for (i = 0; i < NELEM(fields); i++)
			if (strcmp(key, fields[i].name) == 0) {
				f = fields[i].allowed & B(t) ? &fields[i] : NULL;
				break;
			}
		if (f == NULL) {
			fail(err, "unknown_field", key, "%s events have no such field", ev_types[t]);
			goto bad;
		}
		norm = NULL;
		if (check_field(f, json_object_iter_value(iter), err, &norm) < 0)
			goto bad;
		if (norm)
			json_object_iter_set_new(ev, iter, norm);
	}
	for (i = 0; i < NELEM(fields); i++)
		if ((fields[i].required & B(t)) && !json_object_get(ev, fields[i].name)) {
			fail(err, "missing_field", fields[i].name, "required for %s events",
			    ev_types[t]);
			goto bad;
		}
	if (check_order(ev, "opens", "due", 1, err) < 0 ||
	    check_order(ev, "starts", "ends", 0, err) < 0)
		goto bad;
	if (json_is_true(json_object_get(ev, "in_bulletin")) && json_object_get(ev, "send_at")) {
		fail(err, "invalid_value", "in_bulletin",
		    "cannot be true together with send_at (choose one)");
		goto bad;
	}
	/* projects do not read the bulletin: theirs must be a message */
	if (json_object_get(ev, "audience") && strcmp(json_string_value(json_object_get(ev,
	    "audience")), "projects") == 0 && !json_object_get(ev, "send_at")) {
		fail(err, "missing_field", "send_at", "required when audience is projects"
		    " (projects get no bulletin)");
		goto bad;
	}
	return ev;
bad:
	json_decref(ev);
	return NULL;
}

/* canon_string - s as json_dumps() writes a string without flags: only
 * the quote, the backslash and the C0 controls are escaped, the short
 * forms where JSON has them, else \u00XX in capitals */
static int
canon_string(buf_t *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, run = 0;

	if (buf_addc(b, '"') < 0)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6] = { '\\', 0, '0', '0', 0, 0 };
		size_t n = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			esc[1] = 'u';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			n = 6;
		}
		if (buf_add(b, s + run, i - run) < 0 || buf_add(b, esc, n) < 0)
			return -1;
		run = i + 1;
	}
	return buf_add(b, s + run, len - run) < 0 || buf_addc(b, '"') < 0 ? -1 : 0;
}

/* canon_key - the order of json_dumps()'s JSON_SORT_KEYS: bytes, then length */
struct canon_key {
	const char *key;
	size_t	 len;
	json_t	*value;
};

static int
canon_key_cmp(const void *a, const void *b)
{
	const struct canon_key *x = a, *y = b;
	int c = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* CANON_KEYS - more keys than an event has; an object with more is
 * written by jansson itself */
#define CANON_KEYS	32

/* canon_value - v as json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT) writes
 * it; 1 when v holds what this does not write (a real, an object of over
 * CANON_KEYS keys: never in a validated event), -1 at b's ceiling */
static int
canon_value(buf_t *b, json_t *v)
{
	struct canon_key keys[CANON_KEYS];
	char num[32];
	size_t i, n;
	const char *key;
	json_t *item;
	void *iter;
	int rc;

	switch (json_typeof(v)) {
	case JSON_NULL:
		return buf_add(b, "null", 4);
	case JSON_TRUE:
		return buf_add(b, "true", 4);
	case JSON_FALSE:
		return buf_add(b, "false", 5);
	case JSON_INTEGER:
		n = (size_t)snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return buf_add(b, num, n);
	case JSON_STRING:
		return canon_string(b, json_string_value(v), json_string_length(v));
	case JSON_ARRAY:
		if (buf_addc(b, '[') < 0)
			return -1;
		json_array_foreach(v, i, item) {
			if (i > 0 && buf_addc(b, ',') < 0)
				return -1;
			if ((rc = canon_value(b, item)) != 0)
				return rc;
		}
		return buf_addc(b, ']');
	case JSON_OBJECT:
		if ((n = json_object_size(v)) > CANON_KEYS)
			return 1;
		i = 0;
		for (iter = json_object_iter(v); iter; iter = json_object_iter_next(v, iter)) {
			key = json_object_iter_key(iter);
			keys[i++] = (struct canon_key){ key, json_object_iter_key_len(iter),
			    json_object_iter_value(iter) };
		}
		qsort(keys, n, sizeof *keys, canon_key_cmp);
		if (buf_addc(b, '{') < 0)
			return -1;
		for (i = 0; i < n; i++) {
			if ((i > 0 && buf_addc(b, ',') < 0) ||
			    canon_string(b, keys[i].key, keys[i].len) < 0 || buf_addc(b, ':') < 0)
				return -1;
			if ((rc = canon_value(b, keys[i].value)) != 0)
				return rc;
		}
		return buf_addc(b, '}');
	default:
		return 1;
	}
}

int
event_canonical_buf(json_t *ev, buf_t *out)
{
	size_t len = out->len;
	char *s;
	int rc;

	if ((rc = canon_value(out, ev)) <= 0) {
		if (rc < 0)
			buf_truncate(out, len);
		return rc;
	}
	/* what the fast path does not write, jansson does */
	buf_truncate(out, len);
	if ((s = json_dumps(ev, JSON_SORT_KEYS | JSON_COMPACT)) == NULL)
		fatal("json_dumps failed");
	rc = buf_adds(out, s);
	free(s);
	return rc;
}

char *
event_canonical(json_t *ev)
{
	buf_t b;

	buf_init(&b, BUF_MAX_DEFAULT);
	if (event_canonical_buf(ev, &b) < 0)
		fatal("event: the canonical form is over %zu bytes", (size_t)BUF_MAX_DEFAULT);
	return buf_take(&b);
}

const char *
event_text(json_t *ev, const char *field, const char *lang)
{
	json_t *t = json_object_get(ev, field), *v;
	const char *key;

	if (t == NULL)
		return NULL;
	if (json_is_string(t))
		return json_string_value(t);
	if ((v = json_object_get(t, lang)) || (v = json_object_get(t, "fi")))
		return json_string_value(v);
	json_object_foreach(t, key, v)
		return json_string_value(v);
	return NULL;
}

const char *
event_text_lang(json_t *ev, const char *field, const char *lang)
{
	json_t *t = json_object_get(ev, field), *v;
	const char *key;

	if (t == NULL)
		return NULL;
	if (json_is_string(t))
		return "fi";
	if (json_object_get(t, lang))
		return lang;
	if (json_object_get(t, "fi"))
		return "fi";
	json_object_foreach(t, key, v)
		return key;
	return NULL;
}

int
event_url_check(const char *url, event_err_t *err)
{
	memset(err, 0, sizeof *err);
	return check_url(url, 2048, err);
}

unsigned
event_regions(json_t *ev)
{
	json_t *item;
	unsigned mask = 0;
	size_t i;

	json_array_foreach(json_object_get(ev, "regions"), i, item)
		mask |= region_bit(json_string_value(item));
	return mask;
}

int64_t
event_at(json_t *ev)
{
	static const char *const keys[] = { "due", "starts", "send_at", "published" };
	int64_t t;

	for (size_t i = 0; i < NELEM(keys); i++) {
		json_t *v = json_object_get(ev, keys[i]);

		if (v && clock_parse(json_string_value(v), &t, NULL) == 0)
			return t;
	}
	return 0;
}

int
event_id_check(const char *id, event_err_t *err)
{
	return check_id(id, "id", 128, err);
}
