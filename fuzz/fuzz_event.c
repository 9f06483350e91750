/* fuzz_event - the intake validator on arbitrary bytes: never crash, never
 * accept something whose canonical form does not validate again, and the
 * canonical form is byte for byte what jansson writes (bodies stored before
 * the intake had its own writer compare equal) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	event_err_t err;
	json_t *ev = event_parse((const char *)data, size, 256 * 1024, &err), *again;
	char *canon;

	if (ev == NULL) {
		/* and the error, which the intake packs into its JSON reply,
		 * is UTF-8 however the quotes in it were cut */
		if (err.code == NULL || err.message[0] == '\0' ||
		    !utf8_valid(err.message, strlen(err.message)) ||
		    !utf8_valid(err.field, strlen(err.field)))
			abort();
		return 0;
	}
	/* normalisation is idempotent: the stored form is itself valid and
	 * canonicalises to the same bytes */
	canon = event_canonical(ev);
	{
		char *theirs = json_dumps(ev, JSON_SORT_KEYS | JSON_COMPACT);

		if (theirs == NULL || strcmp(canon, theirs) != 0)
			abort();
		free(theirs);
	}
	again = event_parse(canon, strlen(canon), 256 * 1024, &err);
	if (again == NULL)
		abort();
	{
		char *canon2 = event_canonical(again);

		if (strcmp(canon, canon2) != 0)
			abort();
		free(canon2);
	}
	json_decref(again);
	free(canon);
	json_decref(ev);
	return 0;
}
