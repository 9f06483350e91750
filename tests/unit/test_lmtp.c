/* test_lmtp - the LMTP listener (lmtp.c) through its real UNIX socket,
 * loop and store: only <CRLF>.<CRLF> ends DATA, so a message cannot carry
 * a second one past us behind a bare LF ("SMTP smuggling"); dots are
 * unstuffed only at a line's start; a line cut across reads is read as
 * one; a client that takes none of its replies loses its session slot to
 * the idle check, and every reply it was sent is a whole line */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <linux/sockios.h>
#include <unistd.h>

#include <sqlite3.h>

#include "buf.h"
#include "clock.h"
#include "conf.h"
#include "lmtp.h"
#include "log.h"
#include "loop.h"
#include "store.h"
#include "test.h"

#define ENVELOPE	"LHLO mx.example.net\r\nMAIL FROM:<>\r\nRCPT TO:<a@example.org>\r\nDATA\r\n"
#define STUCK_WAIT_MS	30000	/* two idle checks (lmtp.c: 10 s each) and room */

static char dir[] = "/tmp/tiedote-lmtp.XXXXXX";
static char sock[128];
static conf_t conf;
static store_t *store;
static lmtp_t *lmtp;
static loop_t *loop;

struct client {
	int	 fd, id, timer, timed_out;
	const char *const *parts;	/* NULL-ended; one is written once the last is read */
	int	 part;
	buf_t	 replies;
};

static int
dial(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	memcpy(sun.sun_path, sock, strlen(sock) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		perror("test_lmtp: connect");
		exit(1);
	}
	return fd;
}

static int64_t
give_up(loop_t *l, void *arg)
{
	struct client *c = arg;

	c->timed_out = 1;
	loop_stop(l);
	return LOOP_NOMORE;
}

/* on_client - a part is written only when the listener has read all that
 * went before (SIOCOUTQ: what the peer has not read yet), so each part
 * reaches it in a read of its own */
static void
on_client(loop_t *l, void *arg, short revents)
{
	struct client *c = arg;
	char chunk[65536];
	ssize_t n;

	if (revents & ZMQ_POLLOUT) {
		int queued = 0;

		if (ioctl(c->fd, SIOCOUTQ, &queued) == 0 && queued == 0) {
			const char *p = c->parts[c->part];

			if (p == NULL || send(c->fd, p, strlen(p), MSG_NOSIGNAL) !=
			    (ssize_t)strlen(p)) {
				(void)shutdown(c->fd, SHUT_WR);
				loop_set_events(l, c->id, ZMQ_POLLIN);
			} else
				c->part++;
		}
	}
	if (!(revents & ZMQ_POLLIN))
		return;
	n = recv(c->fd, chunk, sizeof chunk, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		CHECK(buf_add(&c->replies, chunk, (size_t)n) == 0);
		return;
	}
	loop_del(l, c->id);
	loop_stop(l);
}

/* session - parts written in turn, then the write side shut; the replies
 * until the listener closes */
static void
session(const char *const *parts, buf_t *replies)
{
	struct client c = { .parts = parts };

	c.fd = dial();
	buf_init(&c.replies, 1 << 20);
	c.id = loop_add_fd(loop, c.fd, ZMQ_POLLIN | ZMQ_POLLOUT, on_client, &c);
	c.timer = loop_add_timer(loop, 10000, give_up, &c);
	CHECK(c.id >= 0 && c.timer >= 0);
	CHECK(loop_run(loop) == 0);
	CHECK(!c.timed_out);
	if (c.timed_out)
		loop_del(loop, c.id);
	else
		loop_del_timer(loop, c.timer);
	close(c.fd);
	*replies = c.replies;
}

static int64_t
count(const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t n = -1;

	if (store_prepare(store, sql, &st) < 0 || store_int(store, st, &n) < 0)
		n = -1;
	sqlite3_finalize(st);
	return n;
}

