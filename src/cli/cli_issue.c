/*
 * cli_issue - `tiedote issue`: the bulletin's issues for staff.  preview
 * builds an issue exactly as the worker would send it (same numbering,
 * same period, same templates) without storing anything; list and status
 * read the store; send-now, hold, resume, cancel and approve are admin
 * requests (cli_admin()), which the worker's scheduler acts on at its next
 * tick.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "bulletin.h"
#include "cli.h"
#include "inbound.h"
#include "clock.h"
#include "compose.h"
#include "datefmt.h"
#include "message.h"
#include "outbox.h"
#include "region.h"
#include "sched.h"
#include "store.h"
#include "util.h"

/* one recipient copied out of the store for the preview */
struct rcpt_copy {
	message_rcpt_t r;
	char	 email[256], name[256], lang[4];
};

static int
rcpt_cb(const subscriber_t *sub, void *arg)
{
	struct rcpt_copy *c = arg;

	snprintf(c->email, sizeof c->email, "%s", sub->email);
	snprintf(c->name, sizeof c->name, "%s", sub->name);
	snprintf(c->lang, sizeof c->lang, "%s", sub->lang);
	c->r = (message_rcpt_t){ sub->id, c->email, c->name, c->lang, sub->regions, 0, 0 };
	return 0;
}

/* issue preview [--lang L] [--subscriber EMAIL] [--format F] [--at T] */
static int
issue_preview(cli_t *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "lang", required_argument, NULL, 'l' },
		{ "subscriber", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'f' },
		{ "at", required_argument, NULL, 'a' },
		CLI_OPT_HELP
	};
	const char *lang = "fi", *email = NULL, *format = "eml", *at = NULL;
	struct rcpt_copy rc_copy = { { 0, "preview@tiedote.example", "", "fi", REGION_ALL, 0, 0 },
	    "", "", "" };
	compose_conf_t cc;
	compose_issue_t *issue = NULL;
	message_ctx_t *msg = NULL;
	message_parts_t parts;
	store_t *store = NULL;
	int64_t when, start;
	buf_t err, eml, number;
	sched_t sched;
	int c, rc = EX_USAGE, got;

	buf_init(&err, 4096);
	buf_init(&eml, (size_t)16 << 20);
	buf_init(&number, 64);
	message_parts_init(&parts);
	optind = 0;
	while ((c = cli_getopt(cli, argc, argv, opts)) != -1) {
		switch (c) {
		case 'l': lang = optarg; break;
		case 's': email = optarg; break;
		case 'f': format = optarg; break;
		case 'a': at = optarg; break;
		case CLI_HELP: rc = cli_help(cli); goto out;
		default: rc = cli_usage_error(cli); goto out;
		}
	}
	if (optind != argc) {
		rc = cli_usage_error(cli);
		goto out;
	}
	if (!datefmt_lang_valid(lang)) {
		cli_error("tiedote: --lang: \"%s\" is not fi, sv or en", lang);
		rc = cli_usage_error(cli);
		goto out;
	}
	if (strcmp(format, "eml") != 0 && strcmp(format, "html") != 0 &&
	    strcmp(format, "text") != 0) {
		cli_error("tiedote: --format: \"%s\" is not eml, html or text", format);
		rc = cli_usage_error(cli);
		goto out;
	}
	rc = EX_CONFIG;
	if (sched_init(&sched, &cli->conf, &err) < 0) {
		cli_error("tiedote: %s", buf_str(&err));
		goto out;
	}
	rc = EX_USAGE;
	if (at == NULL)
		when = sched_due(&sched, sched_index(&sched, clock_now()) + 1);
	else if (cli_parse_local(cli, "--at", at, sched.hour, sched.minute, &when) < 0) {
		rc = cli_usage_error(cli);
		goto out;
	}
	/* read-write: a store no worker has run yet gets its token key here
	 * (message_open()); but never a new database at a mistyped path */
	rc = EX_TEMPFAIL;
	if (access(cli->conf.db_path, F_OK) < 0) {
		cli_error("tiedote: %s: %s (the worker creates the database)", cli->conf.db_path,
		    strerror(errno));
		goto out;
	}
	if (cli_open_store(cli, &store) < 0)
		goto out;
	if ((msg = message_open(&cli->conf, store, &err)) == NULL) {
		cli_error("tiedote: %s", buf_str(&err));
		rc = EX_CONFIG;
		goto out;
	}
	rc_copy.r.lang = lang;
	if (email) {
		if ((got = store_subscriber_get(store, email, rcpt_cb, &rc_copy)) != 0) {
			cli_error("tiedote: %s: %s", email, got > 0 ?
			    "no such subscriber" : store_errmsg(store));
			rc = got > 0 ? EX_DATAERR : EX_TEMPFAIL;
			goto out;
		}
	}
	if (store_issue_last_before(store, when, &start) != 0)
		start = sched_due(&sched, sched_index(&sched, when - 1));
	if (start >= when)
		start = when - (int64_t)cli->conf.bulletin_interval_days * 86400;
	/* numbered as the worker will: after the issues of the year sent before */
	if (bulletin_number(store, &cli->conf, when, &number) < 0) {
		cli_error("tiedote: %s", store_errmsg(store));
		goto out;
	}
	cc = (compose_conf_t){ cli->conf.time_zone, (int)cli->conf.deadline_days, (int)cli->conf.event_days };
	if (compose_issue_load(store, &cc, buf_str(&number), start, when, &issue, &err) < 0) {
		cli_error("tiedote: %s", buf_str(&err));
		goto out;
	}
	got = message_bulletin(msg, issue, buf_str(&number), &rc_copy.r, when, &parts,
	    strcmp(format, "eml") == 0 ? &eml : NULL, &err);
	if (got < 0) {
		cli_error("tiedote: %s", buf_str(&err));
		rc = EX_SOFTWARE;
		goto out;
	}
	if (got == 1)
		cli_error("tiedote: issue %s has nothing for %s; nothing would be sent",
		    buf_str(&number), rc_copy.r.email);
	else if (strcmp(format, "eml") == 0)
		fwrite(eml.data, 1, eml.len, stdout);
	else if (strcmp(format, "html") == 0)
		fwrite(parts.html.data, 1, parts.html.len, stdout);
	else
		fwrite(parts.text.data, 1, parts.text.len, stdout);
	rc = EX_OK;
