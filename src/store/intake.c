/*
 * intake - validate, group-commit, then reply; contract in intake.h.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#include "arena.h"
#include "clock.h"
#include "curvekey.h"
#include "event.h"
#include "intake.h"
#include "log.h"
#include "metrics.h"
#include "util.h"
#include "zap.h"

/* an ok or duplicate reply: the status, an id of 128 characters at most
 * and a revision fit with room to spare */
#define REPLY_OK_MAX	256

/* the reply queue to one producer, in messages.  ZeroMQ learns what the
 * peer's side has taken off a queue only every half high-water mark, so
 * with its default of 1,000 a pipelining producer loses replies with as
 * few as 500 requests in flight; 4,000 keeps the 1,000 that
 * queue/README.md allows with room to spare */
#define REPLY_HWM	4000

/* at the end, requests that come after the last reply are read and
 * dropped (no reply: not read, as queue/README.md says) until none has
 * come for DRAIN_QUIET_MS, DRAIN_MAX_MS at most, before the socket
 * closes: a TCP socket closed with unread data sends RST, and the RST
 * makes the producer's kernel drop the last replies it had received but
 * not yet handed to ZeroMQ (test_intake_stop.py lost a batch of them
 * about one run in 35) */
#define DRAIN_QUIET_MS	100
#define DRAIN_MAX_MS	1000

/* one request of a batch: where to reply, and what.  The socket's owner
 * fills everything down to `user`; the loop's thread, which alone writes
 * the store, fills the rest, and the socket's owner sends the reply */
struct req {
	zmq_msg_t identity;
	int	 valid;		/* a valid event, not yet stored */
	/* of a valid event, worked out by the socket's owner: its id, type
	 * and canonical body, each NUL-ended at its offset in the batch's
	 * bodies; its tree is gone by then (so the arena's block is free
	 * again after every request, arena.h) */
	size_t	 id, type, body;
	unsigned regions;
	int64_t	 at;
	int	 cancelled;
	int	 zap_check;	/* CURVE: its User-Id is to be checked against the list */
	char	 user[CURVEKEY_Z85 + 1];	/* its User-Id, "" when it has none */
	char	*reply;		/* JSON reply, once known: ok_reply or allocated */
	char	 ok_reply[REPLY_OK_MAX];	/* no malloc per stored event */
	const char *code;	/* its status or error code (static), for metrics */
	int	 stored;	/* a new revision, to be logged once committed */
	int	 revision;
	int	 drop;		/* its key left the allow-list: no reply */
};

/* a batch: the requests that arrived together, read and validated by
 * the socket's owner, stored and committed on the loop's thread */
struct batch {
	struct req *req;
	int	 n;
	buf_t	 bodies;	/* the ids, types and bodies, their room kept */
};

/* what goes over the pipe between the two threads, a frame each */
enum pipe_op {
	PIPE_BATCH,	/* intake -> loop: store this; loop -> intake: answer it */
	PIPE_TAKE,	/* loop -> intake: the socket is yours */
	PIPE_GIVE,	/* intake -> loop: the socket is yours again */
	PIPE_PAUSE,	/* loop -> intake: read no more requests */
	PIPE_PAUSED,	/* intake -> loop: all it read is stored and answered */
	PIPE_STOP	/* loop -> intake: leave now */
};

/* who reads the ROUTER socket and sends its replies: one thread at a
 * time, and it changes hands only over the pipe (whose messages order
 * the two threads' memory, as ZeroMQ asks of a socket that moves) */
enum owner {
	OWNER_LOOP,	/* a request at a time: read, stored, answered in one turn */
	OWNER_THREAD	/* a stream: the next batch read while the loop commits */
};

struct pipe_msg {
	enum pipe_op op;
	struct batch *batch;
};

