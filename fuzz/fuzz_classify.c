/* fuzz_classify - the inbound classifier on any bytes: never crash, never
 * read past the input, every recipient's fields within their bounds and
 * its hardness what its reason says */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a copy of exactly size bytes, so ASan sees any read past the end */
	char *s = malloc(size ? size : 1);
	classify_opts_t o = { "bounces", "unsubscribe", size % 2 ? "bounces+x@example.org" :
	    NULL };
	classify_report_t r;

	memcpy(s, data, size);
	classify_message(s, size, &o, &r);
	if (r.kind >= KIND_N || r.nrcpt > CLASSIFY_RCPT_MAX)
		abort();
	for (size_t i = 0; i < r.nrcpt; i++)
		if (r.rcpt[i].reason >= R_N || strlen(r.rcpt[i].address) > CLASSIFY_ADDR_MAX ||
		    r.rcpt[i].diag.len > CLASSIFY_DIAG_MAX || (r.rcpt[i].hard &&
		    r.rcpt[i].reason != R_USERUNKNOWN && r.rcpt[i].reason != R_HOSTUNKNOWN &&
		    r.rcpt[i].reason != R_HASMOVED && r.rcpt[i].reason != R_NOTACCEPT))
			abort();
	classify_free(&r);
	free(s);
	return 0;
}
