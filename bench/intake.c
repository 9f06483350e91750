/*
 * bench/intake - durable, acknowledged events per second through tiedoted,
 * beside a bare ZeroMQ REQ/REP round trip measured in the same run.
 *
 *   intake BUILD_DIR [EVENTS]
 *
 * The baseline is what the transport alone costs: a REQ client and an echo
 * server on tcp loopback exchanging messages of the same size as our
 * events.  tiedoted adds validation, an SQLite commit (WAL, synchronous=
 * FULL: an fsync per group) and the reply.  Both are measured with 1 and 4
 * producers (processes), and the ratio is printed.
 *
 * Two more ceilings, measured here too: SQLite alone, through the worker's
 * own store (store_open(): its pragmas; store_event_put(): an event-sized
 * row and its revision) committing one event per transaction and 256 per
 * transaction.  A lock-step producer cannot beat one round trip plus one
 * commit, so its target is 0.8 / (round trip + single commit), measured
 * in ROUNDS rounds of the round trip, the commit and then the producer,
 * the median round the result (a commit's time moves from minute to
 * minute); a
 * pipelined producer (a DEALER keeping PIPELINE requests in flight, the
 * worker committing what arrived together) is measured against the
 * 256-row ceiling, in ROUNDS rounds of the ceiling then the producer,
 * PIPED_RUN times EVENTS events each; the median round's figures are the
 * result, and every round is printed.  The ceiling's database, like the
 * worker's, grows from round to round, and every measurement starts after
 * a sync(), so that none pays in its fsyncs for the pages another left.
 */
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "buf.h"
#include "client.h"
#include "conf.h"
#include "store.h"
#include "util.h"

#define PIPELINE 512		/* requests a pipelined producer keeps in flight */
#define ROUNDS	5		/* pipelined runs, each beside its own ceiling */
#define PIPED_RUN 10		/* a pipelined run and its ceiling: EVENTS times this */

/* PUT - an append that must fit: the buffers here are sized for it */
#define PUT(x) do { if ((x) < 0) fatal("%s: over the ceiling", #x); } while (0)

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	bind(fd, (struct sockaddr *)&a, sizeof a);
	getsockname(fd, (struct sockaddr *)&a, &len);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static void
event_body(buf_t *b, int producer, int i, const char *run)
{
	buf_reset(b);
	PUT(buf_printf(b, "{\"id\":\"bench-%s-%d-%d\",\"type\":\"news\",\"title\":{\"fi\":"
	    "\"Tulevaisuuden sosiaali- ja terveyskeskus -ohjelma alkaa\",\"sv\":\"Framtidens "
	    "social- och hälsocentral\"},\"summary\":\"THL:n koordinoima ohjelma parantaa "
	    "sosiaali- ja terveydenhuollon perustason palveluita koko maassa. Viisi "
	    "aluekoordinaattoria tukee alueiden työtä.\",\"regions\":[\"KYS\",\"OYS\"],"
	    "\"url\":\"https://thl.fi/uutiset/%d\",\"published\":\"2020-01-24T15:43:00+02:00\"}",
	    run, producer, i, i));
}

/* echo_server - the baseline's REP side, in a child process */
static void
echo_server(const char *ep)
{
	void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_REP);
	char msg[4096];
	int n;

	zmq_bind(s, ep);
	while ((n = zmq_recv(s, msg, sizeof msg, 0)) >= 0)
		zmq_send(s, "{\"status\":\"ok\",\"id\":\"bench\",\"revision\":1}", 41, 0);
	_exit(0);
}

/* producer - n requests, one after another; exits non-zero on failure */
static int
producer(const char *ep, int id, int n, const char *run, int bare)
{
	client_t *c = client_new(ep, 5000, 60000);
	buf_t body, reply;
	int bad = 0;

	buf_init(&body, 0);
	buf_init(&reply, 0);
	for (int i = 0; i < n; i++) {
		event_body(&body, id, i, run);
		if (client_request(c, body.data, body.len, &reply) < 0 ||
		    (!bare && strstr(buf_str(&reply), "\"ok\"") == NULL))
			bad++;
	}
	buf_free(&body);
	buf_free(&reply);
	client_free(c);
	return bad != 0;
}

