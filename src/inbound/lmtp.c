/*
 * lmtp - RFC 2033 listener in the worker's loop; contract in lmtp.h.
 *
 * Each session reads what is there, handles every complete line (so a
 * pipelining client's commands are answered in order), and writes its
 * replies; what the socket does not take now waits for POLLOUT.  DATA is
 * streamed: dot-unstuffed into the session's message, of which the first
 * INBOUND_RAW_MAX bytes are kept and the rest only counted.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "inbound.h"
#include "lmtp.h"
#include "log.h"
#include "util.h"

#define READ_CHUNK	65536
#define OUT_MAX		((size_t)1 << 20)	/* replies waiting for the socket */
#define IDLE_CHECK_MS	10000

enum sstate { S_START, S_READY, S_MAIL, S_DATA, S_CLOSING };

struct session {
	struct lmtp *l;
	int	 fd, id;		/* id: the loop's entry */
	enum sstate state;
	buf_t	 in, out, msg;
	size_t	 size;			/* DATA bytes, kept or not */
	int	 bol;			/* DATA: at the start of a line */
	int	 cr;			/* DATA: the last byte taken was a CR */
	int	 stuck;			/* idle checks seen while S_CLOSING */
	char	*rcpt[LMTP_RCPT_MAX];
	int	 nrcpt;
	int64_t	 last;			/* clock_mono_ms() of the last input */
	char	 peer[64];
};

struct lmtp {
	const conf_t *conf;
	store_t	*store;
	loop_t	*loop;
	int	 fd, id, timer;
	char	*path;			/* the UNIX socket file, or NULL */
	void	(*stored)(void *);	/* lmtp_on_stored(), or NULL */
	void	*stored_arg;
	struct session *s[LMTP_SESSIONS_MAX];
};

/* say - a whole reply line or none: a client that reads no more than
 * OUT_MAX of its replies is closed, never sent half a line */
static void
say(struct session *s, const char *line)
{
	if (buf_printf(&s->out, "%s\r\n", line) < 0)
		s->state = S_CLOSING;
}

static void
reset(struct session *s)
{
	for (int i = 0; i < s->nrcpt; i++)
		free(s->rcpt[i]);
	s->nrcpt = 0;
	buf_reset(&s->msg);
	s->size = 0;
	s->bol = 1;
	s->cr = 0;
}

static void
session_free(struct session *s)
{
	struct lmtp *l = s->l;

	for (int i = 0; i < LMTP_SESSIONS_MAX; i++)
		if (l->s[i] == s)
			l->s[i] = NULL;
	if (s->id >= 0)
		loop_del(l->loop, s->id);
	close(s->fd);
	reset(s);
	buf_free(&s->in);
	buf_free(&s->out);
	buf_free(&s->msg);
	free(s);
}

/* flush - write what waits; 0 while the session lives, -1 once freed */
static int
flush(struct session *s)
{
	while (s->out.len) {
		ssize_t n = write(s->fd, s->out.data, s->out.len);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0) {
			session_free(s);
			return -1;
		}
		memmove(s->out.data, s->out.data + n, s->out.len - (size_t)n);
		s->out.len -= (size_t)n;
	}
	if (s->out.len == 0 && s->state == S_CLOSING) {
		session_free(s);
		return -1;
	}
	/* a closing session reads no more: it only writes what it owes */
	loop_set_events(s->l->loop, s->id, (s->state == S_CLOSING ? 0 : ZMQ_POLLIN) |
	    (s->out.len ? ZMQ_POLLOUT : 0));
	return 0;
}

/* the address inside "FROM:<x>" / "TO:<x>", copied; NULL when malformed */
static char *
path_arg(const char *arg)
{
	const char *lt = strchr(arg, '<'), *gt = lt ? strchr(lt, '>') : NULL;

	if (lt == NULL || gt == NULL)
		return NULL;
	return xstrndup(lt + 1, (size_t)(gt - lt - 1));
}

/* delivered - the end of DATA: one reply per recipient, each after its
 * commit */