out:
	compose_issue_free(issue);
	message_close(msg);
	store_close(store);
	message_parts_free(&parts);
	buf_free(&err);
	buf_free(&eml);
	buf_free(&number);
	return rc;
}

/* progress - "[#####.....]  52%" for a terminal */
static void
progress(const json_t *c, int64_t total)
{
	int64_t done = 0;
	int width = 30, filled;
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)c, key, v)
		if (strcmp(key, "queued") && strcmp(key, "sending") && strcmp(key, "deferred"))
			done += json_integer_value(v);
	filled = total ? (int)(done * width / total) : width;
	printf("[");
	for (int i = 0; i < width; i++)
		putchar(i < filled ? '#' : '.');
	printf("] %3d%%\n", total ? (int)(done * 100 / total) : 100);
}

static void
print_issue(const json_t *is, int verbose, double rate, int live, int tty)
{
	json_t *c = json_object_get(is, "counts"), *f;
	char start[32], end[32], since[32];
	int64_t total = json_integer_value(json_object_get(is, "recipients")), left;
	size_t i;

	clock_format(json_integer_value(json_object_get(is, "period_start")), start);
	clock_format(json_integer_value(json_object_get(is, "period_end")), end);
	printf("%-4lld %-10s %-9s %s  recipients %lld  sent %lld  deferred %lld  failed %lld%s\n",
	    (long long)json_integer_value(json_object_get(is, "id")),
	    json_string_value(json_object_get(is, "number")),
	    json_string_value(json_object_get(is, "state")), end, (long long)total,
	    (long long)json_integer_value(json_object_get(c, "sent")),
	    (long long)json_integer_value(json_object_get(c, "deferred")),
	    (long long)json_integer_value(json_object_get(c, "failed")),
	    json_is_true(json_object_get(is, "approved")) ? "" : "  (not approved)");
	if ((f = json_object_get(is, "paused")) != NULL) {
		/* its own buffer: start is printed again below, as the period's */
		clock_format(json_integer_value(json_object_get(f, "since")), since);
		printf("  paused: %s (%s since %s): %s\n", json_string_value(json_object_get(f, "by")),
		    json_string_value(json_object_get(f, "state")), since,
		    json_string_value(json_object_get(f, "reply")));
	}
	if (!verbose)
		return;
	printf("  period %s .. %s\n ", start, end);
	{
		const char *key;
		json_t *v;

		json_object_foreach(c, key, v)
			printf(" %s %lld", key, (long long)json_integer_value(v));
	}
	left = json_integer_value(json_object_get(c, "queued")) +
	    json_integer_value(json_object_get(c, "sending"));
	/* which rate it is: of the last minute while sending, else the average */
	printf("\n  rate %.1f/s %s", rate, live ? "(last minute)" : "(average)");
	if (live && rate > 0 && left > 0)
		printf("  eta %llds", (long long)(left / rate));
	printf("\n");
	if (tty && total)
		progress(c, total);
	if ((c = json_object_get(is, "inbound")) != NULL)
		printf("  inbound: hard bounces %lld, soft bounces %lld, sender-side rejections %lld,"
		    " complaints %lld, unsubscribes %lld\n",
		    (long long)json_integer_value(json_object_get(c, "hard")),
		    (long long)json_integer_value(json_object_get(c, "soft")),
		    (long long)json_integer_value(json_object_get(c, "sender")),
		    (long long)json_integer_value(json_object_get(c, "complaint")),
		    (long long)json_integer_value(json_object_get(c, "unsubscribe")));
	json_array_foreach(json_object_get(is, "failures"), i, f)
		printf("  %-8s %s: %s\n", json_string_value(json_object_get(f, "state")),
		    json_string_value(json_object_get(f, "recipient")),
		    json_string_value(json_object_get(f, "reply")));
}

