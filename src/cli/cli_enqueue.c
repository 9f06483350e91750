/*
 * cli_enqueue - `tiedote enqueue`: events to the worker over ZeroMQ (Lazy
 * Pirate, see client.h), from a file or built from shortcut options.  The
 * worker's validator is the one judge of an event: nothing is checked
 * here, so the CLI can never disagree with it.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "cli.h"
#include "client.h"
#include "util.h"

#define FILE_MAX	((size_t)64 << 20)

struct sender {
	cli_t	*cli;
	client_t *client;
	json_t	*replies;	/* --json */
};

/* send_one - one event body to the worker; prints the outcome */
static int
send_one(struct sender *s, const char *body, size_t len)
{
	const conf_t *conf = &s->cli->conf;
	buf_t reply;
	json_t *r = NULL;
	json_error_t jerr;
	const char *status, *code;
	int rc = EX_OK, pauses = 0;

	buf_init(&reply, 1 << 20);
	for (;;) {
		if (client_request(s->client, body, len, &reply) < 0) {
			cli_error("tiedote: no reply from %s within %ld ms; worker unreachable",
			    conf->endpoint, conf->client_total_ms);
			rc = EX_UNAVAILABLE;
			goto out;
		}
		json_decref(r);
		if ((r = json_loadb(reply.data, reply.len, 0, &jerr)) == NULL ||
		    (status = json_string_value(json_object_get(r, "status"))) == NULL) {
			cli_error("tiedote: unreadable reply from the worker");
			rc = EX_SOFTWARE;
			goto out;
		}
		code = json_string_value(json_object_get(r, "code"));
		/* "unavailable" is the one error worth retrying: nothing was stored */
		if (strcmp(status, "error") != 0 || code == NULL ||
		    strcmp(code, "unavailable") != 0 ||
		    ++pauses * 1000L > conf->client_total_ms)
			break;
		sleep(1);
	}
	if (s->cli->json)
		json_array_append(s->replies, r);
	if (strcmp(status, "error") == 0) {
		rc = code && strcmp(code, "unavailable") == 0 ? EX_TEMPFAIL : EX_DATAERR;
		/* the worker's message quotes the event: escaped like our own */
		if (!s->cli->json)
			cli_error("error %s: %s", code ? code : "?",
			    json_string_value(json_object_get(r, "message")));
	} else if (!s->cli->json)
		printf("%s %s revision %lld\n", status,
		    json_string_value(json_object_get(r, "id")),
		    (long long)json_integer_value(json_object_get(r, "revision")));
out:
	json_decref(r);
	buf_free(&reply);
	return rc;
}

