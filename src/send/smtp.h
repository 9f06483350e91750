/*
 * smtp - deliver messages through one relay with libcurl.
 *
 * An smtp_t keeps up to `connections` SMTP sessions to one relay and reuses
 * each across many messages.  smtp_submit() queues one message for one
 * recipient and takes ownership of its data, which must already be a
 * finished RFC 5322 message with CRLF line ends: it is sent as-is, the
 * engine adds only the dot-stuffing and the final ".".  The outcome
 * arrives later through the done callback, called from smtp_process() in
 * the caller's thread exactly once per accepted message (never from
 * smtp_submit(), never after smtp_free()).  The callback may submit more
 * messages; it must not call smtp_free().  An smtp_t is used from one
 * thread, the caller's, and starts none.
 *
 * Nothing the caller calls waits on the relay: libcurl opens each session
 * (connect, greeting, EHLO, STARTTLS, AUTH) on a multi handle with
 * CURLOPT_CONNECT_ONLY, and the transactions run on the session's
 * non-blocking socket (MAIL, RCPT and DATA pipelined when the relay offers
 * PIPELINING).  The caller's event loop polls the descriptors from
 * smtp_pollitems(); smtp_timeout_ms() says when a timer is due (libcurl's,
 * a message's timeout, a rate limit letting more through), smtp_process()
 * reads, writes and delivers the results.
 *
 * TLS: in auto mode (tls = 0) STARTTLS is required unless the relay is on a
 * loopback address (127.0.0.0/8, ::1, localhost); tls = 1 always requires
 * it, tls = -1 never asks for it.  smtps:// is TLS from the first byte.
 * Rate limits are token buckets read from clock_now_ms(), so tests can move
 * them; each starts full, holding a second's or an hour's worth (so the
 * first hour after a start may see up to twice rate_per_hour), and
 * smtp_ready() counts them with the free connection slots.
 *
 * A session that has carried max_per_session messages is ended with QUIT
 * (written, not waited for) when the next message comes for its slot,
 * which then opens a new session: relays limit messages per connection,
 * and a limit of our own keeps one session from carrying a whole issue.
 * A failed transaction ends its session without QUIT (a pipelined DATA
 * may still be answered with 354, so nothing more is written); the next
 * message opens a new one.  A message whose reused session turns out to
 * be closed before any reply to it, or answers its MAIL with 421 (a
 * relay's session limit or idle timeout), is tried once more on a new
 * session.
 *
 * BUGS: smtp_free() cuts a session that waits for the reply to "." like
 * any other: the relay may deliver that message, and no callback says so
 * (the caller sends it again).  SIZE is not declared in MAIL FROM.
 */
#ifndef TIEDOTE_SMTP_H
#define TIEDOTE_SMTP_H

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "buf.h"

#define SMTP_CONNECTIONS_DEFAULT	4
#define SMTP_CONNECTIONS_MAX		64
#define SMTP_TIMEOUT_DEFAULT		60000L
#define SMTP_DOT_TIMEOUT_DEFAULT	600000L
/* a session's output: its commands and the dot-stuffed message (sender.c
 * builds messages of at most 16 MiB, which stuffing cannot double) */
#define SMTP_OUT_MAX			((size_t)64 << 20)

typedef struct smtp_conf {
	const char *url;	/* "smtp://127.0.0.1:2525", "smtps://host:465" */
	int	 connections;	/* parallel sessions, 0 = default 4 */
	int	 max_per_session; /* messages a session carries before it
				 * ends with QUIT, 0 = no limit */
	double	 rate_per_sec;	/* messages per second, 0 = unlimited */
	long	 rate_per_hour;	/* messages per hour, 0 = unlimited */
	int	 tls;		/* 0 auto, 1 require STARTTLS, -1 never */
	const char *auth_file;	/* NULL, or "user:password" on the first line;
				 * refused when group or others may read it */
	long	 timeout_ms;	/* whole transaction per message, 0 = 60000 */
	long	 dot_timeout_ms; /* at least this for the reply to the final
				 * ".", counted from the relay's 354,
				 * 0 = 600000 (RFC 5321 4.5.3.2.6: the
				 * relay may be scanning; giving up there
				 * can deliver the message twice) */
	const char *helo;	/* EHLO name, NULL = the host name */
	const char *ca_file;	/* NULL, or a PEM file of the CAs that may sign
				 * the relay's certificate instead of the
				 * system's; refused when unreadable */
	size_t	 out_max;	/* a session's output ceiling, 0 = SMTP_OUT_MAX:
				 * a message that does not fit dot-stuffed
				 * fails (code 0, "does not fit") and its
				 * session closes before the final ".", so
				 * nothing truncated is ever delivered */
} smtp_conf_t;