struct intake {
	void	*sock;		/* the ROUTER: its owner's alone */
	void	*pipe_loop, *pipe_thread;	/* inproc PAIR, an end for each thread */
	pthread_t thread;
	int	 started;
	enum owner owner;	/* the loop's view: PIPE_TAKE sent, PIPE_GIVE back */
	int	 pausing;	/* the loop's: intake_pause() was called */
	int	 paused;	/* the loop's: PIPE_PAUSED came back */
	/* set by the loop as it hands a committed batch back: the intake's
	 * thread stops reading, answers it and hands over the next at once,
	 * or the loop would wait for a whole batch's reading (a look at the
	 * pipe itself, ZMQ_EVENTS, costs a third of a request's reading) */
	atomic_int back;
	store_t	*store;
	size_t	 max_size;
	int	 batch_max;
	/* [0] and [1] the intake thread's, one stored while the other
	 * fills; [2] the loop's, while it reads the socket itself: the
	 * thread never looks at it, nor the loop at the others but when the
	 * thread hands one over */
	struct batch batch[3];
	loop_t	*loop;		/* attached to, or NULL */
	int	 loop_id, sock_id;	/* the pipe's entry, the socket's */
	int	 disk_low;	/* intake_disk_low(): refuse without trying */
	void	(*on_full)(void *);
	void	*on_full_arg;
	void	(*on_revision)(void *);	/* intake_on_revision() */
	void	*on_revision_arg;
	metrics_t *metrics;	/* borrowed; NULL: not counted */
	const zap_t *zap;	/* CURVE: the allow-list (the loop's); NULL: plain */
};

static char *
reply_error(const char *code, const char *field, const char *message)
{
	json_t *r = json_pack("{s:s, s:s, s:s}", "status", "error", "code", code,
	    "message", message);
	char *s;

	if (r == NULL)		/* not UTF-8: event.c scrubs what it quotes */
		r = json_pack("{s:s, s:s, s:s}", "status", "error", "code", code,
		    "message", "(the message was not UTF-8)");
	if (field && *field)
		json_object_set_new(r, "field", json_string(field));
	s = json_dumps(r, JSON_COMPACT);
	json_decref(r);
	return s;
}

/* reply_ok - the reply every stored event gets, printed directly into
 * r->ok_reply: an id that passed the validator holds only letters, digits
 * and ._:/- (128 at most), nothing JSON must escape, so this is what
 * json_dumps() would write, at a tenth of the cost and without an
 * allocation on the intake's hottest path */
static char *
reply_ok(struct req *r, const char *status, const char *id, int revision)
{
	int n = snprintf(r->ok_reply, sizeof r->ok_reply,
	    "{\"status\":\"%s\",\"id\":\"%s\",\"revision\":%d}", status, id, revision);

	if (n < 0 || (size_t)n >= sizeof r->ok_reply)
		fatal("intake: an ok reply over %d bytes", REPLY_OK_MAX);
	return r->ok_reply;
}

/* reply_free - the reply of r, unless it is r's own ok_reply */
static void
reply_free(struct req *r)
{
	if (r->reply != r->ok_reply)
		free(r->reply);
	r->reply = NULL;
}

/* loopback - the host of a tcp:// endpoint is a loopback address or
 * interface; anything else (*, 0.0.0.0, a public address, eth0) is not */
static int
loopback(const char *endpoint)
{
	const char *host = endpoint + strlen("tcp://"), *colon = strrchr(host, ':');
	size_t n = colon ? (size_t)(colon - host) : strlen(host);

	return (n > 4 && strncmp(host, "127.", 4) == 0) ||
	    (n == 5 && strncmp(host, "[::1]", 5) == 0) ||
	    (n == 9 && strncmp(host, "localhost", 9) == 0) ||
	    (n == 2 && strncmp(host, "lo", 2) == 0);
}

int
intake_conf_check(const conf_t *conf, buf_t *err)
{
	if (strncmp(conf->endpoint, "tcp://", 6) == 0 && !loopback(conf->endpoint) &&
	    *conf->intake_key_file == '\0' && !conf->allow_plain) {
		buf_notef(err, "intake.endpoint: %s is not on loopback: set intake.key_file and "
		    "intake.producer_keys (CurveZMQ), or intake.allow_plain = yes to let any host "
		    "that reaches it enqueue", conf->endpoint);
		return -1;
	}
	if (*conf->intake_key_file) {
		curvekey_t k;
		DIR *d;

		/* both read again when used; here so that a bad one is a
		 * configuration error before any database is opened */
		if (curvekey_load(conf->intake_key_file, 1, &k, err) < 0) {
			buf_note(err, " (intake.key_file)");
			return -1;
		}
		curvekey_wipe(&k);
		if (*conf->producer_keys == '\0' || (d = opendir(conf->producer_keys)) == NULL) {
			buf_notef(err, "intake.producer_keys: \"%s\": %s", conf->producer_keys,
			    *conf->producer_keys ? strerror(errno) : "needed with intake.key_file");
			return -1;
		}
		closedir(d);
	}
	return 0;
}

