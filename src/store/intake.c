/*
 * intake - validate, group-commit, then reply; contract in intake.h.
 */
#include <dirent.h>
#include <errno.h>
#include <string.h>
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

/* one request of a batch: where to reply, and what */
struct req {
	zmq_msg_t identity;
	json_t	*event;		/* valid, not yet stored; NULL otherwise */
	char	*reply;		/* JSON reply, once known: ok_reply or allocated */
	char	 ok_reply[REPLY_OK_MAX];	/* no malloc per stored event */
	const char *code;	/* its status or error code (static), for metrics */
	int	 stored;	/* a new revision, to be logged once committed */
	int	 revision;
	int	 drop;		/* its key left the allow-list: no reply */
};

struct intake {
	void	*sock;
	store_t	*store;
	size_t	 max_size;
	int	 batch_max;
	struct req *batch;
	loop_t	*loop;		/* attached to, or NULL */
	int	 loop_id;
	int	 disk_low;	/* intake_disk_low(): refuse without trying */
	void	(*on_full)(void *);
	void	*on_full_arg;
	metrics_t *metrics;	/* borrowed; NULL: not counted */
	const zap_t *zap;	/* CURVE: the allow-list; NULL: plain */
	buf_t	 canon;		/* one event's canonical body, its room kept */
};

static char *
reply_error(const char *code, const char *field, const char *message)
{
	json_t *r = json_pack("{s:s, s:s, s:s}", "status", "error", "code", code,
	    "message", message);
	char *s;

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

	in->store = store;
	in->max_size = (size_t)conf->max_event_size;
	in->batch_max = (int)conf->batch_max;
	in->batch = xcalloc((size_t)in->batch_max, sizeof *in->batch);
	/* a string's escapes can make it six times as long, and no more */
	buf_init(&in->canon, in->max_size * 6 + 64);
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
	log_info("intake: listening on %s", conf->endpoint);
	return in;
}

void
intake_close(intake_t *in)
{
	if (in == NULL)
		return;
	if (in->sock)
		zmq_close(in->sock);
	free(in->batch);
	buf_free(&in->canon);
	free(in);
}

/*
 * recv_request - one request: identity, empty delimiter, one body frame.
 * Returns 1 with r filled, 0 when nothing is waiting, -1 on socket error.
 */
