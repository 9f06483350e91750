/*
 * announce - staff announcements: a message of their own at a given time,
 * or a piece of the next bulletin.
 *
 * An announcement is an event like any other, from a producer over
 * ZeroMQ or from `tiedote announce`, which stores it through the same
 * validator (announce_store).  One with send_at is sent on its own:
 * announce_tick(), called by the worker's scheduler, hands it to the
 * outbox when send_at has come (at once when the worker finds it late, but
 * not later than announcements.max_late_hours: then it is marked expired),
 * one row per active subscriber whose regions meet its regions, or with
 * audience "projects" per contact of the projects in them, in the same
 * transaction that records it as fired: it goes out once, also across
 * restarts, and every recipient gets the revision that was fired.  One
 * without send_at is read by the next bulletin (compose.h).  Cancelling
 * cancels the messages still queued; an announcement already fired cannot
 * be rescheduled.  This module owns the announcements table.
 */
#ifndef TIEDOTE_ANNOUNCE_H
#define TIEDOTE_ANNOUNCE_H

#include <stdint.h>
#include <jansson.h>

#include "buf.h"
#include "build.h"
#include "conf.h"
#include "message.h"
#include "outbox.h"
#include "store.h"

int	announce_tick(store_t *, const conf_t *, int64_t now, buf_t *err);
/* announce_next_due - the earliest send_at after now of an announcement
 * not yet sent or cancelled, -1 when none (or the store cannot say): the
 * worker's timer is set to it, as to bulletin_next_due() */
int64_t	announce_next_due(store_t *, int64_t now);
/* announce_message - as remind_message() (remind.h), for an announcement */
build_fn announce_message;
/* announce_store - validate ev (an announcement, as a producer would send
 * it) and store it as a new event or revision; 0, or -1 with err */
int	announce_store(store_t *, const conf_t *, json_t *ev, int64_t now, int *revision,
	    buf_t *err);
/* announce_cancel, announce_reschedule - a new revision; -1 with err when
 * the id is unknown, not an announcement, or (reschedule) already fired */
int	announce_cancel(store_t *, const conf_t *, const char *id, int64_t now, buf_t *err);
int	announce_reschedule(store_t *, const conf_t *, const char *id, int64_t at,
	    int64_t now, buf_t *err);
/* announce_list - every announcement, newest first, as a new array of
 * {id, title, state, send_at, audience, regions, recipients, counts}; with
 * id, just that one (1 when unknown) plus its latest failures */
int	announce_list(store_t *, const char *id, json_t **);

#endif
