/*
 * cli_notice - `tiedote project|reminder|announce`: the commands of
 * programme staff for projects, deadline reminders and announcements.
 * They open the store directly, as the issue commands do; the worker
 * picks up what they write at its next scheduler tick.
 */
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "announce.h"
#include "cli.h"
#include "clock.h"
#include "datefmt.h"
#include "project.h"
#include "region.h"
#include "remind.h"
#include "util.h"

/* parse_at - RFC 3339, or "YYYY-MM-DD HH:MM" (or with a T) in the
 * configured zone */
static int
parse_at(const char *arg, int64_t *t)
{
	int y, mo, d, h, mi, n = 0;

	if (clock_parse(arg, t, NULL) == 0)
		return 0;
	if (sscanf(arg, "%4d-%2d-%2d%*1[ T]%2d:%2d%n", &y, &mo, &d, &h, &mi, &n) != 5 ||
	    arg[n] != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || y < 1970)
		return -1;
	/* noon UTC is the same calendar day in every zone within +-12 h */
	return datefmt_local_time(clock_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
	    43200, cli_conf.time_zone, 0, h, mi, t);
}

/* print_local - "Mon 4 May 2020, 09:00 (Europe/Helsinki)" and a newline */
static void
print_local(int64_t t)
{
	buf_t b;

	buf_init(&b, 128);
	datefmt_datetime(&b, t, "en", cli_conf.time_zone);
	printf("%s (%s)\n", buf_str(&b), cli_conf.time_zone);
	buf_free(&b);
}

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

int
cmd_project(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "region", required_argument, NULL, 'r' },
		{ "regions", required_argument, NULL, 'r' },
		{ "contact", required_argument, NULL, 'c' },
		{ "lang", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 }
	};
	const char *name = NULL, *region = NULL, *lang = "fi", *contacts[PROJECT_CONTACTS_MAX + 1];
	const char *verb;
	size_t ncontacts = 0, i;
	store_t *store = NULL;
	json_t *out = NULL, *p;
	buf_t err;
	int c, rc = EX_USAGE, found, created;
	unsigned mask = REGION_ALL;

	buf_init(&err, 4096);
	if (argc < 2)
		goto usage;
	verb = argv[1];
	argc--;
	argv++;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': name = optarg; break;
		case 'r': region = optarg; break;
		case 'l': lang = optarg; break;
		case 'c':
			if (ncontacts <= PROJECT_CONTACTS_MAX)
				contacts[ncontacts++] = optarg;
			break;
		default: goto usage;
		}
	}
	argc -= optind;
	argv += optind;
	if (region && region_parse_list(region, &mask) < 0) {
		fprintf(stderr, "tiedote: --region: \"%s\" is not HYKS, TYKS, TAYS, KYS, OYS"
		    " (comma-separated) or all\n", region);
		rc = EX_DATAERR;
		goto out;
	}
	if (strcmp(verb, "add") == 0 && argc == 1) {
		project_t pr = { argv[0], name, lang, mask, contacts, ncontacts };

		if (region == NULL) {
			fprintf(stderr, "tiedote: project add: --region is required\n");
			goto out;
		}
		rc = EX_DATAERR;
		if (project_check(&pr, &err) < 0) {
			fprintf(stderr, "tiedote: project %s: %s\n", argv[0], buf_str(&err));
			goto out;
		}
		rc = EX_TEMPFAIL;
		if (cli_open_store(&store) < 0)
			goto out;
		if (store_begin(store) < 0 || project_put(store, &pr, clock_now(), &created) < 0 ||
		    store_commit(store) < 0) {
			fprintf(stderr, "tiedote: %s\n", store_errmsg(store));
			store_rollback(store);
			goto out;
		}
		if (cli_json) {
			out = json_pack("{s:s, s:s}", "id", pr.id, "result",
			    created ? "added" : "updated");
			cli_print_json(out);
		} else
			printf("project %s %s (%zu contacts)\n", pr.id, created ? "added" : "updated",
			    ncontacts);
		rc = EX_OK;
	} else if (strcmp(verb, "remove") == 0 && argc == 1) {
		rc = EX_TEMPFAIL;
		if (cli_open_store(&store) < 0)
			goto out;
		if (project_remove(store, argv[0], &found) < 0) {
			fprintf(stderr, "tiedote: %s\n", store_errmsg(store));
			goto out;
		}
		if (!found) {
			fprintf(stderr, "tiedote: no project %s\n", argv[0]);
			rc = EX_DATAERR;
			goto out;
		}
		if (cli_json) {
			out = json_pack("{s:s, s:s}", "id", argv[0], "result", "removed");
			cli_print_json(out);
		} else
			printf("project %s removed\n", argv[0]);
		rc = EX_OK;
	} else if ((strcmp(verb, "list") == 0 && argc == 0) ||
	    (strcmp(verb, "show") == 0 && argc == 1)) {
		int show = argc == 1;

		rc = EX_TEMPFAIL;
		if (cli_open_store(&store) < 0)
			goto out;
		found = show ? project_show(store, argv[0], &out) : project_list(store, mask, &out);
		if (found < 0) {
			fprintf(stderr, "tiedote: %s\n", store_errmsg(store));
			goto out;
		}
		if (found == 1) {
			fprintf(stderr, "tiedote: no project %s\n", argv[0]);
			rc = EX_DATAERR;
			goto out;
		}
		if (cli_json)
			cli_print_json(out);
		else if (show)
			print_project(out, 1);
		else
			json_array_foreach(out, i, p)
				print_project(p, 0);
		rc = EX_OK;
	} else
		goto usage;
	goto out;