/* curve_server - the socket a CURVE server with the worker's secret key */
static int
curve_server(void *sock, const char *path, buf_t *err)
{
	curvekey_t k;
	int on = 1, rc = -1;

	if (curvekey_load(path, 1, &k, err) < 0)
		goto out;
	if (zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, ZAP_DOMAIN, strlen(ZAP_DOMAIN)) < 0 ||
	    zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &on, sizeof on) < 0 ||
	    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, k.secret_key, CURVEKEY_Z85 + 1) < 0) {
		buf_notef(err, "intake: CURVE: %s", zmq_strerror(zmq_errno()));
		goto out;
	}
	log_info("intake: CurveZMQ, server key %s", k.public_key);
	rc = 0;
out:
	curvekey_wipe(&k);
	return rc;
}

void
intake_zap(intake_t *in, const zap_t *zap)
{
	in->zap = zap;
}

intake_t *
intake_open(void *zctx, const conf_t *conf, store_t *store, buf_t *err)
{
	intake_t *in = xcalloc(1, sizeof *in);
	/* ZeroMQ drops a frame this large before we see it; smaller oversize
	 * requests reach the validator and get a "too_large" reply */
	int64_t hard_max = (int64_t)conf->max_event_size * 4;
	int linger = 1000, hwm = REPLY_HWM, mandatory = 1;
	char pipe_ep[64];

	in->store = store;
	in->max_size = (size_t)conf->max_event_size;
	in->batch_max = (int)conf->batch_max;
	atomic_init(&in->back, 0);
	for (int i = 0; i < 3; i++) {
		in->batch[i].req = xcalloc((size_t)in->batch_max, sizeof *in->batch[i].req);
		/* a string's escapes can make a body six times as long as
		 * its request, and no more; its id and type are in it too */
		buf_init(&in->batch[i].bodies, (size_t)in->batch_max * (in->max_size * 7 + 64));
	}
	if ((in->sock = zmq_socket(zctx, ZMQ_ROUTER)) == NULL ||
	    zmq_setsockopt(in->sock, ZMQ_MAXMSGSIZE, &hard_max, sizeof hard_max) < 0 ||
	    zmq_setsockopt(in->sock, ZMQ_LINGER, &linger, sizeof linger) < 0 ||
	    zmq_setsockopt(in->sock, ZMQ_SNDHWM, &hwm, sizeof hwm) < 0 ||
	    /* a reply that cannot be queued fails instead of vanishing */
	    zmq_setsockopt(in->sock, ZMQ_ROUTER_MANDATORY, &mandatory, sizeof mandatory) < 0) {
		buf_notef(err, "intake: socket: %s", zmq_strerror(zmq_errno()));
		intake_close(in);
		return NULL;
	}
	/* the pipe holds a batch and an order or two each way at most: the
	 * default queues are plenty, and a send never blocks */
	snprintf(pipe_ep, sizeof pipe_ep, "inproc://tiedote-intake-%p", (void *)in);
	if ((in->pipe_loop = zmq_socket(zctx, ZMQ_PAIR)) == NULL ||
	    zmq_bind(in->pipe_loop, pipe_ep) < 0 ||
	    (in->pipe_thread = zmq_socket(zctx, ZMQ_PAIR)) == NULL ||
	    zmq_connect(in->pipe_thread, pipe_ep) < 0) {
		buf_notef(err, "intake: %s: %s", pipe_ep, zmq_strerror(zmq_errno()));
		intake_close(in);
		return NULL;
	}
	if (*conf->intake_key_file && curve_server(in->sock, conf->intake_key_file, err) < 0) {
		intake_close(in);
		return NULL;
	}
	if (zmq_bind(in->sock, conf->endpoint) < 0) {
		buf_notef(err, "intake: cannot bind %s: %s", conf->endpoint,
		    zmq_strerror(zmq_errno()));
		intake_close(in);
		return NULL;
	}
	/* an ipc:// socket: the worker's group may enqueue (connecting needs
	 * write permission), whatever the umask (the unit's is 0027) */
	if (strncmp(conf->endpoint, "ipc://", 6) == 0 && conf->endpoint[6] != '@' &&
	    chmod(conf->endpoint + 6, 0660) < 0) {
		buf_notef(err, "intake: chmod 0660 %s: %s", conf->endpoint + 6, strerror(errno));
		intake_close(in);
		return NULL;
	}
	log_info("intake: listening on %s", conf->endpoint);
	return in;
}

