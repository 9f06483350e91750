/*
 * cli - the dispatch table, help and the helpers of the tiedote commands;
 * contract in cli.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "admin.h"
#include "cli.h"
#include "clock.h"
#include "control.h"
#include "datefmt.h"
#include "mdoc.h"
#include "util.h"

#define REPLY_MAX	((size_t)1 << 20)	/* an admin reply is a few hundred bytes */
#define WAY_PAUSE_MS	10	/* between looks while the lock is held and no socket is */

/* the commands in the order --help lists them */
static const cli_cmd_t *const commands[] = {
	&cli_cmd_enqueue, &cli_cmd_subscriber, &cli_cmd_issue, &cli_cmd_project,
	&cli_cmd_reminder, &cli_cmd_announce, &cli_cmd_status, &cli_cmd_backup, &cli_cmd_check,
	&cli_cmd_inbound, &cli_cmd_dkim, &cli_cmd_keys,
};

void
cli_init(cli_t *cli)
{
	memset(cli, 0, sizeof *cli);
	cli->lock_fd = -1;
	conf_init(&cli->conf);
}

void
cli_free(cli_t *cli)
{
	client_free(cli->ctl);
	store_close(cli->wstore);
	/* after the store is closed: nothing of ours is left unwritten */
	admin_unlock(cli->lock_fd);
	conf_free(&cli->conf);
}

/* print_verb - "tiedote CMD VERB ARGS" with continuation lines indented
 * under the first argument */
static void
print_verb(FILE *fp, const char *lead, const cli_cmd_t *cmd, const cli_verb_t *v)
{
	const char *p = v->args, *nl;
	int indent;

	indent = fprintf(fp, "%s%s%s%s", lead, cmd->name, v->name ? " " : "",
	    v->name ? v->name : "");
	if (indent > 24)	/* after "usage: tiedote [global options] " */
		indent = 16;
	for (; p; p = nl ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		if (p != v->args)
			fprintf(fp, "\n%*s", indent, "");
		if (*p && *p != '\n')
			fprintf(fp, " %.*s", nl ? (int)(nl - p) : (int)strlen(p), p);
	}
	fputc('\n', fp);
}

static const char global_usage[] =
    "usage: tiedote [-c FILE] [--db PATH] [--endpoint EP] [-o SECTION.KEY=VALUE]\n"
    "               [--json] COMMAND [VERB] ...\n";

static const char exit_codes[] =
    "exit codes: 0 ok, 64 usage, 65 invalid input, 66 an input file cannot be read,\n"
    "            69 worker unreachable, 73 an output file exists, 74 an output file cannot\n"
    "            be written, 75 temporary failure, 76 worker refused the request's form,\n"
    "            78 configuration\n";

void
cli_usage(const cli_t *cli, FILE *fp)
{
	const cli_cmd_t *cmd = cli->cmd;
	const cli_verb_t *v = cli->verb;

	if (cmd == NULL) {
		fputs(global_usage, fp);
		fputs("commands (tiedote COMMAND --help, tiedote COMMAND VERB --help):\n", fp);
		for (size_t i = 0; i < NELEM(commands); i++) {
			fprintf(fp, "  %-12s %s\n", commands[i]->name, commands[i]->summary);
			for (size_t j = 0; j < commands[i]->nverbs; j++)
				print_verb(fp, "    ", commands[i], &commands[i]->verbs[j]);
		}
		fputs(exit_codes, fp);
	} else if (v == NULL) {
		fprintf(fp, "usage: tiedote [global options] %s %s...\n  %s\n", cmd->name,
		    cmd->nverbs > 1 || cmd->verbs[0].name ? "VERB " : "", cmd->summary);
		for (size_t j = 0; j < cmd->nverbs; j++) {
			print_verb(fp, "  ", cmd, &cmd->verbs[j]);
			fprintf(fp, "      %s\n", cmd->verbs[j].summary);
		}
	} else {
		print_verb(fp, "usage: tiedote ", cmd, v);
		fprintf(fp, "  %s\n", v->summary);
		if (v->notes)
			fputs(v->notes, fp);
	}
}

void
cli_print_mdoc(FILE *fp)
{
	for (size_t i = 0; i < NELEM(commands); i++) {
		const cli_cmd_t *cmd = commands[i];

		fprintf(fp, ".Ss %s\n", cmd->name);
		mdoc_text(fp, cmd->summary);
		fputs(".Bl -tag -width Ds\n", fp);
		for (size_t j = 0; j < cmd->nverbs; j++) {
			const cli_verb_t *v = &cmd->verbs[j];

			fprintf(fp, ".It Nm Cm %s%s%s\n", cmd->name, v->name ? " " : "",
			    v->name ? v->name : "");
			if (*v->args) {
				fputs(".Bd -literal -compact\n", fp);
				mdoc_literal(fp, v->args);
				fputs(".Ed\n", fp);
			}
			mdoc_text(fp, v->summary);
			if (v->notes) {
				fputs(".Pp\n.Bd -literal -compact\n", fp);
				mdoc_literal(fp, v->notes);
				fputs(".Ed\n", fp);
			}
		}
		fputs(".El\n", fp);
	}
}

