/*
 * cli_inbound - `tiedote inbound`: classify files (no store), deliver one
 * message from stdin (to the worker), list and show what came in.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "classify.h"
#include "cli.h"
#include "clock.h"
#include "inbound.h"
#include "mailbox.h"
#include "util.h"


/* one_opt - a verb's options when it has one besides --help (opts[0]):
 * its value into *value (takes an argument) or 1 into *flag; then the
 * operand count must lie in [min, max].  0 to go on, or -1 with *rc the
 * exit code (help, usage) */
static int
one_opt(cli_t *cli, int argc, char **argv, const struct option *opts, const char **value,
    int *flag, int min, int max, int *rc)
{
	int c;

	optind = 0;
	while ((c = cli_getopt(cli, argc, argv, opts)) != -1) {
		if (c == opts[0].val) {
			if (value)
				*value = optarg;
			if (flag)
				*flag = 1;
			continue;
		}
		*rc = c == CLI_HELP ? cli_help(cli) : cli_usage_error(cli);
		return -1;
	}
	if (argc - optind < min || argc - optind > max) {
		*rc = cli_usage_error(cli);
		return -1;
	}
	return 0;
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

		/* every key in every recipient, so a reader needs no "is it
		 * there": replycode 0 and diagnostic "" when the report has none
		 * (a diagnostic that is not UTF-8 cannot be a JSON string) */
		json_array_append_new(rc, json_pack("{s:s%, s:s, s:s, s:i, s:i, s:s}",
		    "address", x->address, strlen(x->address), "status", x->status,
		    "reason", classify_reason_name(x->reason), "hard", x->hard,
		    "replycode", x->replycode, "diagnostic",
		    utf8_valid(buf_str(&x->diag), x->diag.len) ? buf_str(&x->diag) : ""));
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
	char bl[CLASSIFY_ADDR_MAX], ul[CLASSIFY_ADDR_MAX];
	buf_t msg;
	int rc = EX_USAGE;

	buf_init(&msg, BUF_MAX_DEFAULT);
	if (one_opt(cli, argc, argv, opts, &rcpt, NULL, 1, argc, &rc) < 0)
		goto out;
	inbound_local(cli->conf.envelope_from, bl, sizeof bl);
	inbound_local(cli->conf.unsubscribe_address, ul, sizeof ul);
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
	buf_free(&msg);
	return rc;
}

/* hand - one message to the worker (op inbound.deliver, one try), with
 * the POP3 mailbox and UIDL it is recorded under (or NULL): an exit code,
 * the reply in *reply */
static int
hand(cli_t *cli, const char *via, const char *rcpt, const char *msg, size_t len, size_t size,
    const char *mailbox, const char *uidl, json_t **reply)
{
	size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = xmalloc(n);
	json_t *req;
	int rc;

	sodium_bin2base64(b64, n, (const unsigned char *)msg, len,
	    sodium_base64_VARIANT_ORIGINAL);
	req = json_pack("{s:s, s:s, s:s, s:s, s:I}", "op", "inbound.deliver", "raw", b64,
	    "envelope", rcpt ? rcpt : "", "via", via, "size", (json_int_t)size);
	if (uidl) {
		json_object_set_new(req, "mailbox", json_string(mailbox));
		json_object_set_new(req, "uidl", json_string(uidl));
	}
	/* one try: a message taken twice would be counted twice (with a
	 * UIDL the worker would find it recorded, but one try is enough) */
	rc = cli_admin(cli, req, 0, reply);
	free(b64);
	return rc;
}

/* inbound deliver [--rcpt ADDRESS]: one message on stdin, for an MTA's
 * pipe(8), .forward or procmail.  Exit codes are what the MTA acts on:
 * 0 taken (committed), 75 try again later, 65 refused for good */
