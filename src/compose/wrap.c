/*
 * wrap - fold plain text to a width; contract in wrap.h.
 *
 * One pass over each line: the line's width is measured once, and a line
 * that is too wide is cut into words and refilled greedily, each word's
 * width measured once.  The only output not copied from the input is the
 * continuation prefix, at most half the width per break, and a break
 * follows at least one input word, so the output stays linear too.
 */
#include <string.h>

#include "buf.h"
#include "wrap.h"

#define TABSTOP		8

static int
blank(char c)
{
	return c == ' ' || c == '\t';
}

/* advance - the column after s[0..n) written from column col */
static size_t
advance(size_t col, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\t')
			col = (col / TABSTOP + 1) * TABSTOP;
		else if ((c & 0xc0) != 0x80)
			col++;
	}
	return col;
}

size_t
wrap_columns(const char *s, size_t len)
{
	return advance(0, s, len);
}

/* marker - bytes of the list marker at s[0..n), with the spaces after it,
 * or 0: "- ", "* ", "• ", up to nine digits and ". " or ") " */
static size_t
marker(const char *s, size_t n)
{
	size_t i = 0;

	if (n >= 2 && (s[0] == '-' || s[0] == '*') && s[1] == ' ')
		i = 1;
	else if (n >= 4 && memcmp(s, "\xe2\x80\xa2 ", 4) == 0)
		i = 3;
	else {
		while (i < n && i < 9 && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == 0 || i + 1 >= n || (s[i] != '.' && s[i] != ')') ||
		    s[i + 1] != ' ')
			return 0;
		i++;
	}
	while (i < n && s[i] == ' ')
		i++;
	return i;
}

/* wrap_line - s[0..n), known to be wider than width, refilled */
static int
wrap_line(buf_t *out, const char *s, size_t n, size_t width)
{
	size_t ind, head, indcols, headcols, padcols, col, p, rs, re, ws, we;
	size_t wcols, runcol, k;
	int first = 1;

	for (ind = 0; ind < n && blank(s[ind]); ind++)
		;
	head = ind + marker(s + ind, n - ind);
	indcols = advance(0, s, ind);
	headcols = advance(indcols, s + ind, head - ind);
	/* continuation prefix: the indentation, then spaces up to the item
	 * text; whatever of it is wider than half the width is dropped */
	padcols = headcols - indcols;
	if (headcols > width / 2) {
		padcols = 0;
		if (indcols > width / 2)
			ind = indcols = 0;
	}
	if (buf_add(out, s, head) < 0)
		return -1;
	col = headcols;
	for (p = head; p < n;) {
		for (rs = p; p < n && blank(s[p]); p++)
			;
		re = p;
		if (p == n)		/* blanks that end the line go */
			break;
		for (ws = p; p < n && !blank(s[p]); p++)
			;
		we = p;
		wcols = advance(0, s + ws, we - ws);
		runcol = advance(col, s + rs, re - rs);
		if (first || runcol + wcols <= width) {
			/* the first word stays beside the marker, however wide */
			if (buf_add(out, s + rs, re - rs) < 0)
				return -1;
			col = runcol;
		} else {
			if (buf_addc(out, '\n') < 0 || buf_add(out, s, ind) < 0)
				return -1;
			for (k = 0; k < padcols; k++)
				if (buf_addc(out, ' ') < 0)
					return -1;
			col = indcols + padcols;
		}
		if (buf_add(out, s + ws, we - ws) < 0)
			return -1;
		col += wcols;
		first = 0;
	}
	return 0;
}

int
wrap_text(buf_t *out, const char *s, size_t len, size_t width)
{
	const char *p = s, *end = s + len, *nl;
	size_t start = out->len, n;
	int rc = -1;

	if (width == 0)
		width = WRAP_WIDTH_DEFAULT;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = (size_t)((nl ? nl : end) - p);
		if (nl != NULL && n > 0 && p[n - 1] == '\r')
			n--;
		if (advance(0, p, n) <= width) {
			if (buf_add(out, p, n) < 0)
				goto out;
		} else if (wrap_line(out, p, n, width) < 0)
			goto out;
		if (nl != NULL && buf_addc(out, '\n') < 0)
			goto out;
		p = nl ? nl + 1 : end;
	}
	rc = 0;
out:
	if (rc < 0)
		buf_truncate(out, start);
	return rc;
}
