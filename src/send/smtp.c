/*
 * smtp - delivery through one relay, in the caller's event loop; contract
 * in smtp.h.
 *
 * Who does what.  libcurl opens each session: resolve, connect, greeting,
 * EHLO, STARTTLS, AUTH, all of it non-blocking on a multi handle with
 * CURLOPT_CONNECT_ONLY.  From then on the session is ours: the
 * transactions go through curl_easy_send() and curl_easy_recv() (which
 * keep TLS libcurl's business) on the non-blocking socket, polled in the
 * caller's loop like any other descriptor.  libcurl's own SMTP transfer
 * is not used because it waits blocking for the reply to each message's
 * final "." and to the QUIT after a failure, even on the multi interface
 * (curl issues #8555, #4015); driving it from threads instead cost a
 * thread wake-up and an eventfd round per message and more CPU in
 * libcurl's per-transfer setup than the transfer itself (bench/smtp).
 *
 * Each slot has its own multi handle, so its connection cache holds its
 * session alone: libcurl's pruning of idle connections, which looks at
 * the connections of its own cache only, never touches another slot's
 * session.  The easy handle stays in its multi while the session lives
 * (curl_easy_send() finds the connection through it); removing it closes
 * the session at once, without a QUIT, which is how a session ends after
 * a failure and how smtp_free() cuts a transfer: no "." ever follows a
 * message that was not sent whole.
 *
 * A transaction.  With PIPELINING in the relay's (last) EHLO reply, MAIL,
 * RCPT and DATA go out together (RFC 2920), then after 354 the content,
 * dot-stuffed, with the final ".": two round trips per message.  Without
 * it, one command at a time.  The next message's MAIL could follow the
 * "." in the same write (RFC 2920 allows it) and save a round trip, but
 * a relay that delays its reply to "." (smtp-sink -W) was seen to answer
 * the commands behind it first, and a reply taken for the wrong command
 * would report a message sent that was not.  Replies are read in order; the first that
 * is not the one expected ends the transaction with that reply and the
 * session with it (a pipelined DATA might still be answered with 354, so
 * nothing more may be written).  The reply text is collected as libcurl's
 * debug callback showed it before: lines joined by a space, control bytes
 * as '?'.  During the connect the debug callback still does that, and
 * notes which extensions the EHLO reply offered.
 *
 * Time.  A message has timeout_ms from the moment it reaches a slot,
 * connect included (the connect transfer gets the rest as its own
 * timeout), and at least dot_timeout_ms from the relay's 354 for the
 * reply to its "."; the deadlines run on CLOCK_MONOTONIC and smtp_timeout_ms()
 * wakes the poll for them and for libcurl's timers.  The rate limiter
 * runs on clock_now_ms(), so a test can give or withhold tokens by moving
 * the clock.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "clock.h"
#include "log.h"
#include "secret.h"
#include "smtp.h"
#include "util.h"

#define ADDR_MAX	512
/* how long smtp_free() lets idle sessions wait for the reply to QUIT */
#define QUIT_WAIT_MS	500
/* sockets libcurl may have open for a slot while it connects: one, or
 * two tried side by side (happy eyeballs) */
#define SLOT_FDS	4
/* received and not yet parsed; a longer reply line is cut */
#define IN_MAX		4096
/* how long a lone result may wait for company, see smtp_process() */
#define HOLD_US		1000

enum { SL_CLOSED, SL_CONNECTING, SL_OPEN };

/* the reply a transaction waits for next */
enum { W_NONE, W_MAIL, W_RCPT, W_DATA, W_DOT };

struct slot {
	smtp_t	*smtp;
	CURL	*easy;
	CURLM	*multi;			/* this slot's alone */
	int	 state;			/* SL_* */
	curl_socket_t fd;		/* the session's, when open */
	struct {
		curl_socket_t fd;
		int	 what;		/* CURL_POLL_*, 0: free */
	} socks[SLOT_FDS];		/* libcurl's, while it connects */
	int64_t	 curl_due;		/* monotonic ms of libcurl's timer, -1 none */
	int	 pipelining, utf8;	/* offered in the last EHLO reply */
	int	 ehlo;			/* the EHLO reply is being read */
	int	 carried;		/* messages begun on this session */
	/* the message */
	int	 busy;			/* submitted, result not yet delivered */
	int	 done;			/* result ready, on the done list */
	uint64_t id;
	char	*data;			/* owned */
	size_t	 len;
	buf_t	 from, rcpt;
	int64_t	 deadline;		/* monotonic ms */
	int	 reused;		/* on a session that carried another */
	int	 retried;		/* ... which failed under it: a new one */
	int	 wait;			/* W_*: the reply expected next */
	int	 sent;			/* W_*: commands written up to this one */
	buf_t	 out;			/* to write */
	size_t	 out_off;
	char	 in[IN_MAX];
	size_t	 in_len;
	/* the reply being read */
	int	 reply_open, reply_code;
	int	 skipping;	/* the tail of a line cut at IN_MAX: dropped */
	size_t	 reply_len;
	char	 reply[512];
	char	 errbuf[CURL_ERROR_SIZE];
	smtp_result_t result;
	struct slot *next;		/* on the done list */
};

/* a token bucket; rate in tokens per millisecond, 0 = unlimited */
struct bucket {
	double	 rate, cap, tokens;
};

struct smtp {
	smtp_done_cb cb;
	void	*arg;
	struct slot *slots;
	int	 nslots, nbusy;
	int	*freelist, nfree;
	struct slot *done, **done_tail;	/* results not yet delivered */
	int	 ndone;			/* ... how many */
	int64_t	 done_since;		/* monotonic us of the first */
	struct bucket per_sec, per_hour;
	int64_t	 rate_at;		/* clock_now_ms() of the last refill */
	long	 timeout;		/* ms per message */
	long	 dot_timeout;		/* ms at least for the reply to "." */
	int	 max_per_session;	/* 0: no limit */
	int	 no_pipelining;		/* a reply came out of order once */
	int	 plain;			/* no TLS: what the socket holds is all
					 * there is to read */
	char	*url, *ca_file;
	char	*user, *pass;
};

