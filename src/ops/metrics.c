/*
 * metrics - Prometheus figures of the worker; contract in metrics.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <microhttpd.h>

#include "bulletin.h"
#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "relay.h"
#include "util.h"

#define METRICS_CODES	32	/* distinct rejection codes counted by name */
#define RELAY_STATES	3	/* relay_state_t */
#define RATE_WINDOW_S	60	/* tiedote_send_rate_per_second: the last minute */

/* reply classes of SMTP results: 2xx, 4xx, 5xx, anything else, none */
enum { CLASS_2, CLASS_4, CLASS_5, CLASS_OTHER, CLASS_NONE, CLASSES };
static const char *const class_names[CLASSES] = { "2xx", "4xx", "5xx", "other", "none" };

struct metrics {
	struct MHD_Daemon *httpd;
	store_t	*store;			/* the endpoint thread's handle */
	char	*db_path;
	/* counters: written by the loop's thread, read by the endpoint's */
	int64_t	 ok, duplicate;
	struct {
		const char *code;	/* set once, before nrejected counts it */
		int64_t	 n;
	} rejected[METRICS_CODES];
	int	 nrejected;
	int64_t	 rejected_other;	/* codes past METRICS_CODES */
	int64_t	 deliveries[CLASSES];
	int64_t	 sent;
	int	 relay_state;
	int64_t	 relay_changes[RELAY_STATES];
	int64_t	 now, started;
};

#define LOAD(x)		__atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define STORE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELEASE)
#define ADD(x, v)	__atomic_add_fetch(&(x), (v), __ATOMIC_RELAXED)

void
metrics_event(metrics_t *m, const char *code)
{
	int n;

	if (m == NULL)
		return;
	if (strcmp(code, "ok") == 0) {
		ADD(m->ok, 1);
		return;
	}
	if (strcmp(code, "duplicate") == 0) {
		ADD(m->duplicate, 1);
		return;
	}
	n = LOAD(m->nrejected);
	for (int i = 0; i < n; i++)
		if (strcmp(m->rejected[i].code, code) == 0) {
			ADD(m->rejected[i].n, 1);
			return;
		}
	if (n == METRICS_CODES) {
		ADD(m->rejected_other, 1);
		return;
	}
	/* only this thread appends: the entry is complete before it counts */
	m->rejected[n].code = code;
	STORE(m->rejected[n].n, 1);
	STORE(m->nrejected, n + 1);
}

void
metrics_delivery(metrics_t *m, int code)
{
	int c = code == 0 ? CLASS_NONE : code / 100 == 2 ? CLASS_2 : code / 100 == 4 ? CLASS_4 :
	    code / 100 == 5 ? CLASS_5 : CLASS_OTHER;

	if (m)
		ADD(m->deliveries[c], 1);
}

void
metrics_sent(metrics_t *m, int n)
{
	if (m && n > 0)
		ADD(m->sent, n);
}

void
metrics_relay(metrics_t *m, int state)
{
	if (m == NULL || state < 0 || state >= RELAY_STATES)
		return;
	STORE(m->relay_state, state);
	ADD(m->relay_changes[state], 1);
}

void
metrics_now(metrics_t *m, int64_t now)
{
	if (m)
		STORE(m->now, now);
}

/* --- the scrape: the endpoint's thread --- */

struct scrape {
	metrics_t *m;
	buf_t	 out;
	int	 failed;		/* the body outgrew METRICS_BODY_MAX */
};

static void __attribute__((format(printf, 2, 3)))
emit(struct scrape *sc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (buf_vprintf(&sc->out, fmt, ap) < 0)
		sc->failed = 1;
	va_end(ap);
}