/* cpu_ns - CPU time a process's threads have run, in ns (the first
 * field of each /proc/PID/task/TID/schedstat), to the nanosecond where
 * /proc/PID/stat counts ticks */
static double
cpu_ns(pid_t pid)
{
	char path[64], line[128];
	struct dirent *d;
	double ns = 0;
	DIR *dir;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	if ((dir = opendir(path)) == NULL)
		return 0;
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/%d/task/%.16s/schedstat", (int)pid, d->d_name);
		if ((f = fopen(path, "r")) != NULL) {
			if (fgets(line, sizeof line, f))
				ns += strtod(line, NULL);
			fclose(f);
		}
	}
	closedir(dir);
	return ns;
}

/* self_ns - this process's CPU time, its ended threads' included (the
 * pipelined producer's ZeroMQ I/O thread ends with its context) */
static double
self_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* pipelined - one DEALER producer with up to PIPELINE requests in flight;
 * events/s of durable acks (every reply "ok") */
static double
pipelined(const char *ep, int n, const char *run)
{
	void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_DEALER);
	char reply[512];
	int sent = 0, acked = 0, bad = 0, len, timeout = 60000, linger = 0;
	double t0;
	buf_t body;

	buf_init(&body, 0);
	zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
	if (zmq_connect(s, ep) < 0)
		fatal("bench/intake: connect %s", ep);
	t0 = now_s();
	while (acked < n) {
		while (sent < n && sent - acked < PIPELINE) {
			event_body(&body, 9, sent++, run);
			zmq_send(s, "", 0, ZMQ_SNDMORE);
			zmq_send(s, body.data, body.len, 0);
		}
		if (zmq_recv(s, reply, sizeof reply, 0) < 0 ||	/* the delimiter */
		    (len = zmq_recv(s, reply, sizeof reply - 1, 0)) < 0)
			fatal("bench/intake: no reply in 60 s (%d of %d acked)", acked, n);
		reply[len < (int)sizeof reply - 1 ? len : (int)sizeof reply - 1] = '\0';
		bad += strstr(reply, "\"ok\"") == NULL;
		acked++;
	}
	t0 = n / (now_s() - t0);
	if (bad)
		fatal("bench/intake: %d pipelined events not ok", bad);
	buf_free(&body);
	zmq_close(s);
	zmq_ctx_term(ctx);
	return t0;
}

/* sqlite_ceiling - events/s that the worker's store commits alone, per
 * transactions of `group` events */
static double
sqlite_ceiling(const char *dir, int n, int group, int round)
{
	char path[256], id[64];
	store_t *s;
	store_put_t put;
	conf_t conf;
	buf_t err, body;
	int rev;
	double t0;

	buf_init(&err, 1024);
	buf_init(&body, 0);
	conf_init(&conf);
	/* one database a group size, across rounds: it grows as the
	 * worker's does, whose inserts cost more as its tables grow */
	snprintf(path, sizeof path, "%s/ceiling-%d.db", dir, group);
	if (conf_set(&conf, "store", "path", path, &err) < 0 || store_open(&conf, &s, &err) < 0)
		fatal("bench/intake: %s", buf_str(&err));
	t0 = now_s();
	for (int i = 0; i < n; i += group) {
		if (store_begin(s) < 0)
			fatal("bench/intake: BEGIN: %s", store_errmsg(s));
		for (int j = i; j < i + group && j < n; j++) {
			event_body(&body, group, j, "ceiling");
			snprintf(id, sizeof id, "bench-ceiling-%d-%d-%d", group, round, j);
			if (store_event_put(s, id, "news", buf_str(&body), 24, 0, 0, 1, &put, &rev) < 0)
				fatal("bench/intake: put: %s", store_errmsg(s));
		}
		if (store_commit(s) < 0)
			fatal("bench/intake: COMMIT: %s", store_errmsg(s));
	}
	t0 = n / (now_s() - t0);
	store_close(s);
	conf_free(&conf);
	buf_free(&err);
	buf_free(&body);
	return t0;
}

