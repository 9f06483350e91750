/*
 * privacy - personal data by address (GDPR): what is held about one
 * address, all of it, as JSON; its erasure; and the keyed hash that keeps
 * an erased address out.
 *
 * privacy_export() reads (any handle: the CLI opens the store itself) and
 * makes *out (new) an object with every row that names the address, table
 * by table: the subscriber and its regions, the consent log, the
 * confirmations, the outbox rows (the deliveries and their replies), the
 * suppressions, the inbound messages about the address and their
 * outcomes, project contacts and their opt-outs, rows staged by an
 * import; "erased" says whether its keyed hash is in the suppressions.
 * Times are epoch seconds as stored; an inbound message's bytes are
 * base64 ("raw_base64").  0, or -1 with err.
 *
 * privacy_run_erase() is the admin op subscriber.erase (admin.c's table,
 * docs/control.md), run by the one writer: in one transaction the
 * subscriber row, its confirmations and consent log, its project contact
 * rows and opt-outs, staged import rows and the suppression by address
 * are deleted; outbox rows and inbound outcomes keep their counts but
 * lose the address (recipient/email "erased/ID", reply and message gone;
 * what was queued or deferred is cancelled; the other rows keep their
 * times, so an issue's average rate stays; a row in flight gets its
 * outcome but not the relay's reply, and a "user unknown" then writes no
 * suppression of the address: outbox.c); inbound messages about it
 * lose their bytes, sender, subject and report; and the keyed hash
 * (token_hash(), domain "erase") goes into the suppressions as
 * "erased:HEX", reason "erased".  Reply after COMMIT: {"ok", "email",
 * "result": "erased", "removed": {table: rows}}.  Erasing an unknown
 * address still writes the hash: the owner asked never to be added.
 *
 * privacy_erased() - whether email's hash is in the suppressions: 1 yes,
 * 0 no, -1 SQLite error.  Called by subscriber.add, the import's staging
 * and web.subscribe (each refuses an erased address: the first two with
 * an error, the form with the same page as for any address).  It makes
 * the token key if the store has none (inside the caller's transaction).
 *
 * Threads: the store's.  BUGS: an event's body (a producer's JSON) is not
 * searched: a producer that puts addresses into events keeps them there;
 * project.add may list an erased contact again (contacts are staff data,
 * not consent).
 */
#ifndef TIEDOTE_PRIVACY_H
#define TIEDOTE_PRIVACY_H

#include <jansson.h>

#include "buf.h"
#include "conf.h"
#include "store.h"

#define PRIVACY_ERASED_PREFIX	"erased:"	/* a suppression that is a hash */
#define PRIVACY_HASH_DOMAIN	"erase"		/* token_hash()'s domain for it */

int	privacy_export(store_t *, const char *email, json_t **out, buf_t *err);
int	privacy_run_erase(store_t *, const conf_t *, const json_t *req, json_t **reply);
int	privacy_erased(store_t *, const char *email);

#endif