/* curl_init - once per process; libcurl's global state lives as long */
static void
curl_init(void)
{
	static int done;

	if (!done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			fatal("curl_global_init failed");
		done = 1;
	}
}

/* host_is_loopback - 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104, localhost
 * (libcurl never asks DNS for "localhost") */
static int
host_is_loopback(const char *host)
{
	unsigned char a[16];
	char tmp[64];
	size_t n;

	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, a) == 1)
		return a[0] == 127;
	if (host[0] != '[' || (n = strcspn(host + 1, "]%")) >= sizeof tmp)
		return 0;
	memcpy(tmp, host + 1, n);
	tmp[n] = '\0';
	if (inet_pton(AF_INET6, tmp, a) != 1)
		return 0;
	if (IN6_IS_ADDR_LOOPBACK((struct in6_addr *)a))
		return 1;
	return IN6_IS_ADDR_V4MAPPED((struct in6_addr *)a) && a[12] == 127;
}

/* url_parse - scheme and host of an acceptable relay URL (caller frees
 * both with curl_free), or -1 with the reason in err */
static int
url_parse(const char *url, char **scheme, char **host, buf_t *err)
{
	CURLU *u = curl_url();
	char *part = NULL;
	int rc = -1;

	*scheme = *host = NULL;
	if (url == NULL || *url == '\0') {
		buf_notef(err, "smtp: no relay URL");
		goto out;
	}
	/* libcurl would guess at "smtp:/host" or a bare "host:25"; we do not */
	if ((strncasecmp(url, "smtp://", 7) != 0 && strncasecmp(url, "smtps://", 8) != 0) ||
	    curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, host, 0) != CURLUE_OK) {
		buf_notef(err, "smtp: relay URL \"%s\" is not smtp://host[:port] or "
		    "smtps://host[:port]", url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK) {
		buf_notef(err, "smtp: relay URL \"%s\": credentials belong in "
		    "auth_file, not in the URL", url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PATH, &part, 0) == CURLUE_OK &&
	    strcmp(part, "/") != 0 && *part != '\0') {
		buf_notef(err, "smtp: relay URL \"%s\": no path expected (the EHLO "
		    "name is set with helo)", url);
		goto out;
	}
	curl_free(part);
	part = NULL;
	if (curl_url_get(u, CURLUPART_QUERY, &part, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_FRAGMENT, &part, 0) == CURLUE_OK) {
		buf_notef(err, "smtp: relay URL \"%s\": no query or fragment "
		    "expected", url);
		goto out;
	}
	rc = 0;
out:
	curl_free(part);
	if (rc < 0) {
		curl_free(*scheme);
		curl_free(*host);
		*scheme = *host = NULL;
	}
	curl_url_cleanup(u);
	return rc;
}