static int
recv_request(intake_t *in, struct req *r)
{
	zmq_msg_t frame[2], scratch, *f;
	int kept = 0, total = 0, more, rc = -1;
	event_err_t err;

	zmq_msg_init(&r->identity);
	if (zmq_msg_recv(&r->identity, in->sock, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&r->identity);
		return zmq_errno() == EAGAIN ? 0 : -1;
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
	r->event = NULL;
	r->reply = NULL;
	r->code = NULL;
	r->stored = 0;
	r->drop = 0;
	if (in->zap && kept > 0 &&
	    !zap_allowed(in->zap, zmq_msg_gets(&frame[kept - 1], "User-Id"))) {
		log_warn("intake: dropped a request without a reply: its producer key %s is no "
		    "longer allowed", zmq_msg_gets(&frame[kept - 1], "User-Id") ?
		    zmq_msg_gets(&frame[kept - 1], "User-Id") : "(none)");
		r->drop = 1;
	} else if (total != 2 || zmq_msg_size(&frame[0]) != 0) {
		log_warn("intake: rejected request: %d frames, expected an empty delimiter"
		    " and one body frame", total);
		r->code = "bad_frames";
		r->reply = reply_error(r->code, NULL, "a request is exactly one body "
		    "frame (after the empty delimiter a REQ socket adds)");
	} else {
		/* the tree dies with the batch (arena.h); the error reply
		 * below is made outside: reply_free() frees it with free() */
		arena_enter();
		r->event = event_parse(zmq_msg_data(&frame[1]), zmq_msg_size(&frame[1]),
		    in->max_size, &err);
		arena_leave();
		if (r->event == NULL) {
			log_warn("intake: rejected event: %s: %s", err.code, err.message);
			r->code = err.code;
			r->reply = reply_error(err.code, err.field, err.message);
		}
	}
	rc = 1;
out:
	for (int i = 0; i < kept; i++)
		zmq_msg_close(&frame[i]);
	if (rc < 0)
		zmq_msg_close(&r->identity);
	return rc;
}

/* store_batch - all valid events of the batch in one transaction */
static void
store_batch(intake_t *in, int n)
{
	int64_t now;
	int valid = 0, i, revision;
	store_put_t put;

	/* a request sent after the test clock moved is stamped at its time */
	clock_refresh();
	now = clock_now();

	for (i = 0; i < n; i++)
		valid += in->batch[i].event != NULL;
	if (valid == 0)
		return;
	if (in->disk_low) {
		/* the worker logged the state once; nothing per request */
		for (i = 0; i < n; i++)
			if (in->batch[i].event != NULL) {
				in->batch[i].code = "unavailable";
				in->batch[i].reply = reply_error("unavailable", NULL,
				    "the worker is short of disk space (storage full to its limit);"
				    " nothing was stored, retry later");
			}
		return;
	}
	if (store_begin(in->store) < 0)
		goto failed;
	for (i = 0; i < n; i++) {
		struct req *r = &in->batch[i];
		json_t *ev = r->event;
		const char *id, *type;

		if (ev == NULL)
			continue;
		id = json_string_value(json_object_get(ev, "id"));
		type = json_string_value(json_object_get(ev, "type"));
		buf_reset(&in->canon);
		if (event_canonical_buf(ev, &in->canon) < 0)
			fatal("intake: a valid event's canonical form is over %zu bytes",
			    in->canon.max);
		if (store_event_put(in->store, id, type, buf_str(&in->canon), event_regions(ev),
		    event_at(ev), json_is_true(json_object_get(ev, "cancelled")), now,
		    &put, &revision) < 0)
			goto failed;
		switch (put) {
		case PUT_NEW:
		case PUT_REVISION:
			r->code = "ok";
			r->reply = reply_ok(r, "ok", id, revision);
			r->stored = 1;
			r->revision = revision;
			break;
		case PUT_DUPLICATE:
			r->code = "duplicate";
			r->reply = reply_ok(r, "duplicate", id, revision);
			break;
		case PUT_TYPE_MISMATCH:
			r->code = "type_mismatch";
			r->reply = reply_error("type_mismatch", "type",
			    "type: this id is stored with another type; an id's type never changes");
			log_ids(LOG_WARNING, &(log_ids_t){ .event = id },
			    "intake: rejected event %s: type_mismatch", id);
			break;
		}
	}
	if (store_commit(in->store) < 0)
		goto failed;
	/* said once committed: a batch rolled back stored nothing */
	for (i = 0; i < n; i++) {
		struct req *r = &in->batch[i];

		if (r->stored) {
			log_ids_t ids = { .event = json_string_value(json_object_get(r->event,
			    "id")) };

			log_ids(LOG_INFO, &ids, "intake: stored %s %s revision %d",
			    json_string_value(json_object_get(r->event, "type")), ids.event,
			    r->revision);
		}
	}
	return;
failed:
	log_error("intake: could not commit %d events: %s", valid, store_errmsg(in->store));
	store_rollback(in->store);
	for (i = 0; i < n; i++) {
		struct req *r = &in->batch[i];

		if (r->event == NULL)
			continue;
		reply_free(r);
		r->code = "unavailable";
		r->reply = reply_error("unavailable", NULL, store_full(in->store) ?
		    "the worker's storage is full; nothing was stored, retry later" :
		    "the worker could not commit; nothing was stored, retry later");
	}
	if (store_full(in->store) && in->on_full)
		in->on_full(in->on_full_arg);
}

static int
intake_process(intake_t *in)
{
	int n = 0, rc = 0, full = 0;

	while (n < in->batch_max && (rc = recv_request(in, &in->batch[n])) > 0)
		n++;
	store_batch(in, n);
	for (int i = 0; i < n; i++) {
		struct req *r = &in->batch[i];

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
			metrics_event(in->metrics, r->code);
		}
		zmq_msg_close(&r->identity);
		reply_free(r);
		json_decref(r->event);
	}
	if (full)
		log_warn("intake: %d replies not sent: a producer has more than its"
		    " reply queue (%d) in flight", full, REPLY_HWM);
	return n > 0 || rc == 0 ? n : -1;
}

/* readable - drain fully: ZMQ_POLLIN is edge-like for a busy socket */
static void
readable(loop_t *l, void *arg, short revents)
{
	int n;

	(void)revents;
	while ((n = intake_process(arg)) > 0)
		;
	if (n < 0) {
		log_error("intake: %s", zmq_strerror(zmq_errno()));
		loop_fail(l);
	}
}

int
intake_attach(intake_t *in, loop_t *l)
{
	in->loop = l;
	in->loop_id = loop_add_socket(l, in->sock, ZMQ_POLLIN, readable, in);
	return in->loop_id < 0 ? -1 : 0;
}

void
intake_pause(intake_t *in)
{
	if (in->loop)
		loop_set_events(in->loop, in->loop_id, 0);
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
intake_metrics(intake_t *in, metrics_t *m)
{
	in->metrics = m;
}
