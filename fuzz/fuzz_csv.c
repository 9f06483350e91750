/* fuzz_csv - the subscriber CSV reader on arbitrary bytes */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
touch(size_t line, char **fields, size_t nf, void *arg)
{
	size_t *total = arg;

	if (line == 0 || nf == 0 || nf > CSV_MAX_FIELDS)
		abort();
	for (size_t i = 0; i < nf; i++)
		*total += strlen(fields[i]);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t total = 0;
	buf_t err;

	buf_init(&err, 1024);
	if (csv_parse((const char *)data, size, touch, &total, &err) < 0 && err.len == 0)
		abort();
	if (total > size)
		abort();
	buf_free(&err);
	return 0;
}
