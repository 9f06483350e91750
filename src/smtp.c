/*
 * smtp - delivery through one relay with libcurl's multi interface;
 * contract in smtp.h.
 *
 * Design.  There is one easy handle per connection slot, configured once
 * in smtp_new(); a message only changes the sender (when it differs from
 * the last one), the recipient list (a curl_slist node inside the slot,
 * so no allocation) and the upload size.  libcurl's connection cache in the
 * multi handle holds the sessions: a handle that finishes leaves its
 * connection idle in the cache and the next handle added picks it up, so
 * with at most `connections` handles in the multi and MAX_HOST_CONNECTIONS
 * set to the same number, the relay sees that many sessions, each carrying
 * many transactions.
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
 * Time.  libcurl's timer runs on CLOCK_MONOTONIC (a timeout must not
 * follow a settable clock); the rate limiter runs on clock_now_ms(), so a
 * test can give or withhold tokens by moving the clock.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
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

struct slot {
	smtp_t	*smtp;
	CURL	*easy;
	int	 busy;
	uint64_t id;
	char	*data;			/* owned while busy */
	size_t	 len, off;
	buf_t	 from;			/* the sender libcurl has now */
	int	 from_set;
	buf_t	 rcpt;
	struct curl_slist rcpt_list;	/* one node over rcpt.data */
	/* what the debug callback saw of this transfer */
	int	 stage;
	int	 quitting;		/* a QUIT went out: ignore replies */
	int	 reply_open;		/* last line was "NNN-": more follow */
	int	 reply_code;
	size_t	 reply_len;
	char	 reply[512];
	char	 errbuf[CURL_ERROR_SIZE];
};

struct sock {
	curl_socket_t fd;
	short	 events;
};

/* a token bucket; rate in tokens per millisecond, 0 = unlimited */
struct bucket {
	double	 rate, cap, tokens;
};

struct smtp {
	CURLM	*multi;
	smtp_done_cb cb;
	void	*arg;
	struct slot *slots;
	int	 nslots, nbusy;
	int	*freelist, nfree;
	struct sock *socks;
	int	 nsocks, socks_cap;
	int64_t	 timer_at;		/* CLOCK_MONOTONIC us, -1 none */
	unsigned timer_calls;
	struct bucket per_sec, per_hour;
	int64_t	 rate_at;		/* clock_now_ms() of the last refill */
	char	*url;
	char	*user, *pass;
};

static int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

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