usage:
	cli_usage(stderr);
out:
	json_decref(out);
	store_close(store);
	buf_free(&err);
	return rc;
}

int
cmd_reminder(int argc, char **argv)
{
	store_t *store = NULL;
	json_t *out = NULL, *d, *r;
	size_t i, j;
	int rc = EX_TEMPFAIL;

	if (argc < 2 || strcmp(argv[1], "list") != 0 || argc > 3) {
		cli_usage(stderr);
		return EX_USAGE;
	}
	if (cli_open_store(&store) < 0)
		goto out;
	if (remind_list(store, argc == 3 ? argv[2] : NULL, &out) < 0) {
		fprintf(stderr, "tiedote: %s\n", store_errmsg(store));
		goto out;
	}
	if (argc == 3 && json_array_size(out) == 0) {
		fprintf(stderr, "tiedote: no deadline %s\n", argv[2]);
		rc = EX_DATAERR;
		goto out;
	}
	if (cli_json)
		cli_print_json(out);
	else
		json_array_foreach(out, i, d) {
			printf("%s  due %s%s  %s\n", json_string_value(json_object_get(d, "event")),
			    json_string_value(json_object_get(d, "due")),
			    json_is_true(json_object_get(d, "cancelled")) ? " CANCELLED" : "",
			    json_string_value(json_object_get(d, "title")));
			json_array_foreach(json_object_get(d, "reminders"), j, r)
				printf("  %3lld days  %s  %s\n",
				    (long long)json_integer_value(json_object_get(r, "days")),
				    json_string_value(json_object_get(r, "at")),
				    json_string_value(json_object_get(r, "state")));
			json_array_foreach(json_object_get(d, "sends"), j, r)
				printf("  sent %s (%lld days before, due %s%s%s): %lld recipients,"
				    " %lld delivered\n",
				    json_string_value(json_object_get(r, "fired")),
				    (long long)json_integer_value(json_object_get(r, "days")),
				    json_string_value(json_object_get(r, "due")),
				    json_object_get(r, "previous_due") ? ", moved from " : "",
				    json_object_get(r, "previous_due") ? json_string_value(
				    json_object_get(r, "previous_due")) : "",
				    (long long)json_integer_value(json_object_get(r, "recipients")),
				    (long long)json_integer_value(json_object_get(r, "delivered")));
		}
	rc = EX_OK;
out:
	json_decref(out);
	store_close(store);
	return rc;
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
announce_new(int argc, char **argv)
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
		{ NULL, 0, NULL, 0 }
	};
	const char *at = NULL, *audience = "all", *subject = NULL, *body = NULL, *lang = "fi";
	const char *url = NULL, *id = NULL, *regions = "all";
	int c, in_bulletin = 0, projects = 0, revision, rc = EX_USAGE;
	store_t *store = NULL;
	json_t *ev = NULL, *regs;
	int64_t when = 0;
	buf_t text, err, genid;
	unsigned mask;
	char t[32];

	buf_init(&text, 65536 + 1);
	buf_init(&err, 4096);
	buf_init(&genid, 256);
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a': at = optarg; break;
		case 'A': audience = optarg; break;
		case 's': subject = optarg; break;
		case 'b': body = optarg; break;
		case 'l': lang = optarg; break;
		case 'u': url = optarg; break;
		case 'i': id = optarg; break;
		case 'B': in_bulletin = 1; break;
		default: goto usage;
		}
	}
	if (optind != argc || subject == NULL || body == NULL || (at == NULL) == !in_bulletin) {
		fprintf(stderr, "tiedote: announce needs --subject, --body and either --at or"
		    " --in-bulletin\n");
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
		fprintf(stderr, "tiedote: --audience: \"%s\" is not all, regions:R,.. or"
		    " projects[:R,..]\n", audience);
		goto out;
	}
	if (region_parse_list(regions, &mask) < 0) {
		fprintf(stderr, "tiedote: --audience: bad regions \"%s\"\n", regions);
		goto out;
	}
	if (projects && in_bulletin) {
		fprintf(stderr, "tiedote: --in-bulletin goes to subscribers; projects need --at\n");
		goto out;
	}
	if (at && parse_at(at, &when) < 0) {
		fprintf(stderr, "tiedote: --at: \"%s\" is not \"YYYY-MM-DD HH:MM\" or RFC 3339\n",
		    at);
		goto out;
	}
	if (!datefmt_lang_valid(lang)) {
		fprintf(stderr, "tiedote: --lang: \"%s\" is not fi, sv or en\n", lang);
		goto out;
	}
	if (cli_read_all(body, &text) < 0)
		goto out;
	if (text.len == 0) {
		fprintf(stderr, "tiedote: --body: %s is empty\n", body);
		goto out;
	}
	if (id == NULL) {
		/* a fresh id each time: the same command twice is two announcements */
		buf_adds(&genid, "announce-");
		clock_format(clock_now(), t);
		for (char *p = t; *p; p++)
			if (*p != '-' && *p != ':')
				buf_add(&genid, p, 1);
		buf_printf(&genid, "-%06x", (unsigned)randombytes_uniform(1u << 24));
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
		fprintf(stderr, "tiedote: --body: not valid UTF-8 text\n");
		goto out;
	}
	if (url)
		json_object_set_new(ev, "url", json_string(url));
	if (at) {
		clock_format(when, t);
		json_object_set_new(ev, "send_at", json_string(t));
	} else
		json_object_set_new(ev, "in_bulletin", json_true());
	rc = EX_TEMPFAIL;
	if (cli_open_store(&store) < 0)
		goto out;
	if (announce_store(store, &cli_conf, ev, clock_now(), &revision, &err) < 0) {
		fprintf(stderr, "tiedote: announce: %s\n", buf_str(&err));
		rc = strncmp(buf_str(&err), "storing", 7) == 0 ? EX_TEMPFAIL : EX_DATAERR;
		goto out;
	}
	if (cli_json) {
		json_t *o = json_pack("{s:s, s:i}", "id", id, "revision", revision);

		if (at) {
			clock_format(when, t);
			json_object_set_new(o, "send_at", json_string(t));
		}
		cli_print_json(o);
		json_decref(o);
	} else if (at) {
		printf("announcement %s scheduled: ", id);
		print_local(when);
	} else
		printf("announcement %s will be in the next bulletin\n", id);
	rc = EX_OK;
	goto out;
