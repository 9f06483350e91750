/*
 * buf - growable byte buffer with a ceiling; contract in buf.h.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

void
buf_init(buf_t *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max ? max : BUF_MAX_DEFAULT;
}

void
buf_free(buf_t *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void
buf_reset(buf_t *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void
buf_truncate(buf_t *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->data[len] = '\0';
	}
}

int
buf_reserve(buf_t *b, size_t n)
{
	size_t need, cap;

	if (n > b->max || b->len > b->max - n)
		return -1;
	need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	b->data = xrealloc(b->data, cap);
	b->data[b->len] = '\0';	/* a first allocation: buf_str() is "" */
	b->cap = cap;
	return 0;
}

int
buf_add(buf_t *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) < 0)
		return -1;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_adds(buf_t *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int
buf_addc(buf_t *b, char c)
{
	return buf_add(b, &c, 1);
}

int
buf_vprintf(buf_t *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || buf_reserve(b, (size_t)n) < 0)
		return -1;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int
buf_printf(buf_t *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

/* utf8_len - the length of the valid UTF-8 sequence at s (of n bytes
 * left) and its code point, or 0 when it is not one */
static size_t
utf8_len(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len = s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : s[0] >= 0xe0 && s[0] <= 0xef ? 3 :
	    s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;

	if (len == 0 || len > n || !utf8_valid((const char *)s, len))
		return 0;
	*cp = s[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++)
		*cp = *cp << 6 | (s[i] & 0x3f);
	return len;
}

int
buf_addesc(buf_t *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t was = b->len, len;
	uint32_t cp;
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i += len) {
		len = 1;
		if (p[i] == '\\')
			rc = buf_adds(b, "\\\\");
		else if (p[i] == '\t')
			rc = buf_adds(b, "\\t");
		else if (p[i] == '\n')
			rc = buf_adds(b, "\\n");
		else if (p[i] == '\r')
			rc = buf_adds(b, "\\r");
		else if (p[i] < 0x20 || p[i] == 0x7f)
			rc = buf_printf(b, "\\x%02x", p[i]);
		else if (p[i] < 0x80)
			rc = buf_addc(b, (char)p[i]);
		else if ((len = utf8_len(p + i, n - i, &cp)) == 0) {
			len = 1;
			rc = buf_printf(b, "\\x%02x", p[i]);
		} else if (cp <= 0x9f || cp == 0x2028 || cp == 0x2029 ||
		    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
			rc = buf_printf(b, "\\u%04x", (unsigned)cp);
		else
			rc = buf_add(b, p + i, len);
	}
	if (rc < 0)
		buf_truncate(b, was);
	return rc;
}

void
buf_note(buf_t *b, const char *s)
{
	size_t n = strlen(s), room;

	if (buf_add(b, s, n) == 0)
		return;
	/* what fits under the ceiling, not cut inside a UTF-8 sequence */
	room = b->max > b->len ? b->max - b->len : 0;
	if (room > n)
		room = n;
	while (room > 0 && room < n && ((unsigned char)s[room] & 0xc0) == 0x80)
		room--;
	if (room == 0 || buf_add(b, s, room) == 0)
		return;
	fatal("buf_note: %zu bytes do not fit where they should", room);
}

void
buf_vnotef(buf_t *b, const char *fmt, va_list ap)
{
	char *s = NULL;

	if (vasprintf(&s, fmt, ap) < 0)
		fatal("out of memory");
	buf_note(b, s);
	free(s);
}

void
buf_notef(buf_t *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vnotef(b, fmt, ap);
	va_end(ap);
}

const char *
buf_str(const buf_t *b)
{
	return b->data ? b->data : "";
}

char *
buf_take(buf_t *b)
{
	char *p = b->data ? b->data : xstrdup("");

	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}
