/*
 * cli_announce - `tiedote announce`: announcements by programme staff.
 * `announce --at ...` builds the announcement event a producer would send
 * and hands it to admin (announce.store, through the same validator,
 * announce_store); cancel and reschedule are admin requests too; list and
 * show read the store directly.  The worker fires what is due at its next
 * scheduler tick.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "announce.h"
#include "cli.h"
#include "clock.h"
#include "datefmt.h"
#include "region.h"
#include "util.h"

/* print_local - "Mon 4 May 2020, 09:00 (Europe/Helsinki)" and a newline */
static void
print_local(const cli_t *cli, int64_t t)
{
	buf_t b;

	buf_init(&b, 128);
	datefmt_datetime(&b, t, "en", cli->conf.time_zone);
	printf("%s (%s)\n", buf_str(&b), cli->conf.time_zone);
	buf_free(&b);
}

static void
print_announcement(json_t *a, int verbose)
{
	json_t *c = json_object_get(a, "counts"), *f, *v;
	const char *key;
	char when[64];
	size_t i;

	if (json_object_get(a, "send_at"))
		snprintf(when, sizeof when, "%s", json_string_value(json_object_get(a, "send_at")));
	else if (json_object_get(a, "issue"))
		snprintf(when, sizeof when, "(bulletin %s)",
		    json_string_value(json_object_get(a, "issue")));
	else
		snprintf(when, sizeof when, "(next bulletin)");
	printf("%-40s %-11s %-20s %s %s  %s\n", json_string_value(json_object_get(a, "id")),
	    json_string_value(json_object_get(a, "state")), when,
	    json_string_value(json_object_get(a, "audience")),
	    json_string_value(json_object_get(a, "regions")),
	    json_string_value(json_object_get(a, "title")));
	if (strcmp(json_string_value(json_object_get(a, "state")), "expired") == 0)
		printf("  seen %s, too late to send (announcements.max_late_hours)\n",
		    json_string_value(json_object_get(a, "fired")));
	else if (json_object_get(a, "fired")) {
		printf("  fired %s: %lld recipients;", json_string_value(json_object_get(a, "fired")),
		    (long long)json_integer_value(json_object_get(a, "recipients")));
		json_object_foreach(c, key, v)
			printf(" %s %lld", key, (long long)json_integer_value(v));
		printf("\n");
	}
	if (!verbose)
		return;
	json_array_foreach(json_object_get(a, "failures"), i, f)
		printf("  %-8s %s: %s\n", json_string_value(json_object_get(f, "state")),
		    json_string_value(json_object_get(f, "recipient")),
		    json_string_value(json_object_get(f, "reply")));
}

/* announce_new - tiedote announce --at ... : build the event a producer
 * would send and store it through the same validator */
