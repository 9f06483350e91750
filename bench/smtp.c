/*
 * bench/smtp - messages per second through the delivery engine, beside
 * Postfix's smtp-source against the same smtp-sink in the same run.
 *
 *   smtp BUILD_DIR [MESSAGES] [SIZE]
 *
 * The baseline is smtp-source with 4 sessions that stay connected (-d),
 * MESSAGES messages of SIZE payload bytes: a lean C client with no
 * pipelining, the same round trips per message as libcurl.  Ours is the
 * engine at 4 connections sending a MIME-ish newsletter of about SIZE
 * bytes, each message a fresh heap copy as the outbox would hand it over,
 * driven by the zmq_poll loop tiedoted uses.  Two rounds each, alternating,
 * and the better of each is compared, so a noisy neighbour is less likely
 * to decide the ratio.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "buf.h"
#include "smtp.h"
#include "util.h"

/* PUT - an append that must fit: the buffers here are sized for it */
#define PUT(x) do { if ((x) < 0) fatal("%s: over the ceiling", #x); } while (0)

#define SINK	"/usr/sbin/smtp-sink"
#define SOURCE	"/usr/sbin/smtp-source"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* cpu_s - user + system seconds of this process or its reaped children */
static double
cpu_s(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
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

/* listening - /proc/net/tcp shows 127.0.0.1:port in LISTEN */
static int
listening(int port)
{
	char line[512], want[32], local[64], st[8];
	FILE *fp = fopen("/proc/net/tcp", "r");
	int found = 0;

	snprintf(want, sizeof want, "0100007F:%04X", port);
	while (fp && !found && fgets(line, sizeof line, fp))
		found = sscanf(line, "%*s %63s %*s %7s", local, st) == 2 &&
		    strcmp(local, want) == 0 && strcmp(st, "0A") == 0;
	if (fp)
		fclose(fp);
	return found;
}

static pid_t
spawn(const char *const argv[])
{
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* newsletter - a multipart/alternative message of about size bytes, CRLF,
 * quoted-printable text and HTML, as compose would build it */
static void
newsletter(buf_t *b, size_t size)
{
	static const char *const para[] = {
		"Tulevaisuuden sosiaali- ja terveyskeskus -ohjelma parantaa perustason",
		"palveluiden saatavuutta, oikea-aikaisuutta ja jatkuvuutta. Ohjelmaa",
		"koordinoi THL, ja viisi aluekoordinaattoria tukee alueiden ty=C3=B6t=C3=A4=",
		" koko maassa. Hankkeiden v=C3=A4liraportit julkaistaan kev=C3=A4=C3=A4ll=",
		"=C3=A4, ja seuraava verkostotapaaminen j=C3=A4rjestet=C3=A4=C3=A4n Kuopiossa.",
		"Lis=C3=A4tietoja: https://thl.fi/tulevaisuuden-sote-keskus/ajankohtaista",
	};
	size_t half = size / 2, start;
	int i = 0;

	buf_reset(b);
	PUT(buf_adds(b,
	    "Return-Path: <bounce+1234@uutiset.example.fi>\r\n"
	    "From: =?UTF-8?Q?Tulevaisuuden_sote-keskus?= <uutiset@example.fi>\r\n"
	    "To: <lukija@example.org>\r\n"
	    "Subject: =?UTF-8?Q?Viikkokirje_12/2020:_ohjelman_ajankohtaiset?=\r\n"
	    "Date: Tue, 24 Mar 2020 15:43:00 +0200\r\n"
	    "Message-ID: <20200324134300.1234.abcdef@uutiset.example.fi>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "List-Unsubscribe: <https://uutiset.example.fi/u/abcdef0123456789>\r\n"
	    "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
	    "Content-Type: multipart/alternative; boundary=\"=_tiedote_0123456789\"\r\n"
	    "\r\n"
	    "--=_tiedote_0123456789\r\n"
	    "Content-Type: text/plain; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\n"));
	while (b->len < half)
		PUT(buf_printf(b, "%s\r\n", para[i++ % NELEM(para)]));
	PUT(buf_adds(b,
	    "\r\n--=_tiedote_0123456789\r\n"
	    "Content-Type: text/html; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\n"
	    "<!DOCTYPE html><html lang=3D\"fi\"><body><h1>Viikkokirje</h1>\r\n"));
	for (start = b->len; b->len + 80 < size; i++)
		PUT(buf_printf(b, "<p>%s</p>\r\n", para[i % NELEM(para)]));
	(void)start;
	PUT(buf_adds(b, "</body></html>\r\n\r\n--=_tiedote_0123456789--\r\n"));
}

static int sent, failed;

static void
on_done(void *arg, uint64_t id, const smtp_result_t *r)
{
	(void)arg;
	(void)id;
	if (r->code == 250)
		sent++;
	else if (failed++ == 0)
		fprintf(stderr, "bench/smtp: message failed: %d %s\n", r->code, r->text);
}

/* ours - n messages through the engine; messages per second, or -1;
 * *cpu gets our CPU microseconds per message */
static double
ours(int port, int n, const buf_t *msg, double *cpu)
{
	char url[64];
	smtp_conf_t c = { .url = url, .connections = 4, .helo = "bench.example.fi" };
	smtp_t *s;
	buf_t err;
	double t0;
	int next = 0;

	snprintf(url, sizeof url, "smtp://127.0.0.1:%d", port);
	buf_init(&err, 1024);
	if ((s = smtp_new(&c, on_done, NULL, &err)) == NULL) {
		fprintf(stderr, "bench/smtp: %s\n", buf_str(&err));
		exit(1);
	}
	sent = failed = 0;
	*cpu = cpu_s(RUSAGE_SELF);
	t0 = now_s();
	while (sent + failed < n) {
		zmq_pollitem_t items[8];
		int k;

		while (next < n && smtp_ready(s) > 0) {
			char *copy = xmalloc(msg->len);

			memcpy(copy, msg->data, msg->len);
			if (smtp_submit(s, (uint64_t)next, "bounce+1234@uutiset.example.fi",
			    "lukija@example.org", copy, msg->len) < 0) {
				free(copy);
				break;
			}
			next++;
		}
		k = smtp_pollitems(s, items, (int)NELEM(items));
		if (zmq_poll(items, k < 8 ? k : 8, smtp_timeout_ms(s)) < 0)
			continue;
		smtp_process(s, items, k < 8 ? k : 8);
	}
	t0 = now_s() - t0;
	*cpu = (cpu_s(RUSAGE_SELF) - *cpu) * 1e6 / n;
	smtp_free(s);
	buf_free(&err);
	return failed ? -1 : n / t0;
}

/* baseline - smtp-source, 4 sessions kept open; messages per second;
 * *cpu gets its CPU microseconds per message */
static double
baseline(int port, int n, size_t size, double *cpu)
{
	char addr[32], count[16], len[16];
	const char *argv[] = { SOURCE, "-d", "-s", "4", "-l", len, "-m", count,
	    "-M", "bench.example.fi", "-f", "bounce@uutiset.example.fi",
	    "-t", "lukija@example.org", addr, NULL };
	double t0 = now_s(), c0 = cpu_s(RUSAGE_CHILDREN);
	int status;
	pid_t pid;

	snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
	snprintf(count, sizeof count, "%d", n);
	snprintf(len, sizeof len, "%zu", size);
	pid = spawn(argv);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench/smtp: smtp-source failed\n");
		return -1;
	}
	t0 = now_s() - t0;
	*cpu = (cpu_s(RUSAGE_CHILDREN) - c0) * 1e6 / n;
	return n / t0;
}

int
main(int argc, char **argv)
{
	int n = argc > 2 ? atoi(argv[2]) : 20000, port = free_port();
	size_t size = argc > 3 ? (size_t)atol(argv[3]) : 20000;
	char addr[32];
	const char *sink_argv[10];
	double base = 0, our = 0, b, o, base_cpu = 0, our_cpu = 0, bc, oc;
	int k = 0, rc = 1;
	pid_t sink;
	buf_t msg;

	if (argc < 2 || n <= 0) {
		fprintf(stderr, "usage: smtp BUILD_DIR [MESSAGES] [SIZE]\n");
		return 64;
	}
	if (access(SINK, X_OK) < 0 || access(SOURCE, X_OK) < 0) {
		printf("smtp: skipped, %s or %s missing (postfix package)\n", SINK, SOURCE);
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	buf_init(&msg, 0);
	newsletter(&msg, size);
	snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
	sink_argv[k++] = SINK;
	if (geteuid() == 0) {
		sink_argv[k++] = "-u";
		sink_argv[k++] = "nobody";
	}
	sink_argv[k++] = "-c";
	sink_argv[k++] = addr;
	sink_argv[k++] = "1000";
	sink_argv[k] = NULL;
	sink = spawn(sink_argv);
	for (double until = now_s() + 5; !listening(port) && now_s() < until;)
		usleep(5000);
	if (!listening(port)) {
		fprintf(stderr, "bench/smtp: smtp-sink did not start\n");
		goto out;
	}
	for (int round = 0; round < 2; round++) {
		if ((b = baseline(port, n, size, &bc)) < 0 || (o = ours(port, n, &msg, &oc)) < 0)
			goto out;
		if (b > base) {
			base = b;
			base_cpu = bc;
		}
		if (o > our) {
			our = o;
			our_cpu = oc;
		}
	}
	printf("smtp: %d messages per run, %zu bytes each, 4 connections, into smtp-sink\n",
	    n, msg.len);
	printf("  smtp-source -d -s 4        %8.0f msg/s   %5.0f us CPU/msg\n", base, base_cpu);
	printf("  tiedote smtp engine        %8.0f msg/s   %5.0f us CPU/msg\n", our, our_cpu);
	printf("  ratio engine/smtp-source   %8.2f\n", our / base);
	rc = 0;
out:
	kill(sink, SIGTERM);
	waitpid(sink, NULL, 0);
	buf_free(&msg);
	return rc;
}
