/*
 * cli_dkim - `tiedote dkim keygen`: a DKIM private key for dkim.key_file
 * (or dkim.ed25519_key_file) and the DNS TXT record that publishes it.
 * The key is written by sign_keygen() (sign.h): mode 0600, never over an
 * existing file; the record goes to stdout, or {"record", "name", "value"}
 * with --json.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "sign.h"
#include "util.h"

#define RECORD_MAX	4096	/* an RSA-2048 record is about 450 bytes */

/* dkim keygen --domain D --selector S --out FILE [--type rsa|ed25519] */
static int
dkim_keygen(cli_t *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "domain", required_argument, NULL, 'd' },
		{ "selector", required_argument, NULL, 's' },
		{ "out", required_argument, NULL, 'o' },
		{ "type", required_argument, NULL, 't' },
		CLI_OPT_HELP
	};
	const char *domain = NULL, *selector = NULL, *out = NULL;
	sign_type_t type = SIGN_RSA;
	buf_t record, err;
	int c, rc = EX_USAGE;

	buf_init(&record, RECORD_MAX);
	buf_init(&err, 1024);
	optind = 0;
	while ((c = cli_getopt(cli, argc, argv, opts)) != -1) {
		switch (c) {
		case 'd': domain = optarg; break;
		case 's': selector = optarg; break;
		case 'o': out = optarg; break;
		case 't':
			if (strcmp(optarg, "rsa") == 0)
				type = SIGN_RSA;
			else if (strcmp(optarg, "ed25519") == 0)
				type = SIGN_ED25519;
			else {
				cli_error("tiedote: --type: \"%s\" is not rsa or ed25519", optarg);
				rc = cli_usage_error(cli);
				goto out;
			}
			break;
		default:
			rc = c == CLI_HELP ? cli_help(cli) : cli_usage_error(cli);
			goto out;
		}
	}
	if (optind != argc || !domain || !selector || !out) {
		rc = cli_usage_error(cli);
		goto out;
	}
	if (!sign_dns_name(domain) || !sign_dns_name(selector)) {
		cli_error("tiedote: --domain and --selector must be DNS names");
		rc = EX_DATAERR;
		goto out;
	}
	if (sign_keygen(type, out, domain, selector, &record, &err) < 0) {
		cli_error("tiedote: %s", buf_str(&err));
		rc = EX_CANTCREAT;
		goto out;
	}
	if (cli->json) {
		json_t *j = json_pack("{s:s, s:s#}", "file", out, "record", record.data,
		    (int)record.len - 1);	/* without the newline */

		cli_print_json(j);
		json_decref(j);
	} else
		fputs(buf_str(&record), stdout);
	rc = EX_OK;
out:
	buf_free(&err);
	buf_free(&record);
	return rc;
}

static const cli_verb_t verbs[] = {
	{ "keygen", dkim_keygen, "--domain D --selector S --out FILE [--type rsa|ed25519]",
	  "write a new DKIM private key (mode 0600) and print its DNS TXT record",
	  "  RSA keys are 2048 bits.  FILE must not exist.  Publish the record,\n"
	  "  then set dkim.domain, dkim.selector and dkim.key_file (for --type\n"
	  "  ed25519: dkim.ed25519_selector and dkim.ed25519_key_file).\n" },
};

const cli_cmd_t cli_cmd_dkim = { "dkim", "DKIM signing keys", verbs, NELEM(verbs) };
