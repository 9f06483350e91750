/* fuzz_addr - address validation: never crash; what it accepts has no
 * byte that could break a header or an SMTP command */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	const char *why = NULL;

	memcpy(s, data, size);
	s[size] = '\0';
	if (addr_check(s, &why) == 0) {
		if (strpbrk(s, "\r\n <>\"(),;:\\[]") || strlen(s) > 254 || strchr(s, '@') == NULL)
			abort();
	} else if (why == NULL)
		abort();
	free(s);
	return 0;
}
