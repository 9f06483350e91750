/*
 * cli_status - `tiedote status`: what the store holds, for an operator:
 * the schema version, events by type, subscribers by status and the
 * latest events.
 */
#include <stdio.h>

#include <jansson.h>

#include "cli.h"
#include "clock.h"
#include "store.h"
#include "util.h"

/* status: argv[0] is "status" */
static int
status(cli_t *cli, int argc, char **argv)
{
	static const struct option opts[] = { CLI_OPT_HELP };
	store_t *store = NULL;
	json_t *st = NULL, *v, *e;
	const char *key;
	size_t i;
	int c, rc = EX_USAGE;

	optind = 0;
	while ((c = cli_getopt(cli, argc, argv, opts)) != -1) {
		rc = c == CLI_HELP ? cli_help(cli) : cli_usage_error(cli);
		goto out;
	}
	if (optind != argc) {
		rc = cli_usage_error(cli);
		goto out;
	}
	rc = EX_TEMPFAIL;

	if (cli_open_store_read(cli, &store) < 0)
		goto out;
	if (store_status(store, 10, &st) < 0) {
		cli_error("tiedote: %s", store_errmsg(store));
		goto out;
	}
	json_object_set_new(st, "database", json_string(cli->conf.db_path));
	if (cli->json) {
		cli_print_json(st);
	} else {
		printf("database  %s (schema %lld)\n", cli->conf.db_path,
		    (long long)json_integer_value(json_object_get(st, "schema_version")));
		printf("events   ");
		json_object_foreach(json_object_get(st, "events"), key, v)
			printf(" %s %lld", key, (long long)json_integer_value(v));
		printf("\nsubscribers");
		json_object_foreach(json_object_get(st, "subscribers"), key, v)
			printf(" %s %lld", key, (long long)json_integer_value(v));
		printf("\nlatest events:\n");
		json_array_foreach(json_object_get(st, "latest_events"), i, e) {
			char when[32];

			clock_format(json_integer_value(json_object_get(e, "updated")), when);
			printf("  %s  %-12s %s (revision %lld)%s\n", when,
			    json_string_value(json_object_get(e, "type")),
			    json_string_value(json_object_get(e, "id")),
			    (long long)json_integer_value(json_object_get(e, "revision")),
			    json_is_true(json_object_get(e, "cancelled")) ? " cancelled" : "");
		}
	}
	rc = EX_OK;
out:
	json_decref(st);
	store_close(store);
	return rc;
}

static const cli_verb_t verbs[] = {
	{ NULL, status, "", "counts and the latest events", NULL },
};

const cli_cmd_t cli_cmd_status = { "status", "what the store holds", verbs, NELEM(verbs) };
