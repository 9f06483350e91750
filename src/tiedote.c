/*
 * tiedote - the command-line tool for producers, staff and operators.
 *
 *   tiedote [global options] enqueue FILE|-            one event or an array
 *   tiedote [global options] enqueue TYPE --id ... --title ... [...]
 *   tiedote [global options] subscriber add|remove|list|import|export ...
 *   tiedote [global options] issue ...
 *   tiedote [global options] project|reminder|announce ...   (cli_notice.c)
 *   tiedote [global options] status
 *
 * enqueue talks to tiedoted over ZeroMQ (Lazy Pirate, see client.h); the
 * other commands open the store directly, which SQLite's locking makes safe
 * beside a running worker.  Exit codes follow sysexits.h: 0 ok, 64 usage,
 * 65 invalid input, 69 worker unreachable, 75 temporary failure, 78 bad
 * configuration.  --json makes every listing and report machine-readable.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "addr.h"
#include "buf.h"
#include "cli.h"
#include "client.h"
#include "clock.h"
#include "conf.h"
#include "csv.h"
#include "datefmt.h"
#include "bulletin.h"
#include "compose.h"
#include "log.h"
#include "message.h"
#include "region.h"
#include "sched.h"
#include "store.h"
#include "util.h"

#define FILE_MAX	((size_t)64 << 20)

conf_t cli_conf;
int cli_json;

void
cli_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: tiedote [-c FILE] [--db PATH] [--endpoint EP] [-o SECTION.KEY=VALUE]\n"
	    "               [--json] COMMAND ...\n"
	    "commands:\n"
	    "  enqueue FILE|-                 send one event, or a JSON array of events\n"
	    "  enqueue TYPE --id ID --title T [--lang fi|sv|en] [--summary S] [--body-file F]\n"
	    "          [--regions R] [--url U] [--due T] [--opens T] [--remind 14,7,1]\n"
	    "          [--projects P,..] [--starts T] [--ends T] [--location L]\n"
	    "          [--published T] [--organisation O] [--send-at T]\n"
	    "          [--audience subscribers|projects] [--in-bulletin] [--source S]\n"
	    "          [--cancelled]          TYPE: deadline network_day event practice\n"
	    "                                 announcement news; T: RFC 3339 with offset\n"
	    "  subscriber add EMAIL [--name N] [--lang fi|sv|en] [--regions R|all]\n"
	    "  subscriber remove EMAIL [--purge]\n"
	    "  subscriber list [--status S]\n"
	    "  subscriber import FILE.csv|- [--resubscribe] [--dry-run]\n"
	    "  subscriber export [--status S]\n"
	    "  issue preview [--lang fi|sv|en] [--subscriber EMAIL] [--format eml|html|text]\n"
	    "        [--at TIME|YYYY-MM-DD]   the bulletin exactly as it would be sent\n"
	    "  issue list                     past and coming issues with their totals\n"
	    "  issue status [ID] [--follow]   counts per state, rate, ETA, latest failures\n"
	    "  issue send-now | hold ID | resume ID | cancel ID | approve ID\n"
	    "  project add ID --name N --region R --contact EMAIL [--contact ..] [--lang L]\n"
	    "  project list [--region R] | show ID | remove ID\n"
	    "  reminder list [DEADLINE-ID]    each deadline's reminder plan and sends\n"
	    "  announce --at TIME --subject S --body FILE|- [--audience all|regions:R,..|\n"
	    "          projects] [--lang fi|sv|en] [--url U] [--id ID] [--in-bulletin]\n"
	    "          TIME: \"2020-05-04 09:00\" local (message.time_zone) or RFC 3339\n"
	    "  announce list | show ID | cancel ID | reschedule ID --at TIME\n"
	    "  status                         counts and the latest events\n"
	    "exit codes: 0 ok, 64 usage, 65 invalid input, 69 worker unreachable,\n"
	    "            75 temporary failure, 78 configuration\n");
}

/* read_all - a whole file ("-" is stdin) into out; 0 or -1 with a message */
int
cli_read_all(const char *path, buf_t *out)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char chunk[65536];
	size_t n;
	int rc = -1;

	if (fp == NULL) {
		fprintf(stderr, "tiedote: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
		if (buf_add(out, chunk, n) < 0) {
			fprintf(stderr, "tiedote: %s: larger than %zu bytes\n", path, out->max);
			goto out;
		}
	if (ferror(fp)) {
		fprintf(stderr, "tiedote: %s: read error\n", path);
		goto out;
	}
	rc = 0;
out:
	if (fp != stdin)
		fclose(fp);
	return rc;
}

int
cli_open_store(store_t **store)
{
	buf_t err;
	int rc;

	buf_init(&err, 4096);
	if ((rc = store_open(&cli_conf, store, &err)) < 0)
		fprintf(stderr, "tiedote: %s\n", buf_str(&err));
	buf_free(&err);
	return rc;
}

void
cli_print_json(json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	putchar('\n');
}

/*
 * enqueue
 */

struct sender {
	client_t *client;
	json_t	*replies;	/* --json */
	int	 status;	/* worst exit code so far */
};

/* send_one - one event body to the worker; prints the outcome */
static int
send_one(struct sender *s, const char *body, size_t len)
{
	buf_t reply;
	json_t *r = NULL;
	json_error_t jerr;
	const char *status, *code;
	int rc = EX_OK, pauses = 0;

	buf_init(&reply, 1 << 20);
	for (;;) {
		if (client_request(s->client, body, len, &reply) < 0) {
			fprintf(stderr, "tiedote: no reply from %s within %ld ms; worker unreachable\n",
			    cli_conf.endpoint, cli_conf.client_total_ms);
			rc = EX_UNAVAILABLE;
			goto out;
		}
		json_decref(r);
		if ((r = json_loadb(reply.data, reply.len, 0, &jerr)) == NULL ||
		    (status = json_string_value(json_object_get(r, "status"))) == NULL) {
			fprintf(stderr, "tiedote: unreadable reply from the worker\n");
			rc = EX_SOFTWARE;
			goto out;
		}
		code = json_string_value(json_object_get(r, "code"));
		/* "unavailable" is the one error worth retrying: nothing was stored */
		if (strcmp(status, "error") != 0 || code == NULL ||
		    strcmp(code, "unavailable") != 0 ||
		    ++pauses * 1000L > cli_conf.client_total_ms)
			break;
		sleep(1);
	}
	if (cli_json)
		json_array_append(s->replies, r);
	if (strcmp(status, "error") == 0) {
		rc = code && strcmp(code, "unavailable") == 0 ? EX_TEMPFAIL : EX_DATAERR;
		if (!cli_json)
			fprintf(stderr, "error %s: %s\n", code ? code : "?",
			    json_string_value(json_object_get(r, "message")));
	} else if (!cli_json)
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
		fprintf(stderr, "tiedote: %s:%d:%d: %s\n", path, jerr.line, jerr.column, jerr.text);
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

/* build_event - the event of "enqueue TYPE --opt value ..."; NULL on a
 * usage error (printed).  Values are not checked here: the worker is the
 * one validator, so the CLI can never disagree with it. */
static json_t *
build_event(int argc, char **argv)
{
	struct option opts[NELEM(shortcuts) + 2];
	const char *lang = "fi";
	json_t *ev = json_pack("{s:s}", "type", argv[0]);
	int c, idx;
	size_t i;

	for (i = 0; i < NELEM(shortcuts); i++)
		opts[i] = (struct option){ shortcuts[i].opt,
		    shortcuts[i].kind == SC_TRUE ? no_argument : required_argument, NULL,
		    (int)i + 256 };
	opts[i++] = (struct option){ "lang", required_argument, NULL, 'L' };
	opts[i] = (struct option){ NULL, 0, NULL, 0 };
	/* --lang applies to every text option, wherever it stands */
	for (int k = 1; k < argc; k++)
		if (strcmp(argv[k], "--lang") == 0 && k + 1 < argc)
			lang = argv[k + 1];
		else if (strncmp(argv[k], "--lang=", 7) == 0)
			lang = argv[k] + 7;
	optind = 0;	/* 0: glibc re-initialises, so options may follow operands */
	while ((c = getopt_long(argc, argv, "", opts, &idx)) != -1) {
		const struct shortcut *sc;
		json_t *v = NULL;

		if (c == 'L')
			continue;
		if (c < 256) {
			json_decref(ev);
			return NULL;
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
			fprintf(stderr, "tiedote: --%s: unusable value\n", sc->opt);
			json_decref(ev);
			return NULL;
		}
		json_object_set_new(ev, sc->field, v);
	}
	if (optind != argc) {
		fprintf(stderr, "tiedote: unexpected argument \"%s\"\n", argv[optind]);
		json_decref(ev);
		return NULL;
	}
	if (!json_object_get(ev, "regions"))
		json_object_set_new(ev, "regions", json_pack("[s]", "all"));
	return ev;
}

static int
cmd_enqueue(int argc, char **argv)
{
	struct sender s = { NULL, json_array(), EX_OK };
	json_t *ev = NULL;
	char *body;
	int rc = EX_USAGE;

	if (argc < 2) {
		cli_usage(stderr);
		goto out;
	}
	s.client = client_new(cli_conf.endpoint, cli_conf.client_timeout_ms, cli_conf.client_total_ms);
	if (argc == 2 && (strcmp(argv[1], "-") == 0 || access(argv[1], F_OK) == 0 ||
	    strchr(argv[1], '/') || strchr(argv[1], '.'))) {
		rc = enqueue_file(&s, argv[1]);
	} else {
		if ((ev = build_event(argc - 1, argv + 1)) == NULL)
			goto out;
		body = json_dumps(ev, JSON_COMPACT);
		rc = send_one(&s, body, strlen(body));
		free(body);
	}
	if (cli_json)
		cli_print_json(s.replies);
out:
	json_decref(ev);
	json_decref(s.replies);
	client_free(s.client);
	return rc;
}

/*
 * subscriber
 */

static const char *
check_lang(const char *s)
{
	return strcmp(s, "fi") == 0 || strcmp(s, "sv") == 0 || strcmp(s, "en") == 0 ?
	    NULL : "must be fi, sv or en";
}

static const char *
check_name(const char *s)
{
	size_t n = strlen(s);

	if (!utf8_valid(s, n))
		return "not valid UTF-8";
	if (n > 200)
		return "longer than 200 bytes";
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return "control character (one line only)";
	return NULL;
}

static json_t *
subscriber_json(const subscriber_t *sub)
{
	buf_t regions;
	json_t *j;

	buf_init(&regions, 64);
	region_format(sub->regions, &regions);
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "email", sub->email,
	    "name", sub->name, "lang", sub->lang, "regions", buf_str(&regions),
	    "status", sub->status, "created", (json_int_t)sub->created,
	    "updated", (json_int_t)sub->updated);
	buf_free(&regions);
	return j;
}

static int
list_cb(const subscriber_t *sub, void *arg)
{
	json_t *arr = arg, *j = subscriber_json(sub);

	if (cli_json)
		json_array_append(arr, j);
	else
		printf("%-40s %-2s %-22s %-12s %s\n", sub->email, sub->lang,
		    json_string_value(json_object_get(j, "regions")), sub->status, sub->name);
	json_decref(j);
	return 0;
}

/* csv_field - one CSV field, quoted when it needs to be (RFC 4180) */
static void
csv_field(buf_t *out, const char *s, const char *sep)
{
	if (strpbrk(s, ",\"\r\n") || (*s && (s[0] == ' ' || s[strlen(s) - 1] == ' '))) {
		buf_addc(out, '"');
		for (; *s; s++) {
			if (*s == '"')
				buf_addc(out, '"');
			buf_addc(out, *s);
		}
		buf_addc(out, '"');
	} else
		buf_adds(out, s);
	buf_adds(out, sep);
}

static int
export_cb(const subscriber_t *sub, void *arg)
{
	json_t *arr = arg, *j = subscriber_json(sub);
	char created[32], updated[32];
	buf_t line;

	if (cli_json) {
		json_array_append(arr, j);
	} else {
		buf_init(&line, 4096);
		clock_format(sub->created, created);
		clock_format(sub->updated, updated);
		csv_field(&line, sub->email, ",");
		csv_field(&line, sub->name, ",");
		csv_field(&line, sub->lang, ",");
		csv_field(&line, json_string_value(json_object_get(j, "regions")), ",");
		csv_field(&line, sub->status, ",");
		csv_field(&line, created, ",");
		csv_field(&line, updated, "\r\n");
		fwrite(line.data, 1, line.len, stdout);
		buf_free(&line);
	}
	json_decref(j);
	return 0;
}

/* one parsed import row */
struct row {
	size_t	 line;
	char	*email, *name, *lang;
	unsigned regions;
};

struct import {
	int	 col[4];	/* index of email, name, lang, regions; -1 absent */
	int	 header_done;
	struct row *rows;
	size_t	 nrows, cap;
	int	 errors;
};

static const char *const import_cols[] = { "email", "name", "lang", "regions" };

static void
import_error(struct import *im, size_t line, const char *what, const char *why)
{
	fprintf(stderr, "line %zu: %s: %s\n", line, what, why);
	im->errors++;
}

static int
import_cb(size_t line, char **f, size_t nf, void *arg)
{
	struct import *im = arg;
	const char *why, *v[4];
	struct row r = { line, NULL, NULL, NULL, 0 };

	if (!im->header_done) {
		for (int k = 0; k < 4; k++)
			im->col[k] = -1;
		for (size_t i = 0; i < nf; i++) {
			int known = 0;

			for (int k = 0; k < 4; k++)
				if (strcasecmp(f[i], import_cols[k]) == 0) {
					im->col[k] = (int)i;
					known = 1;
				}
			if (!known) {
				import_error(im, line, "header",
				    "unknown column (use email, name, lang, regions)");
				return 1;
			}
		}
		if (im->col[0] < 0) {
			import_error(im, line, "header", "no email column");
			return 1;
		}
		im->header_done = 1;
		return 0;
	}
	for (int k = 0; k < 4; k++)
		v[k] = im->col[k] >= 0 && (size_t)im->col[k] < nf ? f[im->col[k]] : "";
	if (v[2][0] == '\0')
		v[2] = "fi";
	if (v[3][0] == '\0')
		v[3] = "all";
	if (addr_check(v[0], &why) < 0) {
		import_error(im, line, "email", why);
		return 0;
	}
	if ((why = check_name(v[1])) != NULL) {
		import_error(im, line, "name", why);
		return 0;
	}
	if ((why = check_lang(v[2])) != NULL) {
		import_error(im, line, "lang", why);
		return 0;
	}
	if (region_parse_list(v[3], &r.regions) < 0) {
		import_error(im, line, "regions",
		    "use HYKS, TYKS, TAYS, KYS, OYS separated by ';' or ',' (quoted), or all");
		return 0;
	}
	for (size_t i = 0; i < im->nrows; i++)
		if (strcasecmp(im->rows[i].email, v[0]) == 0) {
			char why_buf[64];

			snprintf(why_buf, sizeof why_buf, "the same address as line %zu",
			    im->rows[i].line);
			import_error(im, line, "email", why_buf);
			return 0;
		}
	if (im->nrows == im->cap) {
		im->cap = im->cap ? im->cap * 2 : 256;
		im->rows = xrealloc(im->rows, im->cap * sizeof *im->rows);
	}
	r.email = xstrdup(v[0]);
	r.name = xstrdup(v[1]);
	r.lang = xstrdup(v[2]);
	im->rows[im->nrows++] = r;
	return 0;
}

/* subscriber_import - all rows or none: every bad row is reported first */
static int
subscriber_import(const char *path, int resubscribe, int dry_run)
{
	struct import im = { { -1, -1, -1, -1 }, 0, NULL, 0, 0, 0 };
	size_t counts[4] = { 0 };
	store_t *store = NULL;
	int64_t now = clock_now();
	buf_t data, err;
	int rc = EX_DATAERR;

	buf_init(&data, FILE_MAX);
	buf_init(&err, 1024);
	if (cli_read_all(path, &data) < 0) {
		rc = EX_NOINPUT;
		goto out;
	}
	if (!utf8_valid(buf_str(&data), data.len)) {
		fprintf(stderr, "%s: not UTF-8 text\n", path);
		goto out;
	}
	if (csv_parse(buf_str(&data), data.len, import_cb, &im, &err) < 0) {
		fprintf(stderr, "%s: %s\n", path, buf_str(&err));
		goto out;
	}
	if (!im.header_done && im.errors == 0) {
		fprintf(stderr, "%s: empty file (expected a header: email,name,lang,regions)\n", path);
		goto out;
	}
	if (im.errors) {
		fprintf(stderr, "%s: %d bad row%s; nothing imported\n", path, im.errors,
		    im.errors == 1 ? "" : "s");
		goto out;
	}
	rc = EX_TEMPFAIL;
	if (cli_open_store(&store) < 0 || store_begin(store) < 0)
		goto out;
	for (size_t i = 0; i < im.nrows; i++) {
		subscriber_t sub = { 0, im.rows[i].email, im.rows[i].name, im.rows[i].lang,
		    im.rows[i].regions, "active", now, now };
		store_sub_t res;

		if (store_subscriber_put(store, &sub, resubscribe, now, &res) < 0) {
			fprintf(stderr, "tiedote: %s: line %zu: %s; nothing imported\n", path,
			    im.rows[i].line, store_errmsg(store));
			store_rollback(store);
			goto out;
		}
		counts[res]++;
	}
	if (dry_run)
		store_rollback(store);
	else if (store_commit(store) < 0) {
		fprintf(stderr, "tiedote: commit: %s; nothing imported\n", store_errmsg(store));
		store_rollback(store);
		goto out;
	}
	if (cli_json) {
		json_t *j = json_pack("{s:I, s:I, s:I, s:I, s:b}",
		    "added", (json_int_t)counts[SUB_ADDED], "updated", (json_int_t)counts[SUB_UPDATED],
		    "unchanged", (json_int_t)counts[SUB_UNCHANGED],
		    "kept_unsubscribed", (json_int_t)counts[SUB_KEPT_UNSUBSCRIBED],
		    "dry_run", dry_run);

		cli_print_json(j);
		json_decref(j);
	} else
		printf("%s%zu added, %zu updated, %zu unchanged, %zu kept unsubscribed\n",
		    dry_run ? "dry run: " : "", counts[SUB_ADDED], counts[SUB_UPDATED],
		    counts[SUB_UNCHANGED], counts[SUB_KEPT_UNSUBSCRIBED]);
	rc = EX_OK;
out:
	for (size_t i = 0; i < im.nrows; i++) {
		free(im.rows[i].email);
		free(im.rows[i].name);
		free(im.rows[i].lang);
	}
	free(im.rows);
	store_close(store);
	buf_free(&data);
	buf_free(&err);
	return rc;
}

static int
cmd_subscriber(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "lang", required_argument, NULL, 'l' },
		{ "regions", required_argument, NULL, 'r' },
		{ "status", required_argument, NULL, 's' },
		{ "purge", no_argument, NULL, 'p' },
		{ "resubscribe", no_argument, NULL, 'R' },
		{ "dry-run", no_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 }
	};
	const char *name = "", *lang = "fi", *regions = "all", *status = NULL, *why, *verb;
	int c, purge = 0, resubscribe = 0, dry_run = 0, rc = EX_USAGE, found;
	store_t *store = NULL;
	json_t *arr = json_array();
	unsigned mask;

	if (argc < 2) {
		cli_usage(stderr);
		goto out;
	}
	verb = argv[1];
	argc--;
	argv++;
	optind = 0;	/* 0: glibc re-initialises, so options may follow operands */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': name = optarg; break;
		case 'l': lang = optarg; break;
		case 'r': regions = optarg; break;
		case 's': status = optarg; break;
		case 'p': purge = 1; break;
		case 'R': resubscribe = 1; break;
		case 'D': dry_run = 1; break;
		default: goto out;
		}
	}
	argc -= optind;
	argv += optind;

	if (strcmp(verb, "add") == 0 && argc == 1) {
		subscriber_t sub = { 0, argv[0], name, lang, 0, "active", 0, 0 };
		store_sub_t res;

		rc = EX_DATAERR;
		if (addr_check(argv[0], &why) < 0) {
			fprintf(stderr, "tiedote: %s: %s\n", argv[0], why);
			goto out;
		}
		if ((why = check_name(name)) || (why = check_lang(lang))) {
			fprintf(stderr, "tiedote: %s\n", why);
			goto out;
		}
		if (region_parse_list(regions, &mask) < 0) {
			fprintf(stderr, "tiedote: --regions: use HYKS,TYKS,TAYS,KYS,OYS or all\n");
			goto out;
		}
		sub.regions = mask;
		rc = EX_TEMPFAIL;
		if (cli_open_store(&store) < 0)
			goto out;
		/* staff adding an address by hand is consent to resubscribe it */
		if (store_subscriber_put(store, &sub, 1, clock_now(), &res) < 0) {
			fprintf(stderr, "tiedote: %s\n", store_errmsg(store));
			goto out;
		}
		printf("%s %s\n", res == SUB_ADDED ? "added" : res == SUB_UPDATED ?
		    "updated" : "unchanged", argv[0]);
		rc = EX_OK;
	} else if (strcmp(verb, "remove") == 0 && argc == 1) {
		rc = EX_TEMPFAIL;
		if (cli_open_store(&store) < 0)
			goto out;
		if (store_subscriber_remove(store, argv[0], purge, clock_now(), &found) < 0) {
			fprintf(stderr, "tiedote: %s\n", store_errmsg(store));
			goto out;
		}
		if (!found) {
			fprintf(stderr, "tiedote: %s: no such subscriber\n", argv[0]);
			rc = EX_DATAERR;
			goto out;
		}
		printf("%s %s\n", purge ? "purged" : "unsubscribed", argv[0]);
		rc = EX_OK;
	} else if ((strcmp(verb, "list") == 0 || strcmp(verb, "export") == 0) && argc == 0) {
		int export = verb[0] == 'e';

		rc = EX_TEMPFAIL;
		if (cli_open_store(&store) < 0)
			goto out;
		if (export && !cli_json)
			fputs("email,name,lang,regions,status,created,updated\r\n", stdout);
		if (store_subscriber_foreach(store, status, export ? export_cb : list_cb, arr) < 0) {
			fprintf(stderr, "tiedote: %s\n", store_errmsg(store));
			goto out;
		}
		if (cli_json)
			cli_print_json(arr);
		rc = EX_OK;
	} else if (strcmp(verb, "import") == 0 && argc == 1) {
		rc = subscriber_import(argv[0], resubscribe, dry_run);
	} else
		cli_usage(stderr);