/* pipe_send - an order or a batch to the other thread */
static void
pipe_send(void *sock, enum pipe_op op, struct batch *b)
{
	struct pipe_msg m = { op, b };

	if (zmq_send(sock, &m, sizeof m, 0) != sizeof m)
		fatal("intake: pipe: %s", zmq_strerror(zmq_errno()));
}

/* pipe_recv - 1 with m filled, 0 when nothing is waiting */
static int
pipe_recv(void *sock, struct pipe_msg *m)
{
	int n = zmq_recv(sock, m, sizeof *m, ZMQ_DONTWAIT);

	if (n < 0 && (zmq_errno() == EAGAIN || zmq_errno() == EINTR))
		return 0;
	if (n != sizeof *m)
		fatal("intake: pipe: %s", n < 0 ? zmq_strerror(zmq_errno()) : "a short frame");
	return 1;
}

/* release - a request's reply and identity */
static void
release(struct req *r)
{
	zmq_msg_close(&r->identity);
	reply_free(r);
	r->valid = 0;
}

/* discard - at the end, on the intake's thread: requests read but never
 * stored get no reply, as after a crash (nothing of them was claimed) */
static void
discard(struct batch *b)
{
	for (int i = 0; i < b->n; i++)
		release(&b->req[i]);
	b->n = 0;
	buf_reset(&b->bodies);
}

/* drain - the socket, this thread's now: what comes is dropped, until
 * quiet (DRAIN_QUIET_MS) or DRAIN_MAX_MS have passed */
static void
drain(void *sock)
{
	int64_t end = clock_mono_ms() + DRAIN_MAX_MS, now;
	zmq_pollitem_t item = { sock, 0, ZMQ_POLLIN, 0 };
	zmq_msg_t m;

	zmq_msg_init(&m);
	while ((now = clock_mono_ms()) < end &&
	    zmq_poll(&item, 1, end - now < DRAIN_QUIET_MS ? end - now : DRAIN_QUIET_MS) > 0)
		while (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) >= 0)
			;
	zmq_msg_close(&m);
}

void
intake_close(intake_t *in)
{
	if (in == NULL)
		return;
	if (in->started) {
		pipe_send(in->pipe_loop, PIPE_STOP, NULL);
		pthread_join(in->thread, NULL);
	}
	if (in->sock && in->started)	/* it served: drain before closing */
		drain(in->sock);
	if (in->sock)
		zmq_close(in->sock);
	if (in->pipe_thread)
		zmq_close(in->pipe_thread);
	if (in->pipe_loop)
		zmq_close(in->pipe_loop);
	for (int i = 0; i < 3; i++) {
		free(in->batch[i].req);
		buf_free(&in->batch[i].bodies);
	}
	free(in);
}

/* valid - what the loop's thread needs of a valid event, worked out on
 * the intake's and appended to the batch's bodies: id, type, canonical
 * body (seven times the request at most, the room intake_open() gives) */
