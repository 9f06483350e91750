/*
 * intake - the ZeroMQ front door of tiedoted.
 *
 * Binds a ROUTER socket on the configured endpoint.  intake_process()
 * drains what has arrived (up to batch_max requests), validates each with
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
#include "store.h"

typedef struct intake intake_t;

intake_t *intake_open(void *zmq_ctx, const conf_t *, store_t *, buf_t *err);
void	 *intake_socket(intake_t *);	/* for zmq_poll */
/* intake_process - handle what is waiting; returns the number of requests
 * handled, -1 on a socket error */
int	  intake_process(intake_t *);
void	  intake_close(intake_t *);

#endif