/* head - a metric's HELP and TYPE lines */
static void
head(struct scrape *sc, const char *name, const char *type, const char *help)
{
	emit(sc, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* label - a label value, escaped as the format wants (\\, \", \n) */
static void
label(struct scrape *sc, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			emit(sc, "\\%c", *v);
		else if (*v == '\n')
			emit(sc, "\\n");
		else
			emit(sc, "%c", *v);
	}
}

/* sample1 - name{key="value"} n */
static void
sample1(struct scrape *sc, const char *name, const char *key, const char *value, int64_t n)
{
	emit(sc, "%s{%s=\"", name, key);
	label(sc, value);
	emit(sc, "\"} %lld\n", (long long)n);
}

static void
counters(struct scrape *sc)
{
	metrics_t *m = sc->m;
	int n = LOAD(m->nrejected);

	head(sc, "tiedote_start_time_seconds", "gauge", "when the worker started, Unix time");
	emit(sc, "tiedote_start_time_seconds %lld\n", (long long)m->started);
	head(sc, "tiedote_events_accepted_total", "counter",
	    "events answered ok (stored) or duplicate (stored before), since the start");
	sample1(sc, "tiedote_events_accepted_total", "status", "ok", LOAD(m->ok));
	sample1(sc, "tiedote_events_accepted_total", "status", "duplicate", LOAD(m->duplicate));
	head(sc, "tiedote_events_rejected_total", "counter",
	    "requests answered with an error, by its code (queue/README.md), since the start");
	for (int i = 0; i < n; i++)
		sample1(sc, "tiedote_events_rejected_total", "code", m->rejected[i].code,
		    LOAD(m->rejected[i].n));
	if (LOAD(m->rejected_other))
		sample1(sc, "tiedote_events_rejected_total", "code", "other",
		    LOAD(m->rejected_other));
	head(sc, "tiedote_deliveries_total", "counter",
	    "SMTP transactions by the class of their last reply (none: timeout, dropped,"
	    " refused connection), since the start");
	for (int c = 0; c < CLASSES; c++)
		sample1(sc, "tiedote_deliveries_total", "class", class_names[c],
		    LOAD(m->deliveries[c]));
	head(sc, "tiedote_messages_sent_total", "counter",
	    "outbox rows recorded sent, since the start (rate() of it is the send rate)");
	emit(sc, "tiedote_messages_sent_total %lld\n", (long long)LOAD(m->sent));
	head(sc, "tiedote_relay_state", "gauge",
	    "the relay circuit breaker: 1 for its current state (closed: sending)");
	for (int s = 0; s < RELAY_STATES; s++)
		sample1(sc, "tiedote_relay_state", "state", relay_state_name((relay_state_t)s),
		    LOAD(m->relay_state) == s);
	head(sc, "tiedote_relay_state_changes_total", "counter",
	    "changes of the relay circuit breaker's state, by the state entered, since the start");
	for (int s = 0; s < RELAY_STATES; s++)
		sample1(sc, "tiedote_relay_state_changes_total", "state",
		    relay_state_name((relay_state_t)s), LOAD(m->relay_changes[s]));
}

static const char outbox_sql[] =
    "SELECT kind, state, count(*) FROM outbox GROUP BY kind, state ORDER BY kind, state";
static const char sent_sql[] =
    "SELECT count(*) FROM outbox WHERE state = 'sent' AND updated > ?1";

struct outbox_counts {
	struct scrape *sc;
	int64_t	 n[KINDS][OUTBOX_STATES];
};

static void
outbox_sample(struct scrape *sc, const char *kind, const char *state, int64_t n)
{
	emit(sc, "tiedote_outbox_rows{kind=\"");
	label(sc, kind);
	emit(sc, "\",state=\"");
	label(sc, state);
	emit(sc, "\"} %lld\n", (long long)n);
}

/* outbox_row - one kind and state's count, kept for outbox_rows(); one
 * this build does not know (a newer worker's) said at once */
static int
outbox_row(sqlite3_stmt *st, void *arg)
{
	struct outbox_counts *oc = arg;
	const char *kind = (const char *)sqlite3_column_text(st, 0);
	const char *state = (const char *)sqlite3_column_text(st, 1);
	int k, s;

	for (k = 0; k < KINDS && strcmp(kind, outbox_kind_name((outbox_kind_t)k)) != 0; k++)
		;
	for (s = 0; s < OUTBOX_STATES &&
	    strcmp(state, outbox_state_name((outbox_state_t)s)) != 0; s++)
		;
	if (k < KINDS && s < OUTBOX_STATES)
		oc->n[k][s] = sqlite3_column_int64(st, 2);
	else
		outbox_sample(oc->sc, kind, state, sqlite3_column_int64(st, 2));
	return 0;
}

/* outbox_rows - every kind and state, 0 too: a series that vanished when
 * its last row went would stay at its last value in the graphs, and an
 * alert on it would never clear */
static int
outbox_rows(struct scrape *sc)
{
	struct outbox_counts oc = { .sc = sc };
	store_t *s = sc->m->store;
	sqlite3_stmt *st;

	if ((st = store_cached(s, outbox_sql)) == NULL || store_rows(s, st, outbox_row, &oc) != 0)
		return -1;
	for (int k = 0; k < KINDS; k++)
		for (int i = 0; i < OUTBOX_STATES; i++)
			outbox_sample(sc, outbox_kind_name((outbox_kind_t)k),
			    outbox_state_name((outbox_state_t)i), oc.n[k][i]);
	return 0;
}

/* latest - the latest issue, as `tiedote issue status` shows it */
static int
latest(struct scrape *sc)
{
	json_t *is = NULL, *v;
	const char *key;
	int got;

	got = bulletin_status(sc->m->store, 0, 0, &is);
	if (got != 0)
		return got < 0 ? -1 : 0;	/* no issue yet: nothing to say */
	head(sc, "tiedote_last_issue_info", "gauge", "the latest issue: its number and state");
	emit(sc, "tiedote_last_issue_info{number=\"");
	label(sc, json_string_value(json_object_get(is, "number")));
	emit(sc, "\",state=\"");
	label(sc, json_string_value(json_object_get(is, "state")));
	emit(sc, "\"} 1\n");
	head(sc, "tiedote_last_issue_timestamp_seconds", "gauge",
	    "the latest issue's send time (the end of its period), Unix time");
	emit(sc, "tiedote_last_issue_timestamp_seconds %lld\n",
	    (long long)json_integer_value(json_object_get(is, "period_end")));
	head(sc, "tiedote_last_issue_recipients", "gauge", "the latest issue's recipients");
	emit(sc, "tiedote_last_issue_recipients %lld\n",
	    (long long)json_integer_value(json_object_get(is, "recipients")));
	head(sc, "tiedote_last_issue_rows", "gauge", "the latest issue's outbox rows by state");
	json_object_foreach(json_object_get(is, "counts"), key, v)
		sample1(sc, "tiedote_last_issue_rows", "state", key, json_integer_value(v));
	json_decref(is);
	return 0;
}

/* inbound_figures - inbound mail by kind (bounces, replies, unsubscribe
 * requests) goes here once src/inbound records it: a gauge
 * tiedote_inbound_total{kind} read from its table like outbox_rows */
static int
inbound_figures(struct scrape *sc)
{
	(void)sc;
	return 0;
}

static void
file_size(struct scrape *sc, const char *file, const char *suffix)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof path, "%s%s", sc->m->db_path, suffix);
	sample1(sc, "tiedote_database_bytes", "file", file,
	    stat(path, &st) == 0 ? (int64_t)st.st_size : 0);
}