static void
valid(struct batch *b, struct req *r, json_t *ev)
{
	r->valid = 1;
	r->id = b->bodies.len;
	if (buf_adds(&b->bodies, json_string_value(json_object_get(ev, "id"))) < 0 ||
	    buf_addc(&b->bodies, '\0') < 0)
		goto full;
	r->type = b->bodies.len;
	if (buf_adds(&b->bodies, json_string_value(json_object_get(ev, "type"))) < 0 ||
	    buf_addc(&b->bodies, '\0') < 0)
		goto full;
	r->body = b->bodies.len;
	if (event_canonical_buf(ev, &b->bodies) < 0 || buf_addc(&b->bodies, '\0') < 0)
		goto full;
	r->regions = event_regions(ev);
	r->at = event_at(ev);
	r->cancelled = json_is_true(json_object_get(ev, "cancelled"));
	return;
full:
	fatal("intake: a batch's ids, types and bodies are over %zu bytes", b->bodies.max);
}

/* S - a string of the batch's bodies at its offset */
#define S(b, off)	((b)->bodies.data + (off))

/* rejected - the log line of an event refused at its parse, with the
 * event's id as a field (TIEDOTE_EVENT_ID) when the body has a valid one,
 * so that a producer's rejected event can be found by its id */
static void
rejected(const void *data, size_t size, size_t max_size, const event_err_t *err)
{
	json_t *raw = size <= max_size ? json_loadb(data, size, 0, NULL) : NULL;
	const char *id = json_string_value(json_object_get(raw, "id"));
	event_err_t e;

	if (id && event_id_check(id, &e) == 0)
		log_ids(LOG_WARNING, &(log_ids_t){ .event = id }, "intake: rejected event %s:"
		    " %s: %s", id, err->code, err->message);
	else
		log_warn("intake: rejected event: %s: %s", err->code, err->message);
	json_decref(raw);
}

/*
 * recv_request - the next request of b: identity, empty delimiter, one
 * body frame; by the socket's owner.  Returns 1 with it filled, 0 when
 * nothing is waiting, -1 on socket error.
 */
static int
recv_request(intake_t *in, struct batch *b)
{
	struct req *r = &b->req[b->n];
	zmq_msg_t frame[2], scratch, *f;
	int kept = 0, total = 0, more, rc = -1;
	const char *user;
	event_err_t err;
	json_t *ev;

	zmq_msg_init(&r->identity);
	if (zmq_msg_recv(&r->identity, in->sock, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&r->identity);
		return zmq_errno() == EAGAIN || zmq_errno() == EINTR ? 0 : -1;
	}
	/* a ROUTER delivers a whole message or nothing: the rest is here;
	 * keep the first two frames, count and drop any others */
	for (more = zmq_msg_more(&r->identity); more; total++) {
		f = kept < 2 ? &frame[kept] : &scratch;
		zmq_msg_init(f);
		if (zmq_msg_recv(f, in->sock, 0) < 0) {
			zmq_msg_close(f);
			goto out;
		}
		more = zmq_msg_more(f);
		if (f == &scratch)
			zmq_msg_close(f);
		else
			kept++;
	}
	r->valid = 0;
	r->reply = NULL;
	r->code = NULL;
	r->stored = 0;
	r->drop = 0;
	/* the allow-list is the loop's: it decides, on this copy */
	r->zap_check = in->zap && kept > 0;
	user = r->zap_check ? zmq_msg_gets(&frame[kept - 1], "User-Id") : NULL;
	snprintf(r->user, sizeof r->user, "%s", user ? user : "");
	if (total != 2 || zmq_msg_size(&frame[0]) != 0) {
		log_warn("intake: rejected request: %d frames, expected an empty delimiter"
		    " and one body frame", total);
		r->code = "bad_frames";
		r->reply = reply_error(r->code, NULL, "a request is exactly one body "
		    "frame (after the empty delimiter a REQ socket adds)");
	} else {
		/* the tree is cut from the arena's block and dies here
		 * (arena.h; on the loop's thread, malloc's); the error reply
		 * below is made outside: reply_free() frees it with free() */
		arena_enter();
		ev = event_parse(zmq_msg_data(&frame[1]), zmq_msg_size(&frame[1]),
		    in->max_size, &err);
		arena_leave();
		if (ev == NULL) {
			rejected(zmq_msg_data(&frame[1]), zmq_msg_size(&frame[1]), in->max_size,
			    &err);
			r->code = err.code;
			r->reply = reply_error(err.code, err.field, err.message);
		} else
			valid(b, r, ev);
		json_decref(ev);
	}
	b->n++;
	rc = 1;
out:
	for (int i = 0; i < kept; i++)
		zmq_msg_close(&frame[i]);
	if (rc < 0)
		zmq_msg_close(&r->identity);
	return rc;
}

