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
 *
 * client_curve() makes every socket from then on a CurveZMQ client: the
 * producer's own key pair from key_file (curvekey.h; refused when others
 * can read it) and the worker's public key from server_key_file, which
 * the handshake checks the worker against.  0, or -1 with one line in
 * err.  A worker that does not know the key never answers: the request
 * times out like one to a stopped worker (libzmq tells the client
 * nothing), so the caller sees -1 after total_ms.
 */
#ifndef TIEDOTE_CLIENT_H
#define TIEDOTE_CLIENT_H

#include <stddef.h>

#include "buf.h"

typedef struct client client_t;

client_t *client_new(const char *endpoint, long timeout_ms, long total_ms);
int	  client_request(client_t *, const void *, size_t, buf_t *reply);
void	  client_set_timeout(client_t *, long timeout_ms);
int	  client_curve(client_t *, const char *key_file, const char *server_key_file,
	    buf_t *err);
void	  client_free(client_t *);

#endif
