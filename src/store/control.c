/*
 * control - one staff request per loop turn, replied after its commit;
 * contract in control.h.
 */
#include <errno.h>
#include <libgen.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>
#include <zmq.h>

#include "admin.h"
#include "clock.h"
#include "control.h"
#include "log.h"
#include "util.h"

struct control {
	void	*sock;
	store_t	*store;
	const conf_t *conf;
	loop_t	*loop;
	int	 loop_id;
	char	*path;		/* the socket file, once bound */
	void	(*written)(void *, const char *op);	/* control_on_write() */
	void	*written_arg;
	int	 disk_low;	/* control_disk_low() */
};

/* the ops that add data (rows, a message's bytes, an issue's outbox),
 * refused while the worker is short of disk space: the reserve is kept
 * for what frees space or changes a row in place (a removal, an
 * unsubscribe, a hold, an import's abort) */
static const char *const growing[] = { "subscriber.add", "subscriber.import.begin",
    "subscriber.import.rows", "subscriber.import.commit", "project.add", "announce.store",
    "issue.approve", "issue.send_now", "inbound.deliver", "inbound.mailbox_sync",
    "web.subscribe", "web.confirm" };

/* short_of_space - the reply to a growing op while the disk is low: a
 * new text and *res filled, or NULL to run the request */
static char *
short_of_space(control_t *c, const void *data, size_t len, admin_result_t *res)
{
	json_t *req, *e;
	const char *op;
	char *text = NULL;

	if (!c->disk_low || (req = json_loadb(data, len, 0, NULL)) == NULL)
		return NULL;
	op = json_string_value(json_object_get(req, "op"));
	for (size_t i = 0; op && i < sizeof growing / sizeof *growing; i++)
		if (strcmp(op, growing[i]) == 0) {
			e = admin_error("unavailable", EX_TEMPFAIL, "the worker is short of disk"
			    " space (store.reserve_mb or store.max_size_mb); nothing was written,"
			    " retry later");
			text = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);
			json_decref(e);
			res->op = growing[i];
			res->error = "unavailable";
			res->exit = EX_TEMPFAIL;
			break;
		}
	json_decref(req);
	return text;
}

int
control_endpoint(const conf_t *conf, buf_t *out, buf_t *path, buf_t *err)
{
	const char *ep = conf->control_endpoint, *p;
	char *copy = NULL;
	buf_t def;
	int rc = -1;

	buf_init(&def, 8192);
	if (*ep == '\0') {
		copy = xstrdup(conf->db_path);
		buf_notef(&def, "ipc://%s/%s", dirname(copy), CONTROL_DEFAULT_NAME);
		ep = buf_str(&def);
	}
	if (strncmp(ep, "tcp://", 6) == 0) {
		buf_notef(err, "control.endpoint: \"%s\": tcp only with CurveZMQ, not yet;"
		    " use ipc://PATH (its file mode is the access control)", ep);
		goto out;
	}
	if (strncmp(ep, "ipc://", 6) != 0) {
		buf_notef(err, "control.endpoint: \"%s\" is not ipc://PATH", ep);
		goto out;
	}
	p = ep + 6;
	if (*p == '\0' || *p == '@' || strlen(p) > CONTROL_PATH_MAX) {
		buf_notef(err, "control.endpoint: \"%s\": the path must be a file's (not"
		    " abstract, at most %d bytes)", ep, CONTROL_PATH_MAX);
		goto out;
	}
	buf_reset(out);
	if (buf_adds(out, ep) < 0 || (path && (buf_reset(path), buf_adds(path, p) < 0))) {
		buf_notef(err, "control.endpoint: too long");
		goto out;
	}
	rc = 0;
out:
	free(copy);
	buf_free(&def);
	return rc;
}

/* not_socket - 0 when nothing is at path or a socket is; else -1 with
 * err: a control.endpoint that names another file (the database, a
 * symbolic link) must not be removed to make room for the socket */