/* read_cb - the message straight from the caller's buffer */
static size_t
read_cb(char *out, size_t size, size_t nitems, void *arg)
{
	struct slot *sl = arg;
	size_t n = size * nitems, left = sl->len - sl->off;

	if (n > left)
		n = left;
	memcpy(out, sl->data + sl->off, n);
	sl->off += n;
	return n;
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

static int
sock_find(smtp_t *s, curl_socket_t fd)
{
	for (int i = 0; i < s->nsocks; i++)
		if (s->socks[i].fd == fd)
			return i;
	return -1;
}

/* sock_cb - libcurl says which events a socket waits for */
static int
sock_cb(CURL *easy, curl_socket_t fd, int what, void *arg, void *sockp)
{
	smtp_t *s = arg;
	int i = sock_find(s, fd);

	(void)easy;
	(void)sockp;
	if (what == CURL_POLL_REMOVE) {
		if (i >= 0)
			s->socks[i] = s->socks[--s->nsocks];
		return 0;
	}
	if (i < 0) {
		if (s->nsocks == s->socks_cap) {
			s->socks_cap = s->socks_cap ? s->socks_cap * 2 : 8;
			s->socks = xrealloc(s->socks, (size_t)s->socks_cap * sizeof *s->socks);
		}
		i = s->nsocks++;
		s->socks[i].fd = fd;
	}
	s->socks[i].events = (short)(((what & CURL_POLL_IN) ? ZMQ_POLLIN : 0) |
	    ((what & CURL_POLL_OUT) ? ZMQ_POLLOUT : 0));
	return 0;
}

static int
timer_cb(CURLM *multi, long timeout_ms, void *arg)
{
	smtp_t *s = arg;

	(void)multi;
	s->timer_calls++;
	s->timer_at = timeout_ms < 0 ? -1 : mono_us() + (int64_t)timeout_ms * 1000;
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

smtp_t *
smtp_new(const smtp_conf_t *conf, smtp_done_cb cb, void *arg, buf_t *err)
{
	smtp_t *s = NULL;
	CURLU *u = NULL;
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
	s->timer_at = -1;
	s->nslots = conf->connections ? conf->connections : SMTP_CONNECTIONS_DEFAULT;
	bucket_init(&s->per_sec, conf->rate_per_sec / 1000.0, conf->rate_per_sec);
	bucket_init(&s->per_hour, (double)conf->rate_per_hour / 3600000.0,
	    (double)conf->rate_per_hour);
	s->rate_at = rate_limited(s) ? clock_now_ms() : 0;
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

	if ((s->multi = curl_multi_init()) == NULL)
		fatal("curl_multi_init failed");
	curl_multi_setopt(s->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(s->multi, CURLMOPT_SOCKETDATA, s);
	curl_multi_setopt(s->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(s->multi, CURLMOPT_TIMERDATA, s);
	curl_multi_setopt(s->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)s->nslots);
	curl_multi_setopt(s->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)s->nslots);
	curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS, (long)s->nslots);

	s->slots = xcalloc((size_t)s->nslots, sizeof *s->slots);
	s->freelist = xcalloc((size_t)s->nslots, sizeof *s->freelist);
	for (int i = 0; i < s->nslots; i++) {
		struct slot *sl = &s->slots[i];
		CURL *e;

		sl->smtp = s;
		buf_init(&sl->from, ADDR_MAX + 1);
		buf_init(&sl->rcpt, ADDR_MAX + 1);
		if ((e = sl->easy = curl_easy_init()) == NULL)
			fatal("curl_easy_init failed");
		s->freelist[s->nfree++] = s->nslots - 1 - i;
		if (curl_easy_setopt(e, CURLOPT_URL, s->url) != CURLE_OK ||
		    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps") != CURLE_OK ||
		    curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, (long)UPLOAD_BUFFER) != CURLE_OK) {
			buf_printf(err, "smtp: this libcurl lacks SMTP support or options "
			    "we need (7.85 or later)");
			goto out;
		}
		curl_easy_setopt(e, CURLOPT_PRIVATE, sl);
		curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(e, CURLOPT_READDATA, sl);
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
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
		/* bounds the one wait libcurl does blocking: the reply to the
		 * QUIT it sends when it closes a session after a failure */
		curl_easy_setopt(e, CURLOPT_SERVER_RESPONSE_TIMEOUT, (timeout + 999) / 1000);
		curl_easy_setopt(e, CURLOPT_USE_SSL, use_ssl);
		if (s->user) {
			curl_easy_setopt(e, CURLOPT_USERNAME, s->user);
			curl_easy_setopt(e, CURLOPT_PASSWORD, s->pass);
		}
		curl_easy_setopt(e, CURLOPT_MAIL_RCPT, &sl->rcpt_list);
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

/* abort_inflight - end every transfer in flight, without callbacks.
 *
 * curl_multi_remove_handle() will not do: libcurl (7.88, smtp_done())
 * treats a removed upload that has not failed as finished, sends the
 * end-of-data "." -- a truncated message the relay would deliver -- and
 * waits for the reply, blocking.  A transfer that has failed is closed
 * without either, so make them fail: a 1 ms timeout, then run them. */
static void
abort_inflight(smtp_t *s)
{
	int running, left;
	CURLMsg *m;

	for (int i = 0; i < s->nslots; i++)
		if (s->slots[i].busy)
			curl_easy_setopt(s->slots[i].easy, CURLOPT_TIMEOUT_MS, 1L);
	for (int tries = 0; s->nbusy > 0 && tries < 1000; tries++) {
		struct timespec ms = { 0, 1000000 };

		nanosleep(&ms, NULL);
		curl_multi_perform(s->multi, &running);
		while ((m = curl_multi_info_read(s->multi, &left)) != NULL) {
			char *priv = NULL;
			struct slot *sl;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
			sl = (struct slot *)(void *)priv;
			curl_multi_remove_handle(s->multi, sl->easy);
			sl->busy = 0;
			s->nbusy--;
		}
	}
}

void
smtp_free(smtp_t *s)
{
	if (s == NULL)
		return;
	if (s->nbusy > 0)
		abort_inflight(s);
	for (int i = 0; s->slots && i < s->nslots; i++) {
		struct slot *sl = &s->slots[i];

		if (sl->busy)	/* still? then the blocking way */
			curl_multi_remove_handle(s->multi, sl->easy);
		free(sl->data);
		if (sl->easy)
			curl_easy_cleanup(sl->easy);
		buf_free(&sl->from);
		buf_free(&sl->rcpt);
	}
	/* idle sessions get their QUIT here */
	if (s->multi)
		curl_multi_cleanup(s->multi);
	if (s->pass) {
		explicit_bzero(s->pass, strlen(s->pass));
		free(s->pass);
	}
	free(s->user);
	free(s->url);
	free(s->slots);
	free(s->freelist);
	free(s->socks);
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
	CURLMcode mc;

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

	/* libcurl copies the sender; a newsletter has one, so copy once */
	if (!sl->from_set || strcmp(sl->from.data, from) != 0) {
		buf_reset(&sl->from);
		buf_adds(&sl->from, from);
		curl_easy_setopt(sl->easy, CURLOPT_MAIL_FROM, from);
		sl->from_set = 1;
	}
	/* ... but not the recipient list: it must live in the slot */
	buf_reset(&sl->rcpt);
	buf_adds(&sl->rcpt, rcpt);
	sl->rcpt_list.data = sl->rcpt.data;
	sl->rcpt_list.next = NULL;
	curl_easy_setopt(sl->easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);

	sl->id = id;
	sl->data = data;
	sl->len = len;
	sl->off = 0;
	sl->stage = SMTP_STAGE_CONNECT;
	sl->quitting = 0;
	sl->reply_open = 0;
	sl->reply_code = 0;
	sl->reply_len = 0;
	sl->reply[0] = '\0';
	sl->errbuf[0] = '\0';
	if ((mc = curl_multi_add_handle(s->multi, sl->easy)) != CURLM_OK)
		fatal("curl_multi_add_handle: %s", curl_multi_strerror(mc));
	sl->busy = 1;
	s->nbusy++;
	return 0;
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

/* finish - a transfer ended: the result, the slot back, the callback */
static void
finish(smtp_t *s, struct slot *sl, CURLcode rc)
{
	smtp_result_t r;
	long code = 0;

	memset(&r, 0, sizeof r);
	curl_easy_getinfo(sl->easy, CURLINFO_RESPONSE_CODE, &code);
	if (sl->reply_len > 0)
		code = sl->reply_code;
	r.stage = rc == CURLE_OK ? SMTP_STAGE_DONE : sl->stage;
	if (rc == CURLE_OK || code >= 400) {
		r.code = (int)code;
		snprintf(r.text, sizeof r.text, "%s", sl->reply);
		enhanced_code(sl->reply, r.code, r.enhanced);
	} else {
		/* the last reply was a good one: the server said nothing
		 * about the failure, libcurl knows what happened */
		r.code = 0;
		snprintf(r.text, sizeof r.text, "%s",
		    sl->errbuf[0] ? sl->errbuf : curl_easy_strerror(rc));
	}
	curl_multi_remove_handle(s->multi, sl->easy);
	free(sl->data);
	sl->data = NULL;
	sl->busy = 0;
	s->nbusy--;
	s->freelist[s->nfree++] = (int)(sl - s->slots);
	s->cb(s->arg, sl->id, &r);
}

long
smtp_timeout_ms(smtp_t *s)
{
	long t = -1;

	if (s->timer_at >= 0) {
		int64_t d = s->timer_at - mono_us();

		/* round up: waking early would only poll again */
		t = d <= 0 ? 0 : (long)((d + 999) / 1000);
	}
	if (s->nfree > 0 && rate_limited(s) && smtp_ready(s) == 0) {
		double wait = 0;
		const struct bucket *bs[] = { &s->per_sec, &s->per_hour };

		for (size_t i = 0; i < NELEM(bs); i++)
			if (bs[i]->rate > 0 && bs[i]->tokens < 1 &&
			    (1 - bs[i]->tokens) / bs[i]->rate > wait)
				wait = (1 - bs[i]->tokens) / bs[i]->rate;
		if (t < 0 || (long)ceil(wait) < t)
			t = (long)ceil(wait);
	}
	return t;
}

int
smtp_pollitems(smtp_t *s, zmq_pollitem_t *items, int max)
{
	for (int i = 0; i < s->nsocks && i < max; i++)
		items[i] = (zmq_pollitem_t){ NULL, s->socks[i].fd, s->socks[i].events, 0 };
	return s->nsocks;
}

void
smtp_process(smtp_t *s, const zmq_pollitem_t *items, int n)
{
	int running, left;
	CURLMsg *m;

	for (int i = 0; i < n; i++) {
		int flags = 0;

		if (items[i].socket != NULL || items[i].revents == 0 ||
		    sock_find(s, items[i].fd) < 0)
			continue;
		if (items[i].revents & ZMQ_POLLIN)
			flags |= CURL_CSELECT_IN;
		if (items[i].revents & ZMQ_POLLOUT)
			flags |= CURL_CSELECT_OUT;
		if (items[i].revents & ZMQ_POLLERR)
			flags |= CURL_CSELECT_ERR;
		curl_multi_socket_action(s->multi, items[i].fd, flags, &running);
	}
	if (s->timer_at >= 0 && mono_us() >= s->timer_at) {
		unsigned calls = s->timer_calls;

		curl_multi_socket_action(s->multi, CURL_SOCKET_TIMEOUT, 0, &running);
		/* libcurl calls the timer function only when its next deadline
		 * changes; if it did not, ask, so an expired deadline cannot
		 * make the loop spin */
		if (s->timer_calls == calls) {
			long t = -1;

			curl_multi_timeout(s->multi, &t);
			s->timer_at = t < 0 ? -1 : mono_us() + (int64_t)t * 1000;
		}
	}
	while ((m = curl_multi_info_read(s->multi, &left)) != NULL) {
		CURLcode rc = m->data.result;
		char *priv = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
		finish(s, (struct slot *)(void *)priv, rc);
	}
}
