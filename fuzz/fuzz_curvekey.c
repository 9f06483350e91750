/* fuzz_curvekey - CurveZMQ key files (producers hand these in): never
 * crash; what is accepted has a valid 40-character Z85 public key, and a
 * secret key only when it belongs to that public key */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "curvekey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	curvekey_t k;
	buf_t err;
	uint8_t raw[32];
	char derived[CURVEKEY_Z85 + 1];

	buf_init(&err, 1024);
	if (curvekey_parse((const char *)data, size, &k, &err) == 0) {
		if (strlen(k.public_key) != CURVEKEY_Z85 || zmq_z85_decode(raw, k.public_key) == NULL)
			abort();
		if (*k.secret_key && (zmq_curve_public(derived, k.secret_key) != 0 ||
		    strcmp(derived, k.public_key) != 0))
			abort();
	} else if (err.len == 0)
		abort();
	buf_free(&err);
	return 0;
}
