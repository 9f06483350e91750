/*
 * outbox - one row per (message, recipient), and its delivery state.
 *
 *   queued -> sending -> sent
 *                     -> deferred (next_attempt) -> sending ...
 *                     -> failed (with the SMTP reply)
 *                     -> suppressed (failed with a reply that the address
 *                        does not exist: no later message goes to it)
 *                     -> skipped (nothing in the issue for the reader)
 *                     -> cancelled (its reason is gone: a deadline
 *                        cancelled, a project removed)
 *                     -> queued (never attempted: released, or held back
 *                        by the relay's circuit breaker, uncharged)
 *   queued/deferred   -> cancelled (the issue was cancelled)
 * States and kinds are enums here and strings only in SQL and JSON
 * (outbox_state_name(), outbox_kind_name()).
 *
 * outbox_claim() moves due rows to "sending" and commits before anything
 * is handed to SMTP, so after a crash outbox_recover() puts exactly the
 * rows that were in flight back in the queue: a message can be sent twice
 * only if it was in flight at the crash, and no row is ever skipped.
 * Rows are read in bounded batches, so memory does not grow with the
 * number of recipients.  Strings handed to callbacks are borrowed for the
 * duration of the call.
 */
#ifndef TIEDOTE_OUTBOX_H
#define TIEDOTE_OUTBOX_H

#include <stdint.h>
#include <jansson.h>

#include "store.h"

typedef enum {
	OUTBOX_QUEUED,
	OUTBOX_SENDING,
	OUTBOX_SENT,
	OUTBOX_DEFERRED,
	OUTBOX_FAILED,
	OUTBOX_SUPPRESSED,
	OUTBOX_SKIPPED,
	OUTBOX_CANCELLED,
	OUTBOX_STATES
} outbox_state_t;

/* the kinds of message; the builder of each is in build.c's table */
typedef enum {
	KIND_BULLETIN,		/* an issue, to a subscriber */
	KIND_DRAFT,		/* an issue's approval copy, to an editor */
	KIND_REMINDER,		/* a deadline's reminder, to a project contact */
	KIND_ANNOUNCEMENT,	/* an announcement, to subscribers or contacts */
	KIND_CONFIRM,		/* a subscription's confirmation (double opt-in) */
	KIND_WELCOME,		/* once a subscription is confirmed (ref: its id) */
	KINDS,
	KIND_UNKNOWN = KINDS	/* a row of a kind this build does not know */
} outbox_kind_t;

/* OUTBOX_OPEN_ROWS - the SQL term for the rows not yet final, written
 * exactly as the partial index outbox_open's WHERE (store.c, migration
 * 13): SQLite uses a partial index only for a term that matches its WHERE
 * as written, so every query of the open rows says it so */
#define OUTBOX_OPEN_ROWS "(state = 'queued' OR state = 'sending' OR state = 'deferred')"

const char *outbox_state_name(outbox_state_t);
const char *outbox_kind_name(outbox_kind_t);

/* a claimed row that is no longer to go (it was in flight when it was
 * stopped, and came back to the queue) */
typedef enum {
	OUTBOX_GO,
	OUTBOX_STOP_ISSUE,	/* its issue was cancelled */
	OUTBOX_STOP_READER,	/* its subscriber is no longer active */
	OUTBOX_STOP_CONTACT	/* its contact opted out */
} outbox_stop_t;

typedef struct outbox_row {
	int64_t	 id;
	outbox_kind_t kind;
	const char *ref, *recipient;
	int	 attempts;		/* including this one */
	int64_t	 first_attempt;
	/* the subscriber, when the row has one */
	int64_t	 subscriber_id;
	const char *name, *lang;	/* a contact's: its project's lang */
	unsigned regions;
	/* the project contact, when the row has one; project "" when the
	 * project has been removed since */
	int64_t	 contact_id;
	const char *project;
	/* the subscriber's pause (epoch; 0 none), as the claim read it */
	int64_t	 paused_until;
	/* why the row is no longer to be sent, as the claim read it */
	outbox_stop_t stopped;
} outbox_row_t;

/* outbox_compact - fold at most max of the final rows of (kind, ref) that
 * say nothing more than their state (sent, skipped, cancelled) into
 * outbox_totals, in the caller's transaction; what outbox_report() and
 * outbox_rate() say does not change.  The number folded (fewer than max:
 * none are left), or -1 */
