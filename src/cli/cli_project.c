/*
 * cli_project - `tiedote project add|list|show|remove`: the projects whose
 * contacts get deadline reminders and project announcements.  list and
 * show read the store directly; add and remove are admin requests
 * (cli_admin()).  The worker reads the projects when it plans reminders.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "clock.h"
#include "project.h"
#include "region.h"
#include "util.h"

/* one line per project */
static void
print_project(json_t *p, int verbose)
{
	json_t *c, *r;
	size_t i;

	printf("%-28s %-16s %-2s %s\n", json_string_value(json_object_get(p, "id")),
	    json_string_value(json_object_get(p, "regions")),
	    json_string_value(json_object_get(p, "lang")),
	    json_string_value(json_object_get(p, "name")));
	json_array_foreach(json_object_get(p, "contacts"), i, c)
		printf("  contact %s\n", json_string_value(c));
	if (!verbose)
		return;
	json_array_foreach(json_object_get(p, "reminders"), i, r)
		printf("  reminder %s, %lld days before: %s %s %s\n",
		    json_string_value(json_object_get(r, "deadline")),
		    (long long)json_integer_value(json_object_get(r, "days")),
		    json_string_value(json_object_get(r, "recipient")),
		    json_string_value(json_object_get(r, "state")),
		    json_string_value(json_object_get(r, "reply")));
}

/* parse_regions - --region's value into *mask; 0, or -1 said */
static int
parse_regions(const char *region, unsigned *mask)
{
	if (region_parse_list(region, mask) == 0)
		return 0;
	cli_error("tiedote: --region: \"%s\" is not HYKS, TYKS, TAYS, KYS, OYS"
	    " (comma-separated) or all", region);
	return -1;
}

/* project add ID --name N --region R --contact EMAIL [--contact ..] [--lang L] */
static int
project_add(cli_t *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "region", required_argument, NULL, 'r' },
		{ "regions", required_argument, NULL, 'r' },
		{ "contact", required_argument, NULL, 'c' },
		{ "lang", required_argument, NULL, 'l' },
		CLI_OPT_HELP
	};
	const char *name = NULL, *region = NULL, *lang = "fi", *contacts[PROJECT_CONTACTS_MAX + 1];
	size_t ncontacts = 0;
	json_t *req, *cs;
	unsigned mask = REGION_ALL;
	int c, rc = EX_USAGE, created;
	json_t *reply = NULL;
	project_t pr;
	buf_t err;

	buf_init(&err, 4096);
	optind = 0;
	while ((c = cli_getopt(cli, argc, argv, opts)) != -1) {
		switch (c) {
		case 'n': name = optarg; break;
		case 'r': region = optarg; break;
		case 'l': lang = optarg; break;
		case 'c':
			/* one too many is kept, so that project_check says so */
			if (ncontacts <= PROJECT_CONTACTS_MAX)
				contacts[ncontacts++] = optarg;
			break;
		case CLI_HELP: rc = cli_help(cli); goto out;
		default: rc = cli_usage_error(cli); goto out;
		}
	}
	if (argc - optind != 1) {
		rc = cli_usage_error(cli);
		goto out;
	}
	rc = EX_DATAERR;
	if (region && parse_regions(region, &mask) < 0)
		goto out;
	pr = (project_t){ argv[optind], name, lang, mask, contacts, ncontacts };
	if (region == NULL) {
		cli_error("tiedote: project add: --region is required");
		rc = cli_usage_error(cli);
		goto out;
	}
	if (project_check(&pr, &err) < 0) {
		cli_error("tiedote: project %s: %s", pr.id, buf_str(&err));
		goto out;
	}
	cs = json_array();
	for (size_t i = 0; i < ncontacts; i++)
		json_array_append_new(cs, json_string(contacts[i]));
	req = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "op", "project.add", "id", pr.id,
	    "name", name, "lang", lang, "regions", region, "contacts", cs);
	if ((rc = cli_admin(cli, req, 1, &reply)) != EX_OK)
		goto out;
	created = strcmp(json_string_value(json_object_get(reply, "result")), "added") == 0;
	if (cli->json)
		cli_print_json(reply);
	else
		printf("project %s %s (%zu contacts)\n", pr.id, created ? "added" : "updated",
		    ncontacts);
