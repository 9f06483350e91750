/*
 * mdoc - text for generated manual pages; contract in mdoc.h.
 */
#include <stdio.h>

#include "mdoc.h"

void
mdoc_text(FILE *fp, const char *s)
{
	int bol = 1;

	for (; *s; s++) {
		if (bol && (*s == '.' || *s == '\''))
			fputs("\\&", fp);
		bol = 0;
		if (*s == '\\')
			fputs("\\e", fp);
		else if (*s == '\n') {
			fputc('\n', fp);
			bol = 1;
		} else if (*s == '.' && s[1] == ' ') {
			/* a new sentence, a new line */
			fputs(".\n", fp);
			bol = 1;
			s++;
		} else
			fputc(*s, fp);
	}
	if (!bol)
		fputc('\n', fp);
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
