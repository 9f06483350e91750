/*
 * fuzz_tmpl - libFuzzer target for the template parser and renderer.
 *
 * The input is split at NUL bytes: the first piece is the template "main",
 * the following ones partials named "a", "b", "c", ... so that {{>a}} and
 * {{<a}} reach them.  Whatever parses is rendered against a small fixed
 * object, with tight limits so that slow inputs stay cheap.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "tmpl.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static json_t *data;

static json_t *
fixed_data(void)
{
	const char *text =
	    "{\"name\": \"Aino <&>\", \"n\": 3, \"x\": 1.5, \"t\": true,"
	    " \"f\": false, \"z\": null, \"e\": [], \"s\": \"\","
	    " \"list\": [1, \"two\", {\"name\": \"inner\", \"list\": [[1], []]}],"
	    " \"a\": {\"b\": {\"c\": \"deep\"}, \"list\": [{\"n\": 1}, {\"n\": 2}]}}";

	return json_loads(text, 0, NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *in, size_t len)
{
	const char *p = (const char *)in, *end = p + len, *nul;
	tmpl_set_t *set = tmpl_set_new();
	const tmpl_t *t;
	char name[2] = "a";
	buf_t out, err;
	int piece = 0;

	if (data == NULL)
		data = fixed_data();
	buf_init(&out, 1 << 20);
	buf_init(&err, 0);
	tmpl_set_limits(set, 16, 200000);
	for (;;) {
		nul = memchr(p, '\0', end - p);
		if (piece == 0)
			tmpl_set_add(set, "main", p, (nul ? nul : end) - p, &err);
		else
			tmpl_set_add(set, name, p, (nul ? nul : end) - p, &err);
		if (piece > 0)
			name[0]++;
		buf_reset(&err);
		if (nul == NULL || ++piece > 8)
			break;
		p = nul + 1;
	}
	if ((t = tmpl_set_get(set, "main")) != NULL) {
		tmpl_render(set, t, data, &out, &err);
		tmpl_render(set, t, NULL, &out, &err);
	}
	buf_free(&out);
	buf_free(&err);
	tmpl_set_free(set);
	return 0;
}
