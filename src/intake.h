/*
 * intake - the ZeroMQ front door of tiedoted.
 *
 * Binds a ROUTER socket on the configured endpoint.  When the loop finds
 * it readable, the intake drains what has arrived (up to batch_max requests), validates each with
 * event_parse(), stores all valid ones in ONE transaction (group commit)
 * and only after the commit replies to each producer: ok, duplicate or
 * error, as queue/README.md specifies.  If the commit fails nothing of the
 * batch is stored and every valid request gets "unavailable".  Invalid
 * input gets an error reply and one log line; nothing about a request can
 * crash the worker.  The intake borrows the store; the caller owns both.
 */
#ifndef TIEDOTE_INTAKE_H
#define TIEDOTE_INTAKE_H

#include "buf.h"
#include "conf.h"
#include "loop.h"
#include "store.h"

typedef struct intake intake_t;

intake_t *intake_open(void *zmq_ctx, const conf_t *, store_t *, buf_t *err);
/* intake_attach - its socket joins the loop; intake_pause - no more
 * requests are read (at shutdown; what was read has been answered) */
int	  intake_attach(intake_t *, loop_t *);
void	  intake_pause(intake_t *);
void	  intake_close(intake_t *);

#endif