out:
	json_decref(arr);
	store_close(store);
	return rc;
}

/*
 * issue
 */

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

/* parse_when - RFC 3339, or YYYY-MM-DD meaning that day at the bulletin's
 * time of day */
static int
parse_when(const sched_t *s, const char *arg, int64_t *t)
{
	char full[64];
	int64_t day;

	if (clock_parse(arg, t, NULL) == 0)
		return 0;
	if (strlen(arg) != 10)
		return -1;
	snprintf(full, sizeof full, "%sT12:00:00Z", arg);
	if (clock_parse(full, &day, NULL) < 0)
		return -1;
	return datefmt_local_time(day, s->zone, 0, s->hour, s->minute, t);
}

static int
issue_preview(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "lang", required_argument, NULL, 'l' },
		{ "subscriber", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'f' },
		{ "at", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 }
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
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l': lang = optarg; break;
		case 's': email = optarg; break;
		case 'f': format = optarg; break;
		case 'a': at = optarg; break;
		default: goto out;
		}
	}
	if (optind != argc || !datefmt_lang_valid(lang) || (strcmp(format, "eml") != 0 &&
	    strcmp(format, "html") != 0 && strcmp(format, "text") != 0)) {
		cli_usage(stderr);
		goto out;
	}
	rc = EX_CONFIG;
	if (sched_init(&sched, &cli_conf, &err) < 0) {
		fprintf(stderr, "tiedote: %s\n", buf_str(&err));
		goto out;
	}
	rc = EX_USAGE;
	if (at == NULL)
		when = sched_due(&sched, sched_index(&sched, clock_now()) + 1);
	else if (parse_when(&sched, at, &when) < 0) {
		fprintf(stderr, "tiedote: --at: not a time (RFC 3339) or a date (YYYY-MM-DD)\n");
		goto out;
	}
	rc = EX_TEMPFAIL;
	if (cli_open_store(&store) < 0)
		goto out;
	if ((msg = message_open(&cli_conf, store, &err)) == NULL) {
		fprintf(stderr, "tiedote: %s\n", buf_str(&err));
		rc = EX_CONFIG;
		goto out;
	}
	rc_copy.r.lang = lang;
	if (email) {
		if ((got = store_subscriber_get(store, email, rcpt_cb, &rc_copy)) != 0) {
			fprintf(stderr, "tiedote: %s: %s\n", email, got > 0 ?
			    "no such subscriber" : store_errmsg(store));
			rc = got > 0 ? EX_DATAERR : EX_TEMPFAIL;
			goto out;
		}
	}
	if (store_issue_last_before(store, when, &start) != 0)
		start = sched_due(&sched, sched_index(&sched, when - 1));
	if (start >= when)
		start = when - (int64_t)cli_conf.bulletin_interval_days * 86400;
	/* numbered as the worker will: after the issues of the year sent before */
	if (bulletin_number(store, &cli_conf, when, &number) < 0) {
		fprintf(stderr, "tiedote: %s\n", store_errmsg(store));
		goto out;
	}
	cc = (compose_conf_t){ cli_conf.time_zone, (int)cli_conf.deadline_days, (int)cli_conf.event_days };
	if (compose_issue_load(store, &cc, buf_str(&number), start, when, &issue, &err) < 0) {
		fprintf(stderr, "tiedote: %s\n", buf_str(&err));
		goto out;
	}
	got = message_bulletin(msg, issue, buf_str(&number), &rc_copy.r, when, &parts,
	    strcmp(format, "eml") == 0 ? &eml : NULL, &err);
	if (got < 0) {
		fprintf(stderr, "tiedote: %s\n", buf_str(&err));
		rc = EX_SOFTWARE;
		goto out;
	}
	if (got == 1)
		fprintf(stderr, "tiedote: issue %s has nothing for %s; nothing would be sent\n",
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
print_issue(const json_t *is, int verbose, double rate, int tty)
{
	json_t *c = json_object_get(is, "counts"), *f;
	char start[32], end[32];
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
	printf("\n  rate %.1f/s", rate);
	if (rate > 0 && left > 0)
		printf("  eta %llds", (long long)(left / rate));
	printf("\n");
	if (tty && total)
		progress(c, total);
	json_array_foreach(json_object_get(is, "failures"), i, f)
		printf("  %-8s %s: %s\n", json_string_value(json_object_get(f, "state")),
		    json_string_value(json_object_get(f, "recipient")),
		    json_string_value(json_object_get(f, "reply")));
}

static int
issue_admin(int argc, char **argv)
{
	const char *verb = argv[0];
	store_t *store = NULL;
	json_t *j = NULL;
	int64_t id = 0;
	buf_t err;
	int rc = EX_USAGE, follow = 0, got;

	buf_init(&err, 4096);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--follow") == 0)
			follow = 1;
		else if (id == 0 && (id = strtoll(argv[i], NULL, 10)) > 0)
			continue;
		else {
			cli_usage(stderr);
			goto out;
		}
	}
	if ((strcmp(verb, "hold") == 0 || strcmp(verb, "resume") == 0 ||
	    strcmp(verb, "cancel") == 0 || strcmp(verb, "approve") == 0) && id == 0) {
		fprintf(stderr, "tiedote: issue %s needs an issue id (see tiedote issue list)\n", verb);
		goto out;
	}
	rc = EX_TEMPFAIL;
	if (cli_open_store(&store) < 0)
		goto out;
	if (strcmp(verb, "list") == 0) {
		size_t i;
		json_t *is;

		if (bulletin_list(store, &j) < 0)
			goto dberr;
		if (cli_json)
			cli_print_json(j);
		else
			json_array_foreach(j, i, is)
				print_issue(is, 0, 0, 0);
	} else if (strcmp(verb, "status") == 0) {
		int64_t sent0 = -1;
		double rate = 0;
		int64_t t0 = 0;

		for (;;) {
			json_decref(j);
			j = NULL;
			if ((got = bulletin_status(store, id, 10, &j)) < 0)
				goto dberr;
			if (got > 0) {
				fprintf(stderr, "tiedote: no such issue\n");
				rc = EX_DATAERR;
				goto out;
			}
			{
				int64_t sent = json_integer_value(json_object_get(json_object_get(j,
				    "counts"), "sent")), now = clock_now_ms();

				if (sent0 >= 0 && now > t0)
					rate = (double)(sent - sent0) * 1000 / (double)(now - t0);
				sent0 = sent;
				t0 = now;
			}
			json_object_set_new(j, "rate", json_real(rate));
			if (cli_json)
				cli_print_json(j);
			else
				print_issue(j, 1, rate, isatty(1));
			fflush(stdout);
			if (!follow || strcmp(json_string_value(json_object_get(j, "state")),
			    "sending") != 0)
				break;
			sleep(2);
		}
	} else if (strcmp(verb, "send-now") == 0) {
		if (bulletin_send_now(store, &cli_conf, clock_now(), &id, &err) < 0) {
			fprintf(stderr, "tiedote: %s\n", buf_str(&err));
			goto out;
		}
		printf("issue %lld: will be sent by the worker now\n", (long long)id);
	} else {
		if (bulletin_control(store, id, verb, clock_now(), &err) < 0) {
			fprintf(stderr, "tiedote: %s\n", buf_str(&err));
			rc = EX_DATAERR;
			goto out;
		}
		printf("issue %lld: %s\n", (long long)id, verb);
	}
	rc = EX_OK;
	goto out;
dberr:
	fprintf(stderr, "tiedote: %s\n", store_errmsg(store));
out:
	json_decref(j);
	store_close(store);
	buf_free(&err);
	return rc;
}