usage:
	cli_usage(stderr);
out:
	json_decref(ev);
	store_close(store);
	buf_free(&text);
	buf_free(&err);
	buf_free(&genid);
	return rc;
}

int
cmd_announce(int argc, char **argv)
{
	store_t *store = NULL;
	json_t *out = NULL, *a;
	buf_t err;
	int64_t when;
	size_t i;
	int rc = EX_USAGE, found;

	if (argc >= 2 && strncmp(argv[1], "--", 2) == 0)
		return announce_new(argc, argv);
	buf_init(&err, 4096);
	if (argc < 2)
		goto usage;
	if ((strcmp(argv[1], "list") == 0 && argc == 2) ||
	    (strcmp(argv[1], "show") == 0 && argc == 3)) {
		rc = EX_TEMPFAIL;
		if (cli_open_store(&store) < 0)
			goto out;
		if ((found = announce_list(store, argc == 3 ? argv[2] : NULL, &out)) < 0) {
			fprintf(stderr, "tiedote: %s\n", store_errmsg(store));
			goto out;
		}
		if (found == 1) {
			fprintf(stderr, "tiedote: no announcement %s\n", argv[2]);
			rc = EX_DATAERR;
			goto out;
		}
		if (cli_json)
			cli_print_json(argc == 3 ? json_array_get(out, 0) : out);
		else
			json_array_foreach(out, i, a)
				print_announcement(a, argc == 3);
		rc = EX_OK;
	} else if ((strcmp(argv[1], "cancel") == 0 && argc == 3) ||
	    (strcmp(argv[1], "reschedule") == 0 && argc == 5 && strcmp(argv[3], "--at") == 0)) {
		int cancel = argc == 3;

		rc = EX_DATAERR;
		if (!cancel && parse_at(argv[4], &when) < 0) {
			fprintf(stderr, "tiedote: --at: \"%s\" is not \"YYYY-MM-DD HH:MM\" or"
			    " RFC 3339\n", argv[4]);
			goto out;
		}
		if (cli_open_store(&store) < 0) {
			rc = EX_TEMPFAIL;
			goto out;
		}
		if ((cancel ? announce_cancel(store, &cli_conf, argv[2], clock_now(), &err) :
		    announce_reschedule(store, &cli_conf, argv[2], when, clock_now(), &err)) < 0) {
			fprintf(stderr, "tiedote: %s\n", buf_str(&err));
			goto out;
		}
		if (cli_json) {
			out = json_pack("{s:s, s:s}", "id", argv[2], "result",
			    cancel ? "cancelled" : "rescheduled");
			cli_print_json(out);
		} else if (cancel)
			printf("announcement %s cancelled\n", argv[2]);
		else {
			printf("announcement %s rescheduled: ", argv[2]);
			print_local(when);
		}
		rc = EX_OK;
	} else
		goto usage;
	goto out;
usage:
	cli_usage(stderr);
out:
	json_decref(out);
	store_close(store);
	buf_free(&err);
	return rc;
}
