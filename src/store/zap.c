/*
 * zap - the ZAP handler and the producers' allow-list; contract in zap.h.
 *
 * The list is a sorted array of Z85 keys, searched with bsearch (a
 * handshake costs one lookup; a reload builds a new array and swaps it
 * in only when every file read).  Refused keys are remembered in a small
 * ring until the next reload, so a producer whose REQ socket reconnects
 * every 100 ms with an unknown key is logged once, not ten times a second.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "curvekey.h"
#include "log.h"
#include "util.h"
#include "zap.h"

#define ZAP_ENDPOINT	"inproc://zeromq.zap.01"	/* fixed by RFC 27 */
#define ZAP_FRAMES	7	/* a request: version .. mechanism, one credential */
#define ZAP_FRAME_MAX	256	/* longer frames are no ZAP request of ours */
#define REFUSED_RING	16

typedef char zkey_t[CURVEKEY_Z85 + 1];

struct zap {
	void	*sock;
	char	*dir;
	zkey_t	*keys;
	int	 nkeys;
	zkey_t	 refused[REFUSED_RING];
	int	 nrefused;
	loop_t	*loop;
};

static int
zkey_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* load_dir - every *.key file in dir into a new sorted array */
static int
load_dir(const char *dir, zkey_t **out, int *n, buf_t *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	zkey_t *keys = NULL;
	int cap = 0, count = 0, rc = -1;
	size_t len, ext = strlen(CURVEKEY_PUBLIC_EXT);
	buf_t path;

	buf_init(&path, 4096);
	if (d == NULL) {
		buf_notef(err, "intake.producer_keys %s: %s", dir, strerror(errno));
		goto out;
	}
	while ((errno = 0, e = readdir(d)) != NULL) {
		curvekey_t k;

		len = strlen(e->d_name);
		if (e->d_name[0] == '.' || len <= ext ||
		    strcmp(e->d_name + len - ext, CURVEKEY_PUBLIC_EXT) != 0)
			continue;
		if (count == ZAP_KEYS_MAX) {
			buf_notef(err, "intake.producer_keys %s: more than %d keys", dir,
			    ZAP_KEYS_MAX);
			goto out;
		}
		buf_reset(&path);
		if (buf_printf(&path, "%s/%s", dir, e->d_name) < 0) {
			buf_notef(err, "intake.producer_keys %s: a name too long", dir);
			goto out;
		}
		if (curvekey_load(buf_str(&path), 0, &k, err) < 0)
			goto out;
		if (count == cap) {
			cap = cap ? cap * 2 : 16;
			keys = xrealloc(keys, (size_t)cap * sizeof *keys);
		}
		memcpy(keys[count++], k.public_key, sizeof(zkey_t));
	}
	if (errno) {
		buf_notef(err, "intake.producer_keys %s: %s", dir, strerror(errno));
		goto out;
	}
	if (count)
		qsort(keys, (size_t)count, sizeof *keys, zkey_cmp);
	*out = keys;
	*n = count;
	keys = NULL;
	rc = 0;
out:
	free(keys);
	if (d)
		closedir(d);
	buf_free(&path);
	return rc;
}

int
zap_reload(zap_t *z, buf_t *err)
{
	zkey_t *keys;
	int n;

	if (load_dir(z->dir, &keys, &n, err) < 0)
		return -1;
	free(z->keys);
	z->keys = keys;
	z->nkeys = n;
	z->nrefused = 0;
	log_info("zap: %d producer key%s allowed (%s)", n, n == 1 ? "" : "s", z->dir);
	return 0;
}

zap_t *
zap_open(void *zctx, const conf_t *conf, buf_t *err)
{
	zap_t *z = xcalloc(1, sizeof *z);
	int linger = 0;

	if (*conf->producer_keys == '\0') {
		buf_note(err, "intake.producer_keys: needed with intake.key_file (a directory "
		    "of the producers' public *.key files)");
		goto fail;
	}
	z->dir = xstrdup(conf->producer_keys);
	if (zap_reload(z, err) < 0)
		goto fail;
	/* bound before the intake binds: a CURVE server with no handler
	 * would let every client in */
	if ((z->sock = zmq_socket(zctx, ZMQ_REP)) == NULL ||
	    zmq_setsockopt(z->sock, ZMQ_LINGER, &linger, sizeof linger) < 0 ||
	    zmq_bind(z->sock, ZAP_ENDPOINT) < 0) {
		buf_notef(err, "zap: cannot bind %s: %s", ZAP_ENDPOINT, zmq_strerror(zmq_errno()));
		goto fail;
	}
	return z;
fail:
	zap_close(z);
	return NULL;
}

void
zap_close(zap_t *z)
{
	if (z == NULL)
		return;
	/* the loop borrows the socket; the worker frees the loop first */
	if (z->sock)
		zmq_close(z->sock);
	free(z->keys);
	free(z->dir);
	free(z);
}

int
zap_allowed(const zap_t *z, const char *user_id)
{
	return user_id && strlen(user_id) == CURVEKEY_Z85 && z->nkeys &&
	    bsearch(user_id, z->keys, (size_t)z->nkeys, sizeof *z->keys, zkey_cmp) != NULL;
}

