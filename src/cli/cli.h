/*
 * cli - what the commands of `tiedote` share: the context, the dispatch
 * table, exit codes (sysexits.h) and a few helpers.
 *
 * tiedote.c is main(): the global options, the configuration (conf_setup)
 * and one call to cli_dispatch().  cli.c owns the table of commands; each
 * command group lives in its own file and exports one cli_cmd_t:
 *   cli_enqueue.c   enqueue (to the worker over ZeroMQ)
 *   cli_subscriber.c, cli_issue.c, cli_project.c, cli_reminder.c,
 *   cli_announce.c, cli_status.c (reading: the store, opened directly;
 *   writing: cli_admin(), below); cli_backup.c (backup and check:
 *   readers of the database file, backup.h)
 *   cli_dkim.c, cli_keys.c (key files: DKIM signing keys, CurveZMQ keys;
 *   no store, no worker)
 * A command is a list of verbs, each with its handler, a one-line summary
 * and its usage text; the same table prints `tiedote --help`, `tiedote
 * COMMAND --help` and `tiedote COMMAND VERB --help` (stdout, exit 0) and
 * the usage after a usage error (stderr, exit 64).  A verb with a NULL
 * name is the command's default: it runs when argv[1] names no verb
 * (`enqueue FILE`, `announce --at ...`, `status`).
 *
 * A handler gets the context and its own argv: argv[0] is the verb (or the
 * command, for a default verb), the rest is what followed.  It parses its
 * options with cli_getopt() and its own table, so no verb accepts another
 * verb's options.  No state lives outside cli_t: there are no globals.
 *
 * Writes: a verb that changes durable state builds one admin request (a
 * JSON object, admin.h and docs/control.md) and hands it to cli_admin(),
 * which at the first write of the command chooses the way: the lock file
 * <store.path>.lock taken with LOCK_NB means no worker runs, and the
 * command runs admin_handle() itself on its own store handle, keeping the
 * lock until cli_free(); held means a worker runs, and the request goes
 * to its control socket (client.h).  Either way the same admin code
 * writes, one process at a time.  The lock held while no control socket
 * exists (another command writes, or a worker is starting) is retried
 * until client.total_timeout_ms, then exit 75.
 *
 * Errors: every message that can carry user input (an address, an id, a
 * file name, an option's value, a CSV field, a reply of the worker) is
 * written with cli_error(), which escapes control bytes, C1 controls, bidi
 * overrides and invalid UTF-8 (buf_addesc), so nothing typed or read can
 * send escape sequences to the terminal.  The whole formatted line is
 * escaped, so an error message is always one line.
 *
 * BUGS: `enqueue X` guesses whether X is a file (-, an existing path, or a
 * name with '/' or '.') or an event TYPE.  getopt_long's unambiguous
 * abbreviations (--res for --resubscribe) are accepted.  Listings on
 * stdout are not escaped: they print stored data, not what was typed.
 * Two writes remain outside admin: a reading command that opens a
 * database of an older schema migrates it (store_open), and `issue
 * preview` makes the token key on first use (message_open); with a worker
 * running both have been done by the worker at its start.
 */
#ifndef TIEDOTE_CLI_H
#define TIEDOTE_CLI_H

#include <getopt.h>
#include <stdio.h>
#include <jansson.h>

#include "buf.h"
#include "client.h"
#include "conf.h"
#include "store.h"

#include <sysexits.h>

struct cli_cmd;
struct cli_verb;

typedef struct cli {
	conf_t	 conf;		/* owned: conf_free() in cli_free() */
	int	 json;		/* --json */
	/* set by cli_dispatch() for the handler it calls (borrowed) */
	const struct cli_cmd *cmd;
	const struct cli_verb *verb;
	/* the way of writes, chosen by the first cli_admin() (owned) */
	int	 way;		/* 0 not yet, CLI_DIRECT or CLI_WORKER */
	int	 lock_fd;	/* CLI_DIRECT: the lock file, held; else -1 */
	store_t	*wstore;	/* CLI_DIRECT: the handle admin writes with */
	client_t *ctl;		/* CLI_WORKER: the control socket */
} cli_t;