/* the raw message of the newest inbound row, as stored */
static char *
last_raw(void)
{
	sqlite3_stmt *st = NULL;
	char *raw = NULL;

	if (store_prepare(store, "SELECT raw FROM inbound ORDER BY id DESC LIMIT 1", &st) == 0 &&
	    sqlite3_step(st) == SQLITE_ROW)
		raw = strndup(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
	sqlite3_finalize(st);
	return raw ? raw : strdup("");
}

static int
occurrences(const buf_t *b, const char *what)
{
	int n = 0;

	for (const char *p = buf_str(b); (p = strstr(p, what)) != NULL; p++)
		n++;
	return n;
}

TEST(smuggled_message_stays_inside)
{
	/* each a way a relay might end DATA that RFC 5321 says must not, and
	 * what is kept of it: a dot that starts a line (after CRLF) is the
	 * stuffing of a longer line, ".<LF>MAIL FROM:<>" */
	static const char *const hidden[] = { "\n.\n", "\r\n.\n", "\n.\r\n" };
	static const char *const kept[] = { "\n.\n", "\r\n\n", "\n.\r\n" };

	for (size_t i = 0; i < sizeof hidden / sizeof *hidden; i++) {
		char data[512], want[512], *raw;
		const char *parts[] = { data, NULL };
		int64_t before = count("SELECT count(*) FROM inbound");
		buf_t r;

		snprintf(data, sizeof data, ENVELOPE "Subject: one\r\n\r\nfirst%s"
		    "MAIL FROM:<>\r\nRCPT TO:<b@example.org>\r\nDATA\r\nSubject: two\r\n\r\n"
		    "second\r\n.\r\nQUIT\r\n", hidden[i]);
		session(parts, &r);
		CHECK(count("SELECT count(*) FROM inbound") == before + 1);
		CHECK(occurrences(&r, "250 2.0.0 <a@example.org> inbound ") == 1);
		CHECK(occurrences(&r, "<b@example.org>") == 0);
		CHECK(occurrences(&r, "221 ") == 1);
		raw = last_raw();
		snprintf(want, sizeof want, "Subject: one\r\n\r\nfirst%sMAIL FROM:<>\r\n"
		    "RCPT TO:<b@example.org>\r\nDATA\r\nSubject: two\r\n\r\nsecond\r\n", kept[i]);
		CHECK_STR(raw, want);
		free(raw);
		buf_free(&r);
	}
}

TEST(dots_unstuffed_at_line_starts_only)
{
	const char *parts[] = { ENVELOPE "Subject: d\r\n\r\n..one\r\ntwo\n..three\r\n.\r\n"
	    "QUIT\r\n", NULL };
	buf_t r;
	char *raw;

	session(parts, &r);
	CHECK(occurrences(&r, "250 2.0.0 <a@example.org> inbound ") == 1);
	raw = last_raw();
	CHECK_STR(raw, "Subject: d\r\n\r\n.one\r\ntwo\n..three\r\n");
	free(raw);
	buf_free(&r);
}

TEST(lines_cut_across_reads)
{
	/* the CR of a CRLF in one read and its LF in the next; the final dot
	 * line in three reads; a dot after a bare LF whose CR-less line ends
	 * a read */
	const char *ends[] = { ENVELOPE "Subject: s\r\n\r\na\r", "\n.\r", "\n", "QUIT\r\n", NULL };
	const char *fake[] = { ENVELOPE "Subject: s\r\n\r\nb\n", ".", "\r\n", "c\r", "\n.", "\r",
	    "\nQUIT\r\n", NULL };
	buf_t r;
	char *raw;

	session(ends, &r);
	CHECK(occurrences(&r, "250 2.0.0 <a@example.org> inbound ") == 1);
	raw = last_raw();
	CHECK_STR(raw, "Subject: s\r\n\r\na\r\n");
	free(raw);
	buf_free(&r);
	session(fake, &r);
	CHECK(occurrences(&r, "250 2.0.0 <a@example.org> inbound ") == 1);
	CHECK(occurrences(&r, "221 ") == 1);
	raw = last_raw();
	CHECK_STR(raw, "Subject: s\r\n\r\nb\n.\r\nc\r\n");
	free(raw);
	buf_free(&r);
}

/* stuck - a client that pipelines NOOPs and reads nothing */
struct stuck {
	int	 fd, hup, timer;
	char	 noops[60000];
};

static int64_t
push(loop_t *l, void *arg)
{
	struct stuck *k = arg;
	struct pollfd p = { .fd = k->fd, .events = POLLRDHUP };

	if (poll(&p, 1, 0) == 1 && p.revents & (POLLRDHUP | POLLHUP | POLLERR)) {
		k->hup = 1;
		loop_stop(l);
		return LOOP_NOMORE;
	}
	(void)send(k->fd, k->noops, sizeof k->noops, MSG_NOSIGNAL);
	return 1;
}

static int64_t
stop(loop_t *l, void *arg)
{
	*(int *)arg = 1;
	loop_stop(l);
	return LOOP_NOMORE;
}

TEST(a_client_that_never_reads_is_closed)
{
	static struct stuck k;
	buf_t r;
	char chunk[65536];
	int deadline, late = 0;
	ssize_t n;

	for (size_t i = 0; i + 6 <= sizeof k.noops; i += 6)
		memcpy(k.noops + i, "NOOP\r\n", 6);
	k.fd = dial();
	k.timer = loop_add_timer(loop, 1, push, &k);
	deadline = loop_add_timer(loop, STUCK_WAIT_MS, stop, &late);
	CHECK(loop_run(loop) == 0);
	CHECK(k.hup && !late);
	if (late)
		loop_del_timer(loop, k.timer);
	else
		loop_del_timer(loop, deadline);
	/* it had its greeting and many replies before it stopped reading */
	buf_init(&r, 64 << 20);
	while ((n = recv(k.fd, chunk, sizeof chunk, 0)) > 0)
		PUT(buf_add(&r, chunk, (size_t)n));
	CHECK(strncmp(buf_str(&r), "220 tiedote LMTP ready\r\n250 2.0.0 ok\r\n", 38) == 0);
	close(k.fd);
	buf_free(&r);
}

int
main(void)
{
	buf_t err;
	char db[160], cmd[200];
	int none, rc;

	signal(SIGPIPE, SIG_IGN);
	log_set_level(LOG_CRIT);
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(sock, sizeof sock, "%s/lmtp.sock", dir);
	snprintf(db, sizeof db, "%s/t.db", dir);
	conf_init(&conf);
	buf_init(&err, 4096);
	if (conf_set(&conf, "store", "path", db, &err) < 0 ||
	    conf_set(&conf, "inbound", "lmtp_listen", sock, &err) < 0 ||
	    store_open(&conf, &store, &err) < 0 ||
	    (lmtp = lmtp_open(&conf, store, &none, &err)) == NULL ||
	    (loop = loop_new()) == NULL || lmtp_attach(lmtp, loop) < 0) {
		fprintf(stderr, "test_lmtp: %s\n", buf_str(&err));
		return 1;
	}
	RUN(smuggled_message_stays_inside);
	RUN(dots_unstuffed_at_line_starts_only);
	RUN(lines_cut_across_reads);
	RUN(a_client_that_never_reads_is_closed);
	lmtp_close(lmtp);
	loop_free(loop);
	store_close(store);
	conf_free(&conf);
	buf_free(&err);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	rc = system(cmd);
	(void)rc;
	return TEST_DONE();
}