/* allowed - on the loop's thread, whose the allow-list is: a request
 * whose producer key left it is dropped, valid or not */
static void
allowed(intake_t *in, struct batch *b)
{
	for (int i = 0; i < b->n; i++) {
		struct req *r = &b->req[i];

		if (r->zap_check && !zap_allowed(in->zap, *r->user ? r->user : NULL)) {
			log_warn("intake: dropped a request without a reply: its producer key %s is"
			    " no longer allowed", *r->user ? r->user : "(none)");
			r->drop = 1;
		}
	}
}

/* store_batch - all valid events of the batch in one transaction; on the
 * loop's thread, the one that writes the store */
static void
store_batch(intake_t *in, struct batch *b)
{
	int64_t now;
	int valid = 0, revised = 0, i, n = b->n;
	store_put_t put;

	/* a request sent after the test clock moved is stamped at its time */
	clock_refresh();
	now = clock_now();

	for (i = 0; i < n; i++)
		valid += b->req[i].valid && !b->req[i].drop;
	if (valid == 0)
		return;
	if (in->disk_low) {
		/* the worker logged the state once; nothing per request */
		for (i = 0; i < n; i++)
			if (b->req[i].valid && !b->req[i].drop) {
				b->req[i].code = "unavailable";
				b->req[i].reply = reply_error("unavailable", NULL,
				    "the worker is short of disk space (storage full to its limit);"
				    " nothing was stored, retry later");
			}
		return;
	}
	if (store_begin(in->store) < 0)
		goto failed;
	for (i = 0; i < n; i++) {
		struct req *r = &b->req[i];

		if (!r->valid || r->drop)
			continue;
		if (store_event_put(in->store, S(b, r->id), S(b, r->type), S(b, r->body),
		    r->regions, r->at, r->cancelled, now, &put, &r->revision) < 0)
			goto failed;
		switch (put) {
		case PUT_REVISION:
			revised = 1;
			/* FALLTHROUGH */
		case PUT_NEW:
			r->code = "ok";
			r->reply = reply_ok(r, "ok", S(b, r->id), r->revision);
			r->stored = 1;
			break;
		case PUT_DUPLICATE:
			r->code = "duplicate";
			r->reply = reply_ok(r, "duplicate", S(b, r->id), r->revision);
			break;
		case PUT_TYPE_MISMATCH:
			r->code = "type_mismatch";
			r->reply = reply_error("type_mismatch", "type",
			    "type: this id is stored with another type; an id's type never changes");
			log_ids(LOG_WARNING, &(log_ids_t){ .event = S(b, r->id) },
			    "intake: rejected event %s: type_mismatch", S(b, r->id));
			break;
		}
	}
	if (store_commit(in->store) < 0)
		goto failed;
	if (revised && in->on_revision)
		in->on_revision(in->on_revision_arg);
	return;
failed:
	log_error("intake: could not commit %d events: %s", valid, store_errmsg(in->store));
	store_rollback(in->store);
	for (i = 0; i < n; i++) {
		struct req *r = &b->req[i];

		if (!r->valid || r->drop)
			continue;
		reply_free(r);
		r->stored = 0;
		r->code = "unavailable";
		r->reply = reply_error("unavailable", NULL, store_full(in->store) ?
		    "the worker's storage is full; nothing was stored, retry later" :
		    "the worker could not commit; nothing was stored, retry later");
	}
	if (store_full(in->store) && in->on_full)
		in->on_full(in->on_full_arg);
}

/* commit_batch - on the loop's thread: a batch checked, stored and counted */
static void
commit_batch(intake_t *in, struct batch *b)
{
	allowed(in, b);
	store_batch(in, b);
	for (int i = 0; i < b->n; i++)
		if (!b->req[i].drop)
			metrics_event(in->metrics, b->req[i].code);
}

/* batch_ready - the loop's side of the pipe: store what the intake's
 * thread read, count it, and give it back to be answered; take the
 * socket back when the thread gives it */
