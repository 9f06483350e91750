/*
 * cli_backup - `tiedote backup FILE` and `tiedote check [FILE]`: an
 * operator's copy of the database while the worker runs, and a look at
 * whether a database (or such a copy) is whole.  Both only read the live
 * database (backup.h), so they need no worker and take no lock.
 */
#include <stdio.h>
#include <jansson.h>

#include "backup.h"
#include "cli.h"
#include "util.h"

#define GO_ON	(-1)

/* operands - the verb's only option is --help, then min..max operands
 * from optind; GO_ON, or the exit code (help, usage error) */
static int
operands(cli_t *cli, int argc, char **argv, int min, int max)
{
	static const struct option opts[] = { CLI_OPT_HELP };
	int c;

	optind = 0;
	while ((c = cli_getopt(cli, argc, argv, opts)) != -1)
		return c == CLI_HELP ? cli_help(cli) : cli_usage_error(cli);
	if (argc - optind < min || argc - optind > max)
		return cli_usage_error(cli);
	return GO_ON;
}

/* backup: argv[0] is "backup" */
static int
backup(cli_t *cli, int argc, char **argv)
{
	buf_t err;
	int rc;

	if ((rc = operands(cli, argc, argv, 1, 1)) != GO_ON)
		return rc;
	buf_init(&err, 4096);
	switch (backup_copy(cli->conf.db_path, argv[optind], &err)) {
	case BACKUP_OK:
		if (cli->json) {
			json_t *j = json_pack("{s:b, s:s, s:s}", "ok", 1, "database",
			    cli->conf.db_path, "backup", argv[optind]);

			cli_print_json(j);
			json_decref(j);
		} else
			printf("backed up %s to %s\n", cli->conf.db_path, argv[optind]);
		rc = EX_OK;
		break;
	case BACKUP_EXISTS:
		cli_error("tiedote: backup: %s", buf_str(&err));
		rc = EX_CANTCREAT;
		break;
	case BACKUP_FAILED:
		cli_error("tiedote: backup: %s", buf_str(&err));
		rc = EX_IOERR;
		break;
	case BACKUP_NOINPUT:
		cli_error("tiedote: backup: %s", buf_str(&err));
		rc = EX_NOINPUT;
		break;
	}
	buf_free(&err);
	return rc;
}

/* check: argv[0] is "check" */
static int
check(cli_t *cli, int argc, char **argv)
{
	const char *path;
	json_t *report = NULL, *p;
	buf_t err;
	size_t i;
	int rc;

	if ((rc = operands(cli, argc, argv, 0, 1)) != GO_ON)
		return rc;
	path = optind < argc ? argv[optind] : cli->conf.db_path;
	buf_init(&err, 4096);
	if (backup_check(path, &report, &err) != BACKUP_OK) {
		cli_error("tiedote: check: %s", buf_str(&err));
		rc = EX_NOINPUT;
		goto out;
	}
	if (cli->json)
		cli_print_json(report);
	else {
		printf("%s: schema %lld (this build: %lld): %s\n", path,
		    (long long)json_integer_value(json_object_get(report, "schema_version")),
		    (long long)json_integer_value(json_object_get(report, "schema_latest")),
		    json_is_true(json_object_get(report, "ok")) ? "ok" : "PROBLEMS");
		json_array_foreach(json_object_get(report, "problems"), i, p)
			printf("  %s\n", json_string_value(p));
	}
	rc = json_is_true(json_object_get(report, "ok")) ? EX_OK : EX_DATAERR;
out:
	json_decref(report);
	buf_free(&err);
	return rc;
}

static const cli_verb_t backup_verbs[] = {
	{ NULL, backup, "FILE", "a consistent copy of the database, also while the worker"
	  " runs (SQLite's online backup); FILE must not exist",
	  "  Restore: stop the worker, copy FILE over store.path, remove its -wal and\n"
	  "  -shm files, start the worker.  exit 73 when FILE exists, 74 when it cannot\n"
	  "  be created or written.\n" },
};

static const cli_verb_t check_verbs[] = {
	{ NULL, check, "[FILE]", "integrity, foreign keys and schema version of the database"
	  " (or of a backup FILE); exit 65 with the problems listed, 66 when FILE is not a"
	  " database", NULL },
};

const cli_cmd_t cli_cmd_backup = { "backup", "copy the database while the worker runs",
	backup_verbs, NELEM(backup_verbs) };
const cli_cmd_t cli_cmd_check = { "check", "is the database whole", check_verbs,
	NELEM(check_verbs) };