static int
inbound_deliver(cli_t *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "rcpt", required_argument, NULL, 'r' },
		CLI_OPT_HELP };
	const char *rcpt = getenv("ORIGINAL_RECIPIENT");
	size_t size = 0, max = (size_t)cli->conf.inbound_max_kb << 10;
	char chunk[65536];
	json_t *reply = NULL;
	buf_t msg;
	ssize_t n;
	int rc = EX_USAGE;

	if (rcpt == NULL || *rcpt == '\0')
		rcpt = getenv("RECIPIENT");
	buf_init(&msg, INBOUND_RAW_MAX);
	if (one_opt(cli, argc, argv, opts, &rcpt, NULL, 0, 0, &rc) < 0)
		goto out;
	/* all of stdin is read (an MTA wants it taken), the first
	 * INBOUND_RAW_MAX bytes kept */
	while ((n = read(STDIN_FILENO, chunk, sizeof chunk)) != 0) {
		if (n < 0) {
			cli_error("tiedote: reading the message: %s", strerror(errno));
			rc = EX_TEMPFAIL;
			goto out;
		}
		size += (size_t)n;
		if (msg.len < INBOUND_RAW_MAX && buf_add(&msg, chunk,
		    INBOUND_RAW_MAX - msg.len < (size_t)n ? INBOUND_RAW_MAX - msg.len :
		    (size_t)n) < 0) {
			rc = EX_SOFTWARE;
			goto out;
		}
	}
	if (size > max) {
		cli_error("tiedote: the message is %zu bytes, over inbound.max_message_kb (%ld KiB)",
		    size, cli->conf.inbound_max_kb);
		rc = EX_DATAERR;
		goto out;
	}
	rc = hand(cli, "deliver", rcpt, msg.data ? msg.data : "", msg.len, size, NULL, NULL,
	    &reply);
	if (rc == EX_OK) {
		if (cli->json)
			cli_print_json(reply);
		else
			printf("inbound %lld: %s: %s\n", (long long)json_integer_value(
			    json_object_get(reply, "id")), json_string_value(json_object_get(reply,
			    "kind")), json_string_value(json_object_get(reply, "action")));
	} else if (rc != EX_DATAERR && rc != EX_USAGE)
		rc = EX_TEMPFAIL;	/* the MTA keeps it and tries again */
out:
	json_decref(reply);
	buf_free(&msg);
	return rc;
}

struct poll_ctx {
	cli_t	*cli;
	int	 taken[KIND_N];
	int	 unhanded;	/* not taken by the worker, for now: left for the next pass */
};

/* kind_of - the kind a reply names, or -1 */
static int
kind_of(const json_t *v)
{
	const char *kind = json_string_value(v);

	for (int i = 0; i < KIND_N && kind; i++)
		if (strcmp(kind, classify_kind_name(i)) == 0)
			return i;
	return -1;
}

static int
poll_take(void *arg, const char *msg, size_t len, size_t size, const char *mailbox,
    const char *uidl)
{
	struct poll_ctx *p = arg;
	json_t *reply = NULL;
	int k = -1, rc;

	if ((rc = hand(p->cli, "poll", NULL, msg, len, size, mailbox, uidl, &reply)) == EX_OK) {
		k = kind_of(json_object_get(reply, "kind"));
		/* one recorded before is not counted again */
		if (k >= 0 && !json_is_true(json_object_get(reply, "duplicate")))
			p->taken[k]++;
	} else if (rc != EX_DATAERR)
		p->unhanded++;	/* refused for good (65) is not a failure of the pass */
	json_decref(reply);
	return k;
}

/* poll_sync - the worker's record of a POP3 mailbox's UIDLs (op
 * inbound.mailbox_sync) */
static int
poll_sync(void *arg, const char *mailbox, const char *const *uidls, size_t n, int complete,
    int *kinds)
{
	struct poll_ctx *p = arg;
	json_t *list = json_array(), *reply = NULL, *taken;
	int rc = -1;

	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, json_string(uidls[i]));
	if (cli_admin(p->cli, json_pack("{s:s, s:s, s:o, s:b}", "op", "inbound.mailbox_sync",
	    "mailbox", mailbox, "uidls", list, "complete", complete), 1, &reply) == EX_OK) {
		taken = json_object_get(reply, "taken");
		for (size_t i = 0; i < n; i++)
			kinds[i] = kind_of(json_object_get(taken, uidls[i]));
		rc = 0;
	}
	json_decref(reply);
	return rc;
}

#define POLL_BACKOFF_MAX_S	300	/* between attempts to reach a mailbox that fails */

/* inbound poll [--once]: read inbound.mailbox; each message stored through
 * the worker, then moved, marked or left (mailbox.h) */
