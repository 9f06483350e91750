/*
 * remind - deadline reminders for projects: the plan, and its firing.
 *
 * Every deadline has a plan: one row per offset (the event's "remind"
 * days, else reminders.days) at reminders.time, local time, on the day
 * that many days before the due day.  remind_tick() is called by the
 * worker's scheduler with clock_now().  It first re-plans each deadline
 * whose latest revision is not the one its plan was made from:
 *  - cancelled or past: what was planned is cancelled, and so are the
 *    queued messages of its reminders;
 *  - a new due date moves the planned offsets; an offset already sent is
 *    not sent again unless the date moved earlier; a skipped one comes
 *    back if its new time is still ahead.
 * Then it fires the planned offsets whose time has come.  When several of
 * one deadline are due together (the event arrived after an offset, or
 * the worker was down) only the latest is sent and the others are
 * skipped: a late arrival gets one reminder at once, not every missed one.
 * Firing is one transaction: a reminder_sends row, one outbox row per
 * contact of the audience (the event's "projects", else every project
 * whose regions meet the deadline's), each address once, no suppressed
 * address, and the plan row marked sent, so a reminder goes out once,
 * also across restarts.  A send whose due date differs from the previous
 * send's keeps that date: its message says the deadline moved.
 * This module owns the reminders, deadline_plans and reminder_sends tables.
 */
#ifndef TIEDOTE_REMIND_H
#define TIEDOTE_REMIND_H

#include <stdint.h>
#include <jansson.h>

#include "buf.h"
#include "build.h"
#include "conf.h"
#include "message.h"
#include "outbox.h"
#include "store.h"

#define REMIND_MAX_OFFSETS 32

/* remind_conf_check - reminders.days and reminders.time; -1 with err */
int	remind_conf_check(const conf_t *, buf_t *err);
int	remind_tick(store_t *, const conf_t *, int64_t now, buf_t *err);
/* remind_next_due - the earliest fire time after now of a planned
 * reminder, -1 when none (or the store cannot say): the worker's timer is
 * set to it, as to bulletin_next_due() */
int64_t	remind_next_due(store_t *, int64_t now);
/* remind_message - the message of one claimed reminder row into eml:
 * 0 built, 1 not to be sent any more (deadline cancelled or past, project
 * removed) with the reason in err, -1 error in err */
build_fn remind_message;
/* remind_list - the plans of every deadline (event_id NULL) or of one, as a
 * new array of {event, due, title, reminders: [{days, fire_at, state}],
 * sends: [{days, due, fired, recipients, previous_due}]} */
int	remind_list(store_t *, const char *event_id, json_t **);

#endif
