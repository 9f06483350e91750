/*
 * csv - an RFC 4180 reader for subscriber imports.
 *
 * csv_parse() walks a whole in-memory file and calls cb once per record
 * with its fields (NUL-terminated, borrowed until cb returns) and the line
 * on which the record starts.  Quoted fields may hold commas, doubled
 * quotes and line breaks; CRLF and LF line ends are both accepted; a UTF-8
 * byte-order mark at the start is skipped; blank lines are skipped.
 * Returns 0, cb's non-zero value, or -1 with "line N: what" in err for a
 * malformed file (a quote inside an unquoted field, an unterminated quote,
 * a record or field over the limits).
 *
 * csv_parse_at() is the same for a piece of a file that starts at a record
 * boundary on line first_line (a file read in pieces: the lines in cb and
 * in err are the file's; only line 1 may start with a byte-order mark).
 */
#ifndef TIEDOTE_CSV_H
#define TIEDOTE_CSV_H

#include <stddef.h>

#include "buf.h"

#define CSV_MAX_FIELDS	64
#define CSV_MAX_FIELD	65536

typedef int (*csv_cb)(size_t line, char **fields, size_t nfields, void *);

int	csv_parse(const char *data, size_t len, csv_cb, void *, buf_t *err);
int	csv_parse_at(const char *data, size_t len, size_t first_line, csv_cb, void *,
	    buf_t *err);

#endif
