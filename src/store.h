/*
 * store - the SQLite database: the one place that holds durable state.
 *
 * Every SQL statement of tiedote is prepared and bound, never built from
 * strings; they live in store.c and, for the tables a module owns (the
 * outbox, issues), in that module, through store_prepare()/store_step().  store_open() applies the pragmas (WAL,
 * synchronous=FULL, foreign keys, busy timeout, size cap) and the versioned
 * migrations (PRAGMA user_version), each migration in its own transaction.
 *
 * Writers group their work: store_begin() .. store_commit(); data is durable
 * when store_commit() returns 0, and not before.  On any error the caller
 * calls store_rollback() and nothing of the transaction remains.
 * Functions return 0 on success and -1 on an SQLite error, whose text
 * store_errmsg() gives; store_full() tells a full disk or size cap apart.
 * Strings handed to callbacks are borrowed for the duration of the call.
 */
#ifndef TIEDOTE_STORE_H
#define TIEDOTE_STORE_H

#include <stdint.h>
#include <jansson.h>
#include <sqlite3.h>

#include "buf.h"
#include "conf.h"

typedef struct store store_t;

int	 store_open(const conf_t *, store_t **, buf_t *err);
void	 store_close(store_t *);
int	 store_schema_version(store_t *);
int	 store_schema_latest(void);	/* the version this build migrates to */
const char *store_errmsg(store_t *);
int	 store_full(store_t *);
int	 store_prepare(store_t *, const char *sql, sqlite3_stmt **);
/* store_cached - a prepared statement kept for the store's life, found by
 * the address of its (static) SQL text; reset and unbound on return; the
 * caller resets it after use and never finalises it; NULL on error */
sqlite3_stmt *store_cached(store_t *, const char *sql);
/* store_step - sqlite3_step that remembers the result for store_full() */
int	 store_step(store_t *, sqlite3_stmt *);
/* store_run - step a statement that returns no rows to its end and reset
 * it (a cached one is ready again): 0 when it ran to SQLITE_DONE */
int	 store_run(store_t *, sqlite3_stmt *);
/* store_bulk - this connection commits many small transactions whose loss
 * can only repeat work, never lose it (the sender's outcomes): commits
 * that survive a crash of the process but not of the machine
 * (synchronous=NORMAL), and the WAL copied back into the database every
 * 8192 pages instead of 1000, so that a page rewritten by many commits is
 * copied back once; the WAL file is cut back to 32 MiB after that */
int	 store_bulk(store_t *);
/* store_busy - wait at most ms for another connection's lock (the
 * sender's: its loop must not sleep in SQLite; it retries by itself) */
void	 store_busy(store_t *, int ms);
int64_t	 store_changes(store_t *);
int64_t	 store_last_id(store_t *);	/* rowid of the last INSERT */
int	 store_begin(store_t *);
int	 store_commit(store_t *);
void	 store_rollback(store_t *);

/* events: one row per id (its latest revision) plus every revision */
typedef enum { PUT_NEW, PUT_REVISION, PUT_DUPLICATE, PUT_TYPE_MISMATCH } store_put_t;

/* store_event_put - store canonical body as a new event, a new revision or
 * nothing (same body as the latest revision); inside a transaction */
int	 store_event_put(store_t *, const char *id, const char *type,
	    const char *body, unsigned regions, int64_t at, int cancelled,
	    int64_t now, store_put_t *, int *revision);

/* subscribers */
typedef struct subscriber {
	int64_t	 id;
	const char *email;
	const char *name;
	const char *lang;	/* fi, sv, en */
	unsigned regions;
	const char *status;	/* active, unsubscribed, pending, suppressed */
	int64_t	 created, updated;
} subscriber_t;

typedef enum { SUB_ADDED, SUB_UPDATED, SUB_UNCHANGED, SUB_KEPT_UNSUBSCRIBED } store_sub_t;

/* store_subscriber_put - add or update by e-mail (case-insensitive); an
 * unsubscribed address is left alone unless resubscribe is set */
int	 store_subscriber_put(store_t *, const subscriber_t *, int resubscribe,
	    int64_t now, store_sub_t *);
/* store_subscriber_remove - mark unsubscribed, or delete with purge;
 * *found says whether the address was known */
int	 store_subscriber_remove(store_t *, const char *email, int purge,
	    int64_t now, int *found);
/* store_subscriber_foreach - in e-mail order, status NULL = all; a
 * non-zero return from cb stops the walk and is returned */
int	 store_subscriber_foreach(store_t *, const char *status,
	    int (*cb)(const subscriber_t *, void *), void *);

/* key-value metadata: 0 found, 1 absent, -1 error */
int	 store_meta_get(store_t *, const char *key, buf_t *value);
int	 store_meta_set(store_t *, const char *key, const char *value);

/* one event as the composer reads it; strings borrowed during the callback */
typedef struct store_event {
	const char *id, *body;
	int	 revision;
	int64_t	 created, at;
	unsigned regions;
} store_event_t;

/* store_events_window - events of a type, not cancelled, whose time (at,
 * or created when by_created) is in (from, to], in time order */
int	 store_events_window(store_t *, const char *type, int by_created,
	    int64_t from, int64_t to, int (*cb)(const store_event_t *, void *), void *);
/* store_event_body_before - the body of id as it stood at time t (the
 * latest revision received by then): 0, 1 when none yet, -1 */
int	 store_event_body_before(store_t *, const char *id, int64_t t, buf_t *);

/* issues */
/* store_issue_last_before - period_end of the latest issue before t */
int	 store_issue_last_before(store_t *, int64_t t, int64_t *period_end);

/* store_subscriber_get - cb with the subscriber of that address: cb's
 * value, 1 when unknown, -1 on error */
int	 store_subscriber_get(store_t *, const char *email,
	    int (*cb)(const subscriber_t *, void *), void *);

/* store_status - counts and the latest events as a new JSON object */
int	 store_status(store_t *, int latest, json_t **);

#endif
