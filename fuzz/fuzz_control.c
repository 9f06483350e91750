/* fuzz_control - the control socket's request parser (admin_parse) on
 * arbitrary bytes: never crash; a refusal is a well-formed error reply
 * with a sysexits code; an accepted request is accepted again as
 * re-serialised, so what the worker runs is what was judged */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *reply = NULL, *req = admin_parse(data, size, &reply), *again;
	json_int_t code;
	char *text;

	if (req == NULL) {
		code = json_integer_value(json_object_get(reply, "exit"));
		if (!json_is_false(json_object_get(reply, "ok")) ||
		    !json_is_string(json_object_get(reply, "error")) ||
		    !json_is_string(json_object_get(reply, "message")) || code < 64 || code > 78)
			abort();
		json_decref(reply);
		return 0;
	}
	text = json_dumps(req, JSON_COMPACT);
	if (text == NULL || (again = admin_parse(text, strlen(text), &reply)) == NULL)
		abort();
	json_decref(again);
	free(text);
	json_decref(req);
	return 0;
}
