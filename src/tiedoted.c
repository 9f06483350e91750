/*
 * tiedoted - the worker daemon.
 *
 * One process, one event loop (zmq_poll): the intake socket and a signalfd
 * for SIGTERM/SIGINT.  Runs in the foreground and logs to stderr, as
 * systemd expects.  On SIGTERM it finishes the batch in hand (its commit
 * and replies), closes the socket and the database, and exits 0.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <zmq.h>

#include "conf.h"
#include "intake.h"
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
	int c, print = 0, sfd = -1, rc = 1, stop = 0, noverrides = 0;
	store_t *store = NULL;
	intake_t *intake = NULL;
	void *zctx = NULL;
	sigset_t mask;
	conf_t conf;
	buf_t err;

	log_init("tiedoted");
	buf_init(&err, 4096);
	conf_init(&conf);
	while ((c = getopt_long(argc, argv, "c:o:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'o':
			if (noverrides == (int)NELEM(overrides)) {
				rc = 64;
				goto out;
			}
			overrides[noverrides++] = optarg;
			break;
		case 'd': db = optarg; break;
		case 'e': endpoint = optarg; break;
		case 'l': level = optarg; break;
		case 'p': print = 1; break;
		case 'h': usage(stdout); rc = 0; goto out;
		case 'V': printf("tiedoted %s\n", TIEDOTE_VERSION); rc = 0; goto out;
		default: usage(stderr); rc = 64; goto out;
		}
	}
	if (optind != argc) {
		usage(stderr);
		rc = 64;
		goto out;
	}
	if (conf_load(&conf, config, &err) < 0 ||
	    (db && conf_set(&conf, "store", "path", db, &err) < 0) ||
	    (endpoint && conf_set(&conf, "intake", "endpoint", endpoint, &err) < 0) ||
	    (level && conf_set(&conf, "log", "level", level, &err) < 0)) {
		log_error("configuration: %s", buf_str(&err));
		rc = 78;	/* EX_CONFIG */
		goto out;
	}
	for (int i = 0; i < noverrides; i++)
		if (conf_override(&conf, overrides[i], &err) < 0) {
			log_error("configuration: %s", buf_str(&err));
			rc = 78;
			goto out;
		}
	if (print) {
		conf_print(&conf, stdout);
		rc = 0;
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
	if (store_open(&conf, &store, &err) < 0) {
		log_error("store: %s", buf_str(&err));
		rc = 75;
		goto out;
	}
	zctx = zmq_ctx_new();
	if ((intake = intake_open(zctx, &conf, store, &err)) == NULL) {
		log_error("%s", buf_str(&err));
		rc = 75;
		goto out;
	}
	log_info("tiedoted %s started: store %s, schema version %d", TIEDOTE_VERSION,
	    conf.db_path, store_schema_version(store));

	while (!stop) {
		zmq_pollitem_t items[] = {
			{ intake_socket(intake), 0, ZMQ_POLLIN, 0 },
			{ NULL, sfd, ZMQ_POLLIN, 0 },
		};

		if (zmq_poll(items, 2, -1) < 0) {
			if (zmq_errno() == EINTR)
				continue;
			log_error("zmq_poll: %s", zmq_strerror(zmq_errno()));
			goto out;
		}
		if (items[0].revents & ZMQ_POLLIN) {
			/* drain fully: ZMQ_POLLIN is edge-like for a busy socket */
			int n;

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
				log_info("%s: shutting down", strsignal((int)si.ssi_signo));
				stop = 1;
			}
		}
	}
	rc = 0;
	log_info("stopped");
out:
	intake_close(intake);
	if (zctx)
		zmq_ctx_term(zctx);
	store_close(store);
	if (sfd >= 0)
		close(sfd);
	conf_free(&conf);
	buf_free(&err);
	return rc;
}
