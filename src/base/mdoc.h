/*
 * mdoc - writing text into mdoc(7) manual pages, for the parts of them
 * generated from the program's own tables (conf.c's keys, the CLI's
 * dispatch table), so that the manual pages cannot fall behind.
 *
 * mdoc_text() writes free text as text lines: a backslash becomes \e,
 * a line that would start with '.' or '\'' (a request) is guarded with
 * \&, each sentence-ending ". " starts a new line as mdoc wants, and a
 * line is broken at a space before it passes 72 columns (a word longer
 * than that stays whole).  mdoc_literal() the same without the breaks,
 * for display blocks (.Bd -literal).
 * mdoc_arg() writes one quoted macro argument: '"' becomes \(dq, a
 * backslash \e.  Both write to fp and ignore its errors (the caller
 * checks ferror()).  Threads: any.
 */
#ifndef TIEDOTE_MDOC_H
#define TIEDOTE_MDOC_H

#include <stdio.h>

void	mdoc_text(FILE *, const char *);
void	mdoc_literal(FILE *, const char *);
void	mdoc_arg(FILE *, const char *);

#endif
