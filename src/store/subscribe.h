/*
 * subscribe - the writes the subscriber pages ask for (src/web/): double
 * opt-in, one-click unsubscribe, preferences, a project contact's opt-out
 * of reminders.
 *
 * Each function is the run of one admin op (admin.c's table, contract in
 * docs/control.md), so it is called by the worker (the one writer) with a
 * request admin.c has judged already; it writes in one transaction and
 * makes *reply (new) only after COMMIT, like every admin op.  The pages
 * learn only what they show: web.subscribe answers "accepted" whatever
 * happened, so the form cannot tell whether an address is known.
 *
 *   web.subscribe        a pending confirmation (valid SUBSCRIBE_CONFIRM_TTL_S),
 *                        its consent log row (the client, the consent text
 *                        shown, its version and language, as the page
 *                        sends them) and its message queued in the outbox
 *                        (kind confirm), unless one went to the address
 *                        within web.confirm_interval or the address is
 *                        suppressed or erased (privacy.h);
 *                        pending rows past their time are dropped first
 *                        (SUBSCRIBE_EXPIRE_ROWS a request; subscribe_prune
 *                        below does the same on the worker's clock)
 *   web.confirm          the confirmation's subscriber made active with its
 *                        name, language and regions (also an address that
 *                        had unsubscribed: this is its consent), the
 *                        consent log row stamped with the time, a welcome
 *                        message queued (kind welcome, once per address)
 *   web.unsubscribe      the subscriber unsubscribed, what is queued or
 *                        deferred for it cancelled (store_subscriber_remove)
 *   web.preferences      language, regions, paused_until of an active
 *                        subscriber; read when the next message is built
 *   web.contact_optout   the contact's address gets no more reminders: kept
 *                        in contact_optouts (a later project.add that lists
 *                        it again does not undo it), queued ones cancelled
 *
 * This module owns the confirmations, consents and contact_optouts tables and
 * subscribers.paused_until.  Threads: the store's one thread.
 * BUGS: a confirmation's expiry is the row's, not the token's: a token of
 * a row that is gone is "unknown", never valid again.
 */
#ifndef TIEDOTE_SUBSCRIBE_H
#define TIEDOTE_SUBSCRIBE_H

#include <stdint.h>

#include <jansson.h>

#include "conf.h"
#include "store.h"

#define SUBSCRIBE_CONFIRM_TTL_S	(7 * 86400)	/* a confirmation link's life */
#define SUBSCRIBE_EXPIRE_ROWS	1000	/* expired pending rows dropped a request */

/* subscribe_prune - retention: up to SUBSCRIBE_EXPIRE_ROWS confirmations
 * dropped, pending ones past their expiry and followed ones confirmed
 * more than web.confirmations_keep_days ago (their consent log rows
 * stay); the number dropped, or -1.  The worker calls it hourly, and a
 * slice a second while a full slice was dropped */
int	subscribe_prune(store_t *, const conf_t *, int64_t now);
int	subscribe_run_request(store_t *, const conf_t *, const json_t *req, json_t **reply);
int	subscribe_run_confirm(store_t *, const conf_t *, const json_t *req, json_t **reply);
int	subscribe_run_unsubscribe(store_t *, const conf_t *, const json_t *req, json_t **reply);
int	subscribe_run_preferences(store_t *, const conf_t *, const json_t *req, json_t **reply);
int	subscribe_run_optout(store_t *, const conf_t *, const json_t *req, json_t **reply);
/* subscribe_contact_optout - web.contact_optout's write for contact id,
 * inside the caller's transaction (the inbound reader's, for a contact's
 * token mailed to the unsubscribe address): 0 opted out, 1 no such
 * contact, -1 an SQLite failure (the caller rolls back) */
int	subscribe_contact_optout(store_t *, int64_t contact_id, int64_t now);

#endif
