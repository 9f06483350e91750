/*
 * smtp - delivery through one relay, one thread per connection; contract
 * in smtp.h.
 *
 * Why threads.  libcurl (7.88, and 8.x as far as curl issues #8555 and
 * #4015 go) waits blocking for the reply to the final "." of a message,
 * and for the reply to the QUIT it sends after a failure, even on the multi
 * interface.  Driven from the worker's event loop, that stalled the ZeroMQ
 * intake for as long as the relay took to accept a message, and the
 * sessions did not overlap in that wait (8 messages at 4 connections, a
 * relay answering "." after 1 s: 8 s instead of 2).  So each connection
 * slot is a thread that owns one easy handle, configured once in
 * smtp_new(), and runs curl_easy_perform() per message.  The handle's own
 * connection cache keeps its session open between messages, so the relay
 * sees `connections` sessions, each carrying many transactions.  A message
 * changes only the sender (when it differs from the last one), the
 * recipient list (a curl_slist node inside the slot, so no allocation) and
 * the upload size.  The caller's thread never touches the network.
 *
 * Hand-over.  One mutex guards what both sides touch: a slot's job flag
 * and sockets, the completion queue, the stop flag.  smtp_submit() fills an
 * idle slot's job fields (its thread sleeps on the slot's condition
 * variable and does not look at them until the flag is set), sets the flag
 * and signals.  The thread performs the transfer, builds the result, puts
 * the slot on the completion queue and counts up an eventfd, the one
 * descriptor smtp_pollitems() hands the caller's poll; smtp_process() takes
 * the queue and runs the callbacks.  The free list, the in-flight count
 * and the rate limiter belong to the caller's thread alone.
 *
 * Replies.  libcurl reports only the last reply code and an error string,
 * so the debug callback watches the conversation: commands going out
 * (CURLINFO_HEADER_OUT) move the stage forward (MAIL, RCPT, DATA), reply
 * lines coming in (CURLINFO_HEADER_IN) are collected into the current
 * reply.  When a transfer ends the last reply is the final one.  After a
 * failure libcurl closes the session with QUIT; what comes after a QUIT is
 * not about our message, so capture stops there until the slot's next
 * transfer or new connection.
 *
 * Stopping.  smtp_free() must neither wait on a slow relay nor let a cut
 * message through.  curl_multi_remove_handle() or a timeout on an upload
 * in flight is no way out (libcurl sends "." for a removed upload and waits
 * for the reply), so a transfer is failed from outside: a stop flag the
 * progress and read callbacks turn into an abort, and shutdown() of the
 * slot's sockets, which the open and close socket callbacks track under
 * the mutex (so a descriptor number that was closed and given to someone
 * else is never shut down).  A failed upload gets no "." from libcurl, and
 * nothing at all leaves a shut-down socket.  Idle sessions get their QUIT,
 * all at once, for at most QUIT_WAIT_MS; then they are cut the same way.
 *
 * Time.  The rate limiter runs on clock_now_ms(), so a test can give or
 * withhold tokens by moving the clock; timeouts are libcurl's, inside the
 * threads, and the wait in smtp_free() is on CLOCK_MONOTONIC.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "clock.h"
#include "log.h"
#include "smtp.h"
#include "util.h"

/* Measured with bench/smtp (20 KB messages): libcurl's default 64 KB
 * costs 2-3x the CPU per message.  libcurl takes its upload buffer and a
 * dot-stuffing buffer twice that size for each transfer and lets them go
 * at its end; at 64 KB the 128 KB one sits at the top of the heap and
 * glibc grows and trims it with brk() twice per message (strace: 8,000
 * brk calls for 4,000 messages, against 40 at 16 KB or 256 KB).  256 KB
 * also sends a larger message in fewer writes; 1 MB gains nothing. */
#define UPLOAD_BUFFER	(256 * 1024)
#define ADDR_MAX	512
/* how long smtp_free() lets idle sessions wait for the reply to QUIT */
#define QUIT_WAIT_MS	500
/* sockets a slot may have open at once: its session, or two being tried
 * side by side (happy eyeballs) */