int
smtp_conf_check(const smtp_conf_t *c, buf_t *err)
{
	char *scheme = NULL, *host = NULL;
	int rc = -1;

	curl_init();
	if (url_parse(c->url, &scheme, &host, err) < 0)
		goto out;
	if (c->connections < 0 || c->connections > SMTP_CONNECTIONS_MAX) {
		buf_notef(err, "smtp: connections must be 1..%d, not %d",
		    SMTP_CONNECTIONS_MAX, c->connections);
		goto out;
	}
	if (!(c->rate_per_sec >= 0 && c->rate_per_sec <= 1e6) ||
	    c->rate_per_hour < 0) {
		buf_notef(err, "smtp: a rate limit must be 0 (none) or positive");
		goto out;
	}
	if (c->tls < -1 || c->tls > 1) {
		buf_notef(err, "smtp: tls must be -1 (never), 0 (auto) or 1 (require)");
		goto out;
	}
	if (c->tls == -1 && strcmp(scheme, "smtps") == 0) {
		buf_notef(err, "smtp: an smtps:// relay always uses TLS; tls=never "
		    "contradicts it");
		goto out;
	}
	if (c->timeout_ms < 0) {
		buf_notef(err, "smtp: timeout must not be negative");
		goto out;
	}
	/* the name goes into the URL path and from there into EHLO: a
	 * hostname or an address literal, nothing that could end a line */
	if (c->helo && (*c->helo == '\0' || strlen(c->helo) > 255 ||
	    c->helo[strspn(c->helo, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]")] != '\0')) {
		buf_notef(err, "smtp: helo \"%s\" is not a host name or address "
		    "literal", c->helo);
		goto out;
	}
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	return rc;
}

int
smtp_tls_required(const smtp_conf_t *c)
{
	char *scheme = NULL, *host = NULL;
	buf_t err;
	int rc = 1;

	curl_init();
	buf_init(&err, 1024);
	if (c->tls == -1)
		rc = 0;
	else if (c->tls == 0 && url_parse(c->url, &scheme, &host, &err) == 0 &&
	    strcmp(scheme, "smtp") == 0 && host_is_loopback(host))
		rc = 0;
	curl_free(scheme);
	curl_free(host);
	buf_free(&err);
	return rc;
}

/* opensocket_cb - libcurl's socket(), close-on-exec: a child the caller
 * forks must not hold the session open */
static curl_socket_t
opensocket_cb(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	(void)arg;
	(void)purpose;
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* sockopt_cb - a new connection for this slot: forget the last one's
 * replies */
static int
sockopt_cb(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	struct slot *sl = arg;

	(void)fd;
	(void)purpose;
	sl->reply_open = 0;
	sl->reply_len = 0;
	sl->reply_code = 0;
	sl->reply[0] = '\0';
	return CURL_SOCKOPT_OK;
}


static int
prefix(const char *p, size_t n, const char *word)
{
	size_t w = strlen(word);

	return n >= w && strncasecmp(p, word, w) == 0;
}
/* reply_in - one reply line ("NNN-text" or "NNN text", CRLF) arrived */
static void
reply_in(struct slot *sl, const char *p, size_t n)
{
	while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r'))
		n--;
	if (!sl->reply_open) {
		sl->reply_len = 0;
		sl->reply_code = 0;
		if (n >= 3 && p[0] >= '1' && p[0] <= '5' &&
		    p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9')
			sl->reply_code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + p[2] - '0';
	}
	sl->reply_open = n >= 4 && p[3] == '-';
	if (sl->reply_len > 0 && sl->reply_len < sizeof sl->reply - 1)
		sl->reply[sl->reply_len++] = ' ';
	for (size_t i = 0; i < n && sl->reply_len < sizeof sl->reply - 1; i++) {
		unsigned char c = (unsigned char)p[i];

		/* the text ends up in logs and bounces: no control bytes */
		sl->reply[sl->reply_len++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	sl->reply[sl->reply_len] = '\0';
}

/* ehlo_line - an EHLO reply line names the extensions we use */
static void
ehlo_line(struct slot *sl, const char *p, size_t n)
{
	if (n < 4 || (p[3] != '-' && p[3] != ' '))
		return;
	if (prefix(p + 4, n - 4, "PIPELINING") && (n == 14 || p[14] == '\r' || p[14] == ' '))
		sl->pipelining = 1;
	else if (prefix(p + 4, n - 4, "SMTPUTF8") && (n == 12 || p[12] == '\r' || p[12] == ' '))
		sl->utf8 = 1;
}

/* debug_cb - while libcurl connects: the replies, for a failure's text
 * and for the extensions the last EHLO offered */
static int
debug_cb(CURL *easy, curl_infotype type, char *p, size_t n, void *arg)
{
	struct slot *sl = arg;

	(void)easy;
	if (sl->state != SL_CONNECTING)
		return 0;
	if (type == CURLINFO_HEADER_OUT && (prefix(p, n, "EHLO ") || prefix(p, n, "HELO "))) {
		sl->ehlo = 1;
		sl->pipelining = sl->utf8 = 0;
	} else if (type == CURLINFO_HEADER_IN) {
		reply_in(sl, p, n);
		if (sl->ehlo) {
			ehlo_line(sl, p, n);
			sl->ehlo = sl->reply_open;
		}
	}
	return 0;
}

/* socket_cb - which of libcurl's sockets to poll for what, while it
 * connects */
static int
socket_cb(CURL *easy, curl_socket_t fd, int what, void *arg, void *sockp)
{
	struct slot *sl = arg;
	int i, free_i = -1;

	(void)easy;
	(void)sockp;
	for (i = 0; i < SLOT_FDS; i++) {
		if (sl->socks[i].what && sl->socks[i].fd == fd)
			break;
		if (!sl->socks[i].what && free_i < 0)
			free_i = i;
	}
	if (i == SLOT_FDS) {
		if (what == CURL_POLL_REMOVE || free_i < 0)
			return 0;
		i = free_i;
	}
	sl->socks[i].fd = fd;
	sl->socks[i].what = what == CURL_POLL_REMOVE ? 0 : what;
	return 0;
}

static int
timer_cb(CURLM *multi, long ms, void *arg)
{
	struct slot *sl = arg;

	(void)multi;
	sl->curl_due = ms < 0 ? -1 : clock_mono_ms() + ms;
	return 0;
}


static void
bucket_init(struct bucket *b, double per_ms, double cap)
{
	b->rate = per_ms;
	b->cap = cap < 1 ? 1 : cap;
	b->tokens = b->cap;
}

/* rate_refill - add what the clock says has accrued; a clock that went
 * back gives nothing (a test, or the wall clock being set) */
static void
rate_refill(smtp_t *s)
{
	int64_t now = clock_now_ms(), dt = now - s->rate_at;
	struct bucket *bs[] = { &s->per_sec, &s->per_hour };

	if (dt > 0) {
		for (size_t i = 0; i < NELEM(bs); i++)
			if (bs[i]->rate > 0) {
				bs[i]->tokens += (double)dt * bs[i]->rate;
				if (bs[i]->tokens > bs[i]->cap)
					bs[i]->tokens = bs[i]->cap;
			}
	}
	s->rate_at = now;
}

static int
rate_limited(const smtp_t *s)
{
	return s->per_sec.rate > 0 || s->per_hour.rate > 0;
}

/* enhanced_code - "X.Y.Z" after the reply code, class matching it
 * (RFC 3463), into out[16]; "" when there is none */
static void
enhanced_code(const char *reply, int code, char *out)
{
	const char *p = reply + 4;
	size_t n = 0;
	int dots = 0, digits = 0;

	out[0] = '\0';
	if (strlen(reply) < 9 || p[0] != '0' + code / 100 || p[1] != '.')
		return;
	for (n = 0; p[n] != '\0' && p[n] != ' '; n++) {
		if (p[n] == '.') {
			if (digits == 0 || ++dots > 2)
				return;
			digits = 0;
		} else if (p[n] >= '0' && p[n] <= '9') {
			if (++digits > 3)
				return;
		} else
			return;
	}
	if (dots != 2 || digits == 0 || n >= 16)
		return;
	memcpy(out, p, n);
	out[n] = '\0';
}

/* stage - where the slot's message is, for a failure's result */
static int
stage(const struct slot *sl)
{
	switch (sl->wait) {
	case W_MAIL:
		return SMTP_STAGE_MAIL;
	case W_RCPT:
		return SMTP_STAGE_RCPT;
	case W_DATA:
	case W_DOT:
		return SMTP_STAGE_DATA;
	}
	return SMTP_STAGE_CONNECT;
}

/* slot_close - end the session at once: no QUIT, nothing more written */
static void
slot_close(struct slot *sl)
{
	if (sl->state != SL_CLOSED)
		curl_multi_remove_handle(sl->multi, sl->easy);
	sl->state = SL_CLOSED;
	sl->fd = CURL_SOCKET_BAD;
	for (int i = 0; i < SLOT_FDS; i++)
		sl->socks[i].what = 0;
	sl->curl_due = -1;
	sl->wait = sl->sent = W_NONE;
	sl->in_len = 0;
	sl->reply_open = 0;
	buf_reset(&sl->out);
	sl->out_off = 0;
}

/* finished - the slot's message has its result; delivered by
 * smtp_process() */
static void
finished(struct slot *sl, int code, int stage_, const char *text)
{
	smtp_result_t *r = &sl->result;
	smtp_t *s = sl->smtp;

	memset(r, 0, sizeof *r);
	r->code = code;
	r->stage = stage_;
	r->dot_sent = sl->wait == W_DOT;
	/* cut to the result's size, as the reply was cut to the slot's */
	memcpy(r->text, text, strnlen(text, sizeof r->text - 1));
	if (code)
		enhanced_code(r->text, code, r->enhanced);
	sl->wait = sl->sent = W_NONE;
	sl->done = 1;
	sl->next = NULL;
	*s->done_tail = sl;
	s->done_tail = &sl->next;
	if (s->ndone++ == 0)
		s->done_since = clock_mono_us();
}

/* broken - the session failed under the message: no reply to report */
static void connect_start(struct slot *);

static void
broken(struct slot *sl, const char *text)
{
	int st = sl->state == SL_CONNECTING ? SMTP_STAGE_CONNECT : stage(sl);
	int again = sl->state == SL_OPEN && sl->wait == W_MAIL && sl->reused &&
	    !sl->retried;

	slot_close(sl);
	if (!sl->busy || sl->done)
		return;
	/* a session that carried an earlier message may have been closed
	 * by the relay just before this one went out: no reply came, so
	 * nothing of it was taken, and a new session may try once more */
	if (again) {
		sl->retried = 1;
		connect_start(sl);
		return;
	}
	finished(sl, 0, st, text);
}

static int
eight_bit(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

/* too_large - the message cannot be queued within the session's output
 * ceiling (smtp_conf_t out_max): it fails without going out, and the
 * session closes without the final "." so that a relay that already said
 * 354 drops the transaction instead of taking a truncated message */
static void
too_large(struct slot *sl)
{
	char text[160];

	snprintf(text, sizeof text, "message of %zu bytes does not fit the session's"
	    " output ceiling of %zu bytes: not sent", sl->len, sl->out.max);
	finished(sl, 0, stage(sl), text);
	slot_close(sl);
}

/* command - the next command of the transaction into the output; -1 (the
 * message failed, the session closed) when it does not fit */
static int
command(struct slot *sl, int which)
{
	buf_t *o = &sl->out;
	int rc = 0;

	switch (which) {
	case W_MAIL:
		rc = buf_printf(o, "MAIL FROM:<%s>%s\r\n", buf_str(&sl->from), sl->utf8 &&
		    (eight_bit(buf_str(&sl->from)) || eight_bit(buf_str(&sl->rcpt))) ?
		    " SMTPUTF8" : "");
		break;
	case W_RCPT:
		rc = buf_printf(o, "RCPT TO:<%s>\r\n", buf_str(&sl->rcpt));
		break;
	case W_DATA:
		rc = buf_adds(o, "DATA\r\n");
		break;
	}
	if (rc < 0) {
		too_large(sl);
		return -1;
	}
	sl->sent = which;
	return 0;
}

/* content - the message dot-stuffed (a '.' that starts a line doubled),
 * then the final ".", after a CRLF of its own if the message lacks one;
 * -1 with the output as it was when all of it does not fit: a message
 * goes out whole or not at all */
static int
content(struct slot *sl)
{
	const char *p = sl->data, *end = sl->data + sl->len, *q;
	buf_t *o = &sl->out;
	size_t mark = o->len;

	if (p < end && *p == '.' && buf_addc(o, '.') < 0)
		goto full;
	/* a '.' is rare where a line starts (QP escapes it): look for those,
	 * and copy the runs between */
	for (q = p; (q = memchr(q, '.', (size_t)(end - q))) != NULL; q++)
		if (q > sl->data && q[-1] == '\n') {
			if (buf_add(o, p, (size_t)(q + 1 - p)) < 0 || buf_addc(o, '.') < 0)
				goto full;
			p = q + 1;
		}
	if (buf_add(o, p, (size_t)(end - p)) < 0)
		goto full;
	if (buf_adds(o, sl->len >= 2 && end[-2] == '\r' && end[-1] == '\n' ? ".\r\n" :
	    sl->len ? "\r\n.\r\n" : ".\r\n") < 0)
		goto full;
	sl->sent = W_DOT;
	return 0;
full:
	buf_truncate(o, mark);
	return -1;
}

/* begin - the open session takes the slot's message */
static void
begin(struct slot *sl)
{
	sl->reused = sl->carried++ > 0;
	if (command(sl, W_MAIL) < 0)
		return;
	if (sl->pipelining && !sl->smtp->no_pipelining &&
	    (command(sl, W_RCPT) < 0 || command(sl, W_DATA) < 0))
		return;
	sl->wait = W_MAIL;
}

/* flush - write what is queued, as far as the socket takes it; -1 when
 * the session broke */
static int
flush(struct slot *sl)
{
	CURLcode rc;
	size_t n;

	while (sl->out_off < sl->out.len) {
		n = 0;
		rc = curl_easy_send(sl->easy, sl->out.data + sl->out_off,
		    sl->out.len - sl->out_off, &n);
		if (rc == CURLE_AGAIN)
			return 0;
		if (rc != CURLE_OK) {
			broken(sl, sl->errbuf[0] ? sl->errbuf : curl_easy_strerror(rc));
			return -1;
		}
		sl->out_off += n;
	}
	buf_reset(&sl->out);
	sl->out_off = 0;
	return 0;
}

/* reply - a whole reply arrived: the transaction's next step, or its end */
static void
reply(struct slot *sl)
{
	int code = sl->reply_code, ok, st = stage(sl);
	char text[600];

	switch (sl->wait) {
	case W_MAIL:
	case W_RCPT:
	case W_DOT:
		ok = code >= 200 && code < 300;
		break;
	case W_DATA:
		ok = code == 354;
		break;
	default:
		/* nothing asked: a relay that gives up on an idle session
		 * (421) or talks out of turn; either way it is over */
		slot_close(sl);
		return;
	}
	if (!ok && code == 421 && sl->wait == W_MAIL && sl->reused && !sl->retried) {
		/* a relay that ends an idle or a long session says 421 to the
		 * next MAIL rather than closing in silence (its idle timeout
		 * crossing our command, a limit of messages a session): as
		 * after a silent close, nothing was taken, and a new session
		 * tries once more instead of the breaker pausing all sending */
		slot_close(sl);
		sl->retried = 1;
		connect_start(sl);
		return;
	}
	if (!ok) {
		if (code >= 400)
			finished(sl, code, st, sl->reply);
		else {
			snprintf(text, sizeof text, "unexpected reply: %s", sl->reply);
			finished(sl, 0, st, text);
		}
		if (code == 503 || code < 400) {
			/* out of step: whatever the reply answered, it was not
			 * this command; one command at a time from now on */
			sl->result.out_of_step = 1;
			if (sl->pipelining && !sl->smtp->no_pipelining)
				log_warn("smtp: the relay's replies came out of order (%s);"
				    " no more pipelining", sl->reply);
			sl->smtp->no_pipelining = 1;
		}
		/* a pipelined DATA may yet be answered 354: write nothing more */
		slot_close(sl);
		return;
	}
	switch (sl->wait) {
	case W_MAIL:
		if (sl->sent < W_RCPT && command(sl, W_RCPT) < 0)
			return;
		sl->wait = W_RCPT;
		break;
	case W_RCPT:
		if (sl->sent < W_DATA && command(sl, W_DATA) < 0)
			return;
		sl->wait = W_DATA;
		break;
	case W_DATA:
		if (content(sl) < 0) {
			too_large(sl);
			return;
		}
		sl->wait = W_DOT;
		/* the content goes out now: the relay may take its time over
		 * it (RFC 5321 4.5.3.2.6), and a timeout after the "." may
		 * deliver the message twice */
		if (sl->deadline < clock_mono_ms() + sl->smtp->dot_timeout)
			sl->deadline = clock_mono_ms() + sl->smtp->dot_timeout;
		break;
	case W_DOT:
		finished(sl, code, SMTP_STAGE_DONE, sl->reply);
		break;
	}
}

/* receive - read what the relay sent and act on each whole reply */
static void
receive(struct slot *sl)
{
	CURLcode rc;
	char *p, *nl, *end;
	size_t n = 0, space = 0;

	while (sl->state == SL_OPEN) {
		if (sl->in_len == IN_MAX) {
			/* a line longer than any reply should be: take what we
			 * have as one, and drop the rest of it (read as a line
			 * of its own, it would close the reply early and shift
			 * every reply after it onto the wrong command) */
			sl->in[IN_MAX - 1] = '\n';
			sl->skipping = 1;
		} else {
			n = 0;
			space = IN_MAX - sl->in_len;
			rc = curl_easy_recv(sl->easy, sl->in + sl->in_len, space, &n);
			if (rc == CURLE_AGAIN)
				return;
			if (rc != CURLE_OK || n == 0) {
				broken(sl, rc != CURLE_OK ? (sl->errbuf[0] ? sl->errbuf :
				    curl_easy_strerror(rc)) : "Connection closed by the relay");
				return;
			}
			if (sl->skipping) {
				char *lf = memchr(sl->in + sl->in_len, '\n', n);

				if (lf == NULL)
					continue;	/* all of it the long line's */
				sl->skipping = 0;
				n -= (size_t)(lf + 1 - (sl->in + sl->in_len));
				memmove(sl->in + sl->in_len, lf + 1, n);
			}
			sl->in_len += n;
		}
		p = sl->in;
		end = sl->in + sl->in_len;
		while (sl->state == SL_OPEN && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
			reply_in(sl, p, (size_t)(nl + 1 - p));
			p = nl + 1;
			if (!sl->reply_open)
				reply(sl);
		}
		if (sl->state != SL_OPEN)
			return;
		sl->in_len = (size_t)(end - p);
		memmove(sl->in, p, sl->in_len);
		/* a read that did not fill the buffer took all the socket had;
		 * on plain TCP the poll says when there is more, which saves a
		 * read that would only say EAGAIN.  TLS may hold decrypted
		 * bytes the poll cannot see: read on. */
		if (sl->smtp->plain && n < space)
			return;
	}
}

/* connect_start - libcurl opens a session for the slot's message */
static void
connect_start(struct slot *sl)
{
	long left = (long)(sl->deadline - clock_mono_ms());
	CURLMcode mc;

	sl->in_len = 0;
	sl->skipping = 0;
	sl->reply_open = 0;
	sl->reply_len = 0;
	sl->reply_code = 0;
	sl->reply[0] = '\0';
	sl->errbuf[0] = '\0';
	sl->pipelining = sl->utf8 = sl->ehlo = 0;
	sl->carried = 0;
	curl_easy_setopt(sl->easy, CURLOPT_TIMEOUT_MS, left > 0 ? left : 1L);
	curl_easy_setopt(sl->easy, CURLOPT_VERBOSE, 1L);
	sl->state = SL_CONNECTING;
	if ((mc = curl_multi_add_handle(sl->multi, sl->easy)) != CURLM_OK) {
		sl->state = SL_CLOSED;
		finished(sl, 0, SMTP_STAGE_CONNECT, curl_multi_strerror(mc));
	}
}

/* connect_step - drive libcurl's connect; on its end the session is ours,
 * or the message failed */
static void
connect_step(struct slot *sl, curl_socket_t fd, int ev)
{
	CURLMsg *m;
	CURLcode rc;
	curl_socket_t sock = CURL_SOCKET_BAD;
	int running, q, code;
	char text[600];

	curl_multi_socket_action(sl->multi, fd, ev, &running);
	while (sl->state == SL_CONNECTING && (m = curl_multi_info_read(sl->multi, &q)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		rc = m->data.result;
		if (rc == CURLE_OK &&
		    curl_easy_getinfo(sl->easy, CURLINFO_ACTIVESOCKET, &sock) == CURLE_OK &&
		    sock != CURL_SOCKET_BAD) {
			sl->state = SL_OPEN;
			sl->fd = sock;
			sl->curl_due = -1;
			curl_easy_setopt(sl->easy, CURLOPT_VERBOSE, 0L);
			if (sl->busy && !sl->done) {
				begin(sl);
				flush(sl);
			}
			continue;
		}
		if (rc == CURLE_OK)
			rc = CURLE_COULDNT_CONNECT;
		/* a reply that says why beats libcurl's summary of it */
		code = sl->reply_len > 0 && sl->reply_code >= 400 ? sl->reply_code : 0;
		snprintf(text, sizeof text, "%s", code ? sl->reply : sl->errbuf[0] ?
		    sl->errbuf : curl_easy_strerror(rc));
		slot_close(sl);
		if (sl->busy && !sl->done)
			finished(sl, code, SMTP_STAGE_CONNECT, text);
	}
}

/* slot_io - the poll saw the open session ready */
static void
slot_io(struct slot *sl, short revents)
{
	if ((revents & ZMQ_POLLOUT) && flush(sl) < 0)
		return;
	if (revents & (ZMQ_POLLIN | ZMQ_POLLERR))
		receive(sl);
	if (sl->state == SL_OPEN && sl->out.len > sl->out_off)
		flush(sl);
}


smtp_t *
smtp_new(const smtp_conf_t *conf, smtp_done_cb cb, void *arg, buf_t *err)
{
	smtp_t *s = NULL;
	CURLU *u = NULL;
	char *scheme = NULL, *host = NULL, *url = NULL;
	char path[300];
	long use_ssl;
	int ok = 0;

	if (smtp_conf_check(conf, err) < 0 ||
	    url_parse(conf->url, &scheme, &host, err) < 0)
		goto out;
	s = xcalloc(1, sizeof *s);
	s->cb = cb;
	s->arg = arg;
	s->done_tail = &s->done;
	s->timeout = conf->timeout_ms ? conf->timeout_ms : SMTP_TIMEOUT_DEFAULT;
	s->dot_timeout = conf->dot_timeout_ms ? conf->dot_timeout_ms : SMTP_DOT_TIMEOUT_DEFAULT;
	s->max_per_session = conf->max_per_session;
	s->nslots = conf->connections ? conf->connections : SMTP_CONNECTIONS_DEFAULT;
	bucket_init(&s->per_sec, conf->rate_per_sec / 1000.0, conf->rate_per_sec);
	bucket_init(&s->per_hour, (double)conf->rate_per_hour / 3600000.0,
	    (double)conf->rate_per_hour);
	s->rate_at = rate_limited(s) ? clock_now_ms() : 0;
	/* every slot's fields first, so that smtp_free() can take any of
	 * them apart after a failure further down */
	s->slots = xcalloc((size_t)s->nslots, sizeof *s->slots);
	s->freelist = xcalloc((size_t)s->nslots, sizeof *s->freelist);
	for (int i = 0; i < s->nslots; i++) {
		struct slot *sl = &s->slots[i];

		sl->smtp = s;
		sl->state = SL_CLOSED;
		sl->fd = CURL_SOCKET_BAD;
		sl->curl_due = -1;
		buf_init(&sl->from, ADDR_MAX + 1);
		buf_init(&sl->rcpt, ADDR_MAX + 1);
		buf_init(&sl->out, conf->out_max > 0 ? conf->out_max : SMTP_OUT_MAX);
		s->freelist[s->nfree++] = s->nslots - 1 - i;
	}
	if (conf->auth_file && auth_file_load("smtp: auth_file", conf->auth_file, &s->user,
	    &s->pass, err) < 0)
		goto out;
	if (conf->ca_file) {
		if (access(conf->ca_file, R_OK) < 0) {
			buf_notef(err, "smtp: CA file %s: %s", conf->ca_file, strerror(errno));
			goto out;
		}
		s->ca_file = xstrdup(conf->ca_file);
	}

	/* the URL's path is libcurl's EHLO name */
	u = curl_url();
	snprintf(path, sizeof path, "/%s", conf->helo ? conf->helo : "");
	if (curl_url_set(u, CURLUPART_URL, conf->url, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_PATH, path, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK) {
		buf_notef(err, "smtp: cannot build the URL from \"%s\"", conf->url);
		goto out;
	}
	s->url = xstrdup(url);

	use_ssl = smtp_tls_required(conf) && strcmp(scheme, "smtp") == 0 ?
	    CURLUSESSL_ALL : CURLUSESSL_NONE;
	s->plain = use_ssl == CURLUSESSL_NONE && strcmp(scheme, "smtp") == 0;
	if (s->user && !smtp_tls_required(conf) && !host_is_loopback(host))
		log_warn("smtp: relay %s: password will be sent without TLS (tls=never)",
		    conf->url);

	for (int i = 0; i < s->nslots; i++) {
		struct slot *sl = &s->slots[i];
		CURL *e;

		if ((e = sl->easy = curl_easy_init()) == NULL ||
		    (sl->multi = curl_multi_init()) == NULL)
			fatal("curl_easy_init or curl_multi_init failed");
		if (curl_easy_setopt(e, CURLOPT_URL, s->url) != CURLE_OK ||
		    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps") != CURLE_OK ||
		    curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L) != CURLE_OK) {
			buf_notef(err, "smtp: this libcurl lacks SMTP support or options "
			    "we need (7.85 or later)");
			goto out;
		}
		curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, opensocket_cb);
		curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, sl);
		curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, sockopt_cb);
		curl_easy_setopt(e, CURLOPT_SOCKOPTDATA, sl);
		/* the debug callback is how we see the replies while libcurl
		 * connects */
		curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, debug_cb);
		curl_easy_setopt(e, CURLOPT_DEBUGDATA, sl);
		curl_easy_setopt(e, CURLOPT_ERRORBUFFER, sl->errbuf);
		curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
		curl_easy_setopt(e, CURLOPT_SERVER_RESPONSE_TIMEOUT, (s->timeout + 999) / 1000);
		curl_easy_setopt(e, CURLOPT_USE_SSL, use_ssl);
		if (s->ca_file)
			curl_easy_setopt(e, CURLOPT_CAINFO, s->ca_file);
		if (s->user) {
			curl_easy_setopt(e, CURLOPT_USERNAME, s->user);
			curl_easy_setopt(e, CURLOPT_PASSWORD, s->pass);
		}
		curl_multi_setopt(sl->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
		curl_multi_setopt(sl->multi, CURLMOPT_SOCKETDATA, sl);
		curl_multi_setopt(sl->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
		curl_multi_setopt(sl->multi, CURLMOPT_TIMERDATA, sl);
	}
	log_debug("smtp: relay %s, %d connections, TLS %s", conf->url, s->nslots,
	    strcmp(scheme, "smtps") == 0 ? "implicit" :
	    use_ssl == CURLUSESSL_ALL ? "required" : "off");
	ok = 1;
out:
	curl_free(url);
	curl_url_cleanup(u);
	curl_free(scheme);
	curl_free(host);
	if (!ok) {
		smtp_free(s);
		s = NULL;
	}
	return s;
}

/* quit_all - QUIT to every idle session, and at most QUIT_WAIT_MS for
 * the replies; the sessions are closed after */
static void
quit_all(smtp_t *s)
{
	struct pollfd pfd[SMTP_CONNECTIONS_MAX];
	struct slot *who[SMTP_CONNECTIONS_MAX];
	int64_t until = clock_mono_ms() + QUIT_WAIT_MS;
	char b[512];
	size_t n;
	int np, i;

	for (i = 0; i < s->nslots; i++) {
		struct slot *sl = &s->slots[i];

		n = 0;
		if (sl->state == SL_OPEN && sl->wait == W_NONE && sl->out.len == 0 &&
		    (curl_easy_send(sl->easy, "QUIT\r\n", 6, &n) != CURLE_OK || n != 6))
			slot_close(sl);
	}
	for (;;) {
		long left = (long)(until - clock_mono_ms());

		for (np = 0, i = 0; i < s->nslots; i++)
			if (s->slots[i].state == SL_OPEN) {
				pfd[np] = (struct pollfd){ s->slots[i].fd, POLLIN, 0 };
				who[np++] = &s->slots[i];
			}
		if (np == 0 || left <= 0 || poll(pfd, (nfds_t)np, (int)left) <= 0)
			break;
		/* any answer, or the end of the session, will do */
		for (i = 0; i < np; i++)
			if (pfd[i].revents && curl_easy_recv(who[i]->easy, b, sizeof b,
			    &n) != CURLE_AGAIN)
				slot_close(who[i]);
	}
}

void
smtp_free(smtp_t *s)
{
	if (s == NULL)
		return;
	if (s->slots && s->slots[0].multi)
		quit_all(s);
	for (int i = 0; i < s->nslots; i++) {
		struct slot *sl = &s->slots[i];

		/* in flight, or done but not delivered: cut, no callback */
		if (sl->multi)
			slot_close(sl);
		free(sl->data);
		if (sl->easy)
			curl_easy_cleanup(sl->easy);
		if (sl->multi)
			curl_multi_cleanup(sl->multi);
		buf_free(&sl->from);
		buf_free(&sl->rcpt);
		buf_free(&sl->out);
	}
	if (s->pass) {
		explicit_bzero(s->pass, strlen(s->pass));
		free(s->pass);
	}
	free(s->user);
	free(s->url);
	free(s->ca_file);
	free(s->slots);
	free(s->freelist);
	free(s);
}


int
smtp_ready(smtp_t *s)
{
	int n = s->nfree;

	if (n > 0 && rate_limited(s)) {
		rate_refill(s);
		if (s->per_sec.rate > 0 && s->per_sec.tokens < n)
			n = (int)s->per_sec.tokens;
		if (s->per_hour.rate > 0 && s->per_hour.tokens < n)
			n = (int)s->per_hour.tokens;
	}
	return n;
}

int
smtp_inflight(smtp_t *s)
{
	return s->nbusy;
}

/* addr_ok - no byte of an address may end or bend the command line */
static int
addr_ok(const char *a)
{
	size_t n = 0;

	for (; a[n] != '\0'; n++)
		if ((unsigned char)a[n] < 0x20 || a[n] == 0x7f || n == ADDR_MAX)
			return 0;
	return 1;
}

int
smtp_submit(smtp_t *s, uint64_t id, const char *from, const char *rcpt,
    char *data, size_t len)
{
	struct slot *sl;

	if (from == NULL || rcpt == NULL || *rcpt == '\0' || !addr_ok(from) ||
	    !addr_ok(rcpt)) {
		errno = EINVAL;
		return -1;
	}
	if (smtp_ready(s) <= 0) {
		errno = EAGAIN;
		return -1;
	}
	if (s->per_sec.rate > 0)
		s->per_sec.tokens -= 1;
	if (s->per_hour.rate > 0)
		s->per_hour.tokens -= 1;
	sl = &s->slots[s->freelist[--s->nfree]];
	buf_reset(&sl->from);
	buf_reset(&sl->rcpt);
	/* addr_ok() allows at most ADDR_MAX bytes: these cannot fail */
	if (buf_adds(&sl->from, from) < 0 || buf_adds(&sl->rcpt, rcpt) < 0)
		fatal("smtp_submit: an address of at most %d bytes did not fit", ADDR_MAX);
	sl->id = id;
	sl->data = data;
	sl->len = len;
	sl->busy = 1;
	sl->done = 0;
	sl->retried = 0;
	sl->deadline = clock_mono_ms() + s->timeout;
	s->nbusy++;
	/* a session that carried its share ends politely: QUIT written if the
	 * socket takes it now, the reply not waited for (nothing rides on it) */
	if (sl->state == SL_OPEN && s->max_per_session > 0 &&
	    sl->carried >= s->max_per_session && sl->wait == W_NONE && sl->out.len == 0) {
		size_t n;

		(void)curl_easy_send(sl->easy, "QUIT\r\n", 6, &n);
		slot_close(sl);
	}
	/* the commands go out now if the socket takes them; a failure is
	 * reported from smtp_process(), never from here */
	if (sl->state == SL_OPEN) {
		begin(sl);
		flush(sl);
	} else if (sl->state == SL_CLOSED)
		connect_start(sl);
	return 0;
}

/*
 * hold - whether to keep the results back a little longer.  The caller
 * commits the outcomes of one smtp_process() together (sender.h), and a
 * commit costs more than a message's SMTP; when results come one per
 * loop turn, as they do from a fast relay, each pays it alone.  A result
 * is not free for the next message until delivered, so holding it back
 * never lets more messages be in flight or unrecorded than there are
 * connections: it only lets a slot idle while the others, at least as
 * many still busy, finish.  At most HOLD_US.
 */
static int
hold(const smtp_t *s)
{
	return s->ndone * 2 < s->nbusy && clock_mono_us() < s->done_since + HOLD_US;
}

long
smtp_timeout_ms(smtp_t *s)
{
	const struct bucket *bs[] = { &s->per_sec, &s->per_hour };
	int64_t now = clock_mono_ms(), due = -1;
	double wait = 0;

	if (s->done && !hold(s))
		return 0;
	if (s->done)
		due = s->done_since / 1000 + HOLD_US / 1000 + 1;
	for (int i = 0; i < s->nslots; i++) {
		const struct slot *sl = &s->slots[i];

		if (sl->state == SL_CONNECTING && sl->curl_due >= 0 &&
		    (due < 0 || sl->curl_due < due))
			due = sl->curl_due;
		if (sl->busy && !sl->done && (due < 0 || sl->deadline < due))
			due = sl->deadline;
	}
	if (due >= 0)
		due = due > now ? due - now : 0;
	/* only a limiter holding back free slots needs a timer of its own */
	if (s->nfree == 0 || !rate_limited(s) || smtp_ready(s) > 0)
		return (long)due;
	for (size_t i = 0; i < NELEM(bs); i++)
		if (bs[i]->rate > 0 && bs[i]->tokens < 1 &&
		    (1 - bs[i]->tokens) / bs[i]->rate > wait)
			wait = (1 - bs[i]->tokens) / bs[i]->rate;
	if (due >= 0 && due < (int64_t)ceil(wait))
		return (long)due;
	return (long)ceil(wait);
}

int
smtp_pollitems(smtp_t *s, zmq_pollitem_t *items, int max)
{
	int n = 0;

	for (int i = 0; i < s->nslots; i++) {
		const struct slot *sl = &s->slots[i];

		if (sl->state == SL_OPEN) {
			if (n < max)
				items[n] = (zmq_pollitem_t){ NULL, sl->fd, (short)(ZMQ_POLLIN |
				    (sl->out.len > sl->out_off ? ZMQ_POLLOUT : 0)), 0 };
			n++;
		} else if (sl->state == SL_CONNECTING)
			for (int j = 0; j < SLOT_FDS; j++) {
				int w = sl->socks[j].what;

				if (w == 0)
					continue;
				if (n < max)
					items[n] = (zmq_pollitem_t){ NULL, sl->socks[j].fd,
					    (short)((w & CURL_POLL_IN ? ZMQ_POLLIN : 0) |
					    (w & CURL_POLL_OUT ? ZMQ_POLLOUT : 0)), 0 };
				n++;
			}
	}
	return n;
}

/* deliver - the results so far to the callback; results that arrive
 * meanwhile (the callback submits) wait for the next call */
static void
deliver(smtp_t *s)
{
	struct slot *sl = s->done, *next;

	s->done = NULL;
	s->done_tail = &s->done;
	s->ndone = 0;
	for (; sl != NULL; sl = next) {
		/* the callback may hand this slot the next message */
		smtp_result_t r = sl->result;
		uint64_t id = sl->id;

		next = sl->next;
		free(sl->data);
		sl->data = NULL;
		sl->busy = 0;
		sl->done = 0;
		s->nbusy--;
		s->freelist[s->nfree++] = (int)(sl - s->slots);
		s->cb(s->arg, id, &r);
	}
}

void
smtp_process(smtp_t *s, const zmq_pollitem_t *items, int n)
{
	int64_t now;
	char text[128];

	for (int i = 0; i < n; i++) {
		const zmq_pollitem_t *it = &items[i];

		if (it->socket != NULL || it->revents == 0)
			continue;
		for (int k = 0; k < s->nslots; k++) {
			struct slot *sl = &s->slots[k];

			if (sl->state == SL_OPEN && sl->fd == it->fd) {
				slot_io(sl, it->revents);
				break;
			}
			if (sl->state != SL_CONNECTING)
				continue;
			for (int j = 0; j < SLOT_FDS; j++)
				if (sl->socks[j].what && sl->socks[j].fd == it->fd) {
					connect_step(sl, it->fd,
					    (it->revents & ZMQ_POLLIN ? CURL_CSELECT_IN : 0) |
					    (it->revents & ZMQ_POLLOUT ? CURL_CSELECT_OUT : 0) |
					    (it->revents & ZMQ_POLLERR ? CURL_CSELECT_ERR : 0));
					break;
				}
		}
	}
	now = clock_mono_ms();
	for (int k = 0; k < s->nslots; k++) {
		struct slot *sl = &s->slots[k];

		if (sl->state == SL_CONNECTING && sl->curl_due >= 0 && sl->curl_due <= now)
			connect_step(sl, CURL_SOCKET_TIMEOUT, 0);
		if (sl->busy && !sl->done && sl->deadline <= now) {
			snprintf(text, sizeof text, "Operation timed out after %ld milliseconds",
			    s->timeout);
			sl->retried = 1;
			broken(sl, text);
		}
	}
	if (s->done && !hold(s))
		deliver(s);
}