static int
database(struct scrape *sc)
{
	store_t *s = sc->m->store;
	sqlite3_stmt *st;
	int64_t n = 0, now = LOAD(sc->m->now);

	head(sc, "tiedote_outbox_rows", "gauge", "outbox rows by kind and state");
	if (outbox_rows(sc) < 0)
		return -1;
	if ((st = store_cached(s, sent_sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, now - RATE_WINDOW_S);
	if (store_int(s, st, &n) < 0)
		return -1;
	head(sc, "tiedote_send_rate_per_second", "gauge",
	    "messages recorded sent in the last minute (stored times), a second");
	emit(sc, "tiedote_send_rate_per_second %g\n", (double)n / RATE_WINDOW_S);
	if (latest(sc) < 0 || inbound_figures(sc) < 0)
		return -1;
	head(sc, "tiedote_database_bytes", "gauge",
	    "sizes of the SQLite database and its WAL and shared-memory files");
	file_size(sc, "db", "");
	file_size(sc, "wal", "-wal");
	file_size(sc, "shm", "-shm");
	head(sc, "tiedote_schema_version", "gauge", "the database's schema version");
	emit(sc, "tiedote_schema_version %d\n", store_schema_version(s));
	return 0;
}

static enum MHD_Result
answer(struct MHD_Connection *conn, unsigned status, const char *type, const char *body,
    size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result rc;

	r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

#define TEXT_PLAIN "text/plain; charset=utf-8"

static enum MHD_Result
handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **req)
{
	static const char not_found[] = "not found: the figures are at /metrics\n";
	static const char bad_method[] = "only GET\n";
	static const char failed[] = "could not read the figures; the log says why\n";
	struct scrape sc = { .m = cls };
	enum MHD_Result rc;

	(void)version, (void)upload, (void)upload_size, (void)req;
	if (strcmp(url, "/metrics") != 0)
		return answer(conn, MHD_HTTP_NOT_FOUND, TEXT_PLAIN, not_found,
		    sizeof not_found - 1);
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return answer(conn, MHD_HTTP_METHOD_NOT_ALLOWED, TEXT_PLAIN, bad_method,
		    sizeof bad_method - 1);
	buf_init(&sc.out, METRICS_BODY_MAX);
	counters(&sc);
	if (database(&sc) < 0) {
		log_error("metrics: reading the database: %s", store_errmsg(sc.m->store));
		rc = answer(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, TEXT_PLAIN, failed,
		    sizeof failed - 1);
	} else if (sc.failed) {
		log_error("metrics: the figures outgrew %zu bytes", METRICS_BODY_MAX);
		rc = answer(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, TEXT_PLAIN, failed,
		    sizeof failed - 1);
	} else
		rc = answer(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
		    buf_str(&sc.out), sc.out.len);
	buf_free(&sc.out);
	return rc;
}

/* parse_listen - PORT, 127.0.0.1:PORT, localhost:PORT or [::1]:PORT */
static int
parse_listen(const char *v, struct sockaddr_storage *ss, buf_t *err)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	const char *port = v, *colon = strrchr(v, ':');
	char *end;
	long p;
	int v6 = 0;

	memset(ss, 0, sizeof *ss);
	if (colon) {
		size_t hl = (size_t)(colon - v);

		if (hl == 5 && strncmp(v, "[::1]", 5) == 0)
			v6 = 1;
		else if (!((hl == 9 && strncmp(v, "127.0.0.1", 9) == 0) ||
		    (hl == 9 && strncmp(v, "localhost", 9) == 0))) {
			buf_notef(err, "metrics.listen: \"%s\": the host must be 127.0.0.1,"
			    " localhost or [::1] (loopback only)", v);
			return -1;
		}
		port = colon + 1;
	}
	errno = 0;
	p = strtol(port, &end, 10);
	if (errno || end == port || *end || p < 1 || p > 65535) {
		buf_notef(err, "metrics.listen: \"%s\": expected PORT or HOST:PORT, the port"
		    " 1..65535", v);
		return -1;
	}
	if (v6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		sin6->sin6_port = htons((uint16_t)p);
	} else {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin->sin_port = htons((uint16_t)p);
	}
	return 0;
}

int
metrics_listen_check(const conf_t *conf, buf_t *err)
{
	struct sockaddr_storage ss;

	return *conf->metrics_listen ? parse_listen(conf->metrics_listen, &ss, err) : 0;
}

metrics_t *
metrics_open(const conf_t *conf, store_t *store, buf_t *err)
{
	struct sockaddr_storage ss;
	metrics_t *m;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;

	if (*conf->metrics_listen == '\0' || parse_listen(conf->metrics_listen, &ss, err) < 0)
		return NULL;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	m = xcalloc(1, sizeof *m);
	m->store = store;
	m->db_path = xstrdup(conf->db_path);
	m->relay_state = RELAY_CLOSED;
	m->now = m->started = clock_now();
	/* the port is in ss; MHD's own port argument is then ignored */
	m->httpd = MHD_start_daemon(flags, 0, NULL, NULL, handle, m,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_CONNECTIONS,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_TIMEOUT_S,
	    MHD_OPTION_END);
	if (m->httpd == NULL) {
		buf_notef(err, "metrics.listen: cannot listen on %s (in use?)", conf->metrics_listen);
		metrics_close(m);
		return NULL;
	}
	log_info("metrics: Prometheus figures at /metrics on %s (metrics.listen)",
	    conf->metrics_listen);
	return m;
}

void
metrics_close(metrics_t *m)
{
	if (m == NULL)
		return;
	if (m->httpd)
		MHD_stop_daemon(m->httpd);
	free(m->db_path);
	free(m);
}