static int
enqueue_file(struct sender *s, const char *path)
{
	buf_t data;
	json_t *arr = NULL, *ev;
	json_error_t jerr;
	size_t i, skip;
	int rc = EX_NOINPUT;

	buf_init(&data, FILE_MAX);
	if (cli_read_all(path, &data) < 0)
		goto out;
	skip = strspn(buf_str(&data), " \t\r\n");
	if (data.data == NULL || data.data[skip] != '[') {
		/* one event: the worker's validator is the judge, send as is */
		rc = send_one(s, buf_str(&data), data.len);
		goto out;
	}
	if ((arr = json_loadb(data.data, data.len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		cli_error("tiedote: %s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
		rc = EX_DATAERR;
		goto out;
	}
	rc = EX_OK;
	json_array_foreach(arr, i, ev) {
		char *body = json_dumps(ev, JSON_COMPACT | JSON_ENCODE_ANY);
		int one = send_one(s, body, strlen(body));

		free(body);
		if (one != EX_OK)
			rc = one;
		if (one == EX_UNAVAILABLE || one == EX_SOFTWARE)
			break;
	}
out:
	json_decref(arr);
	buf_free(&data);
	return rc;
}

/* shortcut options: name, the event field, how the value is read */
enum sc_kind { SC_STR, SC_TEXT, SC_LIST, SC_DAYS, SC_FILETEXT, SC_TRUE };
static const struct shortcut {
	const char *opt, *field;
	enum sc_kind kind;
} shortcuts[] = {
	{ "id", "id", SC_STR }, { "title", "title", SC_TEXT },
	{ "summary", "summary", SC_TEXT }, { "body-file", "body", SC_FILETEXT },
	{ "regions", "regions", SC_LIST }, { "url", "url", SC_STR },
	{ "due", "due", SC_STR }, { "opens", "opens", SC_STR },
	{ "remind", "remind", SC_DAYS }, { "projects", "projects", SC_LIST },
	{ "starts", "starts", SC_STR }, { "ends", "ends", SC_STR },
	{ "location", "location", SC_TEXT }, { "published", "published", SC_STR },
	{ "organisation", "organisation", SC_TEXT }, { "send-at", "send_at", SC_STR },
	{ "audience", "audience", SC_STR }, { "in-bulletin", "in_bulletin", SC_TRUE },
	{ "source", "source", SC_TEXT }, { "cancelled", "cancelled", SC_TRUE },
};

/* build_event - the event of "enqueue TYPE --opt value ..." (argv[0] is
 * TYPE) into *out; EX_OK, EX_OK with *out NULL after --help, or EX_USAGE
 * (said).  Values are not checked here: the worker is the validator. */
static int
build_event(cli_t *cli, int argc, char **argv, json_t **out)
{
	struct option opts[NELEM(shortcuts) + 3];
	const char *lang = "fi";
	json_t *ev = json_pack("{s:s}", "type", argv[0]);
	int c, rc = EX_USAGE;
	size_t i;

	*out = NULL;
	for (i = 0; i < NELEM(shortcuts); i++)
		opts[i] = (struct option){ shortcuts[i].opt,
		    shortcuts[i].kind == SC_TRUE ? no_argument : required_argument, NULL,
		    (int)i + 256 };
	opts[i++] = (struct option){ "lang", required_argument, NULL, 'L' };
	opts[i++] = (struct option){ "help", no_argument, NULL, 'h' };
	opts[i] = (struct option){ NULL, 0, NULL, 0 };
	/* --lang applies to every text option, wherever it stands */
	for (int k = 1; k < argc; k++)
		if (strcmp(argv[k], "--lang") == 0 && k + 1 < argc)
			lang = argv[k + 1];
		else if (strncmp(argv[k], "--lang=", 7) == 0)
			lang = argv[k] + 7;
	optind = 0;	/* 0: glibc re-initialises, so options may follow operands */
	while ((c = cli_getopt(cli, argc, argv, opts)) != -1) {
		const struct shortcut *sc;
		json_t *v = NULL;

		if (c == 'L')
			continue;
		if (c == CLI_HELP) {
			rc = cli_help(cli);
			goto out;
		}
		if (c < 256) {
			rc = cli_usage_error(cli);
			goto out;
		}
		sc = &shortcuts[c - 256];
		switch (sc->kind) {
		case SC_STR:
			v = json_string(optarg);
			break;
		case SC_TEXT:
			v = json_pack("{s:s}", lang, optarg);
			break;
		case SC_TRUE:
			v = json_true();
			break;
		case SC_LIST:
		case SC_DAYS: {
			char *copy = xstrdup(optarg), *tok, *save = NULL;

			v = json_array();
			for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
				json_array_append_new(v, sc->kind == SC_DAYS ?
				    json_integer(strtol(tok, NULL, 10)) : json_string(tok));
			free(copy);
			break;
		}
		case SC_FILETEXT: {
			buf_t text;

			buf_init(&text, 1 << 20);
			if (cli_read_all(optarg, &text) == 0)
				v = json_pack("{s:s%}", lang, buf_str(&text), text.len);
			buf_free(&text);
			break;
		}
		}
		if (v == NULL) {
			cli_error("tiedote: --%s: unusable value", sc->opt);
			goto out;
		}
		json_object_set_new(ev, sc->field, v);
	}
	if (optind != argc) {
		cli_error("tiedote: unexpected argument \"%s\"", argv[optind]);
		rc = cli_usage_error(cli);
		goto out;
	}
	if (!json_object_get(ev, "regions"))
		json_object_set_new(ev, "regions", json_pack("[s]", "all"));
	*out = ev;
	ev = NULL;
	rc = EX_OK;
out:
	json_decref(ev);
	return rc;
}

/* enqueue FILE|- | TYPE --opt ...; argv[0] is "enqueue" */
static int
enqueue(cli_t *cli, int argc, char **argv)
{
	struct sender s = { cli, NULL, json_array() };
	json_t *ev = NULL;
	char *body;
	int rc;

	if (argc < 2) {
		rc = cli_usage_error(cli);
		goto out;
	}
	s.client = client_new(cli->conf.endpoint, cli->conf.client_timeout_ms,
	    cli->conf.client_total_ms);
	if (*cli->conf.client_key_file || *cli->conf.client_server_key_file) {
		buf_t err;

		buf_init(&err, 1024);
		if (!*cli->conf.client_key_file || !*cli->conf.client_server_key_file) {
			buf_note(&err, "client.key_file and client.server_key_file: CurveZMQ "
			    "needs both");
			rc = EX_CONFIG;
		} else
			rc = client_curve(s.client, cli->conf.client_key_file,
			    cli->conf.client_server_key_file, &err) < 0 ? EX_CONFIG : EX_OK;
		if (rc != EX_OK)
			cli_error("tiedote: %s", buf_str(&err));
		buf_free(&err);
		if (rc != EX_OK)
			goto out;
	}
	if (argc == 2 && (strcmp(argv[1], "-") == 0 || access(argv[1], F_OK) == 0 ||
	    strchr(argv[1], '/') || strchr(argv[1], '.'))) {
		rc = enqueue_file(&s, argv[1]);
	} else {
		if ((rc = build_event(cli, argc - 1, argv + 1, &ev)) != EX_OK || ev == NULL)
			goto out;
		body = json_dumps(ev, JSON_COMPACT);
		rc = send_one(&s, body, strlen(body));
		free(body);
	}
	if (cli->json)
		cli_print_json(s.replies);
out:
	json_decref(ev);
	json_decref(s.replies);
	client_free(s.client);
	return rc;
}

static const cli_verb_t verbs[] = {
	{ NULL, enqueue,
	  "FILE|-  or  TYPE --id ID --title T [--lang fi|sv|en] [OPTION VALUE ..]",
	  "send one event or a JSON array of events (- is stdin), or build one",
	  "  TYPE: deadline network_day event practice announcement news\n"
	  "  OPTION: --summary S --body-file F --regions R --url U --due T --opens T\n"
	  "          --remind 14,7,1 --projects P,.. --starts T --ends T --location L\n"
	  "          --published T --organisation O --send-at T\n"
	  "          --audience subscribers|projects --source S, and without a value\n"
	  "          --in-bulletin --cancelled\n"
	  "  T: RFC 3339 with offset; the worker validates every value\n" },
};

const cli_cmd_t cli_cmd_enqueue = { "enqueue", "events to the worker", verbs, NELEM(verbs) };
