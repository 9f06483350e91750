/*
 * intake - the ZeroMQ front door of tiedoted.
 *
 * Binds a ROUTER socket on the configured endpoint.  It drains what has
 * arrived (up to batch_max requests), validates each with
 * event_parse(), stores all valid ones in ONE transaction (group commit)
 * and only after the commit replies to each producer: ok, duplicate or
 * error, as queue/README.md specifies.  If the commit fails nothing of the
 * batch is stored and every valid request gets "unavailable".  Invalid
 * input gets an error reply and one log line; nothing about a request can
 * crash the worker.  While the worker is short of disk space
 * (intake_disk_low()) every valid request gets "unavailable" at once,
 * without a try at the commit; a commit that fails for a full store
 * (store_full()) calls the on_full callback, so the worker looks at the
 * space at once instead of at its next tick.  The intake borrows the
 * store; the caller owns both.  intake_metrics() names the counters each
 * reply is counted in (metrics.h; borrowed, NULL: none).
 *
 * Threads: the loop's thread alone touches the store, the clock, the
 * allow-list and the counters.  The ROUTER socket has one owner at a
 * time, which reads requests, validates them (event_parse(), the
 * canonical form) and sends the replies.  After intake_attach() it is the
 * loop's: a lone request (a lock-step producer) is read, stored, committed
 * and answered in one turn, with no thread hand-over.  When more than one
 * request was waiting, the socket goes to the intake's own thread (which
 * parses on the arena of arena.h): it hands each batch to the loop over
 * an inproc pipe and sends the replies once the loop gives it back
 * committed, and while the loop commits one batch it reads and validates
 * the next.  When a batch of one comes back and nothing was read
 * meanwhile, the socket goes back to the loop.  Either way replies go out
 * only after their batch's commit.  The thread has two batches, each
 * with one thread at a time; the loop reads into a third of its own.
 * intake_pause() stops the reading; what was read is still stored and
 * answered while the loop runs, and intake_paused() is then true.
 * intake_close() stops and joins the thread; requests it read that no
 * commit took get no reply (nothing of them was stored), as after a
 * crash.  Before the socket closes, what still comes is read and dropped
 * without a reply until none has come for 100 ms (1 s at most), so that
 * the last replies are not lost to a reset connection.
 *
 * CurveZMQ: with intake.key_file set the socket is a CURVE server with
 * that secret key (refused when others can read the file) and the ZAP
 * domain "intake"; the worker binds the ZAP handler (zap.h) first and
 * hands it over with intake_zap(), and a request whose User-Id is no
 * longer on the handler's list (a key removed at SIGHUP while its
 * producer stayed connected) is dropped without a reply, like one from
 * an unknown key.  intake_conf_check() refuses a tcp:// endpoint on a
 * non-loopback address without CURVE unless intake.allow_plain is set:
 * any host that can reach the port could then enqueue.
 */
#ifndef TIEDOTE_INTAKE_H
#define TIEDOTE_INTAKE_H

#include "buf.h"
#include "conf.h"
#include "loop.h"
#include "metrics.h"
#include "store.h"

typedef struct intake intake_t;

/* intake_conf_check - 0, or -1 with one line in err naming the key */
int	  intake_conf_check(const conf_t *, buf_t *err);
intake_t *intake_open(void *zmq_ctx, const conf_t *, store_t *, buf_t *err);
/* intake_zap - the ZAP handler whose list requests are checked against */
struct zap;
void	  intake_zap(intake_t *, const struct zap *);
/* intake_attach - the pipe joins the loop and the thread starts;
 * intake_pause - no more requests are read (at shutdown); intake_paused -
 * and every one read before has been stored and answered */
int	  intake_attach(intake_t *, loop_t *);
void	  intake_pause(intake_t *);
int	  intake_paused(const intake_t *);
/* intake_disk_low - on: "unavailable" to every event, nothing tried */
void	  intake_disk_low(intake_t *, int on);
/* intake_on_full - fn(arg) after a commit failed with a full store */
void	  intake_on_full(intake_t *, void (*fn)(void *), void *arg);
/* intake_on_revision - fn(arg) after a commit that stored a new revision
 * of an event (a cancel, a narrower list of projects): the worker has the
 * messages already claimed for it judged again before they go */
void	  intake_on_revision(intake_t *, void (*fn)(void *), void *arg);
void	  intake_metrics(intake_t *, metrics_t *);
void	  intake_close(intake_t *);

#endif