static int
announce_new(cli_t *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "at", required_argument, NULL, 'a' },
		{ "audience", required_argument, NULL, 'A' },
		{ "subject", required_argument, NULL, 's' },
		{ "body", required_argument, NULL, 'b' },
		{ "lang", required_argument, NULL, 'l' },
		{ "url", required_argument, NULL, 'u' },
		{ "id", required_argument, NULL, 'i' },
		{ "in-bulletin", no_argument, NULL, 'B' },
		CLI_OPT_HELP
	};
	const char *at = NULL, *audience = "all", *subject = NULL, *body = NULL, *lang = "fi";
	const char *url = NULL, *id = NULL, *regions = "all";
	int c, in_bulletin = 0, projects = 0, rc = EX_USAGE;
	json_t *ev = NULL, *regs, *reply = NULL;
	int64_t when = 0;
	buf_t text, genid;
	unsigned mask;
	char t[32];

	buf_init(&text, 65536 + 1);
	buf_init(&genid, 256);
	optind = 0;
	while ((c = cli_getopt(cli, argc, argv, opts)) != -1) {
		switch (c) {
		case 'a': at = optarg; break;
		case 'A': audience = optarg; break;
		case 's': subject = optarg; break;
		case 'b': body = optarg; break;
		case 'l': lang = optarg; break;
		case 'u': url = optarg; break;
		case 'i': id = optarg; break;
		case 'B': in_bulletin = 1; break;
		case CLI_HELP: rc = cli_help(cli); goto out;
		default: goto usage;
		}
	}
	if (optind != argc) {
		cli_error("tiedote: announce: no verb %s", argv[optind]);
		goto usage;
	}
	if (subject == NULL || body == NULL || (at == NULL) == !in_bulletin) {
		cli_error("tiedote: announce needs --subject, --body and either --at or"
		    " --in-bulletin");
		goto usage;
	}
	rc = EX_DATAERR;
	if (strncmp(audience, "projects", 8) == 0) {
		projects = 1;
		audience += 8;
	}
	if (strncmp(audience, "regions:", 8) == 0 || (projects && *audience == ':'))
		regions = strchr(audience, ':') + 1;
	else if (*audience && strcmp(audience, "all") != 0) {
		cli_error("tiedote: --audience: \"%s\" is not all, regions:R,.. or"
		    " projects[:R,..]", audience);
		goto out;
	}
	if (region_parse_list(regions, &mask) < 0) {
		cli_error("tiedote: --audience: bad regions \"%s\"", regions);
		goto out;
	}
	if (projects && in_bulletin) {
		cli_error("tiedote: --in-bulletin goes to subscribers; projects need --at");
		goto out;
	}
	if (at && cli_parse_local(cli, "--at", at, -1, 0, &when) < 0)
		goto out;
	if (!datefmt_lang_valid(lang)) {
		cli_error("tiedote: --lang: \"%s\" is not fi, sv or en", lang);
		goto out;
	}
	if (cli_read_all(body, &text) < 0)
		goto out;
	if (text.len == 0) {
		cli_error("tiedote: --body: %s is empty", body);
		goto out;
	}
	if (id == NULL) {
		/* a fresh id each time: the same command twice is two announcements */
		char *q = t;

		clock_format(clock_now(), t);
		for (const char *p = t; *p; p++)	/* 20200317T090000Z */
			if (*p != '-' && *p != ':')
				*q++ = *p;
		*q = '\0';
		if (buf_printf(&genid, "announce-%s-%06x", t,
		    (unsigned)randombytes_uniform(1u << 24)) < 0)
			fatal("out of memory");
		id = buf_str(&genid);
	}
	regs = json_array();
	if (mask == REGION_ALL)
		json_array_append_new(regs, json_string("all"));
	else
		for (int i = 0; i < 5; i++)
			if (mask & (1u << i))
				json_array_append_new(regs, json_string(region_name(i)));
	ev = json_pack("{s:s, s:s, s:{s:s}, s:{s:s#}, s:o, s:s}", "id", id,
	    "type", "announcement", "title", lang, subject, "body", lang, text.data, text.len,
	    "regions", regs, "audience", projects ? "projects" : "subscribers");
	if (ev == NULL) {
		cli_error("tiedote: --body: not valid UTF-8 text");
		goto out;
	}
	if (url)
		json_object_set_new(ev, "url", json_string(url));
	if (at) {
		clock_format(when, t);
		json_object_set_new(ev, "send_at", json_string(t));
	} else
		json_object_set_new(ev, "in_bulletin", json_true());
	rc = cli_admin(cli, json_pack("{s:s, s:O}", "op", "announce.store", "event", ev), 1,
	    &reply);
	if (rc != EX_OK)
		goto out;
	if (cli->json) {
		if (at) {
			clock_format(when, t);
			json_object_set_new(reply, "send_at", json_string(t));
		}
		cli_print_json(reply);
	} else if (at) {
		printf("announcement %s scheduled: ", id);
		print_local(cli, when);
	} else
		printf("announcement %s will be in the next bulletin\n", id);
	rc = EX_OK;
	goto out;
usage:
	rc = cli_usage_error(cli);
out:
	json_decref(reply);
	json_decref(ev);
	buf_free(&text);
	buf_free(&genid);
	return rc;
}

