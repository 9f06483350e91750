/*
 * client - a producer's side of the intake protocol ("Lazy Pirate").
 *
 * client_request() sends one request and waits for its reply; when no reply
 * comes within timeout_ms it closes the REQ socket (linger 0), opens a new
 * one and sends again, until total_ms have passed since the call began.
 * A worker restart is thus invisible to the caller.  The socket is kept
 * across successful requests.  Returns 0 with the reply in the caller's
 * buffer, or -1 when it gave up (the worker is unreachable).
 * client_set_timeout() changes the wait per try for the next requests:
 * total_ms makes a request that must not be sent twice (its effect is
 * not idempotent) one try; the intake's events and the control socket's
 * other ops are safe to resend (docs/control.md).
 */
#ifndef TIEDOTE_CLIENT_H
#define TIEDOTE_CLIENT_H

#include <stddef.h>

#include "buf.h"

typedef struct client client_t;

client_t *client_new(const char *endpoint, long timeout_ms, long total_ms);
int	  client_request(client_t *, const void *, size_t, buf_t *reply);
void	  client_set_timeout(client_t *, long timeout_ms);
void	  client_free(client_t *);

#endif