static int
not_socket(const char *path, buf_t *err)
{
	struct stat st;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		buf_notef(err, "control.endpoint: %s: %s", path, strerror(errno));
		return -1;
	}
	if (S_ISSOCK(st.st_mode))
		return 0;
	buf_notef(err, "control.endpoint: %s is a file that is not a socket; it must name"
	    " a path of its own, where only the worker's socket is made", path);
	return -1;
}

int
control_conf_check(const conf_t *conf, buf_t *err)
{
	buf_t ep, path;
	int rc;

	buf_init(&ep, 8192);
	buf_init(&path, 8192);
	rc = control_endpoint(conf, &ep, &path, err) < 0 ? -1 : not_socket(buf_str(&path), err);
	buf_free(&ep);
	buf_free(&path);
	return rc;
}

/* listened - 1 when something accepts connections on the UNIX socket at
 * path: the lock proves no worker of this database owns it, not that no
 * worker of another database in the same directory does (the default
 * name is per directory) */
static int
listened(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, rc;

	if (strlen(path) >= sizeof sun.sun_path)
		return 0;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return 0;
	rc = connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0;
	close(fd);
	return rc;
}

int
control_answers(const conf_t *conf)
{
	buf_t ep, path, err;
	int rc;

	buf_init(&ep, 8192);
	buf_init(&path, 8192);
	buf_init(&err, 1024);
	rc = control_endpoint(conf, &ep, &path, &err) == 0 && listened(buf_str(&path));
	buf_free(&ep);
	buf_free(&path);
	buf_free(&err);
	return rc;
}

control_t *
control_open(void *zctx, const conf_t *conf, store_t *store, buf_t *err)
{
	control_t *c = xcalloc(1, sizeof *c);
	/* ZeroMQ drops a frame this large before we see it; smaller oversize
	 * requests get a "too_large" reply */
	int64_t hard_max = (int64_t)ADMIN_REQUEST_MAX * 4;
	int linger = 1000, bound;
	buf_t ep, path;
	mode_t old;

	buf_init(&ep, 8192);
	buf_init(&path, 8192);
	c->store = store;
	c->conf = conf;
	if (control_endpoint(conf, &ep, &path, err) < 0)
		goto fail;
	/* a worker that died left its file, stale since we hold the lock;
	 * unless it listens: another database's worker */
	if (not_socket(buf_str(&path), err) < 0)
		goto fail;
	if (listened(buf_str(&path))) {
		buf_notef(err, "control: %s is in use by another worker (of another database in"
		    " this directory? give each its own control.endpoint)", buf_str(&path));
		goto fail;
	}
	if (unlink(buf_str(&path)) < 0 && errno != ENOENT) {
		buf_notef(err, "control: %s: %s", buf_str(&path), strerror(errno));
		goto fail;
	}
	if ((c->sock = zmq_socket(zctx, ZMQ_ROUTER)) == NULL ||
	    zmq_setsockopt(c->sock, ZMQ_MAXMSGSIZE, &hard_max, sizeof hard_max) < 0 ||
	    zmq_setsockopt(c->sock, ZMQ_LINGER, &linger, sizeof linger) < 0) {
		buf_notef(err, "control: %s", zmq_strerror(zmq_errno()));
		goto fail;
	}
	/* created 0660, never wider for a moment; the chmod makes it so
	 * whatever ZeroMQ does */
	old = umask(0117);
	bound = zmq_bind(c->sock, buf_str(&ep));
	umask(old);
	if (bound < 0) {
		buf_notef(err, "control: cannot bind %s: %s", buf_str(&ep),
		    zmq_strerror(zmq_errno()));
		goto fail;
	}
	if (chmod(buf_str(&path), 0660) < 0) {
		buf_notef(err, "control: chmod 0660 %s: %s", buf_str(&path), strerror(errno));
		goto fail;
	}
	c->path = xstrdup(buf_str(&path));
	log_info("control: listening on %s (mode 0660)", buf_str(&ep));
	buf_free(&ep);
	buf_free(&path);
	return c;
fail:
	buf_free(&ep);
	buf_free(&path);
	control_close(c);
	return NULL;
}

