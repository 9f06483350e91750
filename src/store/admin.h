/*
 * admin - every write staff make to durable state, in one place: the
 * subscriber list (add, remove, the staged import), projects,
 * announcements and the bulletin's issues.
 *
 * A request is one JSON object {"op": NAME, field: value, ...}.
 * admin_parse() judges its form on bytes, without a store: the op is
 * known, every field is one of the op's, of its JSON type, the required
 * ones present, and the values pass the same checks the CLI makes (an
 * address, a name, a language, regions, a time, every row of an import
 * chunk).  admin_exec() runs a request on a store, each op in its own
 * transaction(s), and builds the reply only after COMMIT returned:
 *   {"ok": true, ...}   or
 *   {"ok": false, "error": CODE, "message": TEXT, "exit": SYSEXITS}
 * where exit is the code a command should exit with (65 bad value, 75
 * storage, 76 a request of the wrong form).  admin_handle() is the two on
 * bytes.  The worker's control socket (control.h) and the CLI without a
 * worker both call admin_handle(), so one implementation writes either
 * way.  The contract, op by op, is docs/control.md.
 *
 * The one-writer rule: the lock file <store.path>.lock, flock(2) LOCK_EX.
 * tiedoted takes it at start (admin_lock_wait) and holds it for its life;
 * a tiedote command that gets it (admin_lock, LOCK_NB) is alone and calls
 * admin_handle() on its own store handle while it holds it; one that does
 * not sends its requests to the worker.  So one process writes at a time.
 *
 * The import: subscriber.import.begin gives an id; .rows stages chunks
 * (each its own short commit, into import_rows, which no reader of
 * subscribers sees); .commit applies the whole staged set in one
 * transaction (set-based upsert) and keeps its counts, so a retried commit
 * gets the same reply; .abort drops ADMIN_DROP_ROWS of its staged rows a
 * request ("done": true when none are left, and the import is gone), the
 * CLI repeating it, so no request keeps the loop long.  Imports older
 * than ADMIN_IMPORT_TTL_S are dropped by admin_expire(), a slice a call
 * (worker start, until 0; every .begin).  This module owns the imports
 * and import_rows tables.
 *
 * Ownership: requests are borrowed; replies are new (json_decref, or
 * free() for admin_handle's text).  Errors: nothing of a failed op stays
 * written; messages quote input raw (the CLI escapes what it prints).
 * Threads: the store's one thread.
 * BUGS: an op runs on its caller's clock (clock_now()): the worker's, or
 * the command's when no worker runs.  Ops other than issue.send_now are
 * safe to repeat; a repeated send-now makes a second issue.
 */
#ifndef TIEDOTE_ADMIN_H
#define TIEDOTE_ADMIN_H

#include <stddef.h>
#include <jansson.h>

#include "buf.h"
#include "conf.h"
#include "store.h"

#define ADMIN_REQUEST_MAX	((size_t)2 << 20)	/* bytes of one request */
#define ADMIN_IMPORT_CHUNK	1000	/* rows a command sends per request */
#define ADMIN_IMPORT_ROWS_MAX	5000	/* rows one request may carry */
#define ADMIN_IMPORT_TTL_S	3600	/* an abandoned import's staged rows */
#define ADMIN_DROP_ROWS		5000	/* staged rows dropped per request */
#define ADMIN_LOCK_WAIT_MS	60000	/* tiedoted's wait for a command's lock */

/* what admin_handle() tells its caller for the log line */
typedef struct admin_result {
	const char *op;		/* static: the op's name, or "?" */
	const char *error;	/* static error code, NULL when ok */
	int	 exit;		/* 0 when ok */
} admin_result_t;

/* admin_parse - the request in data, its form and values judged: a new
 * object, or NULL with *reply a new error reply */
json_t	*admin_parse(const void *data, size_t len, json_t **reply);
/* admin_exec - run req (borrowed; judged again) on store; *reply is new;
 * returns the reply's exit code */
int	 admin_exec(store_t *, const conf_t *, const json_t *req, json_t **reply);
/* admin_handle - parse, exec and the reply as new compact JSON text */
char	*admin_handle(store_t *, const conf_t *, const void *data, size_t len,
	    admin_result_t *);
/* admin_error - a new error reply; message printf-like */
json_t	*admin_error(const char *code, int exit, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* admin_expire - drop up to ADMIN_DROP_ROWS staged rows of the imports
 * begun more than ADMIN_IMPORT_TTL_S before now, and those imports once
 * empty; the number of rows and imports dropped (0: nothing left), or -1 */
int	 admin_expire(store_t *, int64_t now);

/* admin_lock - LOCK_EX|LOCK_NB on <store.path>.lock (created 0660, and its
 * directory, if missing): 1 with *fd held, 0 when another process holds
 * it, -1 with err.  admin_lock_wait - the same, waiting up to wait_ms
 * (said once in the log) for a command to finish: 1, 0 after wait_ms, -1,
 * or -2 as soon as stop_fd (-1: none) is readable (a stop signal).
 * admin_unlock - release and close (fd < 0: nothing). */
int	 admin_lock(const conf_t *, int *fd, buf_t *err);
int	 admin_lock_wait(const conf_t *, long wait_ms, int stop_fd, int *fd, buf_t *err);
void	 admin_unlock(int fd);
/* admin_lock_path - "<store.path>.lock" appended to out */
void	 admin_lock_path(const conf_t *, buf_t *out);

#endif
