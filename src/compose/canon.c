/*
 * canon - relaxed header and body canonicalisation; contract in canon.h.
 */
#include <ctype.h>

#include "canon.h"

#define WSP(c)	((c) == ' ' || (c) == '\t')

int
canon_header(const char *f, size_t n, buf_t *out)
{
	size_t i = 0, name_end;
	int space = 0, text = 0;

	while (i < n && f[i] != ':')
		i++;
	/* the name without the spaces before its colon, in lower case */
	name_end = i;
	while (name_end > 0 && WSP(f[name_end - 1]))
		name_end--;
	for (size_t k = 0; k < name_end; k++)
		if (buf_addc(out, (char)tolower((unsigned char)f[k])) < 0)
			return -1;
	if (buf_addc(out, ':') < 0)
		return -1;
	/* the value: unfolded (a CRLF before a space or tab is dropped), each
	 * run of WSP one space, none at its start or end */
	for (i = i < n ? i + 1 : n; i < n; i++) {
		if (f[i] == '\r' && i + 2 < n && f[i + 1] == '\n' && WSP(f[i + 2])) {
			i++;
			continue;
		}
		if (WSP(f[i])) {
			space = 1;
			continue;
		}
		if (space && text && buf_addc(out, ' ') < 0)
			return -1;
		space = 0;
		text = 1;
		if (buf_addc(out, f[i]) < 0)
			return -1;
	}
	return 0;
}

int
canon_body(const char *b, size_t n, buf_t *out)
{
	size_t empty = 0;	/* empty lines seen and not yet written */
	size_t i = 0, run;

	while (i < n) {
		int space = 0, text = 0;

		for (; i < n; i++) {
			if (b[i] == '\r' && i + 1 < n && b[i + 1] == '\n') {
				i += 2;
				break;
			}
			if (WSP(b[i])) {
				space = 1;
				continue;
			}
			/* the empty lines before text were not the body's end */
			for (; !text && empty > 0; empty--)
				if (buf_add(out, "\r\n", 2) < 0)
					return -1;
			/* a run of WSP is one space, at a line's start too; at its
			 * end, none */
			if (space && buf_addc(out, ' ') < 0)
				return -1;
			space = 0;
			text = 1;
			/* the run of bytes up to the next WSP or CR at once: this
			 * is most of a body, and the hashing waits for it */
			for (run = i + 1; run < n && !WSP(b[run]) && b[run] != '\r'; run++)
				;
			if (buf_add(out, b + i, run - i) < 0)
				return -1;
			i = run - 1;
		}
		/* a last line without CRLF gets one, as every line */
		if (!text)
			empty++;
		else if (buf_add(out, "\r\n", 2) < 0)
			return -1;
	}
	return 0;
}