#define SLOT_FDS	4

struct slot {
	smtp_t	*smtp;
	CURL	*easy;			/* the thread's once it runs */
	pthread_t thread;
	pthread_cond_t wake;		/* a job, or stopping */
	/* the caller's thread only */
	int	 busy;			/* submitted, result not yet delivered */
	uint64_t id;
	int	 from_set;
	/* the job: written by the caller's thread while job is 0, read by
	 * the slot's thread while it is 1 */
	char	*data;			/* owned; free()d by the caller's thread */
	size_t	 len;
	buf_t	 from;			/* the sender libcurl should have */
	int	 from_new;		/* ... and does not have yet */
	buf_t	 rcpt;
	/* under smtp->lock */
	int	 job;			/* 1 from submit until the result is queued */
	curl_socket_t fds[SLOT_FDS];	/* open sockets, CURL_SOCKET_BAD free */
	struct slot *next;		/* on the completion queue */
	atomic_int stop;		/* set under the lock, read anywhere */
	/* the slot's thread only, during a transfer */
	size_t	 off;
	struct curl_slist rcpt_list;	/* one node over rcpt.data */
	int	 stage;
	int	 quitting;		/* a QUIT went out: ignore replies */
	int	 reply_open;		/* last line was "NNN-": more follow */
	int	 reply_code;
	size_t	 reply_len;
	char	 reply[512];
	char	 errbuf[CURL_ERROR_SIZE];
	smtp_result_t result;		/* the caller's once queued */
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
	int	 efd;			/* eventfd: results are queued */
	int	 nthreads;		/* started */
	pthread_mutex_t lock;
	pthread_cond_t exited;		/* a thread ended (CLOCK_MONOTONIC) */
	/* under lock */
	int	 nrunning;		/* threads not yet ended */
	int	 stopping;
	struct slot *done, **done_tail;	/* the completion queue */
	/* the caller's thread only, like the free list */
	struct bucket per_sec, per_hour;
	int64_t	 rate_at;		/* clock_now_ms() of the last refill */
	char	*url;
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
		buf_printf(err, "smtp: no relay URL");
		goto out;
	}
	/* libcurl would guess at "smtp:/host" or a bare "host:25"; we do not */
	if ((strncasecmp(url, "smtp://", 7) != 0 && strncasecmp(url, "smtps://", 8) != 0) ||
	    curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, host, 0) != CURLUE_OK) {
		buf_printf(err, "smtp: relay URL \"%s\" is not smtp://host[:port] or "
		    "smtps://host[:port]", url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK) {
		buf_printf(err, "smtp: relay URL \"%s\": credentials belong in "
		    "auth_file, not in the URL", url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PATH, &part, 0) == CURLUE_OK &&
	    strcmp(part, "/") != 0 && *part != '\0') {
		buf_printf(err, "smtp: relay URL \"%s\": no path expected (the EHLO "
		    "name is set with helo)", url);
		goto out;
	}
	curl_free(part);
	part = NULL;
	if (curl_url_get(u, CURLUPART_QUERY, &part, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_FRAGMENT, &part, 0) == CURLUE_OK) {
		buf_printf(err, "smtp: relay URL \"%s\": no query or fragment "
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
		buf_printf(err, "smtp: connections must be 1..%d, not %d",
		    SMTP_CONNECTIONS_MAX, c->connections);
		goto out;
	}
	if (!(c->rate_per_sec >= 0 && c->rate_per_sec <= 1e6) ||
	    c->rate_per_hour < 0) {
		buf_printf(err, "smtp: a rate limit must be 0 (none) or positive");
		goto out;
	}
	if (c->tls < -1 || c->tls > 1) {
		buf_printf(err, "smtp: tls must be -1 (never), 0 (auto) or 1 (require)");
		goto out;
	}
	if (c->tls == -1 && strcmp(scheme, "smtps") == 0) {
		buf_printf(err, "smtp: an smtps:// relay always uses TLS; tls=never "
		    "contradicts it");
		goto out;
	}
	if (c->timeout_ms < 0) {
		buf_printf(err, "smtp: timeout must not be negative");
		goto out;
	}
	/* the name goes into the URL path and from there into EHLO: a
	 * hostname or an address literal, nothing that could end a line */
	if (c->helo && (*c->helo == '\0' || strlen(c->helo) > 255 ||
	    c->helo[strspn(c->helo, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]")] != '\0')) {
		buf_printf(err, "smtp: helo \"%s\" is not a host name or address "
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

/* auth_load - "user:password" from the first line of a file that only its
 * owner can read; -1 with the reason in err */
static int
auth_load(const char *path, char **user, char **pass, buf_t *err)
{
	char text[4096], *colon;
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		buf_printf(err, "smtp: auth_file %s: %s", path, strerror(errno));
		goto out;
	}
	/* fstat the open file: what we check is what we read */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		buf_printf(err, "smtp: auth_file %s: not a regular file", path);
		goto out;
	}
	if (st.st_mode & 077) {
		buf_printf(err, "smtp: auth_file %s: refused, mode %04o lets group or "
		    "others at the password (chmod 600 it)", path,
		    (unsigned)(st.st_mode & 07777));
		goto out;
	}
	while (len < sizeof text - 1 &&
	    (n = read(fd, text + len, sizeof text - 1 - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			buf_printf(err, "smtp: auth_file %s: %s", path, strerror(errno));
			goto out;
		}
		len += (size_t)n;
	}
	text[len] = '\0';
	text[strcspn(text, "\r\n")] = '\0';
	if ((colon = strchr(text, ':')) == NULL || colon == text) {
		buf_printf(err, "smtp: auth_file %s: the first line is not "
		    "\"user:password\"", path);
		goto out;
	}
	*colon = '\0';
	*user = xstrdup(text);
	*pass = xstrdup(colon + 1);
	rc = 0;
out:
	explicit_bzero(text, sizeof text);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* read_cb - the message straight from the caller's buffer; on stop, end
 * the upload as failed, after which libcurl sends no "." */
static size_t
read_cb(char *out, size_t size, size_t nitems, void *arg)
{
	struct slot *sl = arg;
	size_t n = size * nitems, left = sl->len - sl->off;

	if (atomic_load_explicit(&sl->stop, memory_order_relaxed))
		return CURL_READFUNC_ABORT;
	if (n > left)
		n = left;
	memcpy(out, sl->data + sl->off, n);
	sl->off += n;
	return n;
}

/* xferinfo_cb - libcurl asks whether to go on, also while it resolves or
 * connects, where no socket of ours could be shut down */
static int
xferinfo_cb(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
    curl_off_t ulnow)
{
	struct slot *sl = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return atomic_load_explicit(&sl->stop, memory_order_relaxed);
}

static int
fd_index(const struct slot *sl, curl_socket_t fd)
{
	for (int i = 0; i < SLOT_FDS; i++)
		if (sl->fds[i] == fd)
			return i;
	return -1;
}

/* opensocket_cb - libcurl's socket(), recorded so smtp_free() can shut
 * it down; none once the slot is stopped */
static curl_socket_t
opensocket_cb(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct slot *sl = arg;
	curl_socket_t fd = CURL_SOCKET_BAD;
	int i;

	(void)purpose;
	pthread_mutex_lock(&sl->smtp->lock);
	/* CLOEXEC: a child the caller forks must not hold the session open */
	if (!atomic_load(&sl->stop) && (i = fd_index(sl, CURL_SOCKET_BAD)) >= 0 &&
	    (fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol)) >= 0)
		sl->fds[i] = fd;
	pthread_mutex_unlock(&sl->smtp->lock);
	return fd;
}

/* closesocket_cb - forget the socket before its number can be reused */
static int
closesocket_cb(void *arg, curl_socket_t fd)
{
	struct slot *sl = arg;
	int i;

	pthread_mutex_lock(&sl->smtp->lock);
	if ((i = fd_index(sl, fd)) >= 0)
		sl->fds[i] = CURL_SOCKET_BAD;
	pthread_mutex_unlock(&sl->smtp->lock);
	return close(fd);
}

/* write_cb - SMTP uploads produce no body; keep libcurl off stdout */
static size_t
write_cb(char *p, size_t size, size_t nitems, void *arg)
{
	(void)p;
	(void)arg;
	return size * nitems;
}

/* sockopt_cb - a new connection for this slot: earlier QUITs (of a
 * session libcurl evicted through this handle) are behind us */
static int
sockopt_cb(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	struct slot *sl = arg;

	(void)fd;
	(void)purpose;
	sl->quitting = 0;
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

/* command_out - a command line went to the server */
static void
command_out(struct slot *sl, const char *p, size_t n)
{
	int stage = -1;

	if (prefix(p, n, "QUIT"))
		sl->quitting = 1;
	else if (prefix(p, n, "MAIL FROM:"))
		stage = SMTP_STAGE_MAIL;
	else if (prefix(p, n, "RCPT TO:"))
		stage = SMTP_STAGE_RCPT;
	else if (prefix(p, n, "DATA\r\n"))
		stage = SMTP_STAGE_DATA;
	/* forward only: an AUTH continuation is base64 and could spell
	 * anything, but it comes before MAIL */
	if (stage > sl->stage)
		sl->stage = stage;
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

static int
debug_cb(CURL *easy, curl_infotype type, char *p, size_t n, void *arg)
{
	struct slot *sl = arg;

	(void)easy;
	if (type == CURLINFO_HEADER_OUT)
		command_out(sl, p, n);
	else if (type == CURLINFO_HEADER_IN && !sl->quitting)
		reply_in(sl, p, n);
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

/* result_build - what the transfer came to, from the slot's thread */
static void
result_build(struct slot *sl, CURLcode rc)
{
	smtp_result_t *r = &sl->result;
	long code = 0;

	memset(r, 0, sizeof *r);
	curl_easy_getinfo(sl->easy, CURLINFO_RESPONSE_CODE, &code);
	if (sl->reply_len > 0)
		code = sl->reply_code;
	r->stage = rc == CURLE_OK ? SMTP_STAGE_DONE : sl->stage;
	if (rc == CURLE_OK || code >= 400) {
		r->code = (int)code;
		snprintf(r->text, sizeof r->text, "%s", sl->reply);
		enhanced_code(sl->reply, r->code, r->enhanced);
	} else {
		/* the last reply was a good one: the server said nothing
		 * about the failure, libcurl knows what happened */
		r->code = 0;
		snprintf(r->text, sizeof r->text, "%s",
		    sl->errbuf[0] ? sl->errbuf : curl_easy_strerror(rc));
	}
}

/* transfer - one message over the slot's session, in the slot's thread */
static void
transfer(struct slot *sl)
{
	CURL *e = sl->easy;

	/* libcurl copies the sender; a newsletter has one, so copy once */
	if (sl->from_new) {
		curl_easy_setopt(e, CURLOPT_MAIL_FROM, buf_str(&sl->from));
		sl->from_new = 0;
	}
	/* ... but not the recipient list: it lives in the slot */
	sl->rcpt_list.data = sl->rcpt.data;
	sl->rcpt_list.next = NULL;
	curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)sl->len);
	sl->off = 0;
	sl->stage = SMTP_STAGE_CONNECT;
	sl->quitting = 0;
	sl->reply_open = 0;
	sl->reply_code = 0;
	sl->reply_len = 0;
	sl->reply[0] = '\0';
	sl->errbuf[0] = '\0';
	result_build(sl, curl_easy_perform(e));
}

/* worker - a slot's thread: jobs one at a time until smtp_free() */
static void *
worker(void *arg)
{
	struct slot *sl = arg;
	smtp_t *s = sl->smtp;
	uint64_t one = 1;
	int stop, wake;

	for (;;) {
		pthread_mutex_lock(&s->lock);
		while (!sl->job && !s->stopping)
			pthread_cond_wait(&sl->wake, &s->lock);
		stop = s->stopping;
		pthread_mutex_unlock(&s->lock);
		if (stop)
			break;
		transfer(sl);
		pthread_mutex_lock(&s->lock);
		sl->job = 0;
		sl->next = NULL;
		wake = s->done == NULL;
		*s->done_tail = sl;
		s->done_tail = &sl->next;
		pthread_mutex_unlock(&s->lock);
		/* one count per batch: smtp_process() takes the whole queue,
		 * and whoever made it non-empty counts after the caller's
		 * last reset.  The write cannot fail: the counter is far from
		 * its 2^64 - 2 ceiling. */
		if (wake && write(s->efd, &one, sizeof one) != sizeof one)
			fatal("smtp: eventfd: %s", strerror(errno));
	}
	/* an idle session gets its QUIT here, cut short by smtp_free()
	 * when the relay is slow to answer */
	curl_easy_cleanup(sl->easy);
	pthread_mutex_lock(&s->lock);
	sl->easy = NULL;
	s->nrunning--;
	pthread_cond_signal(&s->exited);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* threads_start - one thread per slot; -1 with the reason in err */
static int
threads_start(smtp_t *s, buf_t *err)
{
	sigset_t all, old;
	int e, rc = 0;

	/* signals are the caller's (tiedoted reads them from a signalfd,
	 * which works only while no thread accepts them); a thread starts
	 * with its creator's mask, so no window where it would */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (int i = 0; i < s->nslots; i++) {
		if ((e = pthread_create(&s->slots[i].thread, NULL, worker,
		    &s->slots[i])) != 0) {
			buf_printf(err, "smtp: cannot start a connection thread: %s",
			    strerror(e));
			rc = -1;
			break;
		}
		s->nthreads++;
		pthread_mutex_lock(&s->lock);
		s->nrunning++;
		pthread_mutex_unlock(&s->lock);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/* slot_abort - fail whatever the slot's thread does on the network now
 * and later; under the lock, so no socket closes in between */
static void
slot_abort(struct slot *sl)
{
	atomic_store(&sl->stop, 1);
	for (int i = 0; i < SLOT_FDS; i++)
		if (sl->fds[i] != CURL_SOCKET_BAD)
			shutdown(sl->fds[i], SHUT_RDWR);
}

/* threads_stop - end and join the slots' threads: transfers in flight at
 * once, idle sessions after their QUIT or QUIT_WAIT_MS */
static void
threads_stop(smtp_t *s)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += QUIT_WAIT_MS / 1000;
	until.tv_nsec += (QUIT_WAIT_MS % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->lock);
	s->stopping = 1;
	for (int i = 0; i < s->nslots; i++) {
		if (s->slots[i].job)
			slot_abort(&s->slots[i]);
		pthread_cond_signal(&s->slots[i].wake);
	}
	while (s->nrunning > 0 &&
	    pthread_cond_timedwait(&s->exited, &s->lock, &until) != ETIMEDOUT)
		;
	/* what is left waits on a relay that does not answer QUIT; with
	 * its sockets shut down every wait in libcurl ends at once, so the
	 * joins below are short */
	if (s->nrunning > 0)
		for (int i = 0; i < s->nslots; i++)
			slot_abort(&s->slots[i]);
	pthread_mutex_unlock(&s->lock);
	for (int i = 0; i < s->nthreads; i++)
		pthread_join(s->slots[i].thread, NULL);
}

smtp_t *
smtp_new(const smtp_conf_t *conf, smtp_done_cb cb, void *arg, buf_t *err)
{
	smtp_t *s = NULL;
	CURLU *u = NULL;
	pthread_condattr_t ca;
	char *scheme = NULL, *host = NULL, *url = NULL;
	char path[300];
	long use_ssl, timeout = conf->timeout_ms ? conf->timeout_ms : SMTP_TIMEOUT_DEFAULT;
	int ok = 0;

	if (smtp_conf_check(conf, err) < 0 ||
	    url_parse(conf->url, &scheme, &host, err) < 0)
		goto out;
	s = xcalloc(1, sizeof *s);
	s->cb = cb;
	s->arg = arg;
	s->efd = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->exited, &ca);
	pthread_condattr_destroy(&ca);
	s->done_tail = &s->done;
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
		pthread_cond_init(&sl->wake, NULL);
		buf_init(&sl->from, ADDR_MAX + 1);
		buf_init(&sl->rcpt, ADDR_MAX + 1);
		for (int j = 0; j < SLOT_FDS; j++)
			sl->fds[j] = CURL_SOCKET_BAD;
		s->freelist[s->nfree++] = s->nslots - 1 - i;
	}
	if (conf->auth_file && auth_load(conf->auth_file, &s->user, &s->pass, err) < 0)
		goto out;

	/* the URL's path is libcurl's EHLO name */
	u = curl_url();
	snprintf(path, sizeof path, "/%s", conf->helo ? conf->helo : "");
	if (curl_url_set(u, CURLUPART_URL, conf->url, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_PATH, path, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK) {
		buf_printf(err, "smtp: cannot build the URL from \"%s\"", conf->url);
		goto out;
	}
	s->url = xstrdup(url);

	use_ssl = smtp_tls_required(conf) && strcmp(scheme, "smtp") == 0 ?
	    CURLUSESSL_ALL : CURLUSESSL_NONE;
	if (s->user && !smtp_tls_required(conf) && !host_is_loopback(host))
		log_warn("smtp: relay %s: password will be sent without TLS (tls=never)",
		    conf->url);

	for (int i = 0; i < s->nslots; i++) {
		struct slot *sl = &s->slots[i];
		CURL *e;

		if ((e = sl->easy = curl_easy_init()) == NULL)
			fatal("curl_easy_init failed");
		if (curl_easy_setopt(e, CURLOPT_URL, s->url) != CURLE_OK ||
		    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps") != CURLE_OK ||
		    curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, (long)UPLOAD_BUFFER) != CURLE_OK) {
			buf_printf(err, "smtp: this libcurl lacks SMTP support or options "
			    "we need (7.85 or later)");
			goto out;
		}
		curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(e, CURLOPT_READDATA, sl);
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
		curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
		curl_easy_setopt(e, CURLOPT_XFERINFODATA, sl);
		curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, opensocket_cb);
		curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, sl);
		curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, closesocket_cb);
		curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, sl);
		curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, sockopt_cb);
		curl_easy_setopt(e, CURLOPT_SOCKOPTDATA, sl);
		/* the debug callback is how we see the replies' text */
		curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
		curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, debug_cb);
		curl_easy_setopt(e, CURLOPT_DEBUGDATA, sl);
		curl_easy_setopt(e, CURLOPT_ERRORBUFFER, sl->errbuf);
		curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
		/* the transfer's timeout does not cover the wait for the reply
		 * to the QUIT libcurl sends when it closes a session after a
		 * failure; this does */
		curl_easy_setopt(e, CURLOPT_SERVER_RESPONSE_TIMEOUT, (timeout + 999) / 1000);
		curl_easy_setopt(e, CURLOPT_USE_SSL, use_ssl);
		if (s->user) {
			curl_easy_setopt(e, CURLOPT_USERNAME, s->user);
			curl_easy_setopt(e, CURLOPT_PASSWORD, s->pass);
		}
		curl_easy_setopt(e, CURLOPT_MAIL_RCPT, &sl->rcpt_list);
	}
	if ((s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		buf_printf(err, "smtp: eventfd: %s", strerror(errno));
		goto out;
	}
	if (threads_start(s, err) < 0)
		goto out;
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

void
smtp_free(smtp_t *s)
{
	if (s == NULL)
		return;
	if (s->nthreads > 0)
		threads_stop(s);
	for (int i = 0; i < s->nslots; i++) {
		struct slot *sl = &s->slots[i];

		/* in flight, or done but not delivered: no callback */
		free(sl->data);
		if (sl->easy)	/* its thread never ran */
			curl_easy_cleanup(sl->easy);
		buf_free(&sl->from);
		buf_free(&sl->rcpt);
		pthread_cond_destroy(&sl->wake);
	}
	if (s->efd >= 0)
		close(s->efd);
	pthread_cond_destroy(&s->exited);
	pthread_mutex_destroy(&s->lock);
	if (s->pass) {
		explicit_bzero(s->pass, strlen(s->pass));
		free(s->pass);
	}
	free(s->user);
	free(s->url);
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

	/* the slot is idle: its thread reads none of this until job is set */
	if (!sl->from_set || strcmp(buf_str(&sl->from), from) != 0) {
		buf_reset(&sl->from);
		buf_adds(&sl->from, from);
		sl->from_new = 1;
		sl->from_set = 1;
	}
	buf_reset(&sl->rcpt);
	buf_adds(&sl->rcpt, rcpt);
	sl->id = id;
	sl->data = data;
	sl->len = len;
	sl->busy = 1;
	s->nbusy++;
	pthread_mutex_lock(&s->lock);
	sl->job = 1;
	pthread_mutex_unlock(&s->lock);
	/* after the unlock, so the thread does not wake into a held lock */
	pthread_cond_signal(&sl->wake);
	return 0;
}

/* finish - a result came back: the slot back, the data freed, the callback */
static void
finish(smtp_t *s, struct slot *sl)
{
	/* the callback may hand this slot the next message, and its thread
	 * would write the next result over this one */
	smtp_result_t r = sl->result;
	uint64_t id = sl->id;

	free(sl->data);
	sl->data = NULL;
	sl->busy = 0;
	s->nbusy--;
	s->freelist[s->nfree++] = (int)(sl - s->slots);
	s->cb(s->arg, id, &r);
}

long
smtp_timeout_ms(smtp_t *s)
{
	const struct bucket *bs[] = { &s->per_sec, &s->per_hour };
	double wait = 0;

	/* results wake the poll through the eventfd; only a limiter holding
	 * back free slots needs a timer */
	if (s->nfree == 0 || !rate_limited(s) || smtp_ready(s) > 0)
		return -1;
	for (size_t i = 0; i < NELEM(bs); i++)
		if (bs[i]->rate > 0 && bs[i]->tokens < 1 &&
		    (1 - bs[i]->tokens) / bs[i]->rate > wait)
			wait = (1 - bs[i]->tokens) / bs[i]->rate;
	return (long)ceil(wait);
}

int
smtp_pollitems(smtp_t *s, zmq_pollitem_t *items, int max)
{
	if (max > 0)
		items[0] = (zmq_pollitem_t){ NULL, s->efd, ZMQ_POLLIN, 0 };
	return 1;
}

void
smtp_process(smtp_t *s, const zmq_pollitem_t *items, int n)
{
	struct slot *sl, *next;
	uint64_t count;

	/* reset the eventfd before taking the queue: a result queued after
	 * the take is written after this read, so the fd stays readable */
	for (int i = 0; i < n; i++)
		if (items[i].socket == NULL && items[i].fd == s->efd &&
		    (items[i].revents & ZMQ_POLLIN) &&
		    read(s->efd, &count, sizeof count) < 0 && errno != EAGAIN)
			fatal("smtp: eventfd: %s", strerror(errno));
	pthread_mutex_lock(&s->lock);
	sl = s->done;
	s->done = NULL;
	s->done_tail = &s->done;
	pthread_mutex_unlock(&s->lock);
	/* the list is ours now; a slot goes back on the queue only after
	 * finish() has given it out again */
	for (; sl != NULL; sl = next) {
		next = sl->next;
		finish(s, sl);
	}
}