int
zap_count(const zap_t *z)
{
	return z->nkeys;
}

/* refused_once - 1 the first time a key is refused since the last reload */
static int
refused_once(zap_t *z, const char *key)
{
	int n = z->nrefused < REFUSED_RING ? z->nrefused : REFUSED_RING;

	for (int i = 0; i < n; i++)
		if (strcmp(z->refused[i], key) == 0)
			return 0;
	memcpy(z->refused[z->nrefused++ % REFUSED_RING], key, sizeof(zkey_t));
	return 1;
}

/* decide - the status of the request in frames f[0..n), its text, and in
 * user the User-Id ("" unless 200 for a key) */
static const char *
decide(zap_t *z, zmq_msg_t *f, int n, char *user, const char **text)
{
	char domain[ZAP_FRAME_MAX + 1], mech[ZAP_FRAME_MAX + 1];
	size_t dl, ml;

	*user = '\0';
	if (n < 6 || zmq_msg_size(&f[0]) != 3 || memcmp(zmq_msg_data(&f[0]), "1.0", 3) != 0) {
		*text = "not a ZAP 1.0 request";
		return "400";
	}
	dl = zmq_msg_size(&f[2]) < ZAP_FRAME_MAX ? zmq_msg_size(&f[2]) : ZAP_FRAME_MAX;
	ml = zmq_msg_size(&f[5]) < ZAP_FRAME_MAX ? zmq_msg_size(&f[5]) : ZAP_FRAME_MAX;
	memcpy(domain, zmq_msg_data(&f[2]), dl);
	domain[dl] = '\0';
	memcpy(mech, zmq_msg_data(&f[5]), ml);
	mech[ml] = '\0';
	if (strcmp(mech, "NULL") == 0 && strcmp(domain, ZAP_DOMAIN) != 0) {
		*text = "OK";
		return "200";
	}
	if (strcmp(mech, "CURVE") != 0 || strcmp(domain, ZAP_DOMAIN) != 0 || n != 7 ||
	    zmq_msg_size(&f[6]) != 32) {
		*text = "mechanism not allowed";
		return "400";
	}
	zmq_z85_encode(user, zmq_msg_data(&f[6]), 32);
	if (zap_allowed(z, user)) {
		*text = "OK";
		return "200";
	}
	if (refused_once(z, user)) {
		char addr[ZAP_FRAME_MAX + 1];
		size_t al = zmq_msg_size(&f[3]) < ZAP_FRAME_MAX ? zmq_msg_size(&f[3]) :
		    ZAP_FRAME_MAX;

		memcpy(addr, zmq_msg_data(&f[3]), al);
		addr[al] = '\0';
		log_warn("zap: refused producer key %s from %s: not in %s", user, addr, z->dir);
	}
	*user = '\0';
	*text = "key not allowed";
	return "400";
}

/* serve - answer every request waiting */
static void
serve(loop_t *l, void *arg, short revents)
{
	zap_t *z = arg;
	zmq_msg_t f[ZAP_FRAMES], scratch;
	char user[CURVEKEY_Z85 + 1];
	const char *code, *text;
	int n, more, rc;

	(void)l;
	(void)revents;
	for (;;) {
		for (n = 0, more = 1; more; ) {
			zmq_msg_t *m = n < ZAP_FRAMES ? &f[n] : &scratch;

			zmq_msg_init(m);
			rc = zmq_msg_recv(m, z->sock, n == 0 ? ZMQ_DONTWAIT : 0);
			if (rc < 0) {
				zmq_msg_close(m);
				if (n == 0)
					return;	/* nothing more waiting (EAGAIN) */
				break;
			}
			more = zmq_msg_more(m);
			if (m == &scratch)
				zmq_msg_close(m);
			else
				n++;
		}
		code = decide(z, f, n, user, &text);
		/* version, request id (echoed), status, text, user id, metadata */
		if (zmq_send(z->sock, "1.0", 3, ZMQ_SNDMORE) < 0 ||
		    zmq_send(z->sock, n > 1 ? zmq_msg_data(&f[1]) : "", n > 1 ?
		    zmq_msg_size(&f[1]) : 0, ZMQ_SNDMORE) < 0 ||
		    zmq_send(z->sock, code, 3, ZMQ_SNDMORE) < 0 ||
		    zmq_send(z->sock, text, strlen(text), ZMQ_SNDMORE) < 0 ||
		    zmq_send(z->sock, user, strlen(user), ZMQ_SNDMORE) < 0 ||
		    zmq_send(z->sock, "", 0, 0) < 0)
			log_error("zap: reply: %s", zmq_strerror(zmq_errno()));
		for (int i = 0; i < n && i < ZAP_FRAMES; i++)
			zmq_msg_close(&f[i]);
	}
}

int
zap_attach(zap_t *z, loop_t *l)
{
	z->loop = l;
	return loop_add_socket(l, z->sock, ZMQ_POLLIN, serve, z) < 0 ? -1 : 0;
}
