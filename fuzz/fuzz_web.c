/* fuzz_web - what the subscriber pages take from outside, past
 * libmicrohttpd's own parsing: the form's values (web_form.c) and the
 * tokens in paths (token.c).  Never crash; an accepted form has nothing
 * that could break a header or a log line; a token is accepted only when
 * it is one token_make() or token_make_local() gives for what it names.
 *
 * The input is lines: e-mail, name, language, pause date, a token, then
 * region names (the checkboxes). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>

#include "web_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned char key[TOKEN_KEYBYTES] = "fuzz-key-fuzz-key-fuzz-key-fuzz";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *line[16], *p;
	json_t *form = json_object(), *regions = json_array(), *errs = json_array(), *v;
	size_t n = 0;
	unsigned mask;
	int64_t t, id;

	memcpy(s, data, size);
	s[size] = '\0';
	for (p = s; n < 16; n++) {
		line[n] = p;
		if ((p = strchr(p, '\n')) == NULL) {
			n++;
			break;
		}
		*p++ = '\0';
	}
	for (size_t i = 0; i < n; i++)
		if ((v = json_string(line[i])) != NULL)	/* MHD gives bytes; json wants UTF-8 */
			json_object_set_new(form, i == 0 ? "email" : i == 1 ? "name" : i == 2 ?
			    "lang" : i == 3 ? "pause" : i == 4 ? "token" : "r", v);
		else if (i == 0)
			goto out;
	for (size_t i = 5; i < n; i++)
		if ((v = json_string(line[i])) != NULL)
			json_array_append_new(regions, v);
	json_object_set(form, "regions", regions);
	if (web_form_subscribe(form, errs) == 0) {
		const char *e = json_string_value(json_object_get(form, "email"));
		const char *nm = json_string_value(json_object_get(form, "name"));

		if (strpbrk(e, "\r\n") || (nm && strpbrk(nm, "\r\n")) || json_array_size(errs))
			abort();
	} else if (json_array_size(errs) == 0)
		abort();
	if (web_form_regions(form, &mask) == 0 && (mask == 0 || mask > 31))
		abort();
	if (n > 3 && web_form_date(line[3], &t) == 0 && strlen(line[3]) != 10)
		abort();
	if (n > 4 && token_check(key, TOKEN_UNSUBSCRIBE, line[4], &id) == 0) {
		buf_t b;

		buf_t l;

		/* either form token.h makes, the base32 one in any case */
		buf_init(&b, 256);
		buf_init(&l, 256);
		if (token_make(key, TOKEN_UNSUBSCRIBE, id, &b) < 0 ||
		    token_make_local(key, TOKEN_UNSUBSCRIBE, id, &l) < 0 ||
		    (strcmp(buf_str(&b), line[4]) && strcasecmp(buf_str(&l), line[4])))
			abort();
		buf_free(&b);
		buf_free(&l);
	}
out:
	json_decref(form);
	json_decref(regions);
	json_decref(errs);
	free(s);
	return 0;
}
