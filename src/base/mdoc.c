/*
 * mdoc - text for generated manual pages; contract in mdoc.h.
 */
#include <stdio.h>
#include <string.h>

#include "mdoc.h"

#define MDOC_WIDTH	72	/* text lines are broken at a space before this */

/* put - one character of a text line; a request guarded at its start */
static void
put(FILE *fp, char c, int bol)
{
	if (bol && (c == '.' || c == '\''))
		fputs("\\&", fp);
	if (c == '\\')
		fputs("\\e", fp);
	else
		fputc(c, fp);
}

/* emit - s as text lines; wrap: break long lines and sentences */
static void
emit(FILE *fp, const char *s, int wrap)
{
	size_t col = 0;

	for (; *s; s++) {
		if (*s == '\n') {
			fputc('\n', fp);
			col = 0;
			continue;
		}
		if (wrap && *s == ' ' && col > 0) {
			const char *next = s + 1 + strcspn(s + 1, " \n");

			/* a new sentence, or a word that would pass the width:
			 * a new line (the space is the line break) */
			if (s[-1] == '.' || col + (size_t)(next - s) > MDOC_WIDTH) {
				fputc('\n', fp);
				col = 0;
				continue;
			}
		}
		put(fp, *s, col == 0);
		col++;
	}
	if (col)
		fputc('\n', fp);
}

void
mdoc_text(FILE *fp, const char *s)
{
	emit(fp, s, 1);
}

void
mdoc_literal(FILE *fp, const char *s)
{
	emit(fp, s, 0);
}

void
mdoc_arg(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; *s; s++) {
		if (*s == '"')
			fputs("\\(dq", fp);
		else if (*s == '\\')
			fputs("\\e", fp);
		else
			fputc(*s, fp);
	}
	fputc('"', fp);
}
