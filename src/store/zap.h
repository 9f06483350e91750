/*
 * zap - who may produce: the ZeroMQ authentication (ZAP, ZeroMQ RFC 27)
 * handler of the intake's CurveZMQ, with an allow-list of producer keys.
 *
 * With intake.key_file set, the intake is a CURVE server (intake.c) and
 * libzmq asks this handler about every new connection, by a request on
 * inproc://zeromq.zap.01 in the worker's context.  The handler is a REP
 * socket in the worker's one loop, not a thread of its own: libzmq does
 * not need one (a handshake waits for the reply without blocking anything
 * but that connection), and in the loop the allow-list has one reader and
 * one writer, the same thread, so a reload needs no lock.  A handshake
 * waits while the loop is busy with one long turn (an import of 100,000
 * rows, under a second).
 *
 * The allow-list is every *.key file (curvekey.h, public keys only) in
 * intake.producer_keys, read at zap_open() and again at zap_reload()
 * (SIGHUP): a key added or removed takes effect then.  A reload that
 * finds a bad file keeps the old list whole and says which file; an empty
 * directory is a valid, empty list (nobody may produce).  Replies:
 *   CURVE, domain "intake", key listed   200, User-Id = the key in Z85
 *   CURVE, key not listed                400, one log line per key (until
 *                                        the next reload), no reply ever
 *                                        reaches the producer: libzmq
 *                                        closes the connection
 *   NULL mechanism, another domain       200 (the control socket, ipc://,
 *                                        guarded by its file mode)
 *   anything else                        400
 * zap_allowed() says whether a request's User-Id is still on the list:
 * the intake drops requests of a key removed since its connection was
 * made, so a removal also stops producers already connected.
 *
 * Ownership: the handler owns its socket and list; it borrows the context
 * and the loop.  Errors: zap_open() NULL, zap_reload() -1, with one line
 * in err.  Threads: the loop's.
 */
#ifndef TIEDOTE_ZAP_H
#define TIEDOTE_ZAP_H

#include "buf.h"
#include "conf.h"
#include "loop.h"

#define ZAP_DOMAIN	"intake"	/* the intake socket's ZMQ_ZAP_DOMAIN */
#define ZAP_KEYS_MAX	10000		/* producer keys in the directory */

typedef struct zap zap_t;

zap_t	*zap_open(void *zmq_ctx, const conf_t *, buf_t *err);
int	 zap_attach(zap_t *, loop_t *);
int	 zap_reload(zap_t *, buf_t *err);
int	 zap_allowed(const zap_t *, const char *user_id);
/* zap_count - keys on the list */
int	 zap_count(const zap_t *);
void	 zap_close(zap_t *);

#endif
