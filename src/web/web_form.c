/*
 * web_form - the values of the subscriber forms judged; contract in
 * web_int.h.  No store, no daemon: fuzz/fuzz_web.c calls these directly.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "clock.h"
#include "region.h"
#include "web_int.h"

const char *
web_form_lang(const char *s)
{
	static const char *const langs[] = { "fi", "sv", "en" };

	for (size_t i = 0; i < 3; i++)
		if (strcmp(s, langs[i]) == 0)
			return langs[i];
	return NULL;
}

int
web_form_regions(const json_t *form, unsigned *mask)
{
	const json_t *r = json_object_get(form, "regions"), *v;
	size_t i;
	unsigned m = 0, b;

	json_array_foreach(r, i, v) {
		const char *s = json_string_value(v);

		if (s == NULL || (b = region_bit(s)) == 0)
			return -1;
		m |= b;
	}
	/* nothing ticked is all: the form's default */
	*mask = m ? m : REGION_ALL;
	return 0;
}

int
web_form_date(const char *s, int64_t *t)
{
	int y, mo, d, n = 0;
	struct tm tm = { 0 };
	time_t tt;

	if (*s == '\0')
		return 1;
	if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10 ||
	    s[4] != '-' || s[7] != '-' || y < 2000 || y > 2999 ||
	    !clock_civil_valid(y, mo, d, 0, 0, 0))
		return -1;
	/* midnight in the worker's zone (tiedoted sets TZ to message.time_zone) */
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_isdst = -1;
	if ((tt = mktime(&tm)) == (time_t)-1)
		return -1;
	*t = (int64_t)tt;
	return 0;
}

void
web_form_errors(json_t *data, json_t *errs)
{
	/* a separate flag: a template cannot test an array's first element */
	json_object_set_new(data, "has_errors", json_boolean(json_array_size(errs) > 0));
	json_object_set_new(data, "errors", errs ? errs : json_array());
}

void
web_form_err(json_t *errs, const char *what)
{
	char key[32];

	snprintf(key, sizeof key, "err_%s", what);
	json_array_append_new(errs, json_pack("{s:b}", key, 1));
}

int
web_form_subscribe(const json_t *form, json_t *errs)
{
	const char *email = json_string_value(json_object_get(form, "email"));
	const char *name = json_string_value(json_object_get(form, "name"));
	const char *lang = json_string_value(json_object_get(form, "lang"));
	const char *why;
	unsigned mask;
	size_t before = json_array_size(errs);

	if (email == NULL || addr_check(email, &why) < 0)
		web_form_err(errs, "email");
	if (name && addr_name_check(name, &why) < 0)
		web_form_err(errs, "name");
	if (lang && web_form_lang(lang) == NULL)
		web_form_err(errs, "lang");
	if (web_form_regions(form, &mask) < 0)
		web_form_err(errs, "regions");
	return json_array_size(errs) > before ? -1 : 0;
}