int
cli_usage_error(const cli_t *cli)
{
	cli_usage(cli, stderr);
	return EX_USAGE;
}

int
cli_help(const cli_t *cli)
{
	cli_usage(cli, stdout);
	return EX_OK;
}

int
cli_getopt(const cli_t *cli, int argc, char **argv, const struct option *opts)
{
	int c;

	opterr = 0;	/* getopt's own messages would echo the input raw */
	c = getopt_long(argc, argv, ":", opts, NULL);
	if (c == 'h')
		return CLI_HELP;
	if (c == '?' || c == ':') {
		const char *what = c == ':' ? "needs a value" : "is not an option here";

		/* a missing value: the option as typed (--name, or --na), not
		 * the letter getopt keeps for it */
		if (c == '?' && optopt && optopt < 256)
			cli_error("tiedote: %s%s%s: -%c %s", cli->cmd->name, cli->verb->name ?
			    " " : "", cli->verb->name ? cli->verb->name : "", optopt, what);
		else
			cli_error("tiedote: %s%s%s: %s %s", cli->cmd->name, cli->verb->name ?
			    " " : "", cli->verb->name ? cli->verb->name : "", argv[optind - 1], what);
		return CLI_BAD;
	}
	return c;
}

/* find - the verb of cmd named name, or its default (NULL name) */
static const cli_verb_t *
find_verb(const cli_cmd_t *cmd, const char *name)
{
	const cli_verb_t *def = NULL;

	for (size_t i = 0; i < cmd->nverbs; i++)
		if (cmd->verbs[i].name == NULL)
			def = &cmd->verbs[i];
		else if (name && strcmp(cmd->verbs[i].name, name) == 0)
			return &cmd->verbs[i];
	return def;
}

int
cli_dispatch(cli_t *cli, int argc, char **argv)
{
	const cli_verb_t *v;

	cli->cmd = NULL;
	cli->verb = NULL;
	for (size_t i = 0; i < NELEM(commands); i++)
		if (strcmp(argv[0], commands[i]->name) == 0)
			cli->cmd = commands[i];
	if (cli->cmd == NULL) {
		cli_error("tiedote: %s: no such command", argv[0]);
		return cli_usage_error(cli);
	}
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
		return cli_help(cli);
	if ((v = find_verb(cli->cmd, argc >= 2 ? argv[1] : NULL)) == NULL) {
		if (argc >= 2)
			cli_error("tiedote: %s: no verb %s", argv[0], argv[1]);
		return cli_usage_error(cli);
	}
	cli->verb = v;
	/* a named verb sees argv from itself on, a default from the command */
	return v->name ? v->run(cli, argc - 1, argv + 1) : v->run(cli, argc, argv);
}

void
cli_error(const char *fmt, ...)
{
	va_list ap;
	buf_t raw, out;

	buf_init(&raw, 16384);
	buf_init(&out, 4 * 16384 + 2);
	/* a message cut at 16 kB is still worth showing: out has room for
	 * all of raw escaped (4 bytes a byte) and the newline */
	va_start(ap, fmt);
	buf_vnotef(&raw, fmt, ap);
	va_end(ap);
	if (buf_addesc(&out, raw.data ? raw.data : "", raw.len) < 0 || buf_addc(&out, '\n') < 0)
		fatal("cli_error: %zu bytes escaped do not fit", raw.len);
	fputs(buf_str(&out), stderr);
	buf_free(&out);
	buf_free(&raw);
}