/* median_round - the round whose ratio is the median of ROUNDS */
static int
median_round(const double *ratio)
{
	int best = 0;

	for (int r = 0; r < ROUNDS; r++) {
		int below = 0, above = 0;

		for (int q = 0; q < ROUNDS; q++)
			if (q != r) {
				below += ratio[q] < ratio[r];
				above += ratio[q] > ratio[r];
			}
		if (below <= ROUNDS / 2 && above <= ROUNDS / 2)
			best = r;
	}
	return best;
}

/* measure - events/s with nproc producer processes of n/nproc requests */
static double
measure(const char *ep, int nproc, int n, const char *run, int bare)
{
	double t0 = now_s();
	int status, failed = 0;

	for (int p = 0; p < nproc; p++)
		if (fork() == 0)
			_exit(producer(ep, p, n / nproc, run, bare));
	for (int p = 0; p < nproc; p++) {
		wait(&status);
		failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	}
	if (failed) {
		fprintf(stderr, "bench/intake: a producer failed (%s)\n", run);
		exit(1);
	}
	return n / (now_s() - t0);
}

int
main(int argc, char **argv)
{
	char ep[64], echo_ep[64], dir[] = "/tmp/tiedote-bench.XXXXXX", db[128], path[512],
	    cmd[600];
	int n = argc > 2 ? atoi(argv[2]) : 4000, rc;
	double base1, base4, ours1, ours4, one, many, piped, piped_target;
	double base1_r[ROUNDS], one_r[ROUNDS], ours1_r[ROUNDS], lock_r[ROUNDS];
	double many_r[ROUNDS], piped_r[ROUNDS], ratio_r[ROUNDS], wcpu_r[ROUNDS], pcpu_r[ROUNDS];
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int r_mid, l_mid;
	pid_t echo, worker;

	if (argc < 2 || mkdtemp(dir) == NULL) {
		fprintf(stderr, "usage: intake BUILD_DIR [EVENTS]\n");
		return 64;
	}
	snprintf(echo_ep, sizeof echo_ep, "tcp://127.0.0.1:%d", free_port());
	if ((echo = fork()) == 0)
		echo_server(echo_ep);
	usleep(200000);
	base4 = measure(echo_ep, 4, n, "base4", 1);

	snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", free_port());
	snprintf(db, sizeof db, "%s/bench.db", dir);
	snprintf(path, sizeof path, "%s/tiedoted", argv[1]);
	if ((worker = fork()) == 0) {
		execl(path, path, "--db", db, "--endpoint", ep, "--log-level", "warning",
		    (char *)NULL);
		_exit(127);
	}
	usleep(300000);
	/* a lock-step producer beside its two ceilings, ROUNDS times: a
	 * single commit's time moves by a fifth from minute to minute here,
	 * so each round's ratio is to the round trip and the commit measured
	 * just before it, and the median round is the result.  Each
	 * measurement starts with nothing of the one before left to write
	 * back, so none pays for another's pages in its fsyncs */
	for (int r = 0; r < ROUNDS; r++) {
		char run[16];

		snprintf(run, sizeof run, "base1-%d", r);
		base1_r[r] = measure(echo_ep, 1, n, run, 1);
		sync();
		one_r[r] = sqlite_ceiling(dir, n, 1, r);
		sync();
		snprintf(run, sizeof run, "one%d", r);
		ours1_r[r] = measure(ep, 1, n, run, 0);
		/* 1 / (round trip + commit): the best a lock-step producer can do */
		lock_r[r] = ours1_r[r] * (1 / base1_r[r] + 1 / one_r[r]);
	}
	l_mid = median_round(lock_r);
	base1 = base1_r[l_mid];
	one = one_r[l_mid];
	ours1 = ours1_r[l_mid];
	kill(echo, SIGKILL);
	waitpid(echo, NULL, 0);
	ours4 = measure(ep, 4, n, "four", 0);
	/* the pipelined run against the 256-row ceiling, alternately, ROUNDS
	 * times: on a shared machine the load moves within a run, and the
	 * median of same-minute ratios is steadier than one ratio */
	for (int r = 0; r < ROUNDS; r++) {
		char run[16];
		double w0, p0;

		snprintf(run, sizeof run, "piped%d", r);
		sync();
		many_r[r] = sqlite_ceiling(dir, n * PIPED_RUN, 256, r);
		sync();
		w0 = cpu_ns(worker);
		p0 = self_ns();
		piped_r[r] = pipelined(ep, n * PIPED_RUN, run);
		/* µs of CPU an event: tiedoted's threads, and ours (the
		 * producer and its ZeroMQ I/O thread) */
		wcpu_r[r] = (cpu_ns(worker) - w0) / 1e3 / (n * PIPED_RUN);
		pcpu_r[r] = (self_ns() - p0) / 1e3 / (n * PIPED_RUN);
		ratio_r[r] = piped_r[r] / many_r[r];
	}
	r_mid = median_round(ratio_r);
	many = many_r[r_mid];
	piped = piped_r[r_mid];
	kill(worker, SIGTERM);
	waitpid(worker, NULL, 0);

	printf("intake: %d events per run, tcp loopback, SQLite WAL synchronous=FULL\n", n);
	printf("  bare REQ/REP round trips    1 producer %8.0f/s   4 producers %8.0f/s\n",
	    base1, base4);
	printf("  tiedoted durable acked      1 producer %8.0f/s   4 producers %8.0f/s\n",
	    ours1, ours4);
	printf("  ratio tiedoted/bare         1 producer %8.2f     4 producers %8.2f\n",
	    ours1 / base1, ours4 / base4);
	printf("  SQLite alone (store.c)      1 event/commit %8.0f/s   256 events/commit %8.0f/s\n",
	    one, many);
	piped_target = 0.8 * many < 50000 ? 0.8 * many : 50000;
	printf("  lock-step vs 1/(round trip + commit) = %.0f/s:   %.2f  (target 0.80)\n",
	    1 / (1 / base1 + 1 / one), lock_r[l_mid]);
	printf("  lock-step rounds (events/s; round trips/s, commits/s; ratio):");
	for (int r = 0; r < ROUNDS; r++)
		printf("%s %.0f; %.0f, %.0f; %.2f", r ? " |" : "", ours1_r[r], base1_r[r], one_r[r],
		    lock_r[r]);
	printf("; the median round above\n");
	printf("  pipelined (DEALER, %d in flight) %8.0f/s   vs 256-row ceiling %.2f,"
	    " vs target %.0f/s %.2f\n", PIPELINE, piped, piped / many, piped_target,
	    piped / piped_target);
	printf("  pipelined rounds (events/s, 256-row ceiling, ratio):");
	for (int r = 0; r < ROUNDS; r++)
		printf("%s %.0f / %.0f = %.2f", r ? ";" : "", piped_r[r], many_r[r], ratio_r[r]);
	printf("; the median round above\n");
	/* the budget: what both processes' CPU per event would need, at the
	 * 256-row ceiling's rate, of this machine's cores */
	printf("  pipelined CPU per event: tiedoted %.1f us, producer %.1f us; at the 256-row"
	    " ceiling's rate %.2f cores of %ld\n", wcpu_r[r_mid], pcpu_r[r_mid],
	    (wcpu_r[r_mid] + pcpu_r[r_mid]) * many / 1e6, cores);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	rc = system(cmd);
	return rc != 0;
}