void
control_close(control_t *c)
{
	if (c == NULL)
		return;
	if (c->sock)
		zmq_close(c->sock);
	/* ZeroMQ leaves the file; we still hold the lock, so it is ours */
	if (c->path)
		(void)unlink(c->path);
	free(c->path);
	free(c);
}

/* reply - identity, delimiter, body; to a vanished peer it fails silently */
static void
reply(control_t *c, zmq_msg_t *identity, const char *body)
{
	zmq_msg_send(identity, c->sock, ZMQ_SNDMORE | ZMQ_DONTWAIT);
	zmq_send(c->sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
	zmq_send(c->sock, body, strlen(body), ZMQ_DONTWAIT);
}

/*
 * process - one request, if one is waiting: 1 done, 0 none, -1 socket
 * error.  Keeps the first two frames after the identity, counts the rest.
 */
static int
process(control_t *c)
{
	zmq_msg_t identity, frame[2], scratch, *f;
	int kept = 0, total = 0, more, rc = -1;
	int64_t t0 = clock_mono_us();
	admin_result_t res = { "?", "bad_frames", EX_PROTOCOL };
	char *text = NULL;

	zmq_msg_init(&identity);
	if (zmq_msg_recv(&identity, c->sock, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&identity);
		return zmq_errno() == EAGAIN ? 0 : -1;
	}
	for (more = zmq_msg_more(&identity); more; total++) {
		f = kept < 2 ? &frame[kept] : &scratch;
		zmq_msg_init(f);
		if (zmq_msg_recv(f, c->sock, 0) < 0) {
			zmq_msg_close(f);
			goto out;
		}
		more = zmq_msg_more(f);
		if (f == &scratch)
			zmq_msg_close(f);
		else
			kept++;
	}
	if (total != 2 || zmq_msg_size(&frame[0]) != 0) {
		json_t *e = admin_error("bad_frames", EX_PROTOCOL, "a request is exactly one"
		    " body frame (after the empty delimiter a REQ socket adds); got %d frames",
		    total);

		text = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(e);
	} else {
		/* stamped at the time of the test clock when it arrived */
		clock_refresh();
		if ((text = short_of_space(c, zmq_msg_data(&frame[1]), zmq_msg_size(&frame[1]),
		    &res)) == NULL)
			text = admin_handle(c->store, c->conf, zmq_msg_data(&frame[1]),
			    zmq_msg_size(&frame[1]), &res);
	}
	/* logged before the reply: whoever got the reply finds the line */
	log_info("control: %s %s%s (%.1f ms)", res.op, res.exit ? "refused: " : "ok",
	    res.exit ? res.error : "", (double)(clock_mono_us() - t0) / 1000);
	reply(c, &identity, text);
	if (res.exit == 0 && c->written)
		c->written(c->written_arg, res.op);
	rc = 1;
out:
	for (int i = 0; i < kept; i++)
		zmq_msg_close(&frame[i]);
	zmq_msg_close(&identity);
	free(text);
	return rc;
}

/* readable - one request a turn: whatever else is waiting (the intake's
 * events, the sender) gets its turn before the next one; zmq_poll reports
 * the socket again while requests are queued */
static void
readable(loop_t *l, void *arg, short revents)
{
	(void)revents;
	if (process(arg) < 0) {
		log_error("control: %s", zmq_strerror(zmq_errno()));
		loop_fail(l);
	}
}

int
control_attach(control_t *c, loop_t *l)
{
	c->loop = l;
	c->loop_id = loop_add_socket(l, c->sock, ZMQ_POLLIN, readable, c);
	return c->loop_id < 0 ? -1 : 0;
}

void
control_on_write(control_t *c, void (*fn)(void *arg, const char *op), void *arg)
{
	c->written = fn;
	c->written_arg = arg;
}

void
control_pause(control_t *c)
{
	if (c && c->loop)
		loop_set_events(c->loop, c->loop_id, 0);
}

void
control_disk_low(control_t *c, int on)
{
	c->disk_low = on;
}
