/*
 * web - the subscriber pages: one-click unsubscribe (RFC 8058), double
 * opt-in, preferences, a project contact's opt-out, the archive and its
 * Atom feed.  docs/web.md is the contract of every page.
 *
 * Process model: libmicrohttpd inside tiedoted, on its own internal
 * polling thread (one thread: epoll, non-blocking sockets), so a slow or
 * hostile client costs a descriptor and some memory, never a turn of the
 * worker's loop: intake and sending go on whatever HTTP does.  The thread
 * reads through its own SQLite handle made query-only (store_query_only)
 * and sends every change as an admin request (web.subscribe, web.confirm,
 * web.unsubscribe, web.preferences, web.contact_optout: docs/control.md)
 * to the worker's control socket, like the CLI: the worker stays the one
 * writer and replies after its COMMIT, so a page says "done" only for
 * what is durable.  While the worker is busy with a long request (a big
 * import's commit) the pages that write wait with it, up to
 * WEB_WORKER_WAIT_MS, then answer 503 with nothing changed.
 *
 * web_conf_check() judges web.listen and web.trusted_proxies without
 * starting anything (tiedoted calls it with the rest of the
 * configuration).  web_start() opens the handle, loads the templates and
 * binds web.listen; NULL with err when it cannot (the worker then exits
 * 78 or 75).  web_stop() stops the thread (connections are closed) and
 * frees everything; NULL is fine.  The conf is borrowed and must outlive
 * the web_t.  Threads: web_start/web_stop from the worker's thread; the
 * rest runs on MHD's thread.
 * BUGS: one HTTP thread; the per-client POST limit is in memory (a
 * restart forgets it) and counts WEB_RATE_SLOTS addresses at most (an
 * IPv6 client by its /64), in buckets of WEB_RATE_WAYS picked by a keyed
 * hash (SipHash, a random key per process, so no one can choose addresses
 * that share a bucket); when a bucket is full of addresses counted this
 * hour, the one with the fewest POSTs is forgotten.  The archive reads bulletin.deadline_days and
 * event_days, which a reload (SIGHUP) may change under it: a page built
 * during the reload may use either value.
 */
#ifndef TIEDOTE_WEB_H
#define TIEDOTE_WEB_H

#include "buf.h"
#include "conf.h"

#define WEB_BODY_MAX		8192	/* bytes of a form; more is 413 */
#define WEB_DISCARD_MAX		((size_t)1 << 20)	/* of a longer chunked body, read
						 * and dropped before the 413 */
#define WEB_FIELD_MAX		1024	/* bytes of one form field */
#define WEB_WORKER_WAIT_MS	5000	/* an admin request's wait, then 503 */
#define WEB_RATE_SLOTS		4096	/* client addresses the POST limit counts */
#define WEB_RATE_WAYS		8	/* slots an address may take (a bucket) */
#define WEB_CSRF_HOURS		24	/* a form's anti-forgery value lives this long */
#define WEB_MEMORY_LIMIT	(64 * 1024)	/* MHD's per-connection memory (headers) */
#define WEB_FEED_ENTRIES	20	/* issues in an Atom feed */

typedef struct web web_t;

int	 web_conf_check(const conf_t *, buf_t *err);
web_t	*web_start(const conf_t *, const char *control_endpoint, buf_t *err);
void	 web_stop(web_t *);

#endif