/* issue list | status [ID] [--follow] | send-now | hold|resume|cancel|approve ID:
 * the verb's operands are what its usage says; only status has --follow */
static int
issue_admin(cli_t *cli, int argc, char **argv)
{
	static const struct option status_opts[] = {
		{ "follow", no_argument, NULL, 'f' },
		CLI_OPT_HELP
	}, plain_opts[] = { CLI_OPT_HELP };
	const char *verb = argv[0];
	int status = strcmp(verb, "status") == 0;
	int needs_id = !status && strcmp(verb, "list") != 0 && strcmp(verb, "send-now") != 0;
	store_t *store = NULL;
	json_t *j = NULL;
	int64_t id = 0;
	int c, rc = EX_USAGE, follow = 0, got;
	char *end;

	optind = 0;
	while ((c = cli_getopt(cli, argc, argv, status ? status_opts : plain_opts)) != -1)
		switch (c) {
		case 'f': follow = 1; break;
		case CLI_HELP: rc = cli_help(cli); goto out;
		default: rc = cli_usage_error(cli); goto out;
		}
	if (argc - optind > ((status || needs_id) ? 1 : 0)) {
		rc = cli_usage_error(cli);
		goto out;
	}
	if (optind < argc && ((id = strtoll(argv[optind], &end, 10)) <= 0 || *end != '\0')) {
		cli_error("tiedote: issue %s: \"%s\" is not an issue id (see tiedote issue list)",
		    verb, argv[optind]);
		rc = cli_usage_error(cli);
		goto out;
	}
	if (needs_id && id == 0) {
		cli_error("tiedote: issue %s needs an issue id (see tiedote issue list)", verb);
		rc = cli_usage_error(cli);
		goto out;
	}
	if (strcmp(verb, "send-now") == 0) {
		/* one try: sent twice, it would make two issues */
		if ((rc = cli_admin(cli, json_pack("{s:s}", "op", "issue.send_now"), 0,
		    &j)) != EX_OK)
			goto out;
		if (cli->json)
			cli_print_json(j);
		else
			printf("issue %lld: will be sent by the worker now\n",
			    (long long)json_integer_value(json_object_get(j, "id")));
		goto out;
	}
	if (needs_id) {
		char op[32];

		snprintf(op, sizeof op, "issue.%s", verb);
		if ((rc = cli_admin(cli, json_pack("{s:s, s:I}", "op", op, "id", (json_int_t)id),
		    1, &j)) != EX_OK)
			goto out;
		if (cli->json)
			cli_print_json(j);
		else
			printf("issue %lld: %s\n", (long long)id, verb);
		goto out;
	}
	rc = EX_TEMPFAIL;
	if (cli_open_store_read(cli, &store) < 0)
		goto out;
	if (strcmp(verb, "list") == 0) {
		size_t i;
		json_t *is;

		if (bulletin_list(store, &j) < 0)
			goto dberr;
		if (cli->json)
			cli_print_json(j);
		else
			json_array_foreach(j, i, is)
				print_issue(is, 0, 0, 0, 0);
	} else if (strcmp(verb, "status") == 0) {
		double rate;
		int live;
		char ref[32];

		for (;;) {
			json_decref(j);
			j = NULL;
			if ((got = bulletin_status(store, id, 10, &j)) < 0)
				goto dberr;
			if (got > 0) {
				cli_error("tiedote: no such issue");
				rc = EX_DATAERR;
				goto out;
			}
			/* from the stored times: the last minute's outcomes while
			 * it is being sent, the average afterwards */
			snprintf(ref, sizeof ref, "%lld",
			    (long long)json_integer_value(json_object_get(j, "id")));
			if (outbox_rate(store, "bulletin", ref, clock_now(), &rate, &live) < 0)
				goto dberr;
			json_object_set_new(j, "rate_basis", json_string(live ? "last_minute" :
			    "average"));
			json_object_set_new(j, "rate", json_real(rate));
			{
				json_t *in = NULL;

				/* what came back: bounces, complaints, mailto unsubscribes */
				if (inbound_counts(store, "bulletin", ref, &in) < 0) {
					json_decref(in);
					goto dberr;
				}
				json_object_set_new(j, "inbound", in);
			}
			if (cli->json)
				cli_print_json(j);
			else
				print_issue(j, 1, rate, live, isatty(1));
			fflush(stdout);
			if (!follow || strcmp(json_string_value(json_object_get(j, "state")),
			    "sending") != 0)
				break;
			sleep(2);
		}
	}
	rc = EX_OK;
	goto out;
dberr:
	cli_error("tiedote: %s", store_errmsg(store));
out:
	json_decref(j);
	store_close(store);
	return rc;
}

