/*
 * util - allocation wrappers; contract in util.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>
#include <stdint.h>
#include <string.h>

#include "log.h"
#include "util.h"

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(EX_TEMPFAIL);	/* out of memory and kin: worth a retry */
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		fatal("out of memory (%zu bytes)", n);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		fatal("out of memory (%zu x %zu bytes)", n, size);
	return p;
}

void *
xrealloc(void *old, size_t n)
{
	void *p = realloc(old, n ? n : 1);

	if (p == NULL)
		fatal("out of memory (%zu bytes)", n);
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* seq_len - the length of the well-formed sequence of two to four
 * octets at p (p[0] >= 0x80), or 0 */
static inline size_t
seq_len(const unsigned char *p, const unsigned char *end)
{
	unsigned c = *p, need, cp, min;

	if ((c & 0xe0) == 0xc0) {
		need = 1; cp = c & 0x1f; min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		need = 2; cp = c & 0x0f; min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		need = 3; cp = c & 0x07; min = 0x10000;
	} else
		return 0;
	if ((size_t)(end - p) <= need)
		return 0;
	for (unsigned i = 1; i <= need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need + 1;
}

int
utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;

	while (p < end) {
		uint64_t w;
		size_t len;

		if (*p < 0x80) {
			/* mostly ASCII: eight octets a step while none has the
			 * high bit */
			p++;
			while (end - p >= 8) {
				memcpy(&w, p, 8);
				if (w & UINT64_C(0x8080808080808080))
					break;
				p += 8;
			}
			continue;
		}
		if ((len = seq_len(p, end)) == 0)
			return 0;
		p += len;
	}
	return 1;
}

void
utf8_scrub(char *s)
{
	unsigned char *p = (unsigned char *)s, *out = p, *end = p + strlen(s);

	while (p < end) {
		size_t len = *p < 0x80 ? 1 : seq_len(p, end);

		if (len == 0) {
			p++;	/* dropped: not part of a whole character */
			continue;
		}
		memmove(out, p, len);
		out += len;
		p += len;
	}
	*out = '\0';
}

unsigned
utf8_bidi_control(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned cp;

	/* U+202A-U+202E are E2 80 AA-AE, U+2066-U+2069 E2 81 A6-A9 */
	if (n < 3 || p[0] != 0xe2 || (p[1] != 0x80 && p[1] != 0x81))
		return 0;
	cp = 0x2000u | (p[1] & 0x3fu) << 6 | (p[2] & 0x3fu);
	return (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ? cp : 0;
}

size_t
utf8_line_control(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	/* U+0080-U+009F are C2 80-9F; U+2028, U+2029 are E2 80 A8, A9 */
	if (n >= 2 && p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
		return 2;
	if (n >= 3 && p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9))
		return 3;
	return 0;
}
