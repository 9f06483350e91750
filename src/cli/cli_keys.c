/*
 * cli_keys - `tiedote keys generate`: a CurveZMQ key pair, for the
 * worker (intake.key_file) or for a producer (its secret file for
 * client.key_file, its public file for the worker's intake.producer_keys
 * directory).  The files are CZMQ's and pyzmq's certificate format
 * (curvekey.h): NAME.key (0644) and NAME.key_secret (0600), never written
 * over existing files.  Prints the public key, or {"public_key",
 * "public_file", "secret_file"} with --json.
 */
#include <stdio.h>

#include "cli.h"
#include "curvekey.h"
#include "util.h"

/* keys generate --out NAME */
static int
keys_generate(cli_t *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		CLI_OPT_HELP
	};
	const char *out = NULL;
	curvekey_t k;
	buf_t err;
	int c, rc = EX_USAGE;

	buf_init(&err, 1024);
	optind = 0;
	while ((c = cli_getopt(cli, argc, argv, opts)) != -1) {
		if (c == 'o') {
			out = optarg;
			continue;
		}
		rc = c == CLI_HELP ? cli_help(cli) : cli_usage_error(cli);
		goto out;
	}
	if (optind != argc || out == NULL || *out == '\0') {
		rc = cli_usage_error(cli);
		goto out;
	}
	if (curvekey_generate(out, &k, &err) < 0) {
		cli_error("tiedote: %s", buf_str(&err));
		rc = EX_CANTCREAT;
		goto out;
	}
	if (cli->json) {
		json_t *j = json_pack("{s:s, s:s+, s:s+}", "public_key", k.public_key,
		    "public_file", out, CURVEKEY_PUBLIC_EXT, "secret_file", out,
		    CURVEKEY_SECRET_EXT);

		cli_print_json(j);
		json_decref(j);
	} else
		printf("%s\n", k.public_key);
	curvekey_wipe(&k);
	rc = EX_OK;
out:
	buf_free(&err);
	return rc;
}

static const cli_verb_t verbs[] = {
	{ "generate", keys_generate, "--out NAME",
	  "write a CurveZMQ key pair, NAME.key (public) and NAME.key_secret (0600)",
	  "  For the worker: intake.key_file = NAME.key_secret, and give NAME.key\n"
	  "  to producers (client.server_key_file).  For a producer:\n"
	  "  client.key_file = NAME.key_secret, and NAME.key into the worker's\n"
	  "  intake.producer_keys directory (then SIGHUP the worker).  The files\n"
	  "  are pyzmq's zmq.auth.load_certificate() format.\n" },
};

const cli_cmd_t cli_cmd_keys = { "keys", "CurveZMQ key pairs for the intake", verbs,
	NELEM(verbs) };
