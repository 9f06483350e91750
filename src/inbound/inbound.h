/*
 * inbound - what tiedote does with a mail that came back: classify it
 * (classify.h), check its token, act on it by the policy, and keep it.
 *
 * inbound_accept() is the one way in for every transport (the LMTP
 * listener in the worker, `tiedote inbound deliver` through the control
 * op inbound.deliver, a mailbox poller): in ONE transaction it stores the
 * message (its first INBOUND_RAW_MAX bytes, and its size) and its
 * classification in the inbound table (and, from a POP3 poller, the
 * message's UIDL in mailbox_uidls: inbound_accept_uidl()), and per
 * recipient an outcome row (inbound_outcomes) and the action:
 *   bounce, hard (userunknown, hostunknown, hasmoved, notaccept; not a
 *     4.x.x status)      the address suppressed at once (suppressions,
 *                        the subscriber's status "suppressed");
 *   bounce, soft         counted; the address suppressed when it has
 *                        inbound.soft_limit soft bounces within
 *                        inbound.soft_days about messages sent after its
 *                        last delivery (a message sent to it that no
 *                        bounce names, or a success report);
 *   bounce, sender-side  (classify_sender_side(): blocked, spamdetected,
 *                        policyviolation, ...) counted for the operator,
 *                        never against the reader;
 *   complaint            the subscriber unsubscribed at once (what is
 *                        queued for it cancelled), the feedback type kept
 *                        as the outcome's reason; but a "not-spam" or
 *                        "auth-failure" report (RFC 6430, 6591) is no
 *                        complaint: kept for staff, nothing done;
 *   unsubscribe          (unsubscribe+TOKEN@, a genuine TOKEN) the same
 *                        as the web's one-click POST;
 *   autoreply, delivered, other
 *                        kept for staff; a success report counts as a
 *                        delivery.
 * Whom it names: a genuine VERP token (bounces+TOKEN@) names the outbox
 * row, so its recipient and its issue, whatever address the report shows
 * (a forwarded address reports another one); a token that does not check
 * is logged as forged and ignored, and so is every other case: the
 * report's addresses (Final-Recipient, X-Failed-Recipients, the text) are
 * looked up among the outbox rows: the row of the issue the returned
 * original's Message-ID names, when it names one and the address had a
 * message of it, else the latest row to the address.  An address the
 * outbox never saw is not acted on.
 *
 * Errors: -1 with err when the transaction cannot commit (nothing of it
 * stays); the caller answers "try again" (LMTP 451, exit 75).  The result
 * is filled only after COMMIT.  Ownership: everything borrowed.
 * Threads: the store's.
 * BUGS: a message sent recently whose bounce has not come yet counts as a
 * delivery.
 */
#ifndef TIEDOTE_INBOUND_H
#define TIEDOTE_INBOUND_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"
#include "classify.h"
#include "conf.h"
#include "store.h"

#define INBOUND_RAW_MAX		((size_t)1 << 20)	/* bytes of a message kept */
#define INBOUND_PRUNE_ROWS	500	/* messages pruned per call */
#define INBOUND_LIST_MAX	1000	/* rows `inbound list` shows at most */
#define INBOUND_UIDL_MAX	70	/* characters of a POP3 UIDL (RFC 1939) */
#define INBOUND_UIDLS_MAX	10000	/* UIDLs one inbound.mailbox_sync takes: < 2 MiB */
#define INBOUND_MAILBOX_MAX	512	/* bytes of a mailbox's name in the record */

enum inbound_via { VIA_LMTP, VIA_DELIVER, VIA_POLL };

typedef struct inbound_result {
	int64_t	 id;			/* the inbound row */
	enum classify_kind kind;
	char	 action[128];		/* in words, for a log line and a reply */
} inbound_result_t;

/* inbound_accept - msg[0..len) (len <= INBOUND_RAW_MAX is kept whole; a
 * longer one is classified and kept to that many bytes); size: the bytes
 * received (>= len); envelope: RCPT TO or NULL.  0 after COMMIT, -1 with
 * err (rolled back). */
int	inbound_accept(store_t *, const conf_t *, enum inbound_via, const char *envelope,
	    const char *msg, size_t len, size_t size, inbound_result_t *, buf_t *err);
/* inbound_accept_uidl - inbound_accept() (via poll) of a message a
 * poller read from a mailbox without folders or flags (POP3, mailbox.h):
 * the pair (mailbox, uidl) is recorded in the same transaction, with the
 * kind (`other`: kept on the server).  A pair recorded before stores
 * nothing: *dup 1, res the first take's id, kind and "already taken:"
 * action.  0, or -1 with err (rolled back: neither the message nor the
 * record). */
int	inbound_accept_uidl(store_t *, const conf_t *, const char *mailbox, const char *uidl,
	    const char *msg, size_t len, size_t size, inbound_result_t *, int *dup,
	    buf_t *err);
/* inbound_uidl_sync - uidls (a JSON array of strings: the server's list)
 * against the record of mailbox: *taken a new object {uidl: kind} of
 * those recorded; with prune (the list was the server's whole list) the
 * mailbox's rows the list lacks are deleted first (*pruned of them, one
 * transaction).  0, or -1 with err */
int	inbound_uidl_sync(store_t *, const char *mailbox, const json_t *uidls, int prune,
	    json_t **taken, int64_t *pruned, buf_t *err);
/* inbound_uidl_ok - 1 when s is a UIDL the record takes: 1 to
 * INBOUND_UIDL_MAX characters 0x21..0x7e (RFC 1939) */
int	inbound_uidl_ok(const char *s);
/* inbound_prune - delete up to INBOUND_PRUNE_ROWS messages received more
 * than inbound.keep_days before now (their outcomes stay): the number
 * deleted, or -1 */
int	inbound_prune(store_t *, const conf_t *, int64_t now);
/* inbound_list - the latest limit messages, newest first, as a new array
 * of {id, received, via, kind, token, action, from, subject, recipients};
 * kind NULL for all.  inbound_show - one as a new object with its report
 * and (raw) its kept text; *out NULL when there is no such message.
 * 0, or -1 (read-only; any handle). */
int	inbound_list(store_t *, const char *kind, int limit, json_t **out);
int	inbound_show(store_t *, int64_t id, int raw, json_t **out);
/* inbound_raw - the kept bytes of one message into out: 0, 1 when there
 * is no such message, -1 */
int	inbound_raw(store_t *, int64_t id, buf_t *out);
/* inbound_counts - the outcomes of the outbox rows (kind, ref) by class,
 * as a new object {hard, soft, sender, complaint, unsubscribe}; 0 or -1 */
int	inbound_counts(store_t *, const char *kind, const char *ref, json_t **out);
/* inbound_local - the local part of a configured address into out
 * ("bounces" of bounces@host) */
void	inbound_local(const char *addr, char *out, size_t max);

#endif