static int
inbound_poll(cli_t *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "once", no_argument, NULL, 'o' }, CLI_OPT_HELP };
	struct poll_ctx p = { cli, { 0 }, 0 };
	mailbox_sink_t sink = { poll_take, poll_sync, &p };
	mailbox_t *m = NULL;
	int rc = EX_USAGE, once = 0, backoff = 1;
	buf_t err;

	buf_init(&err, 4096);
	if (one_opt(cli, argc, argv, opts, NULL, &once, 0, 0, &rc) < 0)
		goto out;
	if (*cli->conf.mailbox == '\0') {
		cli_error("tiedote: inbound.mailbox is not set");
		rc = EX_CONFIG;
		goto out;
	}
	for (;;) {
		int n = 0;

		buf_reset(&err);
		if (m == NULL && (m = mailbox_open(&cli->conf, &err)) == NULL)
			n = -1;
		else if ((n = mailbox_poll(m, &sink, &err)) >= 0 && !once)
			n = mailbox_wait(m, (int)cli->conf.poll_s, &err) < 0 ? -1 : n;
		if (n < 0) {
			cli_error("tiedote: %s", buf_str(&err));
			mailbox_close(m);
			m = NULL;
			if (once) {
				rc = EX_TEMPFAIL;
				goto out;
			}
			/* the poll interval's own pause, doubled while it fails */
			sleep((unsigned)backoff);
			backoff = backoff * 2 > POLL_BACKOFF_MAX_S ? POLL_BACKOFF_MAX_S : backoff * 2;
			continue;
		}
		backoff = 1;
		if (once)
			break;
	}
	if (cli->json) {
		json_t *j = json_object();

		for (int i = 0; i < KIND_N; i++)
			json_object_set_new(j, classify_kind_name(i), json_integer(p.taken[i]));
		cli_print_json(j);
		json_decref(j);
	} else {
		printf("taken:");
		for (int i = 0; i < KIND_N; i++)
			printf(" %s %d", classify_kind_name(i), p.taken[i]);
		printf("\n");
	}
	rc = EX_OK;
	/* a pass that could not hand a message over is not a success: the
	 * worker was unreachable or could not commit; the message stays */
	if (p.unhanded > 0) {
		cli_error("tiedote: %d message%s not taken by the worker; left in the mailbox for"
		    " the next pass", p.unhanded, p.unhanded == 1 ? "" : "s");
		rc = EX_TEMPFAIL;
	}
out:
	mailbox_close(m);
	buf_free(&err);
	return rc;
}

static void
print_row(const json_t *m)
{
	char when[64];
	const json_t *r;
	size_t i;

	clock_format((int64_t)json_integer_value(json_object_get(m, "received")), when);
	printf("%lld  %s  %-11s %-7s %s  %s\n", (long long)json_integer_value(json_object_get(m,
	    "id")), when, json_string_value(json_object_get(m, "kind")),
	    json_string_value(json_object_get(m, "via")),
	    json_string_value(json_object_get(m, "from")),
	    json_string_value(json_object_get(m, "subject")));
	json_array_foreach(json_object_get(m, "recipients"), i, r)
		printf("    %s %s %s %s\n", *json_string_value(json_object_get(r, "address")) ?
		    json_string_value(json_object_get(r, "address")) : "-",
		    *json_string_value(json_object_get(r, "status")) ?
		    json_string_value(json_object_get(r, "status")) : "-",
		    json_string_value(json_object_get(r, "reason")),
		    json_integer_value(json_object_get(r, "hard")) ? "hard" : "soft");
	printf("    -> %s\n", json_string_value(json_object_get(m, "action")));
}

/* inbound list [--kind KIND] [--limit N] */
static int
inbound_list_cmd(cli_t *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "kind", required_argument, NULL, 'k' },
		{ "limit", required_argument, NULL, 'l' }, CLI_OPT_HELP };
	const char *kind = NULL;
	long limit = 50;
	store_t *store = NULL;
	json_t *out = NULL, *m;
	size_t i;
	int c, rc = EX_USAGE;
	char *end;

	optind = 0;
	while ((c = cli_getopt(cli, argc, argv, opts)) != -1) {
		if (c == 'k') {
			kind = optarg;
			continue;
		}
		if (c == 'l') {
			limit = strtol(optarg, &end, 10);
			if (*end || limit < 1 || limit > INBOUND_LIST_MAX) {
				cli_error("tiedote: --limit %s: not 1 to %d", optarg, INBOUND_LIST_MAX);
				rc = cli_usage_error(cli);
				goto out;
			}
			continue;
		}
		rc = c == CLI_HELP ? cli_help(cli) : cli_usage_error(cli);
		goto out;
	}
	if (optind != argc) {
		rc = cli_usage_error(cli);
		goto out;
	}
	if (kind) {
		int known = 0;

		for (int k = 0; k < KIND_N; k++)
			known |= strcmp(kind, classify_kind_name(k)) == 0;
		if (!known) {
			cli_error("tiedote: --kind %s: not bounce, complaint, autoreply, unsubscribe,"
			    " delivered or other", kind);
			rc = cli_usage_error(cli);
			goto out;
		}
	}
	rc = EX_TEMPFAIL;
	if (cli_open_store_read(cli, &store) < 0)
		goto out;
	if (inbound_list(store, kind, (int)limit, &out) < 0) {
		cli_error("tiedote: %s", store_errmsg(store));
		goto out;
	}
	if (cli->json)
		cli_print_json(out);
	else
		json_array_foreach(out, i, m)
			print_row(m);
	rc = EX_OK;