/* where a delivery ended */
enum {
	SMTP_STAGE_CONNECT,	/* connect, greeting, EHLO, STARTTLS, AUTH */
	SMTP_STAGE_MAIL,
	SMTP_STAGE_RCPT,
	SMTP_STAGE_DATA,	/* DATA, the content or the reply to "." */
	SMTP_STAGE_DONE		/* delivered: code is 250 */
};

typedef struct smtp_result {
	int	 code;		/* the final reply code (250, 451, 550), or 0
				 * when the server gave none: refused,
				 * dropped, timed out, TLS failure */
	char	 enhanced[16];	/* "5.1.1" when the reply had one, else "" */
	char	 text[512];	/* the final reply as sent ("550 5.1.1 User
				 * unknown", lines joined by a space), or
				 * libcurl's error text when code is 0 */
	int	 stage;		/* SMTP_STAGE_* */
	int	 out_of_step;	/* 503, or a reply no such command can have
				 * (code is then 0, text says which): the
				 * conversation lost its order; the engine
				 * pipelines no more from then on */
	int	 dot_sent;	/* the content and its final "." had gone out:
				 * whatever came back, or did not, the
				 * message may have been delivered */
} smtp_result_t;

typedef struct smtp smtp_t;
/* the result is borrowed for the duration of the call */
typedef void (*smtp_done_cb)(void *arg, uint64_t id, const smtp_result_t *);

/* smtp_conf_check - 0, or -1 with the reason in err: URL not smtp:// or
 * smtps://, credentials or a path in the URL, a limit out of range */
int	 smtp_conf_check(const smtp_conf_t *, buf_t *err);
/* smtp_tls_required - 1 when this configuration insists on TLS */
int	 smtp_tls_required(const smtp_conf_t *);

/* smtp_new - NULL with the reason in err (also an unreadable or too open
 * auth file); the conf is copied */
smtp_t	*smtp_new(const smtp_conf_t *, smtp_done_cb, void *arg, buf_t *err);
/* smtp_free - aborts transfers in flight without calling back and
 * without the "." that would end their message, frees their data (also of
 * results not yet delivered), QUITs idle sessions but waits at most half a
 * second for the replies; NULL is fine */
void	 smtp_free(smtp_t *);

/* smtp_submit - one message for one recipient.  On 0 the engine owns data
 * (free()d when done).  On -1 the caller keeps it: errno EAGAIN when no
 * slot or rate token is free now (see smtp_ready()), EINVAL when an address
 * is unusable (control characters, longer than 512 bytes). mail_from ""
 * is the null sender <>. */
int	 smtp_submit(smtp_t *, uint64_t id, const char *mail_from,
	    const char *rcpt_to, char *data, size_t len);
/* smtp_ready - how many more messages smtp_submit() takes now */
int	 smtp_ready(smtp_t *);
int	 smtp_inflight(smtp_t *);

/* smtp_pollitems - fill items[0..max) with what to poll (socket NULL, fd,
 * events) and return how many there are, which may be more than max (then
 * only max were filled): one per open session, and libcurl's sockets of a
 * session being opened, one unless it tries two addresses side by side;
 * connections + 2 is enough but for that */
int	 smtp_pollitems(smtp_t *, zmq_pollitem_t *items, int max);
/* smtp_timeout_ms - how long the poll may sleep: the time to the next
 * timer (libcurl's while it connects, a message's timeout, a rate limit's
 * next token when it holds back free slots), 0 when results wait for
 * smtp_process(), -1 when nothing is due */
long	 smtp_timeout_ms(smtp_t *);
/* smtp_process - after zmq_poll: act on the items filled by
 * smtp_pollitems (others in the array are ignored); completion callbacks
 * fire from here.  Never waits on the network.  A lone result may be
 * held back for up to a millisecond while at least as many messages are
 * still in flight, so that callers recording each call's results in one
 * transaction pay for fewer; a held result's slot takes no message
 * (smtp_timeout_ms() wakes the poll for it). */
void	 smtp_process(smtp_t *, const zmq_pollitem_t *items, int n);

#endif
