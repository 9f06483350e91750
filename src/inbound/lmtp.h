/*
 * lmtp - the worker's LMTP listener (RFC 2033) for inbound mail: what
 * Postfix's lmtp(8) transport, or any MTA, hands over for the bounce and
 * unsubscribe addresses.
 *
 * lmtp_open() binds inbound.lmtp_listen: "HOST:PORT" ("[::1]:2424" for
 * IPv6) or a UNIX socket path (a name with a '/'; made mode 0660, a stale
 * file removed first).  lmtp_attach() puts the listener in the loop; each
 * session's descriptor joins the loop too, non-blocking, so a slow client
 * never stops the worker.  A session speaks LHLO, MAIL, RCPT (at most
 * LMTP_RCPT_MAX), DATA, RSET, NOOP, QUIT (and VRFY, 252), with
 * PIPELINING, ENHANCEDSTATUSCODES, 8BITMIME and SIZE.  After DATA it
 * answers once per accepted recipient, in RCPT order: 250 only after
 * inbound_accept() committed the message for that recipient (the
 * envelope recipient decides whose token it is); 451 4.3.0 when it could
 * not commit (disk full, store locked: the MTA keeps the message and
 * tries again); 552 over inbound.max_message_kb.  Sessions idle longer
 * than LMTP_IDLE_S, and the ones past LMTP_SESSIONS_MAX, are closed with
 * 421; one that takes none of its replies (more than a MiB waiting) is
 * closed at the next idle check but one.  Command lines longer than
 * LMTP_LINE_MAX get 500.  DATA ends only at <CRLF>.<CRLF> and a dot is
 * unstuffed only after a CRLF: a bare LF is data (RFC 5321 4.1.1.4), so
 * no message can carry another past a relay that ends lines otherwise.
 *
 * Ownership: borrows the store and conf; lmtp_close() closes every
 * socket (and removes a UNIX socket file).  lmtp_pause() stops taking
 * connections (shutdown); sessions under way finish.  Threads: the
 * loop's.  BUGS: no STARTTLS or AUTH: listen on loopback or a UNIX
 * socket, as Postfix's lmtp client to a local service does.
 */
#ifndef TIEDOTE_LMTP_H
#define TIEDOTE_LMTP_H

#include "buf.h"
#include "conf.h"
#include "loop.h"
#include "store.h"

#define LMTP_SESSIONS_MAX	8	/* at once; loop.h has LOOP_MAX_IO slots */
#define LMTP_RCPT_MAX		100	/* recipients of one transaction */
#define LMTP_LINE_MAX		2048	/* a command line */
#define LMTP_IDLE_S		300	/* RFC 5321's server timeout is 5 min */

typedef struct lmtp lmtp_t;

/* lmtp_conf_check - inbound.lmtp_listen reads as a socket path or
 * HOST:PORT with a port 1-65535 (nothing bound, no name resolved): 0,
 * or -1 with err; before the store opens */
int	 lmtp_conf_check(const conf_t *, buf_t *err);
/* lmtp_open - NULL with err; *none set (and NULL) when lmtp_listen is empty */
lmtp_t	*lmtp_open(const conf_t *, store_t *, int *none, buf_t *err);
int	 lmtp_attach(lmtp_t *, loop_t *);
void	 lmtp_pause(lmtp_t *);
/* lmtp_on_stored - fn(arg) after each transaction that committed a
 * bounce, complaint or unsubscribe (the worker has the sender judge its
 * claimed rows again, as after a write through the control socket) */
void	 lmtp_on_stored(lmtp_t *, void (*fn)(void *), void *arg);
void	 lmtp_close(lmtp_t *);

#endif