int64_t	outbox_compact(store_t *, outbox_kind_t, const char *ref, int max);
/* outbox_recover - "sending" rows back to "queued"; the number moved */
int	outbox_recover(store_t *, int64_t now);
/* outbox_add - one queued row of kind for ref to recipient (no
 * subscriber or contact behind it: an editor's draft), unless there is one */
int	outbox_add(store_t *, outbox_kind_t, const char *ref, const char *recipient,
	    int64_t now);
/* outbox_fill_bulletin - one queued row per active, unsuppressed,
 * unpaused subscriber whose regions value r (1..31, a mask of regions)
 * has bit r set in masks, in one statement (one pass over the active
 * subscribers, in id order); *count rows added */
#define OUTBOX_MASKS_ALL	0xfffffffeu	/* bits 1..31: every regions value */
int	outbox_fill_bulletin(store_t *, const char *number, uint32_t masks,
	    int64_t now, int64_t *count);
/* outbox_fill_subscribers - one queued row per active, unsuppressed
 * subscriber whose regions meet mask */
int	outbox_fill_subscribers(store_t *, outbox_kind_t, const char *ref,
	    unsigned mask, int64_t now, int64_t *count);
/* outbox_fill_contacts - one queued row per unsuppressed contact address
 * of the projects listed in projects (a JSON array of ids), or when it is
 * NULL of every project whose regions meet mask; an address that two
 * projects share gets one row (the first project's, by id) */
int	outbox_fill_contacts(store_t *, outbox_kind_t, const char *ref,
	    const char *projects, unsigned mask, int64_t now, int64_t *count);
/* outbox_claim - up to max due rows of issues not held (nor drafts),
 * committed as "sending"; cb for each (row.stopped says when it is not to
 * go after all); returns the number claimed or -1 */
int	outbox_claim(store_t *, int64_t now, int max,
	    int (*cb)(const outbox_row_t *, void *), void *);
/* outbox_result - the outcome of one attempt of a "sending" row: any final
 * state, or OUTBOX_DEFERRED (next_attempt used) */
int	outbox_result(store_t *, int64_t id, outbox_state_t, int code,
	    const char *reply, int64_t next_attempt, int64_t now);
/* outbox_release - a claimed row that was never attempted, back to the
 * queue as it was (its first_attempt too, when this was its first claim) */
int	outbox_release(store_t *, int64_t id, int64_t now);
/* outbox_cancel_contact - every queued and deferred row to a project
 * contact with this address (any project) cancelled, reason as its reply */
int	outbox_cancel_contact(store_t *, const char *email, const char *reason, int64_t now);
/* outbox_cancel - queued and deferred rows of (kind, ref) cancelled */
int	outbox_cancel(store_t *, outbox_kind_t, const char *ref, int64_t now);
/* outbox_open - rows of (kind, ref) not yet final (queued, sending,
 * deferred) */
int	outbox_open(store_t *, outbox_kind_t, const char *ref, int64_t *n);
/* outbox_any_open - 1 when some row of (kind, ref) is not yet final, 0
 * when none is, -1; reads one index entry, not all of them */
int	outbox_any_open(store_t *, outbox_kind_t, const char *ref);
/* outbox_report - {"counts": {state: n}, "failures": [latest failed rows]}
 * as a new object */
int	outbox_report(store_t *, outbox_kind_t, const char *ref, int failures,
	    json_t **);
/* outbox_rate - messages sent a second for (kind, ref), from the stored
 * times (seconds, so exact under the test clock).  While rows are queued
 * or sending: the sent outcomes of the last OUTBOX_RATE_WINDOW_S seconds
 * up to now, over that window (or over the time since the first attempt
 * when that is shorter), and *live = 1.  Otherwise the average: sent rows
 * / (the last sent outcome - the first attempt), and *live = 0.  A span
 * is at least 1 s, the resolution of the times; 0 sent gives 0 */
#define OUTBOX_RATE_WINDOW_S 60
int	outbox_rate(store_t *, const char *kind, const char *ref, int64_t now,
	    double *per_sec, int *live);
/* outbox_suppress - never send to this address again (user unknown) */
int	outbox_suppress(store_t *, const char *email, const char *reason, int64_t now);
/* outbox_erased - 1 when the row's address was erased (privacy.h) while
 * it was in flight, 0 when not, -1 */
int	outbox_erased(store_t *, int64_t id);

#endif
