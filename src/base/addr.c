/*
 * addr - e-mail address validation; contract in addr.h.
 */
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "util.h"

static int
is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c >= 0x80 || strchr("!#$%&'*+/=?^_`{|}~-", c);
}

static int
is_label(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c >= 0x80;
}

/* unseen - the code point at p (n bytes left, valid UTF-8) when it is a
 * space, an invisible format character or a bidirectional control that
 * an address shown on a page or in a list would hide (U+00A0, U+00AD,
 * U+034F, U+061C, U+115F-U+1160, U+1680, U+180B-U+180E, U+2000-U+200F,
 * U+202A-U+202F, U+205F-U+206F, U+2800, U+3000, U+3164, U+FE00-U+FE0F,
 * U+FEFF, U+FFA0, U+FFF9-U+FFFB, the tags U+E0000-U+E007F and the
 * selectors U+E0100-U+E01EF); else 0 */
static unsigned
unseen(const char *p, size_t n)
{
	const unsigned char *u = (const unsigned char *)p;
	unsigned cp;

	if (n >= 2 && (u[0] & 0xe0) == 0xc0)
		cp = (u[0] & 0x1fu) << 6 | (u[1] & 0x3fu);
	else if (n >= 3 && (u[0] & 0xf0) == 0xe0)
		cp = (u[0] & 0x0fu) << 12 | (u[1] & 0x3fu) << 6 | (u[2] & 0x3fu);
	else if (n >= 4 && (u[0] & 0xf8) == 0xf0)
		cp = (u[0] & 0x07u) << 18 | (u[1] & 0x3fu) << 12 | (u[2] & 0x3fu) << 6 |
		    (u[3] & 0x3fu);
	else
		return 0;
	return cp == 0xa0 || cp == 0xad || cp == 0x34f || cp == 0x61c || cp == 0x115f ||
	    cp == 0x1160 || cp == 0x1680 || (cp >= 0x180b && cp <= 0x180e) ||
	    (cp >= 0x2000 && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202f) ||
	    (cp >= 0x205f && cp <= 0x206f) || cp == 0x2800 || cp == 0x3000 || cp == 0x3164 ||
	    (cp >= 0xfe00 && cp <= 0xfe0f) || cp == 0xfeff || cp == 0xffa0 ||
	    (cp >= 0xfff9 && cp <= 0xfffb) || (cp >= 0xe0000 && cp <= 0xe007f) ||
	    (cp >= 0xe0100 && cp <= 0xe01ef) ? cp : 0;
}

int
addr_check(const char *s, const char **why)
{
	const char *at, *p, *label;
	size_t n = strlen(s), local, labels = 0;

#define FAIL(msg) do { *why = (msg); return -1; } while (0)
	if (n == 0)
		FAIL("empty");
	if (n > 254)
		FAIL("longer than 254 octets");
	if (!utf8_valid(s, n))
		FAIL("not valid UTF-8");
	for (p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || utf8_line_control(p, n - (size_t)(p - s)))
			FAIL("control character");
		else if (*p == ' ')
			FAIL("space");
		else if (unseen(p, n - (size_t)(p - s)))
			FAIL("invisible or space character (such as U+00A0, U+200B or a bidi"
			    " control)");
	if ((at = strchr(s, '@')) == NULL)
		FAIL("no '@'");
	if (strchr(at + 1, '@'))
		FAIL("more than one '@'");
	local = (size_t)(at - s);
	if (local == 0)
		FAIL("empty local part");
	if (local > 64)
		FAIL("local part longer than 64 octets");
	if (s[0] == '.' || at[-1] == '.')
		FAIL("local part starts or ends with '.'");
	for (p = s; p < at; p++) {
		if (*p == '.' && p[1] == '.')
			FAIL("'..' in local part");
		if (*p != '.' && !is_atext((unsigned char)*p))
			FAIL("character not allowed in local part");
	}
	if (strlen(at + 1) > 255)
		FAIL("domain longer than 255 octets");
	for (label = p = at + 1; ; p++) {
		if (*p == '.' || *p == '\0') {
			size_t len = (size_t)(p - label);

			if (len == 0)
				FAIL("empty domain label");
			if (len > 63)
				FAIL("domain label longer than 63 octets");
			if (label[0] == '-' || p[-1] == '-')
				FAIL("domain label starts or ends with '-'");
			labels++;
			if (*p == '\0')
				break;
			label = p + 1;
		} else if (!is_label((unsigned char)*p))
			FAIL(*p == '[' ? "address literals are not accepted" :
			    "character not allowed in domain");
	}
	if (labels < 2)
		FAIL("domain has no '.'");
#undef FAIL
	return 0;
}

int
addr_name_check(const char *s, const char **why)
{
	size_t n = strlen(s);

#define FAIL(msg) do { *why = (msg); return -1; } while (0)
	if (!utf8_valid(s, n))
		FAIL("not valid UTF-8");
	if (n > ADDR_NAME_MAX)
		FAIL("longer than 200 bytes");
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || utf8_line_control(s + i, n - i))
			FAIL("control character (one line only)");
		if (utf8_bidi_control(s + i, n - i))
			FAIL("bidirectional control character (U+202A-U+202E, U+2066-U+2069)");
	}
#undef FAIL
	return 0;
}

const char *
addr_redact(const char *addr, char *out, size_t size)
{
	const char *plus = strchr(addr, '+'), *at = strrchr(addr, '@');

	if (plus == NULL || (at != NULL && plus > at))
		snprintf(out, size, "%s", addr);
	else
		snprintf(out, size, "%.*s+...%s", (int)(plus - addr), addr, at ? at : "");
	return out;
}
