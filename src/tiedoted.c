/*
 * tiedoted - the worker daemon.
 *
 * One process, one event loop (zmq_poll): the intake socket, a signalfd
 * for SIGTERM/SIGINT, libcurl's SMTP sockets and timers, and a once-a-
 * second look at the bulletin calendar.  Runs in the foreground and logs
 * to stderr, as systemd expects.  On SIGTERM it stops taking events and
 * claiming messages, lets the messages in flight finish (10 s at most),
 * closes the socket and the database, and exits 0.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>
#include <zmq.h>

#include "announce.h"
#include "bulletin.h"
#include "clock.h"
#include "conf.h"
#include "intake.h"
#include "message.h"
#include "outbox.h"
#include "remind.h"
#include "sender.h"
#include "log.h"
#include "store.h"
#include "util.h"

#define TIEDOTE_VERSION "0.1.0"

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: tiedoted [-c FILE] [--db PATH] [--endpoint EP] [--log-level LEVEL]\n"
	    "                [-o SECTION.KEY=VALUE ...]\n"
	    "       tiedoted --print-config [-c FILE]\n"
	    "  -c, --config FILE   configuration (default " CONF_DEFAULT_PATH " if present)\n"
	    "      --db PATH       SQLite database (store.path)\n"
	    "      --endpoint EP   ZeroMQ endpoint to bind (intake.endpoint)\n"
	    "      --log-level L   debug, info, notice, warning, error (log.level)\n"
	    "  -o SECTION.KEY=VALUE  any setting of tiedote.conf, over the file\n"
	    "      --print-config  print every setting with its value and exit\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "db", required_argument, NULL, 'd' },
		{ "endpoint", required_argument, NULL, 'e' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "print-config", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *config = NULL, *db = NULL, *endpoint = NULL, *level = NULL;
	char *overrides[32];
	int c, print = 0, sfd = -1, cfd, rc = EX_OSERR, stop = 0, noverrides = 0;
	store_t *store = NULL, *out_store = NULL;
	intake_t *intake = NULL;
	message_ctx_t *msg = NULL;
	sender_t *sender = NULL;
	int64_t last_tick = 0, stop_deadline = 0;
	int n;
	void *zctx = NULL;
	sigset_t mask;
	conf_t conf;
	buf_t err;

	log_init("tiedoted");
	/* each message's buffers (tens of kB) are freed at the top of the
	 * heap; glibc would give that back with brk() and take it again for
	 * the next message, thousands of times a second (strace) */
	mallopt(M_TRIM_THRESHOLD, 32 << 20);
	buf_init(&err, 4096);
	conf_init(&conf);
	while ((c = getopt_long(argc, argv, "c:o:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'o':
			if (noverrides == (int)NELEM(overrides)) {
				rc = EX_USAGE;
				goto out;
			}
			overrides[noverrides++] = optarg;
			break;
		case 'd': db = optarg; break;
		case 'e': endpoint = optarg; break;
		case 'l': level = optarg; break;
		case 'p': print = 1; break;
		case 'h': usage(stdout); rc = EX_OK; goto out;
		case 'V': printf("tiedoted %s\n", TIEDOTE_VERSION); rc = EX_OK; goto out;
		default: usage(stderr); rc = EX_USAGE; goto out;
		}
	}
	if (optind != argc) {
		usage(stderr);
		rc = EX_USAGE;
		goto out;
	}
	if (conf_setup(&conf, config, db, endpoint, level, overrides, (size_t)noverrides,
	    &err) < 0) {
		log_error("configuration: %s", buf_str(&err));
		rc = EX_CONFIG;
		goto out;
	}
	if (print) {
		conf_print(&conf, stdout);
		rc = EX_OK;
		goto out;
	}
	log_set_level(log_level_parse(conf.log_level));

	/* signals arrive as readable data in the poll set: no races with the
	 * poll call and no work in a handler */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		log_error("signalfd: %s", strerror(errno));
		goto out;
	}
	/* dates in messages and the calendar are local to the configured zone */
	setenv("TZ", conf.time_zone, 1);
	tzset();
	/* before SQLite's first use: no lock taken per allocation for
	 * statistics nobody reads */
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	/* the whole configuration before the store: a worker started in the
	 * wrong directory must not create and migrate a database first */
	if (message_conf_check(&conf, &err) < 0 || remind_conf_check(&conf, &err) < 0) {
		log_error("configuration: %s", buf_str(&err));
		rc = EX_CONFIG;
		goto out;
	}
	if (store_open(&conf, &store, &err) < 0 || store_open(&conf, &out_store, &err) < 0) {
		log_error("store: %s", buf_str(&err));
		rc = EX_TEMPFAIL;
		goto out;
	}
	/* the sender's commits may be lost to a power cut (then a message is
	 * sent again), never to a crash of this process */
	if (store_bulk(out_store) < 0 ||
	    (msg = message_open(&conf, out_store, &err)) == NULL ||
	    (sender = sender_new(&conf, out_store, msg, &err)) == NULL) {
		log_error("%s", buf_str(&err));
		rc = EX_CONFIG;
		goto out;
	}
	if ((n = outbox_recover(out_store, clock_now())) > 0)
		log_warn("outbox: %d messages were in flight at the last stop; queued again", n);
	cfd = clock_watch();
	zctx = zmq_ctx_new();
	if ((intake = intake_open(zctx, &conf, store, &err)) == NULL) {
		log_error("%s", buf_str(&err));
		rc = EX_TEMPFAIL;
		goto out;
	}
	log_info("tiedoted %s started: store %s, schema version %d, relay %s",
	    TIEDOTE_VERSION, conf.db_path, store_schema_version(store), conf.smtp_url);

	for (;;) {
		zmq_pollitem_t items[3 + 66];
		int nitems = 3, nsmtp;
		long timeout = 1000, t;
		int64_t mono;

		if (stop && (sender_inflight(sender) == 0 || clock_mono_ms() / 1000 > stop_deadline))
			break;
		items[0] = (zmq_pollitem_t){ intake_socket(intake), 0, stop ? 0 : ZMQ_POLLIN, 0 };
		items[1] = (zmq_pollitem_t){ NULL, sfd, ZMQ_POLLIN, 0 };
		/* the test clock's watch, or nothing (poll ignores fd -1) */
		items[2] = (zmq_pollitem_t){ NULL, cfd, cfd >= 0 ? ZMQ_POLLIN : 0, 0 };
		nsmtp = sender_pollitems(sender, items + 3, 66);
		nitems += nsmtp < 66 ? nsmtp : 66;
		if ((t = sender_timeout_ms(sender)) >= 0 && t < timeout)
			timeout = t;
		/* a message to build ahead: only look whether anything is ready */
		if (!stop && sender_ahead_pending(sender))
			timeout = 0;
		if ((n = zmq_poll(items, nitems, timeout)) < 0) {
			if (zmq_errno() == EINTR)
				continue;
			log_error("zmq_poll: %s", zmq_strerror(zmq_errno()));
			goto out;
		}
		if (items[2].revents & ZMQ_POLLIN)
			clock_refresh();
		if (n == 0 && timeout == 0 && !stop)
			sender_ahead(sender);
		if (items[0].revents & ZMQ_POLLIN) {
			/* drain fully: ZMQ_POLLIN is edge-like for a busy socket */
			while ((n = intake_process(intake)) > 0)
				;
			if (n < 0) {
				log_error("intake: %s", zmq_strerror(zmq_errno()));
				goto out;
			}
		}
		if (items[1].revents & ZMQ_POLLIN) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof si) == sizeof si) {
				if (si.ssi_signo == SIGHUP) {
					log_info("SIGHUP: nothing to reload yet");
					continue;
				}
				if (!stop) {
					log_info("%s: shutting down after %d messages in flight",
					    strsignal((int)si.ssi_signo), sender_inflight(sender));
					sender_release(sender);
				}
				stop = 1;
				stop_deadline = clock_mono_ms() / 1000 + 10;
			}
		}
		sender_process(sender, items + 3, nitems - 3);
		if (stop)
			continue;
		/* the scheduler looks at the calendar once a second */
		if ((mono = clock_mono_ms() / 1000) != last_tick) {
			last_tick = mono;
			buf_reset(&err);
			if (bulletin_tick(out_store, &conf, clock_now(), &err) < 0 ||
			    remind_tick(out_store, &conf, clock_now(), &err) < 0 ||
			    announce_tick(out_store, &conf, clock_now(), &err) < 0)
				log_error("%s", buf_str(&err));
		}
		sender_pump(sender, clock_now());
	}
	rc = EX_OK;
	log_info("stopped");
out:
	intake_close(intake);
	if (zctx)
		zmq_ctx_term(zctx);
	sender_free(sender);
	message_close(msg);
	store_close(out_store);
	store_close(store);
	if (sfd >= 0)
		close(sfd);
	conf_free(&conf);
	buf_free(&err);
	return rc;
}