enum { CLI_DIRECT = 1, CLI_WORKER = 2 };

typedef int cli_fn(cli_t *, int argc, char **argv);

typedef struct cli_verb {
	const char *name;	/* NULL: the command's default */
	cli_fn	*run;
	const char *args;	/* usage after "tiedote COMMAND VERB"; lines after
				 * the first are continuations */
	const char *summary;	/* one line */
	const char *notes;	/* NULL, or more lines for VERB --help */
} cli_verb_t;

typedef struct cli_cmd {
	const char *name;
	const char *summary;
	const cli_verb_t *verbs;
	size_t	 nverbs;
} cli_cmd_t;

extern const cli_cmd_t cli_cmd_enqueue, cli_cmd_subscriber, cli_cmd_issue,
	cli_cmd_project, cli_cmd_reminder, cli_cmd_announce, cli_cmd_status,
	cli_cmd_backup, cli_cmd_check, cli_cmd_inbound, cli_cmd_dkim, cli_cmd_keys;

void	cli_init(cli_t *);
void	cli_free(cli_t *);
/* cli_dispatch - run argv[0] (a command); its exit code */
int	cli_dispatch(cli_t *, int argc, char **argv);
/* cli_usage - the whole tool (cli->cmd NULL), one command (cli->verb
 * NULL) or one verb, on fp */
void	cli_usage(const cli_t *, FILE *fp);
/* cli_print_mdoc - every command and verb of the table, with usage,
 * summary and notes, as mdoc(7) subsections: the COMMANDS of tiedote(1) */
void	cli_print_mdoc(FILE *fp);
/* cli_usage_error - cli_usage() on stderr; returns EX_USAGE */
int	cli_usage_error(const cli_t *);

/* the last entry of every verb's option table */
#define CLI_OPT_HELP	{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }
enum { CLI_HELP = -2, CLI_BAD = -3 };
/* cli_getopt - getopt_long() over argv[1..] with opts (long options only,
 * options may follow operands; the caller sets optind = 0 before the first
 * call for an argv).  Returns an option's val, -1 at the end (optind is
 * then the first operand), CLI_HELP for --help, or CLI_BAD for an unknown
 * option or a missing value, said on stderr.  The caller answers the last
 * two with cli_help() and cli_usage_error(). */
int	cli_getopt(const cli_t *, int argc, char **argv, const struct option *opts);
/* cli_help - the current verb's usage on stdout; returns EX_OK */
int	cli_help(const cli_t *);

/* cli_error - printf-like; the formatted text and a newline on stderr,
 * escaped by buf_addesc() (callers write the "tiedote: " prefix) */
void	cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* cli_read_all - a whole file ("-" is stdin) into out; 0 or -1, said */
int	cli_read_all(const char *path, buf_t *out);
/* cli_open_store - 0, or -1 with the reason on stderr */
int	cli_open_store(cli_t *, store_t **);
/* cli_open_store_read - the same for a command that only reads
 * (store_open_read()) */
int	cli_open_store_read(cli_t *, store_t **);
void	cli_print_json(json_t *);
/* cli_admin - one admin request (req is taken, may be NULL after a failed
 * json_pack: not UTF-8, exit 65) to whoever writes (above); EX_OK with
 * *reply the new {"ok": true, ...} when reply is not NULL, or the exit
 * code of the failure, its message said on stderr.  retry: the request
 * is safe to send again (Lazy Pirate, client.timeout_ms per try); 0: one
 * try for client.total_timeout_ms. */
int	cli_admin(cli_t *, json_t *req, int retry, json_t **reply);
/* cli_parse_local - the one reader of a time typed for `opt`: RFC 3339;
 * or "YYYY-MM-DD HH:MM" (or with a T) in message.time_zone; and, when hour
 * is not negative, "YYYY-MM-DD" at hour:minute (datefmt_parse_local: an
 * impossible date or a time skipped by summer time is refused).  0, or -1
 * with the complaint on stderr. */
int	cli_parse_local(const cli_t *, const char *opt, const char *arg, int hour,
	    int minute, int64_t *t);

#endif