int
cli_read_all(const char *path, buf_t *out)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char chunk[65536];
	size_t n;
	int rc = -1;

	if (fp == NULL) {
		cli_error("tiedote: %s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
		if (buf_add(out, chunk, n) < 0) {
			cli_error("tiedote: %s: larger than %zu bytes", path, out->max);
			goto out;
		}
	if (ferror(fp)) {
		cli_error("tiedote: %s: read error", path);
		goto out;
	}
	rc = 0;
out:
	if (fp != stdin)
		fclose(fp);
	return rc;
}

static int
open_with(cli_t *cli, store_t **store, int (*open)(const conf_t *, store_t **, buf_t *))
{
	buf_t err;
	int rc;

	buf_init(&err, 4096);
	if ((rc = open(&cli->conf, store, &err)) < 0)
		cli_error("tiedote: %s", buf_str(&err));
	buf_free(&err);
	return rc;
}

int
cli_open_store(cli_t *cli, store_t **store)
{
	return open_with(cli, store, store_open);
}

int
cli_open_store_read(cli_t *cli, store_t **store)
{
	return open_with(cli, store, store_open_read);
}

void
cli_print_json(json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	putchar('\n');
}

int
cli_parse_local(const cli_t *cli, const char *opt, const char *arg, int hour, int minute,
    int64_t *t)
{
	buf_t err;
	int rc = 0;

	buf_init(&err, 1024);
	if (clock_parse(arg, t, NULL) == 0)
		goto out;
	if ((rc = datefmt_parse_local(arg, cli->conf.time_zone, hour, minute, t, &err)) == 0)
		goto out;
	if (err.len)
		cli_error("tiedote: %s: %s", opt, buf_str(&err));
	else
		cli_error("tiedote: %s: \"%s\" is not \"YYYY-MM-DD HH:MM\"%s or RFC 3339 (a date"
		    " and time that exist)", opt, arg, hour < 0 ? "" : ", \"YYYY-MM-DD\"");
out:
	buf_free(&err);
	return rc;
}

/* choose_way - the lock is ours (no worker: write here), or a worker holds
 * it and its control socket exists (send there); EX_OK, or the exit code,
 * said */
static int
choose_way(cli_t *cli)
{
	int64_t deadline = clock_mono_ms() + cli->conf.client_total_ms;
	struct timespec pause = { 0, WAY_PAUSE_MS * 1000000L };
	buf_t ep, path, err, lock;
	struct stat st;
	int got, rc = EX_TEMPFAIL;

	buf_init(&ep, 8192);
	buf_init(&path, 8192);
	buf_init(&err, 8192);
	buf_init(&lock, 8192);
	if (control_endpoint(&cli->conf, &ep, &path, &err) < 0) {
		cli_error("tiedote: %s", buf_str(&err));
		rc = EX_CONFIG;
		goto out;
	}
	for (;;) {
		if ((got = admin_lock(&cli->conf, &cli->lock_fd, &err)) < 0) {
			cli_error("tiedote: %s", buf_str(&err));
			goto out;
		}
		if (got == 1) {
			if (cli_open_store(cli, &cli->wstore) < 0)
				goto out;
			cli->way = CLI_DIRECT;
			break;
		}
		/* a socket we may not even look at is still worth a try */
		if (stat(buf_str(&path), &st) == 0 ? S_ISSOCK(st.st_mode) : errno != ENOENT) {
			cli->ctl = client_new(buf_str(&ep), cli->conf.client_timeout_ms,
			    cli->conf.client_total_ms);
			cli->way = CLI_WORKER;
			break;
		}
		if (clock_mono_ms() >= deadline) {
			admin_lock_path(&cli->conf, &lock);
			cli_error("tiedote: %s is held but nothing listens on %s after %ld ms:"
			    " another tiedote command is writing, or a worker is starting; try"
			    " again", buf_str(&lock), buf_str(&ep), cli->conf.client_total_ms);
			goto out;
		}
		nanosleep(&pause, NULL);
	}
	rc = EX_OK;
out:
	buf_free(&ep);
	buf_free(&path);
	buf_free(&err);
	buf_free(&lock);
	return rc;
}

int
cli_admin(cli_t *cli, json_t *req, int retry, json_t **reply)
{
	char *body = req ? json_dumps(req, JSON_COMPACT) : NULL, *text = NULL;
	admin_result_t res;
	json_t *r = NULL;
	const char *msg;
	buf_t got;
	int rc;

	json_decref(req);
	buf_init(&got, REPLY_MAX);
	if (reply)
		*reply = NULL;
	if (body == NULL) {
		cli_error("tiedote: not valid UTF-8 text");
		rc = EX_DATAERR;
		goto out;
	}
	if (cli->way == 0 && (rc = choose_way(cli)) != EX_OK)
		goto out;
	if (cli->way == CLI_DIRECT) {
		text = admin_handle(cli->wstore, &cli->conf, body, strlen(body), &res);
		r = json_loads(text, 0, NULL);
	} else {
		client_set_timeout(cli->ctl, retry ? cli->conf.client_timeout_ms :
		    cli->conf.client_total_ms);
		if (client_request(cli->ctl, body, strlen(body), &got) < 0) {
			cli_error("tiedote: no reply from the worker's control socket within %ld ms;"
			    " worker unreachable (the request may or may not have been applied)",
			    cli->conf.client_total_ms);
			rc = EX_UNAVAILABLE;
			goto out;
		}
		r = json_loadb(got.data ? got.data : "", got.len, 0, NULL);
	}
	if (r == NULL || !json_is_boolean(json_object_get(r, "ok"))) {
		cli_error("tiedote: unreadable reply from the worker");
		rc = EX_SOFTWARE;
		goto out;
	}
	if (!json_is_true(json_object_get(r, "ok"))) {
		msg = json_string_value(json_object_get(r, "message"));
		/* the worker's message quotes the request: escaped like our own */
		cli_error("tiedote: %s", msg ? msg : "the worker refused the request");
		rc = (int)json_integer_value(json_object_get(r, "exit"));
		if (rc <= 0 || rc > 255)
			rc = EX_SOFTWARE;
		goto out;
	}
	rc = EX_OK;
	if (reply) {
		*reply = r;
		r = NULL;
	}
out:
	json_decref(r);
	free(text);
	free(body);
	buf_free(&got);
	return rc;
}
