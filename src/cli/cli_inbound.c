/*
 * cli_inbound - `tiedote inbound`: classify files (no store), deliver one
 * message from stdin (to the worker), list and show what came in.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "classify.h"
#include "cli.h"
#include "util.h"

/* the local part of an address setting ("bounces" of bounces@host) */
static char *
local_of(const char *addr)
{
	const char *at = strchr(addr, '@');

	return xstrndup(addr, at ? (size_t)(at - addr) : strlen(addr));
}

/* classify_json - a report as the documented object */
static json_t *
report_json(const char *file, const classify_report_t *r)
{
	json_t *o = json_object(), *rc = json_array();

	if (file)
		json_object_set_new(o, "file", json_string(file));
	json_object_set_new(o, "kind", json_string(classify_kind_name(r->kind)));
	for (size_t i = 0; i < r->nrcpt; i++) {
		const classify_rcpt_t *x = &r->rcpt[i];

		json_array_append_new(rc, json_pack("{s:s%, s:s, s:s, s:i}",
		    "address", x->address, strlen(x->address), "status", x->status,
		    "reason", classify_reason_name(x->reason), "hard", x->hard));
		if (x->replycode)
			json_object_set_new(json_array_get(rc, i), "replycode",
			    json_integer(x->replycode));
		if (utf8_valid(buf_str(&x->diag), x->diag.len))
			json_object_set_new(json_array_get(rc, i), "diagnostic",
			    json_string(buf_str(&x->diag)));
	}
	json_object_set_new(o, "recipients", rc);
	if (*r->feedback_type)
		json_object_set_new(o, "feedback_type", json_string(r->feedback_type));
	if (r->to != TO_NONE)
		json_object_set_new(o, "to", json_string(r->to == TO_BOUNCE ? "bounce" :
		    "unsubscribe"));
	return o;
}

/* inbound classify FILE... */
static int
inbound_classify(cli_t *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "rcpt", required_argument, NULL, 'r' },
		CLI_OPT_HELP };
	const char *rcpt = NULL;
	char *bl = NULL, *ul = NULL;
	buf_t msg;
	int c, rc = EX_USAGE;

	buf_init(&msg, BUF_MAX_DEFAULT);
	optind = 0;
	while ((c = cli_getopt(cli, argc, argv, opts)) != -1) {
		if (c == 'r') {
			rcpt = optarg;
			continue;
		}
		rc = c == CLI_HELP ? cli_help(cli) : cli_usage_error(cli);
		goto out;
	}
	if (optind >= argc) {
		rc = cli_usage_error(cli);
		goto out;
	}
	bl = local_of(cli->conf.envelope_from);
	ul = local_of(cli->conf.unsubscribe_address);
	rc = EX_OK;
	for (int i = optind; i < argc; i++) {
		classify_opts_t o = { bl, ul, rcpt };
		classify_report_t r;
		const char *base = strrchr(argv[i], '/');

		buf_reset(&msg);
		if (cli_read_all(argv[i], &msg) < 0) {
			rc = EX_NOINPUT;
			continue;
		}
		classify_message(buf_str(&msg), msg.len, &o, &r);
		if (cli->json) {
			json_t *j = report_json(base ? base + 1 : argv[i], &r);

			/* one object a line, so a corpus streams */
			json_dumpf(j, stdout, JSON_COMPACT | JSON_SORT_KEYS);
			putchar('\n');
			json_decref(j);
		} else {
			printf("%s: %s", argv[i], classify_kind_name(r.kind));
			for (size_t k = 0; k < r.nrcpt; k++)
				printf(" %s %s %s %s", *r.rcpt[k].address ? r.rcpt[k].address : "-",
				    *r.rcpt[k].status ? r.rcpt[k].status : "-",
				    classify_reason_name(r.rcpt[k].reason),
				    r.rcpt[k].hard ? "hard" : "soft");
			printf("\n");
		}
		classify_free(&r);
	}
out:
	free(bl);
	free(ul);
	buf_free(&msg);
	return rc;
}

static const cli_verb_t verbs[] = {
	{ "classify", inbound_classify, "[--rcpt ADDRESS] FILE...",
	  "what each message is (bounce, complaint, ...), read offline",
	  "  --rcpt ADDRESS  the envelope recipient (else Delivered-To, To)\n"
	  "  With --json one object a line: file, kind, recipients [{address, status,\n"
	  "  reason, hard}]." },
};

const cli_cmd_t cli_cmd_inbound = { "inbound", "inbound mail: bounces, complaints, "
	"auto-replies, unsubscribes", verbs, NELEM(verbs) };
