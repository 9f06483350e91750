/*
 * tiedote - the command-line tool for producers, staff and operators.
 *
 *   tiedote [global options] COMMAND [VERB] [options and operands]
 *   tiedote --help | COMMAND --help | COMMAND VERB --help
 *
 * This file is main(): the global options, the configuration (the same
 * conf_setup() as the worker's) and the hand-over to cli_dispatch().  The
 * commands and their verbs are in cli.c's table and the cli_*.c files
 * (see cli.h).  enqueue talks to tiedoted's intake over ZeroMQ; the
 * commands that write send admin requests to its control socket, or run
 * them here under the lock file when no worker runs (cli_admin, admin.h);
 * the commands that read open the store directly.  Exit codes follow
 * sysexits.h: 0 ok, 64 usage, 65 invalid input, 69 worker unreachable,
 * 75 temporary failure, 76 a request the worker does not understand (a
 * tiedote and tiedoted of different versions), 78 bad configuration.  --json makes every listing and report machine-readable.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>

#include "buf.h"
#include "cli.h"
#include "conf.h"
#include "log.h"
#include "util.h"

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "db", required_argument, NULL, 'd' },
		{ "endpoint", required_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *config = NULL, *db = NULL, *endpoint = NULL;
	char *overrides[32];
	int c, noverrides = 0, rc = EX_USAGE;
	cli_t cli;
	buf_t err;

	log_init("tiedote");
	/* a database this command creates (no worker yet) holds addresses
	 * and the token key: never world-readable, as the worker's */
	umask(umask(0) | 027);
	cli_init(&cli);
	buf_init(&err, 4096);
	/* '+': options after the command belong to the command; ':' and
	 * opterr 0: our own messages, which escape what they quote */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:c:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'd': db = optarg; break;
		case 'e': endpoint = optarg; break;
		case 'j': cli.json = 1; break;
		case 'o':
			if (noverrides == (int)NELEM(overrides)) {
				cli_error("tiedote: more than %zu -o options", NELEM(overrides));
				goto out;
			}
			overrides[noverrides++] = optarg;
			break;
		case 'h': rc = cli_help(&cli); goto out;
		default:
			if (optopt && optopt < 256)
				cli_error("tiedote: -%c %s", optopt, c == ':' ? "needs a value" :
				    "is not an option");
			else
				cli_error("tiedote: %s %s", argv[optind - 1], c == ':' ?
				    "needs a value" : "is not an option");
			rc = cli_usage_error(&cli);
			goto out;
		}
	}
	if (conf_setup(&cli.conf, config, db, endpoint, NULL, overrides, (size_t)noverrides,
	    &err) < 0) {
		cli_error("tiedote: %s", buf_str(&err));
		rc = EX_CONFIG;
		goto out;
	}
	/* dates in messages and schedules are local to the configured zone */
	setenv("TZ", cli.conf.time_zone, 1);
	tzset();
	/* a tool speaks up only for trouble, unless asked for debugging */
	log_set_level(log_level_parse(cli.conf.log_level) == LOG_DEBUG ? LOG_DEBUG : LOG_WARNING);
	if (optind >= argc) {
		rc = cli_usage_error(&cli);
		goto out;
	}
	rc = cli_dispatch(&cli, argc - optind, argv + optind);
out:
	/* what was written to stdout must have reached it: an export into a
	 * full disk is no success, nor is --help into one */
	if (fflush(stdout) != 0 && rc == EX_OK) {
		cli_error("tiedote: standard output: %s", strerror(errno));
		rc = EX_IOERR;
	} else if (ferror(stdout) && rc == EX_OK) {
		/* a write during the command failed; its errno is long gone */
		cli_error("tiedote: standard output: a write failed (a full disk?)");
		rc = EX_IOERR;
	}
	cli_free(&cli);
	buf_free(&err);
	return rc;
}