static void
batch_ready(loop_t *l, void *arg, short revents)
{
	intake_t *in = arg;
	struct pipe_msg m;

	(void)revents;
	/* the pipe's descriptor is edge-like: drain it */
	while (pipe_recv(in->pipe_loop, &m)) {
		switch (m.op) {
		case PIPE_PAUSED:
			in->paused = 1;
			break;
		case PIPE_GIVE:
			log_debug("intake: the loop reads the socket again (a lone request)");
			in->owner = OWNER_LOOP;
			if (!in->pausing)
				loop_set_events(l, in->sock_id, ZMQ_POLLIN);
			break;
		case PIPE_BATCH:
			commit_batch(in, m.batch);
			atomic_store_explicit(&in->back, 1, memory_order_relaxed);
			pipe_send(in->pipe_loop, PIPE_BATCH, m.batch);
			break;
		default:
			fatal("intake: pipe: order %d to the loop", (int)m.op);
		}
	}
}

/* answer - by the socket's owner: each reply of a committed batch */
static void
answer(intake_t *in, struct batch *b)
{
	int full = 0;

	for (int i = 0; i < b->n; i++) {
		struct req *r = &b->req[i];

		/* said once committed: a batch rolled back stored nothing */
		if (r->stored)
			log_ids(LOG_INFO, &(log_ids_t){ .event = S(b, r->id) },
			    "intake: stored %s %s revision %d", S(b, r->type), S(b, r->id),
			    r->revision);
		if (!r->drop) {
			/* the worker never waits on a producer: a peer gone
			 * (EHOSTUNREACH) or past its queue (EAGAIN) loses the
			 * reply, and resends on its timeout, as queue/README.md
			 * says; once the routing frame fails, the rest is not sent */
			if (zmq_msg_send(&r->identity, in->sock, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0) {
				zmq_send(in->sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
				zmq_send(in->sock, r->reply, strlen(r->reply), ZMQ_DONTWAIT);
			} else if (zmq_errno() == EAGAIN)
				full++;
		}
		release(r);
	}
	if (full)
		log_warn("intake: %d replies not sent: a producer has more than its"
		    " reply queue (%d) in flight", full, REPLY_HWM);
	b->n = 0;
	buf_reset(&b->bodies);
}

/*
 * readable - the socket is the loop's, and requests have come: read
 * them, store them and answer them in this turn.  A lock-step producer's
 * request is thus never handed between threads (the two hand-overs
 * cost about a quarter of the commit's time, docs/architecture.md).
 * When more than one request was waiting, a producer is pipelining or
 * several send at once: the socket goes to the intake's thread, which
 * reads each batch while the loop commits the one before.
 */
static void
readable(loop_t *l, void *arg, short revents)
{
	intake_t *in = arg;
	struct batch *b = &in->batch[2];
	int rc, n;

	(void)revents;
	if (in->owner != OWNER_LOOP || in->pausing)
		return;
	while (b->n < in->batch_max && (rc = recv_request(in, b)) != 0)
		if (rc < 0)
			fatal("intake: %s", zmq_strerror(zmq_errno()));
	if ((n = b->n) == 0)
		return;
	commit_batch(in, b);
	answer(in, b);
	if (n > 1) {
		log_debug("intake: the intake's thread reads the socket (%d requests at once)", n);
		in->owner = OWNER_THREAD;
		loop_set_events(l, in->sock_id, 0);
		pipe_send(in->pipe_loop, PIPE_TAKE, NULL);
	}
}

/*
 * intake_thread - reads and validates requests, and sends the replies of
 * committed batches, beside the loop's thread that stores them, while it
 * owns the socket: while the loop stores and commits one batch (its
 * fsync), the next is read and validated here.  It never touches the
 * store.  Each batch is with one thread at a time: `filling` is this
 * thread's, `away` (when not NULL) the loop's.  When a batch of one
 * request comes back and nothing was read meanwhile, the stream has
 * thinned to lock-step: the socket goes back to the loop.
 */
static void *
intake_thread(void *arg)
{
	intake_t *in = arg;
	struct batch *filling = &in->batch[0], *away = NULL;
	zmq_pollitem_t items[2] = {
		{ in->pipe_thread, 0, ZMQ_POLLIN, 0 },
		{ in->sock, 0, ZMQ_POLLIN, 0 },
	};
	struct pipe_msg m;
	int own = 0, paused = 0, said_paused = 0, lone, rc;

	arena_own();
	for (;;) {
		items[1].events = !paused && filling->n < in->batch_max ? ZMQ_POLLIN : 0;
		/* zmq_poll() looks at a socket item's events even when it
		 * waits for none: the socket is in the set only while ours */
		if (zmq_poll(items, own ? 2 : 1, -1) < 0) {
			if (zmq_errno() == EINTR)
				continue;
			fatal("intake: poll: %s", zmq_strerror(zmq_errno()));
		}
		while (pipe_recv(in->pipe_thread, &m)) {
			if (m.op == PIPE_STOP)
				goto out;
			if (m.op == PIPE_PAUSE) {
				paused = 1;
				continue;
			}
			if (m.op == PIPE_TAKE) {
				own = 1;
				continue;
			}
			if (m.op != PIPE_BATCH)
				fatal("intake: pipe: order %d to the thread", (int)m.op);
			/* the loop gets the next batch before this one's
			 * replies go out: it is the slower of the two */
			atomic_store_explicit(&in->back, 0, memory_order_relaxed);
			away = NULL;
			if (filling->n > 0) {
				pipe_send(in->pipe_thread, PIPE_BATCH, filling);
				away = filling;
			}
			lone = m.batch->n == 1;
			answer(in, m.batch);
			filling = m.batch;
			if (lone && away == NULL && !paused) {
				own = 0;
				pipe_send(in->pipe_thread, PIPE_GIVE, NULL);
			}
		}
		while (own && !paused && filling->n < in->batch_max &&
		    !atomic_load_explicit(&in->back, memory_order_relaxed) &&
		    (rc = recv_request(in, filling)) != 0)
			if (rc < 0)
				fatal("intake: %s", zmq_strerror(zmq_errno()));
		if (away == NULL && filling->n > 0) {
			pipe_send(in->pipe_thread, PIPE_BATCH, filling);
			away = filling;
			filling = filling == &in->batch[0] ? &in->batch[1] : &in->batch[0];
		}
		if (paused && away == NULL && filling->n == 0 && !said_paused) {
			pipe_send(in->pipe_thread, PIPE_PAUSED, NULL);
			said_paused = 1;
		}
	}
out:
	discard(filling);
	if (away)
		discard(away);
	return NULL;
}

int
intake_attach(intake_t *in, loop_t *l)
{
	int rc;

	in->loop = l;
	in->owner = OWNER_LOOP;
	if ((in->loop_id = loop_add_socket(l, in->pipe_loop, ZMQ_POLLIN, batch_ready, in)) < 0 ||
	    (in->sock_id = loop_add_socket(l, in->sock, ZMQ_POLLIN, readable, in)) < 0)
		return -1;
	if ((rc = pthread_create(&in->thread, NULL, intake_thread, in)) != 0) {
		log_error("intake: cannot start its thread: %s", strerror(rc));
		return -1;
	}
	in->started = 1;
	return 0;
}

void
intake_pause(intake_t *in)
{
	/* what the loop read it has stored and answered in the same turn;
	 * the thread says when what it read has been */
	in->pausing = 1;
	if (in->loop)
		loop_set_events(in->loop, in->sock_id, 0);
	if (in->started)
		pipe_send(in->pipe_loop, PIPE_PAUSE, NULL);
	else
		in->paused = 1;
}

int
intake_paused(const intake_t *in)
{
	return in->paused;
}

void
intake_disk_low(intake_t *in, int on)
{
	in->disk_low = on;
}

void
intake_on_full(intake_t *in, void (*fn)(void *), void *arg)
{
	in->on_full = fn;
	in->on_full_arg = arg;
}

void
intake_on_revision(intake_t *in, void (*fn)(void *), void *arg)
{
	in->on_revision = fn;
	in->on_revision_arg = arg;
}

void
intake_metrics(intake_t *in, metrics_t *m)
{
	in->metrics = m;
}
