/*
 * store - the SQLite database: the one place that holds durable state.
 *
 * Every SQL statement of tiedote is prepared and bound, never built from
 * strings; they live in store.c and, for the tables a module owns (the
 * outbox, issues), in that module, through store_prepare()/store_step().  store_open() applies the pragmas (WAL,
 * synchronous=FULL, foreign keys, busy timeout, size cap, WAL budget) and
 * the versioned migrations (PRAGMA user_version), each migration in its
 * own transaction.
 *
 * Disk space (docs/architecture.md, "Disk space"): the WAL budget W is
 * min(32 MiB, store.reserve_mb / 2, store.max_size_mb / 4), at least 64
 * pages.  Every handle checkpoints by the time its WAL holds W (1000 pages
 * at most, store_bulk() W) and cuts the file back to W when it restarts;
 * with a cap the database file itself is limited to cap - W.
 * store_space() measures the files and the file system and says whether
 * the store is short of space: it projects what the files can reach
 * before the WAL is cut back again (the database at its logical size, the
 * WAL at W) and compares that with the cap, and the free space left after
 * that growth with the reserve.
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
/* store_open_read - the database for a command that only reads: never
 * created or migrated, query_only, no write lock taken (so it does not
 * wait for the worker's commits, makes no file at a mistyped path, and
 * does not migrate under a running older worker); the schema must be
 * this build's */
int	 store_open_read(const conf_t *, store_t **, buf_t *err);
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
/* The one SQL idiom: a statement's text is a static const char[] in the
 * module that owns its table; store_cached() prepares it once; the caller
 * binds, then runs it with one of these, each of which leaves it reset:
 *   store_run   no rows wanted: 0 when it ran to the end;
 *   store_int   one integer (column 0 of the first row): 0, 1 no row, -1;
 *   store_text  one text into out (NULL as ""): 0, 1 no row, -1;
 *   store_rows  cb(st, arg) for each row, columns read from st while
 *               there: 0 at the end, cb's non-zero return stops the walk
 *               and is returned, -1 on an SQLite error.
 * A row of several columns that is read once (a claim, a message's
 * source) is stepped with store_step() and reset at once after its
 * columns are copied.  store_prepare() is for tests' ad hoc SQL only. */
int	 store_int(store_t *, sqlite3_stmt *, int64_t *out);
int	 store_text(store_t *, sqlite3_stmt *, buf_t *out);
int	 store_rows(store_t *, sqlite3_stmt *, int (*cb)(sqlite3_stmt *, void *), void *arg);
/* store_bulk - this connection commits many small transactions whose loss
 * can only repeat work, never lose it (the sender's outcomes): commits
 * that survive a crash of the process but not of the machine
 * (synchronous=NORMAL), and the WAL copied back into the database when it
 * holds the whole WAL budget (8192 pages, 32 MiB, unless the reserve or
 * the cap make it smaller) instead of 1000 pages, so that a page
 * rewritten by many commits is copied back once */
int	 store_bulk(store_t *);
/* store_busy - wait at most ms for another connection's lock (the
 * sender's: its loop must not sleep in SQLite; it retries by itself) */
void	 store_busy(store_t *, int ms);
/* store_space - the disk space the store has: STORE_SPACE_LOW when the
 * projected size reaches store.max_size_mb or the free space would fall
 * below store.reserve_mb; a store that was low (was_low) is OK again only
 * with STORE_SPACE_RESUME of room, so that one page more or less does not
 * flip it.  The figures in *sp; STORE_SPACE_ERROR when a file or the file
 * system cannot be measured (errno) */
typedef enum { STORE_SPACE_OK, STORE_SPACE_LOW, STORE_SPACE_ERROR } store_space_state_t;
#define STORE_SPACE_RESUME	((int64_t)1 << 20)
typedef struct store_space {
	int64_t	 db, wal, shm;		/* the files' sizes, bytes */
	int64_t	 logical;		/* page_count * page_size: the database
					 * once its WAL is copied back */
	int64_t	 wal_budget;		/* W */
	int64_t	 projected;		/* max(db, logical) + max(wal, W) + shm */
	int64_t	 avail;			/* free for us on the file system */
	int64_t	 cap, reserve;		/* bytes, 0 = none */
	int64_t	 room;			/* the smaller room left: cap - projected,
					 * avail - growth to projected - reserve */
	const char *limit;		/* the key whose room is smaller */
} store_space_t;
store_space_state_t store_space(store_t *, int was_low, store_space_t *sp);
/* store_checkpoint - copy the WAL back and truncate it now, if no reader
 * or writer is in the way (never waits); 0 when done */
int	 store_checkpoint(store_t *);
int64_t	 store_changes(store_t *);
/* store_first_after - the first column of the first row of sql (cached,
 * one parameter ?1 = t) as an integer; -1 when it gives no row or fails
 * (the schedulers' "when is the next one due") */
int64_t	 store_first_after(store_t *, const char *sql, int64_t t);
/* store_query_only - refuse every write on this handle from now on (the
 * web front's reader: the worker is the one writer); 0 or -1 */
int	 store_query_only(store_t *);
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

/* the time store_events_window() reads an event by */
typedef enum {
	EVENTS_BY_AT,		/* its own time (due, start) */
	EVENTS_BY_CREATED,	/* its arrival */
	EVENTS_BY_LATE		/* its own time, arrived by to (so an issue
				 * read again later is the issue that went
				 * out), and also an event dated in the window
				 * before, (from - (to - from), from], that
				 * arrived in this one: it came after the issue
				 * of its date went out, and is the next one's,
				 * not no issue's (older ones are stale) */
} store_events_by_t;

/* store_events_window - events of a type, not cancelled, whose time (as
 * by says) is in (from, to], in time order */
int	 store_events_window(store_t *, const char *type, store_events_by_t by,
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