out:
	json_decref(reply);
	buf_free(&err);
	return rc;
}

/* project remove ID */
static int
project_rm(cli_t *cli, int argc, char **argv)
{
	static const struct option opts[] = { CLI_OPT_HELP };
	json_t *reply = NULL;
	int c, rc = EX_USAGE;

	optind = 0;
	while ((c = cli_getopt(cli, argc, argv, opts)) != -1) {
		rc = c == CLI_HELP ? cli_help(cli) : cli_usage_error(cli);
		goto out;
	}
	if (argc - optind != 1) {
		rc = cli_usage_error(cli);
		goto out;
	}
	if ((rc = cli_admin(cli, json_pack("{s:s, s:s}", "op", "project.remove", "id",
	    argv[optind]), 1, &reply)) != EX_OK)
		goto out;
	if (cli->json)
		cli_print_json(reply);
	else
		printf("project %s removed\n", argv[optind]);
out:
	json_decref(reply);
	return rc;
}

/* project list [--region R] | show ID */
static int
project_ls(cli_t *cli, int argc, char **argv)
{
	static const struct option list_opts[] = {
		{ "region", required_argument, NULL, 'r' },
		{ "regions", required_argument, NULL, 'r' },
		CLI_OPT_HELP
	}, show_opts[] = { CLI_OPT_HELP };
	int show = strcmp(argv[0], "show") == 0, c, rc = EX_USAGE, found;
	const char *region = NULL;
	unsigned mask = REGION_ALL;
	store_t *store = NULL;
	json_t *out = NULL, *p;
	size_t i;

	optind = 0;
	while ((c = cli_getopt(cli, argc, argv, show ? show_opts : list_opts)) != -1)
		switch (c) {
		case 'r': region = optarg; break;
		case CLI_HELP: rc = cli_help(cli); goto out;
		default: rc = cli_usage_error(cli); goto out;
		}
	if (argc - optind != show) {
		rc = cli_usage_error(cli);
		goto out;
	}
	if (region && parse_regions(region, &mask) < 0) {
		rc = EX_DATAERR;
		goto out;
	}
	rc = EX_TEMPFAIL;
	if (cli_open_store_read(cli, &store) < 0)
		goto out;
	found = show ? project_show(store, argv[optind], &out) : project_list(store, mask, &out);
	if (found < 0) {
		cli_error("tiedote: %s", store_errmsg(store));
		goto out;
	}
	if (found == 1) {
		cli_error("tiedote: no project %s", argv[optind]);
		rc = EX_DATAERR;
		goto out;
	}
	if (cli->json)
		cli_print_json(out);
	else if (show)
		print_project(out, 1);
	else
		json_array_foreach(out, i, p)
			print_project(p, 0);
	rc = EX_OK;
out:
	json_decref(out);
	store_close(store);
	return rc;
}

static const cli_verb_t verbs[] = {
	{ "add", project_add,
	  "ID --name N --region R --contact EMAIL [--contact ..] [--lang fi|sv|en]",
	  "add a project, or replace one with the same id",
	  "  R: HYKS,TYKS,TAYS,KYS,OYS (comma-separated) or all\n" },
	{ "list", project_ls, "[--region R]", "the projects with their contacts", NULL },
	{ "show", project_ls, "ID", "one project, its contacts and the reminders sent to them",
	  NULL },
	{ "remove", project_rm, "ID", "remove a project and its contacts", NULL },
};

const cli_cmd_t cli_cmd_project = { "project", "projects and their contacts", verbs,
	NELEM(verbs) };