static void
delivered(struct session *s)
{
	struct lmtp *l = s->l;
	size_t max = (size_t)l->conf->inbound_max_kb << 10;
	char line[256], safe[300];
	int stops = 0;

	for (int i = 0; i < s->nrcpt; i++) {
		inbound_result_t res;
		buf_t err;

		if (s->size > max) {
			snprintf(line, sizeof line, "552 5.3.4 <%.100s> message of %zu bytes is over"
			    " inbound.max_message_kb", s->rcpt[i], s->size);
			say(s, line);
			continue;
		}
		buf_init(&err, 4096);
		if (inbound_accept(l->store, l->conf, VIA_LMTP, s->rcpt[i], s->msg.data ?
		    s->msg.data : "", s->msg.len, s->size, &res, &err) < 0) {
			log_error("lmtp: %s (%s, for <%s>): answered 451", buf_str(&err), s->peer,
			    addr_redact(s->rcpt[i], safe, sizeof safe));
			snprintf(line, sizeof line, "451 4.3.0 <%.100s> cannot be stored now, try"
			    " again later", s->rcpt[i]);
		} else {
			log_ids(LOG_INFO, &(log_ids_t){ .recipient = addr_redact(s->rcpt[i], safe,
			    sizeof safe) }, "lmtp: inbound %lld from %s for <%s>: %s: %s",
			    (long long)res.id, s->peer, safe,
			    classify_kind_name(res.kind), res.action);
			snprintf(line, sizeof line, "250 2.0.0 <%.100s> inbound %lld %s", s->rcpt[i],
			    (long long)res.id, classify_kind_name(res.kind));
			stops |= res.kind == KIND_BOUNCE || res.kind == KIND_COMPLAINT ||
			    res.kind == KIND_UNSUBSCRIBE;
		}
		buf_free(&err);
		say(s, line);
	}
	/* what may have ended a reader's mail is committed: their messages
	 * already claimed are judged again before they go */
	if (stops && l->stored)
		l->stored(l->stored_arg);
	reset(s);
	if (s->state != S_CLOSING)	/* a reply did not fit */
		s->state = S_READY;
}

/* data_bytes - DATA input [p, p+n): unstuffed into msg; 1 at the final
 * dot (*used: the bytes eaten, the dot line included).  Only CRLF ends a
 * line (RFC 5321 4.1.1.4): after a bare LF a dot is data, and <LF>.<LF>
 * or <CRLF>.<LF> does not end the message, or a client could hide a
 * second message inside the first from a relay that reads it otherwise
 * ("SMTP smuggling") */
static int
data_bytes(struct session *s, const char *p, size_t n, size_t *used)
{
	size_t i = 0;

	while (i < n) {
		const char *nl = memchr(p + i, '\n', n - i);
		size_t end = nl ? (size_t)(nl - p) + 1 : n, len = end - i;
		const char *line = p + i;
		int crlf = nl != NULL && (len >= 2 ? line[len - 2] == '\r' : s->cr);

		if (s->bol && line[0] == '.') {
			if (nl == NULL && len < 3) {
				/* ".", ".\r": wait for the rest of the line */
				*used = i;
				return 0;
			}
			if (len == 3 && line[1] == '\r' && line[2] == '\n') {
				*used = end;
				return 1;
			}
			line++, len--;
		}
		s->size += len;
		if (s->msg.len < INBOUND_RAW_MAX && buf_add(&s->msg, line,
		    INBOUND_RAW_MAX - s->msg.len < len ? INBOUND_RAW_MAX - s->msg.len : len) < 0)
			s->state = S_CLOSING;
		s->bol = crlf;
		s->cr = nl == NULL && len > 0 && line[len - 1] == '\r';
		i = end;
	}
	*used = n;
	return 0;
}

