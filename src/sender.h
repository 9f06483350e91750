/*
 * sender - the outbox, delivered: claim due rows, build each message,
 * hand it to SMTP, record the outcome.
 *
 * sender_pump() claims due rows in small batches (a window of 64 ahead of
 * the connections) and submits each one's message when SMTP can take it
 * (connection slots and rate limit), built then unless sender_ahead() built
 * it while the loop had nothing to do (at most one per connection ahead,
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
 * The sender uses its own store handle with synchronous=NORMAL: a commit
 * lost to a power cut can only make a message go out twice, never skip it.
 * The engine's sockets join the worker's one poll (sender_pollitems()).
 */
#ifndef TIEDOTE_SENDER_H
#define TIEDOTE_SENDER_H

#include <stdint.h>
#include <zmq.h>

#include "buf.h"
#include "conf.h"
#include "message.h"
#include "store.h"

typedef struct sender sender_t;

/* sender_new - borrows conf, store and msg, which must outlive it */
sender_t *sender_new(const conf_t *, store_t *, message_ctx_t *, buf_t *err);
void	 sender_free(sender_t *);
int	 sender_pump(sender_t *, int64_t now);
int	 sender_inflight(sender_t *);
/* sender_ahead - build the message of the next row that will go, while
 * the loop has nothing else to do (so a freed connection gets it at
 * once); sender_ahead_pending() says whether there is one to build */
void	 sender_ahead(sender_t *);
int	 sender_ahead_pending(sender_t *);
/* sender_release - rows claimed but not yet handed to SMTP go back to the
 * queue (at shutdown) */
void	 sender_release(sender_t *);
int	 sender_pollitems(sender_t *, zmq_pollitem_t *, int max);
long	 sender_timeout_ms(sender_t *);
void	 sender_process(sender_t *, const zmq_pollitem_t *, int n);

#endif