static int
cmd_issue(int argc, char **argv)
{
	static const char *const verbs[] = { "list", "status", "send-now", "hold", "resume",
	    "cancel", "approve" };

	if (argc >= 2 && strcmp(argv[1], "preview") == 0)
		return issue_preview(argc - 1, argv + 1);
	for (size_t i = 0; argc >= 2 && i < NELEM(verbs); i++)
		if (strcmp(argv[1], verbs[i]) == 0)
			return issue_admin(argc - 1, argv + 1);
	cli_usage(stderr);
	return EX_USAGE;
}

/*
 * status
 */

static int
cmd_status(void)
{
	store_t *store = NULL;
	json_t *st = NULL, *v, *e;
	const char *key;
	size_t i;
	int rc = EX_TEMPFAIL;

	if (cli_open_store(&store) < 0)
		goto out;
	if (store_status(store, 10, &st) < 0) {
		fprintf(stderr, "tiedote: %s\n", store_errmsg(store));
		goto out;
	}
	json_object_set_new(st, "database", json_string(cli_conf.db_path));
	if (cli_json) {
		cli_print_json(st);
	} else {
		printf("database  %s (schema %lld)\n", cli_conf.db_path,
		    (long long)json_integer_value(json_object_get(st, "schema_version")));
		printf("events   ");
		json_object_foreach(json_object_get(st, "events"), key, v)
			printf(" %s %lld", key, (long long)json_integer_value(v));
		printf("\nsubscribers");
		json_object_foreach(json_object_get(st, "subscribers"), key, v)
			printf(" %s %lld", key, (long long)json_integer_value(v));
		printf("\nlatest events:\n");
		json_array_foreach(json_object_get(st, "latest_events"), i, e) {
			char when[32];

			clock_format(json_integer_value(json_object_get(e, "updated")), when);
			printf("  %s  %-12s %s (revision %lld)%s\n", when,
			    json_string_value(json_object_get(e, "type")),
			    json_string_value(json_object_get(e, "id")),
			    (long long)json_integer_value(json_object_get(e, "revision")),
			    json_is_true(json_object_get(e, "cancelled")) ? " cancelled" : "");
		}
	}
	rc = EX_OK;
out:
	json_decref(st);
	store_close(store);
	return rc;
}

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
	const char *config = NULL, *db = NULL, *endpoint = NULL, *cmd;
	char *overrides[32];
	int c, noverrides = 0, rc = EX_USAGE;
	buf_t err;

	log_init("tiedote");
	conf_init(&cli_conf);
	buf_init(&err, 4096);
	/* '+': options after the command belong to the command */
	while ((c = getopt_long(argc, argv, "+c:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'd': db = optarg; break;
		case 'e': endpoint = optarg; break;
		case 'j': cli_json = 1; break;
		case 'o':
			if (noverrides == (int)NELEM(overrides))
				goto out;
			overrides[noverrides++] = optarg;
			break;
		case 'h': cli_usage(stdout); rc = EX_OK; goto out;
		default: cli_usage(stderr); goto out;
		}
	}
	if (conf_setup(&cli_conf, config, db, endpoint, NULL, overrides, (size_t)noverrides,
	    &err) < 0) {
		fprintf(stderr, "tiedote: %s\n", buf_str(&err));
		rc = EX_CONFIG;
		goto out;
	}
	/* dates in messages and schedules are local to the configured zone */
	setenv("TZ", cli_conf.time_zone, 1);
	tzset();
	/* a tool speaks up only for trouble, unless asked for debugging */
	log_set_level(log_level_parse(cli_conf.log_level) == LOG_DEBUG ? LOG_DEBUG : LOG_WARNING);
	if (optind >= argc) {
		cli_usage(stderr);
		goto out;
	}
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	/* subcommands parse their own options from their argv[1] on */
	if (strcmp(cmd, "enqueue") == 0)
		rc = cmd_enqueue(argc, argv);
	else if (strcmp(cmd, "subscriber") == 0)
		rc = cmd_subscriber(argc, argv);
	else if (strcmp(cmd, "issue") == 0)
		rc = cmd_issue(argc, argv);
	else if (strcmp(cmd, "project") == 0)
		rc = cmd_project(argc, argv);
	else if (strcmp(cmd, "reminder") == 0)
		rc = cmd_reminder(argc, argv);
	else if (strcmp(cmd, "announce") == 0)
		rc = cmd_announce(argc, argv);
	else if (strcmp(cmd, "status") == 0 && argc == 1)
		rc = cmd_status();
	else
		cli_usage(stderr);
out:
	conf_free(&cli_conf);
	buf_free(&err);
	return rc;
}
