/*
 * csv - RFC 4180 reader; contract in csv.h.
 */
#include <string.h>

#include "csv.h"
#include "util.h"

int
csv_parse(const char *data, size_t len, csv_cb cb, void *arg, buf_t *err)
{
	return csv_parse_at(data, len, 1, cb, arg, err);
}

int
csv_parse_at(const char *data, size_t len, size_t first_line, csv_cb cb, void *arg,
    buf_t *err)
{
	buf_t field[CSV_MAX_FIELDS];
	char *ptrs[CSV_MAX_FIELDS];
	size_t nf = 0, line = first_line, start = first_line, i = 0;
	int rc = -1, quoted, blank;

	for (size_t k = 0; k < CSV_MAX_FIELDS; k++)
		buf_init(&field[k], CSV_MAX_FIELD);
	/* a byte-order mark only where a file starts */
	if (first_line == 1 && len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < len) {
		/* one record */
		start = line;
		nf = 0;
		blank = 1;
		for (;;) {
			/* one field */
			if (nf == CSV_MAX_FIELDS) {
				buf_notef(err, "line %zu: more than %d fields", line,
				    CSV_MAX_FIELDS);
				goto out;
			}
			buf_reset(&field[nf]);
			quoted = i < len && data[i] == '"';
			if (quoted) {
				blank = 0;
				for (i++; ; i++) {
					if (i >= len) {
						buf_notef(err, "line %zu: quoted field never closed",
						    start);
						goto out;
					}
					if (data[i] == '"') {
						if (i + 1 < len && data[i + 1] == '"') {
							i++;
						} else {
							i++;
							break;
						}
					} else if (data[i] == '\n')
						line++;
					else if (data[i] == '\0')
						goto nul;
					if (buf_addc(&field[nf], data[i]) < 0)
						goto toolong;
				}
				if (i < len && data[i] != ',' && data[i] != '\n' &&
				    !(data[i] == '\r' && i + 1 < len && data[i + 1] == '\n')) {
					buf_notef(err, "line %zu: text after a closing quote", line);
					goto out;
				}
			} else {
				for (; i < len && data[i] != ',' && data[i] != '\n' &&
				    !(data[i] == '\r' && i + 1 < len && data[i + 1] == '\n'); i++) {
					if (data[i] == '"') {
						buf_notef(err, "line %zu: quote inside an unquoted field",
						    line);
						goto out;
					}
					if (data[i] == '\0')
						goto nul;
					if (buf_addc(&field[nf], data[i]) < 0)
						goto toolong;
				}
			}
			if (field[nf].len)
				blank = 0;
			nf++;
			if (i < len && data[i] == ',') {
				blank = 0;
				i++;
				continue;
			}
			break;
		}
		if (i < len && data[i] == '\r')
			i++;
		if (i < len && data[i] == '\n') {
			i++;
			line++;
		}
		if (blank)
			continue;
		for (size_t k = 0; k < nf; k++)
			ptrs[k] = field[k].data ? field[k].data : (char *)"";
		if ((rc = cb(start, ptrs, nf, arg)) != 0)
			goto done;
	}
	rc = 0;
	goto done;
toolong:
	buf_notef(err, "line %zu: field longer than %d bytes", line, CSV_MAX_FIELD);
	goto out;
nul:
	buf_notef(err, "line %zu: NUL byte", line);
out:
	rc = -1;
done:
	for (size_t k = 0; k < CSV_MAX_FIELDS; k++)
		buf_free(&field[k]);
	return rc;
}
