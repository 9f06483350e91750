/*
 * cli_reminder - `tiedote reminder list`: each deadline's reminder plan
 * (offset, time, state) and what was sent, read from the store.
 */
#include <stdio.h>

#include <jansson.h>

#include "cli.h"
#include "remind.h"
#include "util.h"

/* reminder list [DEADLINE-ID] */
static int
reminder_list(cli_t *cli, int argc, char **argv)
{
	static const struct option opts[] = { CLI_OPT_HELP };
	store_t *store = NULL;
	json_t *out = NULL, *d, *r;
	const char *id;
	size_t i, j;
	int c, rc = EX_USAGE;

	optind = 0;
	while ((c = cli_getopt(cli, argc, argv, opts)) != -1) {
		rc = c == CLI_HELP ? cli_help(cli) : cli_usage_error(cli);
		goto out;
	}
	if (argc - optind > 1) {
		rc = cli_usage_error(cli);
		goto out;
	}
	id = optind < argc ? argv[optind] : NULL;
	rc = EX_TEMPFAIL;
	if (cli_open_store_read(cli, &store) < 0)
		goto out;
	if (remind_list(store, id, &out) < 0) {
		cli_error("tiedote: %s", store_errmsg(store));
		goto out;
	}
	if (id && json_array_size(out) == 0) {
		cli_error("tiedote: no deadline %s", id);
		rc = EX_DATAERR;
		goto out;
	}
	if (cli->json)
		cli_print_json(out);
	else
		json_array_foreach(out, i, d) {
			printf("%s  due %s%s  %s\n", json_string_value(json_object_get(d, "event")),
			    json_string_value(json_object_get(d, "due")),
			    json_is_true(json_object_get(d, "cancelled")) ? " CANCELLED" : "",
			    json_string_value(json_object_get(d, "title")));
			/* without an id, a line each (README); the plan is one's */
			if (id == NULL)
				continue;
			json_array_foreach(json_object_get(d, "reminders"), j, r)
				printf("  %3lld days  %s  %s\n",
				    (long long)json_integer_value(json_object_get(r, "days")),
				    json_string_value(json_object_get(r, "at")),
				    json_string_value(json_object_get(r, "state")));
			json_array_foreach(json_object_get(d, "sends"), j, r)
				printf("  sent %s (%lld days before, due %s%s%s): %lld recipients,"
				    " %lld delivered\n",
				    json_string_value(json_object_get(r, "fired")),
				    (long long)json_integer_value(json_object_get(r, "days")),
				    json_string_value(json_object_get(r, "due")),
				    json_object_get(r, "previous_due") ? ", moved from " : "",
				    json_object_get(r, "previous_due") ? json_string_value(
				    json_object_get(r, "previous_due")) : "",
				    (long long)json_integer_value(json_object_get(r, "recipients")),
				    (long long)json_integer_value(json_object_get(r, "delivered")));
		}
	rc = EX_OK;
out:
	json_decref(out);
	store_close(store);
	return rc;
}

static const cli_verb_t verbs[] = {
	{ "list", reminder_list, "[DEADLINE-ID]",
	  "the deadlines, a line each; with an id, its reminder plan and sends", NULL },
};

const cli_cmd_t cli_cmd_reminder = { "reminder", "deadline reminders", verbs, NELEM(verbs) };
