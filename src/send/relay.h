/*
 * relay - the circuit breaker of the one relay: whose fault a failed
 * delivery is, and whether sending pauses.
 *
 * relay_scope() reads one delivery's result:
 *   RELAY_SCOPE_OK         delivered
 *   RELAY_SCOPE_RECIPIENT  a reply to RCPT, or a reply to "." that names
 *                          the recipient: the reader's row takes it
 *   RELAY_SCOPE_MESSAGE    a reply to "." that names nobody (content,
 *                          size): the row takes it, and a run of them is
 *                          the relay's (below)
 *   RELAY_SCOPE_SEQUENCE   503, or a reply that cannot answer the command
 *                          (1xx, 3xx to RCPT): the conversation went out
 *                          of step; the row is tried again uncharged, on a
 *                          session without pipelining
 *   RELAY_SCOPE_RELAY      a refusal at the greeting, EHLO, STARTTLS, AUTH
 *                          or MAIL FROM, or of our sender at RCPT (X.1.7,
 *                          X.1.8, or "sender address ..." in a reply not
 *                          naming the recipient), a 421 anywhere, or no
 *                          reply at all (timeout, dropped, refused
 *                          connection): about us or the relay, never
 *                          about the reader
 *
 * relay_outcome() feeds one result to the breaker and says what becomes of
 * the row (relay_verdict_t) and of the rows it holds back.  A timeout or
 * drop that does not open the breaker is recorded (deferred, with
 * backoff): it may be the message's own doing, and a message the relay
 * chokes on must not come back at once for ever; one before the message
 * began (stage CONNECT: a connection refused while the relay restarts)
 * cannot be, and goes back uncharged.  Recorded too is one after the
 * content went out (stage DATA) even when it opens the breaker: the
 * message may have been delivered, and is not sent again at once.  The breaker
 * opens - sending pauses - on a refusal, on RELAY_TIMEOUT_RUN timeouts or
 * dropped sessions in a row, and on the same failure (code and enhanced
 * status) for RELAY_SAME_RUN different recipients in a row.  While such a
 * run may still become one, its rows are held back, not recorded: when the
 * run breaks (a delivery, another failure) they are recorded as they were;
 * when it opens the breaker they go back to the queue uncharged, like every
 * row the relay failed.  So a relay that refuses everything charges no
 * reader anything.  Open, relay_may_send() says no until the next probe
 * (RELAY_PROBE_FIRST_MS doubling to RELAY_PROBE_MAX_MS); then it lets one
 * message through (half-open) and the breaker closes when that one is
 * delivered, or opens again with a longer wait.
 *
 * A probe whose conversation went out of step is repeated at once.  A
 * relay that goes out of step RELAY_SEQUENCE_RUN times in a row (probes
 * included) opens the breaker: its rows would otherwise come back at once
 * for ever, uncharged, each on a new session.
 * Times are clock_mono_ms() values passed in; nothing here reads a clock,
 * so tests drive it exactly.  Ownership: the caller's struct; strings
 * passed in are copied.  Threads: one.
 */
#ifndef TIEDOTE_RELAY_H
#define TIEDOTE_RELAY_H

#include <stdint.h>

#include "smtp.h"

#define RELAY_TIMEOUT_RUN	3	/* timeouts or drops in a row */
#define RELAY_SAME_RUN		5	/* the same failure, different recipients */
#define RELAY_SEQUENCE_RUN	10	/* replies out of step in a row */
#define RELAY_PROBE_FIRST_MS	1000
#define RELAY_PROBE_MAX_MS	(5 * 60 * 1000)
#define RELAY_HOLD_MS		2000	/* a run that does not grow for this long is recorded */

typedef enum {
	RELAY_SCOPE_OK,
	RELAY_SCOPE_RECIPIENT,
	RELAY_SCOPE_MESSAGE,
	RELAY_SCOPE_SEQUENCE,
	RELAY_SCOPE_RELAY
} relay_scope_t;

typedef enum {
	RELAY_CLOSED,		/* sending */
	RELAY_OPEN,		/* paused until the next probe */
	RELAY_PROBING		/* one message out to see whether it answers */
} relay_state_t;

typedef enum {
	RELAY_RECORD,		/* record the row's outcome as classified */
	RELAY_HOLD,		/* keep it back: a run that may be the relay's */
	RELAY_REQUEUE		/* back to the queue, no attempt charged */
} relay_verdict_t;

/* what to do with the rows held back before this result */
typedef enum {
	RELAY_HELD_KEEP,	/* nothing yet */
	RELAY_HELD_RECORD,	/* record them now, in the order they came */
	RELAY_HELD_REQUEUE	/* back to the queue uncharged */
} relay_held_t;

typedef struct relay {
	relay_state_t state;
	int	 timeouts;		/* in a row */
	int	 sequences;		/* replies out of step in a row */
	int	 same;			/* rows in the current run of one failure */
	int	 same_code;		/* -1: none */
	char	 same_status[16];
	int64_t	 held_since;		/* when the current run last grew */
	char	 last_rcpt[320];
	int64_t	 probe_at;		/* OPEN: when to let one through */
	int64_t	 probe_wait;		/* the wait before it */
	int	 opened;		/* times opened since the last close */
	char	 reason[512];		/* the reply that opened it */
} relay_t;

void	relay_init(relay_t *);
relay_scope_t relay_scope(const smtp_result_t *, const char *rcpt);
relay_verdict_t relay_outcome(relay_t *, const smtp_result_t *, const char *rcpt,
	    int64_t now_ms, relay_held_t *held);
/* relay_expire - RELAY_HELD_RECORD once a run has held its rows for
 * RELAY_HOLD_MS without growing (no more results came to decide it) */
relay_held_t relay_expire(relay_t *, int64_t now_ms);
/* relay_may_send - 1 when a message may be handed to the relay now (OPEN
 * turns PROBING when the wait is over: one message, then 0 until its
 * result); ask it only with a message in hand that goes at once */
int	relay_may_send(relay_t *, int64_t now_ms);
/* relay_unprobe - the message relay_may_send() let through as the probe
 * never went (the engine refused it): the next one may be the probe */
void	relay_unprobe(relay_t *);
/* relay_state_name - "closed", "open", "probing" */
const char *relay_state_name(relay_state_t);

#endif
