/*
 * sender - the outbox, delivered: claim due rows, build each message,
 * hand it to SMTP, record the outcome.
 *
 * Before each sleep of the loop the sender claims due rows in small batches (a window of 64 ahead of
 * the connections) and submits each one's message when SMTP can take it
 * (connection slots and rate limit), built then unless it was built ahead
 * as the loop's idle work (at most one per connection ahead,
 * built again when held back more than 2 s, so that its Date is fresh);
 * memory holds only the window, those messages and the ones in flight.  The outcomes of one loop
 * turn are committed together at its end, so a crash can repeat only
 * messages that were in flight:
 *   250                      -> sent
 *   5xx                      -> failed, with the reply; a user-unknown
 *                               class reply (5.1.1 and kin) also suppresses
 *                               the address for every later send
 *   4xx, timeout, dropped    -> deferred, retried after smtp.retry_base_s
 *                               doubling to smtp.retry_max_s with +-20%
 *                               jitter, until smtp.max_age_hours after the
 *                               first attempt, then failed
 * With dkim.domain set every built message goes to the signing threads
 * (signq.h) and is submitted only once it is back signed; one that
 * cannot be signed fails (sign.h: the keys were checked at sender_new(),
 * which refuses them as a configuration error).
 * The sender uses its own store handle with synchronous=NORMAL: a commit
 * lost to a power cut can only make a message go out twice, never skip it.
 * sender_attach() registers the engine's sockets and timeouts, the claim
 * before each sleep and the building ahead with the worker's one loop.
 */
#ifndef TIEDOTE_SENDER_H
#define TIEDOTE_SENDER_H

#include <stdint.h>
#include <zmq.h>

#include "buf.h"
#include "conf.h"
#include "loop.h"
#include "message.h"
#include "metrics.h"
#include "store.h"

typedef struct sender sender_t;

/* sender_conf_check - the smtp.* settings as sender_new() takes them,
 * checked before anything is opened; 0 or -1 with err */
int	 sender_conf_check(const conf_t *, buf_t *err);
/* sender_new - borrows conf, store and msg, which must outlive it */
sender_t *sender_new(const conf_t *, store_t *, message_ctx_t *, buf_t *err);
void	 sender_free(sender_t *);
/* sender_dkim_reload - SIGHUP: the DKIM keys of conf for the messages
 * signed from now on (signq_reload()); 0 (also when not signing), or -1
 * with err and the keys in use kept */
int	 sender_dkim_reload(sender_t *, const conf_t *, buf_t *err);
int	 sender_attach(sender_t *, loop_t *);
int	 sender_inflight(sender_t *);
/* sender_release - no more claims; rows claimed but not yet handed to
 * SMTP go back to the queue at the next commit (at shutdown) */
void	 sender_release(sender_t *);
/* sender_recheck - after a write that may stop claimed rows (an issue
 * held or cancelled, a reader gone, a contact opted out): before this
 * turn ends, the rows claimed but not yet handed to SMTP go back to the
 * queue and are claimed again, as outbox_claim() judges them now (up to
 * WINDOW rows, one commit); those in flight finish */
void	 sender_recheck(sender_t *);
/* sender_finish - at shutdown, once nothing is in flight: the rows the
 * relay's breaker held back are recorded as they were classified */
void	 sender_finish(sender_t *);
/* sender_pending - outcomes not yet durable (held back, or waiting for a
 * commit that failed); the worker stops only when this is 0 */
int	 sender_pending(sender_t *);
/* sender_metrics - the counters of SMTP results, rows sent and relay
 * breaker changes (metrics.h; borrowed, NULL: none) */
void	 sender_metrics(sender_t *, metrics_t *);
/* sender_pause - on: no more claims (the disk is low); off: claim again */
void	 sender_pause(sender_t *, int on);
/* sender_wake - rows were just queued (an issue started): claim at the
 * next loop turn, not after the pause an empty outbox gets (IDLE_MS) */
void	 sender_wake(sender_t *);
/* sender_on_settled - fn(arg) after each commit of outcomes that left no
 * claimed row waiting or in flight: the worker marks a bulletin whose
 * rows are all final as sent there (bulletin_finish()); fn runs on the
 * loop's thread outside any transaction of the sender's store handle */
void	 sender_on_settled(sender_t *, void (*fn)(void *), void *arg);

#endif
