/*
 * client - Lazy Pirate request/reply; contract in client.h.
 */
#include <time.h>
#include <zmq.h>

#include "client.h"
#include "clock.h"
#include "curvekey.h"
#include "log.h"
#include "util.h"

struct client {
	void	*ctx;
	void	*sock;
	char	*endpoint;
	long	 timeout_ms, total_ms;
	int	 curve;		/* client_curve() was called */
	curvekey_t own, server;
};

client_t *
client_new(const char *endpoint, long timeout_ms, long total_ms)
{
	client_t *c = xcalloc(1, sizeof *c);

	c->ctx = zmq_ctx_new();
	c->endpoint = xstrdup(endpoint);
	c->timeout_ms = timeout_ms;
	c->total_ms = total_ms;
	return c;
}

static void
client_drop(client_t *c)
{
	if (c->sock)
		zmq_close(c->sock);
	c->sock = NULL;
}

int
client_request(client_t *c, const void *body, size_t len, buf_t *reply)
{
	long long deadline = clock_mono_ms() + c->total_ms, left;
	int linger = 0, tries = 0, rc = -1;
	zmq_msg_t msg;

	zmq_msg_init(&msg);
	while ((left = deadline - clock_mono_ms()) > 0) {
		zmq_pollitem_t item;

		if (c->sock == NULL) {
			c->sock = zmq_socket(c->ctx, ZMQ_REQ);
			zmq_setsockopt(c->sock, ZMQ_LINGER, &linger, sizeof linger);
			if (c->curve && (zmq_setsockopt(c->sock, ZMQ_CURVE_SERVERKEY,
			    c->server.public_key, CURVEKEY_Z85 + 1) < 0 ||
			    zmq_setsockopt(c->sock, ZMQ_CURVE_PUBLICKEY, c->own.public_key,
			    CURVEKEY_Z85 + 1) < 0 ||
			    zmq_setsockopt(c->sock, ZMQ_CURVE_SECRETKEY, c->own.secret_key,
			    CURVEKEY_Z85 + 1) < 0)) {
				log_error("CURVE keys: %s", zmq_strerror(zmq_errno()));
				goto out;
			}
			if (zmq_connect(c->sock, c->endpoint) < 0) {
				log_error("connect %s: %s", c->endpoint, zmq_strerror(zmq_errno()));
				goto out;
			}
		}
		if (tries++)
			log_debug("no reply from %s, retrying (try %d)", c->endpoint, tries);
		if (zmq_send(c->sock, body, len, 0) < 0) {
			client_drop(c);
			continue;
		}
		item = (zmq_pollitem_t){ c->sock, 0, ZMQ_POLLIN, 0 };
		if (zmq_poll(&item, 1, left < c->timeout_ms ? left : c->timeout_ms) == 1 &&
		    zmq_msg_recv(&msg, c->sock, 0) >= 0) {
			buf_reset(reply);
			if (buf_add(reply, zmq_msg_data(&msg), zmq_msg_size(&msg)) < 0)
				goto out;
			rc = 0;
			goto out;
		}
		/* a REQ socket that lost its reply is stuck: start over */
		client_drop(c);
	}
out:
	zmq_msg_close(&msg);
	return rc;
}

void
client_set_timeout(client_t *c, long timeout_ms)
{
	c->timeout_ms = timeout_ms;
}

int
client_curve(client_t *c, const char *key_file, const char *server_key_file, buf_t *err)
{
	if (curvekey_load(key_file, 1, &c->own, err) < 0)
		return -1;
	if (curvekey_load(server_key_file, 0, &c->server, err) < 0) {
		curvekey_wipe(&c->own);
		return -1;
	}
	c->curve = 1;
	return 0;
}

void
client_free(client_t *c)
{
	if (c == NULL)
		return;
	curvekey_wipe(&c->own);
	client_drop(c);
	zmq_ctx_term(c->ctx);
	free(c->endpoint);
	free(c);
}