static void
command(struct session *s, char *line)
{
	struct lmtp *l = s->l;
	char *arg = line, reply[160];

	while (*arg && *arg != ' ')
		arg++;
	if (*arg)
		*arg++ = '\0';
	if (strcasecmp(line, "LHLO") == 0) {
		if (*arg == '\0') {
			say(s, "501 5.5.4 LHLO needs a domain");
			return;
		}
		reset(s);
		s->state = S_READY;
		snprintf(reply, sizeof reply, "250-tiedote\r\n250-PIPELINING\r\n"
		    "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250 SIZE %ld",
		    l->conf->inbound_max_kb << 10);
		say(s, reply);
	} else if (strcasecmp(line, "HELO") == 0 || strcasecmp(line, "EHLO") == 0)
		say(s, "500 5.5.1 this is LMTP: LHLO");
	else if (strcasecmp(line, "MAIL") == 0) {
		char *from;

		if (s->state != S_READY) {
			say(s, s->state == S_START ? "503 5.5.1 LHLO first" :
			    "503 5.5.1 nested MAIL");
			return;
		}
		if (strncasecmp(arg, "FROM:", 5) != 0 || (from = path_arg(arg + 5)) == NULL) {
			say(s, "501 5.5.4 MAIL FROM:<address>");
			return;
		}
		free(from);
		s->state = S_MAIL;
		say(s, "250 2.1.0 ok");
	} else if (strcasecmp(line, "RCPT") == 0) {
		char *to = NULL;

		if (s->state != S_MAIL) {
			say(s, "503 5.5.1 MAIL first");
			return;
		}
		if (strncasecmp(arg, "TO:", 3) != 0 || (to = path_arg(arg + 3)) == NULL ||
		    !utf8_valid(to, strlen(to))) {
			free(to);	/* NULL, or refused for its bytes */
			say(s, "501 5.5.4 RCPT TO:<address>");
			return;
		}
		if (s->nrcpt == LMTP_RCPT_MAX) {
			free(to);
			say(s, "452 4.5.3 too many recipients");
			return;
		}
		s->rcpt[s->nrcpt++] = to;
		say(s, "250 2.1.5 ok");
	} else if (strcasecmp(line, "DATA") == 0) {
		if (s->state != S_MAIL || s->nrcpt == 0) {
			say(s, "503 5.5.1 no valid recipients");
			return;
		}
		s->state = S_DATA;
		s->bol = 1;
		say(s, "354 go ahead, end with <CRLF>.<CRLF>");
	} else if (strcasecmp(line, "RSET") == 0) {
		reset(s);
		if (s->state != S_START)
			s->state = S_READY;
		say(s, "250 2.0.0 ok");
	} else if (strcasecmp(line, "NOOP") == 0)
		say(s, "250 2.0.0 ok");
	else if (strcasecmp(line, "VRFY") == 0)
		say(s, "252 2.5.2 not verified");
	else if (strcasecmp(line, "QUIT") == 0) {
		say(s, "221 2.0.0 bye");
		s->state = S_CLOSING;
	} else
		say(s, "502 5.5.2 command not implemented");
}

static void
on_session(loop_t *loop, void *arg, short revents)
{
	struct session *s = arg;
	char chunk[READ_CHUNK];
	ssize_t n;
	size_t pos = 0;

	(void)loop;
	if (revents & ZMQ_POLLOUT && flush(s) < 0)
		return;
	if (!(revents & ZMQ_POLLIN))
		return;
	n = read(s->fd, chunk, sizeof chunk);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		if (s->state == S_DATA)
			log_warn("lmtp: %s left during DATA: nothing taken", s->peer);
		/* a client that shut its side after pipelining its commands
		 * still reads: the replies owed (a "250 ... inbound N" among
		 * them, for a message stored) go out whole before the close;
		 * freed at once, it lost them cut mid-line, and an MTA that
		 * misses a 250 sends the message again */
		if (n == 0 && s->out.len) {
			s->state = S_CLOSING;
			(void)flush(s);
			return;
		}
		session_free(s);
		return;
	}
	s->last = clock_mono_ms();
	if (buf_add(&s->in, chunk, (size_t)n) < 0) {
		say(s, "500 5.5.6 line too long");
		s->state = S_CLOSING;
		(void)flush(s);
		return;
	}
	while (pos < s->in.len && s->state != S_CLOSING) {
		if (s->state == S_DATA) {
			size_t used = 0;
			int end = data_bytes(s, s->in.data + pos, s->in.len - pos, &used);

			pos += used;
			if (end)
				delivered(s);
			else if (used == 0)
				break;
			continue;
		}
		{
			char *nl = memchr(s->in.data + pos, '\n', s->in.len - pos);
			size_t len;

			if (nl == NULL) {
				if (s->in.len - pos > LMTP_LINE_MAX) {
					say(s, "500 5.5.6 line too long");
					s->state = S_CLOSING;
				}
				break;
			}
			len = (size_t)(nl - (s->in.data + pos));
			*nl = '\0';
			if (len && nl[-1] == '\r')
				nl[-1] = '\0';
			if (len > LMTP_LINE_MAX)
				say(s, "500 5.5.6 line too long");
			else
				command(s, s->in.data + pos);
			pos += len + 1;
		}
	}
	memmove(s->in.data, s->in.data + pos, s->in.len - pos);
	s->in.len -= pos;
	(void)flush(s);
}

