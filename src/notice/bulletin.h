/*
 * bulletin - the life of each issue: scheduled, drafted, approved, sent.
 *
 * An issue is a row of the issues table (this module owns it):
 *   draft -> sending -> sent          (or empty: nobody had anything)
 *   draft|sending <-> held            (staff: hold, resume)
 *   draft|held|sending -> cancelled   (staff: cancel; queued rows cancelled)
 * bulletin_tick() is the scheduler, called from the worker's loop with
 * clock_now().  It creates the issue of the latest calendar slot that is
 * due (sched.h) if that slot has none, so one issue goes out per period,
 * also across restarts, and after an outage only the latest missed slot is
 * sent, once.  With bulletin.approval on, the draft is created
 * bulletin.draft_lead_hours ahead and mailed to bulletin.editors, and the
 * issue waits for approval at its send time (a later issue approved in
 * the meantime goes at its own time all the same).  Starting an issue
 * fills the outbox with one row per active subscriber who has something
 * in it, in one transaction.  An issue whose rows are all final becomes "sent", as
 * soon as the commit of its last outcome (bulletin_finish()).
 * Issues are named by their id in the CLI; the number ("2020/09") is fixed
 * when sending starts, counting the issues of the year numbered before it
 * (a cancelled one too), and is never given twice.  A due draft that cannot
 * start (its content does not build, a constraint) is held and logged once
 * (draft -> held), so the drafts after it go; resume tries it again.
 */
#ifndef TIEDOTE_BULLETIN_H
#define TIEDOTE_BULLETIN_H

#include <stdint.h>
#include <jansson.h>

#include "buf.h"
#include "build.h"
#include "conf.h"
#include "store.h"

typedef struct bulletin_issue {
	int64_t	 id;
	char	 number[16];
	int64_t	 slot;		/* -1: sent by hand */
	int64_t	 period_start, period_end;
	char	 state[16];
	int	 approved;
	int64_t	 recipients;
} bulletin_issue_t;

int	 bulletin_tick(store_t *, const conf_t *, int64_t now, buf_t *err);
/* bulletin_finish - every sending issue with no open row (queued,
 * sending, deferred) left marked sent; the end of bulletin_tick(), and
 * called by the worker as soon as the sender has committed the last
 * outcomes of what it claimed (sender_on_settled()); 0, or -1 with err */
int	 bulletin_finish(store_t *, int64_t now, buf_t *err);
/* bulletin_next_due - the next time after now at which the calendar has
 * something new for bulletin_tick() (a slot's send time, with approval a
 * draft's), -1 when bulletin.first does not parse; the worker's timer is
 * set to it (clock.h: a test clock moved runs the tick at once) */
int64_t	 bulletin_next_due(const conf_t *, int64_t now);
/* bulletin_retain - one slice (BULLETIN_RETAIN_ROWS rows, one
 * transaction) of the outbox of an issue sent more than outbox.keep_days
 * ago folded into its totals (outbox_compact()); called once a second
 * from the worker's tick, so a million rows take a few minutes and no
 * loop turn more than a slice; 0 when there was nothing to do, 1 when a
 * slice was folded, -1 (err) */
#define BULLETIN_RETAIN_ROWS	10000
int	 bulletin_retain(store_t *, const conf_t *, int64_t now, buf_t *err);
/* bulletin_get - issue by id; 0, 1 when there is none, -1 */
int	 bulletin_get(store_t *, int64_t id, bulletin_issue_t *);
/* bulletin_send_now - a new issue covering the time since the last one,
 * approved and due now; *id is its id */
int	 bulletin_send_now(store_t *, const conf_t *, int64_t now, int64_t *id, buf_t *err);
/* bulletin_control - "hold", "resume", "cancel" or "approve"; 0, -1
 * with the reason in err (e.g. cancelling a sent issue), or -2 when the
 * store failed (err says how; nothing was changed) */
int	 bulletin_control(store_t *, int64_t id, const char *verb, int64_t now, buf_t *err);
/* bulletin_message - the builder of "bulletin" rows (a subscriber's copy:
 * their regions, language and name) and "draft" rows (an editor's approval
 * copy: every region, Finnish, marked as a draft), build.h's signature; the
 * issue and its items are loaded once into *cache for all its readers */
build_fn bulletin_message;
void	 bulletin_cache_free(void *);
/* bulletin_list - every issue, newest first, with its outbox counts */
int	 bulletin_list(store_t *, json_t **);
/* bulletin_status - one issue (id 0: the latest) with counts and the
 * latest failures */
int	 bulletin_status(store_t *, int64_t id, int failures, json_t **);
/* bulletin_number - the number of the issue sent at t: one more than the
 * issues of that year numbered (sending, sent, or since held or cancelled)
 * before t; starting an issue also steps past a number already taken */
int	 bulletin_number(store_t *, const conf_t *, int64_t t, buf_t *out);

#endif
