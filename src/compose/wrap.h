/*
 * wrap - fold plain text to a width, for the text/plain part of a message.
 *
 * Templates write one paragraph per line; wrap_text() breaks every line
 * wider than the width at spaces (or tabs), greedily.  Continuation lines
 * repeat the line's leading indentation, and for a list item ("- ", "* ",
 * "• ", "1. ", "1) ") they are indented to the item's text.  A word wider
 * than the width (a URL) is never split: it gets a line of its own.  Lines
 * that fit, empty lines and whitespace inside a line are kept as they are;
 * whitespace at a break is dropped.
 *
 * Columns are code points (UTF-8 continuation bytes count nothing; tabs
 * advance to the next multiple of 8); East Asian wide characters and
 * combining marks are not special.  Input lines may end in LF or CR LF;
 * output lines end in LF (the MIME layer makes them CR LF), and the output
 * ends in a newline exactly when the input does.  The work is linear in
 * the input: a continuation indent wider than half the width is dropped,
 * so that a deeply indented line cannot repeat it once per word.
 */
#ifndef TIEDOTE_WRAP_H
#define TIEDOTE_WRAP_H

#include <stddef.h>

#include "buf.h"

#define WRAP_WIDTH_DEFAULT	76

/* wrap_text - append s[0..len) wrapped at width (0: the default) to out;
 * 0, or -1 with out unchanged when out's ceiling is reached */
int	wrap_text(buf_t *out, const char *s, size_t len, size_t width);

/* wrap_columns - the columns s[0..len) takes from column 0 */
size_t	wrap_columns(const char *s, size_t len);

#endif