static void
on_accept(loop_t *loop, void *arg, short revents)
{
	struct lmtp *l = arg;
	struct session *s;
	int fd, slot = -1;

	(void)revents;
	if ((fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0)
		return;
	for (int i = 0; i < LMTP_SESSIONS_MAX && slot < 0; i++)
		if (l->s[i] == NULL)
			slot = i;
	if (slot < 0) {
		static const char busy[] = "421 4.3.2 too many sessions, try again later\r\n";

		if (write(fd, busy, sizeof busy - 1) < 0)
			log_debug("lmtp: busy reply not written: %s", strerror(errno));
		close(fd);
		return;
	}
	s = xcalloc(1, sizeof *s);
	s->l = l;
	s->fd = fd;
	s->bol = 1;
	s->last = clock_mono_ms();
	buf_init(&s->in, READ_CHUNK + LMTP_LINE_MAX * 2);
	buf_init(&s->out, OUT_MAX);
	buf_init(&s->msg, INBOUND_RAW_MAX + 1);
	snprintf(s->peer, sizeof s->peer, "session %d", fd);
	if ((s->id = loop_add_fd(loop, fd, ZMQ_POLLIN, on_session, s)) < 0) {
		s->id = -1;
		session_free(s);
		return;
	}
	l->s[slot] = s;
	say(s, "220 tiedote LMTP ready");
	(void)flush(s);
}

/* idle - close sessions that have said nothing for LMTP_IDLE_S */
static int64_t
idle(loop_t *loop, void *arg)
{
	struct lmtp *l = arg;
	int64_t now = clock_mono_ms();

	(void)loop;
	for (int i = 0; i < LMTP_SESSIONS_MAX; i++) {
		struct session *s = l->s[i];

		if (s && s->state == S_CLOSING && s->stuck++) {
			/* its last replies untaken for a whole check: it reads no more */
			log_warn("lmtp: %s takes no replies: closed", s->peer);
			session_free(s);
		} else if (s && s->state != S_CLOSING &&
		    now - s->last > (int64_t)LMTP_IDLE_S * 1000) {
			say(s, "421 4.4.2 idle too long");
			s->state = S_CLOSING;
			(void)flush(s);
		}
	}
	return IDLE_CHECK_MS;
}

/* where - spec as a UNIX socket path (1) or host and port (0, host ""
 * for every address; with ai, resolved for binding: a name that does not
 * resolve now may later, so the configuration check reads only the form);
 * -1 with err */
static int
where(const char *spec, char *host, size_t hmax, struct addrinfo **ai, buf_t *err)
{
	struct addrinfo hints = { 0 };
	const char *colon, *port;
	char *end;
	long pn;
	int e;

	if (ai)
		*ai = NULL;
	if (strchr(spec, '/')) {
		if (strlen(spec) >= sizeof ((struct sockaddr_un *)0)->sun_path) {
			buf_notef(err, "inbound.lmtp_listen: %s: longer than %zu bytes", spec,
			    sizeof ((struct sockaddr_un *)0)->sun_path - 1);
			return -1;
		}
		return 1;
	}
	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');

		if (rb == NULL || rb[1] != ':' || (size_t)(rb - spec) >= hmax) {
			buf_notef(err, "inbound.lmtp_listen: %s: not [ADDRESS]:PORT", spec);
			return -1;
		}
		memcpy(host, spec + 1, (size_t)(rb - spec - 1));
		host[rb - spec - 1] = '\0';
		port = rb + 2;
	} else {
		if ((colon = strrchr(spec, ':')) == NULL || (size_t)(colon - spec) >= hmax) {
			buf_notef(err, "inbound.lmtp_listen: %s: not HOST:PORT or a socket path"
			    " (a path has a '/')", spec);
			return -1;
		}
		memcpy(host, spec, (size_t)(colon - spec));
		host[colon - spec] = '\0';
		port = colon + 1;
	}
	errno = 0;
	pn = strtol(port, &end, 10);
	if (!isdigit((unsigned char)*port) || *end || errno || pn < 1 || pn > 65535) {
		buf_notef(err, "inbound.lmtp_listen: %s: the port is not a number 1-65535", spec);
		return -1;
	}
	if (ai == NULL)
		return 0;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((e = getaddrinfo(*host ? host : NULL, port, &hints, ai)) != 0) {
		buf_notef(err, "inbound.lmtp_listen: %s: %s", spec, gai_strerror(e));
		*ai = NULL;
		return -1;
	}
	return 0;
}