/* announce list | show ID */
static int
announce_ls(cli_t *cli, int argc, char **argv)
{
	static const struct option opts[] = { CLI_OPT_HELP };
	int show = strcmp(argv[0], "show") == 0, c, rc = EX_USAGE, found;
	store_t *store = NULL;
	json_t *out = NULL, *a;
	size_t i;

	optind = 0;
	while ((c = cli_getopt(cli, argc, argv, opts)) != -1) {
		rc = c == CLI_HELP ? cli_help(cli) : cli_usage_error(cli);
		goto out;
	}
	if (argc - optind != show) {
		rc = cli_usage_error(cli);
		goto out;
	}
	rc = EX_TEMPFAIL;
	if (cli_open_store_read(cli, &store) < 0)
		goto out;
	if ((found = announce_list(store, show ? argv[optind] : NULL, &out)) < 0) {
		cli_error("tiedote: %s", store_errmsg(store));
		goto out;
	}
	if (found == 1) {
		cli_error("tiedote: no announcement %s", argv[optind]);
		rc = EX_DATAERR;
		goto out;
	}
	if (cli->json)
		cli_print_json(show ? json_array_get(out, 0) : out);
	else
		json_array_foreach(out, i, a)
			print_announcement(a, show);
	rc = EX_OK;
out:
	json_decref(out);
	store_close(store);
	return rc;
}

/* announce cancel ID | reschedule ID --at TIME */
static int
announce_change(cli_t *cli, int argc, char **argv)
{
	static const struct option cancel_opts[] = { CLI_OPT_HELP }, reschedule_opts[] = {
		{ "at", required_argument, NULL, 'a' },
		CLI_OPT_HELP
	};
	int cancel = strcmp(argv[0], "cancel") == 0, c, rc = EX_USAGE;
	const char *at = NULL, *id;
	json_t *reply = NULL;
	int64_t when = 0;
	char t[32];

	optind = 0;
	while ((c = cli_getopt(cli, argc, argv, cancel ? cancel_opts : reschedule_opts)) != -1)
		switch (c) {
		case 'a': at = optarg; break;
		case CLI_HELP: rc = cli_help(cli); goto out;
		default: rc = cli_usage_error(cli); goto out;
		}
	if (argc - optind != 1 || (!cancel && at == NULL)) {
		rc = cli_usage_error(cli);
		goto out;
	}
	id = argv[optind];
	rc = EX_DATAERR;
	if (!cancel && cli_parse_local(cli, "--at", at, -1, 0, &when) < 0)
		goto out;
	clock_format(when, t);
	if ((rc = cli_admin(cli, cancel ? json_pack("{s:s, s:s}", "op", "announce.cancel",
	    "id", id) : json_pack("{s:s, s:s, s:s}", "op", "announce.reschedule", "id", id,
	    "at", t), 1, &reply)) != EX_OK)
		goto out;
	if (cli->json)
		cli_print_json(reply);
	else if (cancel)
		printf("announcement %s cancelled\n", id);
	else {
		printf("announcement %s rescheduled: ", id);
		print_local(cli, when);
	}
out:
	json_decref(reply);
	return rc;
}

static const cli_verb_t verbs[] = {
	{ NULL, announce_new,
	  "--at TIME --subject S --body FILE|- [--audience all|regions:R,..|\n"
	  "projects[:R,..]] [--lang fi|sv|en] [--url U] [--id ID] [--in-bulletin]",
	  "schedule an announcement (--in-bulletin: in the next bulletin instead)",
	  "  TIME: \"2020-05-04 09:00\" local (message.time_zone) or RFC 3339\n" },
	{ "list", announce_ls, "", "the announcements, planned and sent", NULL },
	{ "show", announce_ls, "ID", "one announcement with its failures", NULL },
	{ "cancel", announce_change, "ID", "send it not at all", NULL },
	{ "reschedule", announce_change, "ID --at TIME", "send it at another time",
	  "  TIME: \"2020-05-04 09:00\" local (message.time_zone) or RFC 3339\n" },
};

const cli_cmd_t cli_cmd_announce = { "announce", "announcements by programme staff", verbs,
	NELEM(verbs) };
