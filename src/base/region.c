/*
 * region - collaboration areas as bits; contract in region.h.
 */
#include <string.h>
#include <strings.h>

#include "region.h"
#include "util.h"

static const char *const region_names[] = { "HYKS", "TYKS", "TAYS", "KYS", "OYS" };

const char *
region_name(int i)
{
	return i >= 0 && i < 5 ? region_names[i] : NULL;
}

unsigned
region_bit(const char *s)
{
	if (strcasecmp(s, "all") == 0)
		return REGION_ALL;
	for (int i = 0; i < 5; i++)
		if (strcasecmp(s, region_names[i]) == 0)
			return 1u << i;
	return 0;
}

int
region_parse_list(const char *s, unsigned *mask)
{
	char *copy = xstrdup(s), *tok, *save = NULL;
	unsigned m = 0, bit;
	int rc = -1, n = 0, all = 0;

	for (tok = strtok_r(copy, ",; ", &save); tok; tok = strtok_r(NULL, ",; ", &save)) {
		if ((bit = region_bit(tok)) == 0)
			goto out;
		all |= bit == REGION_ALL && strcasecmp(tok, "all") == 0;
		m |= bit;
		n++;
	}
	if (n == 0 || (all && n > 1))
		goto out;
	*mask = m;
	rc = 0;
out:
	free(copy);
	return rc;
}

int
region_format(unsigned mask, buf_t *out)
{
	const char *sep = "";

	if ((mask & REGION_ALL) == REGION_ALL)
		return buf_adds(out, "all");
	for (int i = 0; i < 5; i++)
		if (mask & (1u << i)) {
			if (buf_printf(out, "%s%s", sep, region_names[i]) < 0)
				return -1;
			sep = ",";
		}
	return 0;
}