int
lmtp_conf_check(const conf_t *conf, buf_t *err)
{
	char host[256];

	if (conf->lmtp_listen == NULL || *conf->lmtp_listen == '\0')
		return 0;
	return where(conf->lmtp_listen, host, sizeof host, NULL, err) < 0 ? -1 : 0;
}

/* listen_on - a bound, listening, non-blocking socket for spec: fd or -1 */
static int
listen_on(const char *spec, char **path, buf_t *err)
{
	struct addrinfo *ai = NULL;
	char host[256];
	int fd = -1, one = 1, e;

	if ((e = where(spec, host, sizeof host, &ai, err)) < 0)
		return -1;
	if (e == 1) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		mode_t old;

		memcpy(sun.sun_path, spec, strlen(spec) + 1);
		/* the worker holds the lock file: a socket file here is a dead one's */
		(void)unlink(spec);
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
			goto fail;
		old = umask(0117);
		e = bind(fd, (struct sockaddr *)&sun, sizeof sun);
		umask(old);
		if (e < 0 || listen(fd, 16) < 0)
			goto fail;
		*path = xstrdup(spec);
		return fd;
	}
	if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 16) < 0)
		goto fail;
	freeaddrinfo(ai);
	return fd;
fail:
	buf_notef(err, "inbound.lmtp_listen: %s: %s", spec, strerror(errno));
	if (fd >= 0)
		close(fd);
	if (ai)
		freeaddrinfo(ai);
	return -1;
}

lmtp_t *
lmtp_open(const conf_t *conf, store_t *store, int *none, buf_t *err)
{
	lmtp_t *l;
	char *path = NULL;
	int fd;

	*none = conf->lmtp_listen == NULL || *conf->lmtp_listen == '\0';
	if (*none)
		return NULL;
	if ((fd = listen_on(conf->lmtp_listen, &path, err)) < 0)
		return NULL;
	l = xcalloc(1, sizeof *l);
	l->conf = conf;
	l->store = store;
	l->fd = fd;
	l->id = l->timer = -1;
	l->path = path;
	log_info("lmtp: listening on %s", conf->lmtp_listen);
	return l;
}

int
lmtp_attach(lmtp_t *l, loop_t *loop)
{
	if (l == NULL)
		return 0;
	l->loop = loop;
	if ((l->id = loop_add_fd(loop, l->fd, ZMQ_POLLIN, on_accept, l)) < 0 ||
	    (l->timer = loop_add_timer(loop, IDLE_CHECK_MS, idle, l)) < 0)
		return -1;
	return 0;
}

void
lmtp_pause(lmtp_t *l)
{
	if (l == NULL || l->id < 0)
		return;
	loop_del(l->loop, l->id);
	l->id = -1;
}

void
lmtp_on_stored(lmtp_t *l, void (*fn)(void *), void *arg)
{
	if (l == NULL)
		return;
	l->stored = fn;
	l->stored_arg = arg;
}

void
lmtp_close(lmtp_t *l)
{
	if (l == NULL)
		return;
	for (int i = 0; i < LMTP_SESSIONS_MAX; i++)
		if (l->s[i]) {
			l->s[i]->id = -1;	/* the loop is gone or going */
			session_free(l->s[i]);
		}
	close(l->fd);
	if (l->path) {
		(void)unlink(l->path);
		free(l->path);
	}
	free(l);
}