static const cli_verb_t verbs[] = {
	{ "preview", issue_preview,
	  "[--lang fi|sv|en] [--subscriber EMAIL] [--format eml|html|text]\n"
	  "[--at TIME|YYYY-MM-DD]",
	  "the next bulletin (or the one of --at) exactly as it would be sent",
	  "  TIME: RFC 3339, or \"YYYY-MM-DD HH:MM\" local (message.time_zone);\n"
	  "  YYYY-MM-DD: that day at the bulletin's time of day\n" },
	{ "list", issue_admin, "", "past and coming issues with their totals", NULL },
	{ "status", issue_admin, "[ID] [--follow]",
	  "counts per state, rate, ETA, latest failures (the latest issue without ID)", NULL },
	{ "send-now", issue_admin, "", "an extra issue covering the time since the last one",
	  NULL },
	{ "hold", issue_admin, "ID", "pause a draft or an issue being sent", NULL },
	{ "resume", issue_admin, "ID", "go on with a held issue", NULL },
	{ "cancel", issue_admin, "ID", "send no more of an issue", NULL },
	{ "approve", issue_admin, "ID", "let a draft go (bulletin.approval)", NULL },
};

const cli_cmd_t cli_cmd_issue = { "issue", "the bulletin's issues", verbs, NELEM(verbs) };
