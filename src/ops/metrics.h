/*
 * metrics - the worker's figures for Prometheus: counters kept by the
 * loop's thread, and an HTTP endpoint (libmicrohttpd) that serves them
 * with what the database says, in the text exposition format 0.0.4.
 *
 * metrics_open() starts the endpoint on metrics.listen ("" = off, the
 * default: it returns NULL with nothing in err).  The value is PORT or
 * HOST:PORT with HOST 127.0.0.1, ::1 (as [::1]) or localhost: loopback
 * only, since the figures are the programme's (how many readers, how many
 * failures); a Prometheus elsewhere scrapes through a proxy or a tunnel.
 * GET /metrics answers; any other path 404, any other method 405.
 *
 * Threads: the endpoint runs in libmicrohttpd's one thread of its own and
 * reads the database through its own handle (store, opened by the caller
 * after the migrations, used by that thread only until metrics_close()),
 * so a slow or stalled scraper never delays the loop: it holds one of
 * METRICS_CONNECTIONS connections for at most METRICS_TIMEOUT_S.  The
 * counters below are updated by the loop's thread with atomic adds and
 * read by the endpoint's with atomic loads; every metrics_* call takes a
 * NULL metrics_t and then does nothing, so the modules that count need
 * not know whether metrics are on.  The scrape's reads are one short
 * read transaction each (no writer waits for them in WAL mode).
 *
 * What is served (docs in tiedoted(8), METRICS):
 *   counters since the start: events accepted (ok, duplicate) and
 *   rejected by code, SMTP deliveries by reply class, messages recorded
 *   sent, relay breaker state changes; gauges: the relay breaker's state,
 *   outbox rows by kind and state, the send rate of the last minute, the
 *   latest issue (its time, recipients and rows by state), the database's
 *   files' sizes.  Inbound mail by kind: not yet (src/inbound); its place
 *   is marked in metrics.c (inbound_figures).
 *
 * Ownership: metrics_close() stops the thread, then frees; the store is
 * the caller's.  Errors: metrics_open() returns NULL with the reason in
 * err (a bad metrics.listen, a port in use).
 */
#ifndef TIEDOTE_METRICS_H
#define TIEDOTE_METRICS_H

#include <stdint.h>

#include "buf.h"
#include "conf.h"
#include "store.h"

#define METRICS_CONNECTIONS	8	/* scrapers served at once */
#define METRICS_TIMEOUT_S	10	/* a connection idle this long is closed */
#define METRICS_BODY_MAX	((size_t)1 << 20)	/* the text of one scrape */

typedef struct metrics metrics_t;

metrics_t *metrics_open(const conf_t *, store_t *, buf_t *err);
void	 metrics_close(metrics_t *);
/* metrics_listen_check - metrics.listen parses (the configuration check
 * before the store is opened); 0, or -1 with the reason in err */
int	 metrics_listen_check(const conf_t *, buf_t *err);

/* the loop's thread: */
/* metrics_event - an intake reply: "ok", "duplicate" or an error code
 * (a static string, kept by pointer) */
void	 metrics_event(metrics_t *, const char *code);
/* metrics_delivery - an SMTP result: its reply code, 0 for no reply */
void	 metrics_delivery(metrics_t *, int code);
/* metrics_sent - n rows recorded sent (after their commit) */
void	 metrics_sent(metrics_t *, int n);
/* metrics_relay - the breaker's new state (relay_state_t) */
void	 metrics_relay(metrics_t *, int state);
/* metrics_now - clock_now(), published for the endpoint's thread (the
 * clock is not thread-safe), once a loop tick */
void	 metrics_now(metrics_t *, int64_t now);

#endif