out:
	json_decref(out);
	store_close(store);
	return rc;
}

/* inbound show ID [--raw] */
static int
inbound_show_cmd(cli_t *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "raw", no_argument, NULL, 'r' }, CLI_OPT_HELP };
	store_t *store = NULL;
	json_t *out = NULL;
	int rc = EX_USAGE, raw = 0;
	long long id;
	char *end;

	if (one_opt(cli, argc, argv, opts, NULL, &raw, 1, 1, &rc) < 0)
		goto out;
	id = strtoll(argv[optind], &end, 10);
	if (*end || id <= 0) {
		cli_error("tiedote: %s: not a message id", argv[optind]);
		rc = EX_DATAERR;
		goto out;
	}
	rc = EX_TEMPFAIL;
	if (cli_open_store_read(cli, &store) < 0)
		goto out;
	if (inbound_show(store, id, raw && cli->json, &out) < 0) {
		cli_error("tiedote: %s", store_errmsg(store));
		goto out;
	}
	if (out == NULL) {
		cli_error("tiedote: no inbound message %lld (never, or pruned after"
		    " inbound.keep_days)", id);
		rc = EX_DATAERR;
		goto out;
	}
	if (cli->json)
		cli_print_json(out);
	else {
		print_row(out);
		printf("    envelope %s, %lld bytes (%lld kept), token %s\n",
		    json_string_value(json_object_get(out, "envelope")),
		    (long long)json_integer_value(json_object_get(out, "size")),
		    (long long)json_integer_value(json_object_get(out, "kept")),
		    json_string_value(json_object_get(out, "token")));
		if (raw) {
			/* the raw bytes as stored: read again, not through JSON */
			buf_t bytes;

			buf_init(&bytes, INBOUND_RAW_MAX + 1);
			if (inbound_raw(store, id, &bytes) == 0)
				fwrite(bytes.data ? bytes.data : "", 1, bytes.len, stdout);
			buf_free(&bytes);
		}
	}
	rc = EX_OK;
out:
	json_decref(out);
	store_close(store);
	return rc;
}

static const cli_verb_t verbs[] = {
	{ "deliver", inbound_deliver, "[--rcpt ADDRESS]",
	  "take one message from stdin (Postfix pipe(8), .forward, procmail)",
	  "  --rcpt ADDRESS  the envelope recipient (default $ORIGINAL_RECIPIENT, then\n"
	  "                  $RECIPIENT, then the Delivered-To/To headers)\n"
	  "  Exit 0 once committed, 75 to have the MTA try again, 65 over\n"
	  "  inbound.max_message_kb." },
	{ "poll", inbound_poll, "[--once]",
	  "read inbound.mailbox (Maildir; IMAP with IDLE, POP3: TLS only) every poll_s",
	  "  --once  one pass, then exit (0; 75 when the mailbox cannot be read or a\n"
	  "          message could not be handed to the worker)\n"
	  "  Processed messages go to inbound.mailbox_done (or are marked read, or deleted\n"
	  "  with inbound.mailbox_delete); mail of kind other is left where it is.  POP3:\n"
	  "  the UIDLs taken are recorded; processed messages are deleted only with\n"
	  "  inbound.mailbox_delete." },
	{ "list", inbound_list_cmd, "[--kind KIND] [--limit N]",
	  "the latest inbound messages (50 unless --limit), what they were and what was done",
	  NULL },
	{ "show", inbound_show_cmd, "ID [--raw]", "one inbound message; --raw adds its bytes",
	  NULL },
	{ "classify", inbound_classify, "[--rcpt ADDRESS] FILE...",
	  "what each message is (bounce, complaint, ...), read offline",
	  "  --rcpt ADDRESS  the envelope recipient (else Delivered-To, To)\n"
	  "  With --json one object a line: file, kind, recipients [{address, status,\n"
	  "  reason, hard, replycode (0: none), diagnostic}]; feedback_type (a complaint's\n"
	  "  Feedback-Type) and to (bounce or unsubscribe) when they apply." },
};

const cli_cmd_t cli_cmd_inbound = { "inbound", "inbound mail: bounces, complaints, "
	"auto-replies, unsubscribes", verbs, NELEM(verbs) };
