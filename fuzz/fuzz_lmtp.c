/* fuzz_lmtp - the LMTP listener (lmtp.c) on any byte stream from a client,
 * through its real socket, loop and store: never crash; every line it
 * writes is a reply (three digits, then ' ' or '-', CRLF-ended); and what
 * it says it stored ("250 ... inbound N") is exactly what the store
 * gained, so no 250 is given for a message that was not committed.
 *
 * The input is written whole to a UNIX socket connected to the listener,
 * then the write side is shut, and the loop runs until the listener has
 * closed the session.  The store lives in a temporary directory (on
 * /dev/shm when there is one, so commits cost little) and is begun anew
 * every STORE_RUNS inputs so that it stays small; it is removed at exit. */
#define _GNU_SOURCE	/* memmem */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "lmtp.h"
#include "log.h"
#include "loop.h"
#include "store.h"

#define STORE_RUNS	5000
#define REPLY_MAX	((size_t)4 << 20)	/* what one input may be answered with */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], sock[128], db[128];
static conf_t conf;
static store_t *store;
static lmtp_t *lmtp;
static loop_t *loop;
static unsigned runs;

struct client {
	int	 fd, id;
	const uint8_t *data;
	size_t	 size, sent;
	buf_t	 replies;
};

static void
die(const char *what, buf_t *err)
{
	fprintf(stderr, "fuzz_lmtp: %s: %s\n", what, err ? buf_str(err) : strerror(errno));
	abort();
}

static void
open_all(void)
{
	buf_t err;
	int none;

	buf_init(&err, 4096);
	if (conf_set(&conf, "store", "path", db, &err) < 0 ||
	    conf_set(&conf, "inbound", "lmtp_listen", sock, &err) < 0)
		die("conf", &err);
	if (store_open(&conf, &store, &err) < 0)
		die("store_open", &err);
	if ((lmtp = lmtp_open(&conf, store, &none, &err)) == NULL)
		die("lmtp_open", &err);
	if ((loop = loop_new()) == NULL || lmtp_attach(lmtp, loop) < 0)
		die("loop", NULL);
	buf_free(&err);
}

static void
close_all(void)
{
	char path[160];

	lmtp_close(lmtp);
	loop_free(loop);
	store_close(store);
	unlink(db);
	snprintf(path, sizeof path, "%s-wal", db);
	unlink(path);
	snprintf(path, sizeof path, "%s-shm", db);
	unlink(path);
}

/* at exit: the temporary store and its directory go */
static void
remove_all(void)
{
	close_all();
	rmdir(dir);
}

static void
on_client(loop_t *l, void *arg, short revents)
{
	struct client *c = arg;
	char chunk[65536];
	ssize_t n;

	if (revents & ZMQ_POLLOUT) {
		n = send(c->fd, c->data + c->sent, c->size - c->sent, MSG_NOSIGNAL);
		if (n > 0)
			c->sent += (size_t)n;
		if ((n < 0 && errno != EAGAIN && errno != EINTR) || c->sent == c->size) {
			/* all written, or the listener has hung up: the session may end */
			c->sent = c->size;
			(void)shutdown(c->fd, SHUT_WR);
			loop_set_events(l, c->id, ZMQ_POLLIN);
		}
	}
	if (!(revents & ZMQ_POLLIN))
		return;
	n = recv(c->fd, chunk, sizeof chunk, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		if (buf_add(&c->replies, chunk, (size_t)n) < 0)
			abort();	/* answered with more than REPLY_MAX */
		return;
	}
	loop_del(l, c->id);
	loop_stop(l);
}

static int64_t
stored(void)
{
	sqlite3_stmt *st = NULL;
	int64_t n = -1;

	if (store_prepare(store, "SELECT count(*) FROM inbound", &st) < 0 ||
	    store_int(store, st, &n) < 0)
		abort();
	sqlite3_finalize(st);
	return n;
}

/* check - each reply line well formed; the 250s that name a stored
 * message as many as the rows the store gained */
static void
check(const buf_t *r, int64_t gained)
{
	const char *p = r->data ? r->data : "", *end = p + r->len;
	int64_t claimed = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl == NULL || nl - p < 5 || nl[-1] != '\r' || p[0] < '2' || p[0] > '5' ||
		    p[1] < '0' || p[1] > '9' || p[2] < '0' || p[2] > '9' ||
		    (p[3] != ' ' && p[3] != '-'))
			abort();
		if (strncmp(p, "250 2.0.0 <", 11) == 0 && memmem(p, (size_t)(nl - p), "> inbound ",
		    10))
			claimed++;
		p = nl + 1;
	}
	if (claimed != gained)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct client c = { .data = data, .size = size };
	int64_t before;

	if (loop == NULL) {
		const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

		signal(SIGPIPE, SIG_IGN);
		log_set_level(LOG_CRIT);
		snprintf(dir, sizeof dir, "%s/fuzz-lmtp.XXXXXX", base);
		if (mkdtemp(dir) == NULL)
			die("mkdtemp", NULL);
		snprintf(sock, sizeof sock, "%s/lmtp.sock", dir);
		snprintf(db, sizeof db, "%s/tiedote.db", dir);
		conf_init(&conf);
		open_all();
		atexit(remove_all);
	} else if (++runs % STORE_RUNS == 0) {
		close_all();
		open_all();
	}
	before = stored();
	memcpy(sun.sun_path, sock, strlen(sock) + 1);
	if ((c.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(c.fd, (struct sockaddr *)&sun, sizeof sun) < 0)
		die("connect", NULL);
	buf_init(&c.replies, REPLY_MAX);
	if ((c.id = loop_add_fd(loop, c.fd, c.size ? ZMQ_POLLIN | ZMQ_POLLOUT : ZMQ_POLLIN,
	    on_client, &c)) < 0)
		die("loop_add_fd", NULL);
	if (c.size == 0)
		(void)shutdown(c.fd, SHUT_WR);
	if (loop_run(loop) < 0)
		die("loop_run", NULL);
	close(c.fd);
	check(&c.replies, stored() - before);
	buf_free(&c.replies);
	return 0;
}
