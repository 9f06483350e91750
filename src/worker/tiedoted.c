/*
 * tiedoted - the worker daemon.
 *
 * One process, one event loop (zmq_poll): the intake socket, the control
 * socket (the staff's writes, control.h), a signalfd for SIGTERM/SIGINT,
 * libcurl's SMTP sockets and timers, and the scheduler's tick: once a
 * second, at the exact time the bulletin calendar has the next issue due
 * or the next reminder or announcement is to go, and at once when the
 * test clock (TIEDOTE_NOW_FILE) moves.  The worker is the one writer of the database: it
 * holds the lock file <store.path>.lock (admin.h) for its life, waiting at
 * start up to ADMIN_LOCK_WAIT_MS for a tiedote command that writes
 * without a worker, then giving up with exit 75.  Runs in the foreground and logs
 * to stderr, as systemd expects.  On SIGTERM it stops taking events and
 * claiming messages, lets the messages in flight finish (10 s at most),
 * closes the socket and the database, and exits 0.
 *
 * The subscriber pages (web.listen, web.h) run on libmicrohttpd's own
 * thread inside this process, reading through their own query-only
 * handle and writing only through the control socket, so the loop never
 * waits for an HTTP client.
 *
 * Disk space: once a second, and at once when a commit finds the store
 * full, store_space() says whether the store is short of space (the cap,
 * the reserve: docs/architecture.md).  While it is the worker is "disk
 * low": the intake answers "unavailable" without trying to commit, the
 * sender claims nothing (what is in flight finishes), the scheduler does
 * not run; one log line when that starts and one when it ends, which it
 * does by itself when there is room again.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>
#include <zmq.h>

#include "admin.h"
#include "announce.h"
#include "arena.h"
#include "bulletin.h"
#include "clock.h"
#include "conf.h"
#include "control.h"
#include "inbound.h"
#include "intake.h"
#include "lmtp.h"
#include "message.h"
#include "metrics.h"
#include "notify.h"
#include "outbox.h"
#include "remind.h"
#include "render.h"
#include "sched.h"
#include "sender.h"
#include "sign.h"
#include "log.h"
#include "loop.h"
#include "store.h"
#include "subscribe.h"
#include "zap.h"
#include "util.h"
#include "web.h"

#define TIEDOTE_VERSION "0.1.0"
#define SHUTDOWN_WAIT_MS 10000	/* for the messages in flight at SIGTERM */

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

/* what the worker's own loop entries need: the scheduler's tick, the
 * signals and the test clock; intake and sender register themselves */
struct worker {
	conf_t	*conf;			/* SIGHUP changes its live keys */
	/* how the configuration was given, to read it again at SIGHUP */
	const char *config, *db, *endpoint, *level;
	char	**overrides;
	int	 noverrides;
	store_t	*store;			/* the sender's handle: the scheduler's too */
	intake_t *intake;
	control_t *control;
	lmtp_t	*lmtp;			/* NULL: inbound.lmtp_listen empty */
	sender_t *sender;
	metrics_t *metrics;		/* NULL: metrics.listen is off */
	zap_t	*zap;			/* NULL: no CURVE */
	int	 stopping;
	int64_t	 stop_deadline;		/* clock_mono_ms() */
	int	 tick_id;
	unsigned long clock_seen;	/* clock_changes() the tick has seen */
	int	 signal_fd;
	int	 disk_low;		/* paused for want of disk space */
	int	 space_error;		/* the last look could not measure it */
	int64_t	 low_since;		/* clock_mono_ms() when it began */
	int64_t	 pruned;		/* clock_now() of the last inbound prune */
};

#define TICK_MS		1000	/* the scheduler's tick at the latest */
#define PRUNE_EVERY_S	3600	/* inbound messages past inbound.keep_days, confirmations */

#define MIB(x) ((double)(x) / (1 << 20))

/* space_check - enter or leave the disk-low state; full: a commit has
 * just failed with a full store, which is low whatever the figures say */
static void
space_check(struct worker *w, int full)
{
	store_space_state_t got;
	store_space_t sp;
	int low;

	got = store_space(w->store, w->disk_low, &sp);
	if (got == STORE_SPACE_ERROR) {
		if (!w->space_error)
			log_error("store: cannot measure the disk space of %s: %s", w->conf->db_path,
			    strerror(errno));
		w->space_error = 1;
		low = w->disk_low || full;	/* no figures: keep the state */
	} else {
		w->space_error = 0;
		low = got == STORE_SPACE_LOW || full;
	}
	/* a WAL past its budget (a long reader held the checkpoint back)
	 * shrinks only by a checkpoint, and nothing else writes meanwhile */
	if (low && got != STORE_SPACE_ERROR && sp.wal > sp.wal_budget)
		(void)store_checkpoint(w->store);
	if (low == w->disk_low)
		return;
	w->disk_low = low;
	sender_pause(w->sender, low);
	intake_disk_low(w->intake, low);
	control_disk_low(w->control, low);
	if (low) {
		w->low_since = clock_mono_ms();
		log_warn("store: short of disk space (%s): room %.1f MiB; database %.1f MiB"
		    " (%.1f MiB with its WAL copied back), WAL %.1f MiB (budget %.1f MiB),"
		    " %.1f MiB free, reserve %.1f MiB, cap %.1f MiB (0: none); events are answered"
		    " unavailable and sending waits until there is room",
		    got == STORE_SPACE_LOW ? sp.limit : "a commit found the store full",
		    MIB(sp.room), MIB(sp.db), MIB(sp.logical), MIB(sp.wal), MIB(sp.wal_budget),
		    MIB(sp.avail), MIB(sp.reserve), MIB(sp.cap));
	} else
		log_info("store: disk space back: room %.1f MiB, %.1f MiB free, database %.1f MiB,"
		    " WAL %.1f MiB; events accepted and sending resumed after %.1f s",
		    MIB(sp.room), MIB(sp.avail), MIB(sp.logical), MIB(sp.wal),
		    (double)(clock_mono_ms() - w->low_since) / 1000);
}

/* on_full - the intake's commit found the store full */
static void
on_full(void *arg)
{
	space_check(arg, 1);
}

/* next_tick - ms until the next tick: a second, or sooner the instant
 * the calendar's next issue (or draft), a reminder or an announcement is
 * due, so that each goes at its time and not up to a second later */
static int64_t
next_tick(struct worker *w)
{
	int64_t now = clock_now(), due[3], first = -1, ms;

	due[0] = bulletin_next_due(w->conf, now);
	due[1] = remind_next_due(w->store, now);
	due[2] = announce_next_due(w->store, now);
	for (size_t i = 0; i < NELEM(due); i++)
		if (due[i] >= 0 && (first < 0 || due[i] < first))
			first = due[i];
	if (first < 0)
		return TICK_MS;
	ms = first * 1000 - clock_now_ms();
	return ms < 1 ? 1 : ms > TICK_MS ? TICK_MS : ms;
}

/* tick - the disk space and the scheduler's calendar: once a second, at
 * the calendar's next due time, and at once when the test clock moves */
static int64_t
tick(loop_t *l, void *arg)
{
	struct worker *w = arg;
	int64_t now = clock_now();
	buf_t err;

	(void)l;
	w->clock_seen = clock_changes();
	metrics_now(w->metrics, now);
	space_check(w, 0);
	/* short of space: the scheduler's transactions (an issue's whole
	 * outbox) wait with the rest */
	if (w->disk_low)
		return TICK_MS;
	buf_init(&err, 4096);
	if (now - w->pruned >= PRUNE_EVERY_S) {
		int n = inbound_prune(w->store, w->conf, now);
		int c = n < 0 ? 0 : subscribe_prune(w->store, w->conf, now);

		/* a slice a tick until none is left, then once an hour */
		if (n < INBOUND_PRUNE_ROWS && c < SUBSCRIBE_EXPIRE_ROWS)
			w->pruned = now;
		if (n > 0)
			log_info("inbound: %d messages older than %ld days pruned", n,
			    w->conf->inbound_keep_days);
		if (c > 0)
			log_info("web: %d confirmations expired or past %ld days pruned", c,
			    w->conf->web_confirmations_keep_days);
		if (n < 0 || c < 0)
			log_error("pruning: %s", store_errmsg(w->store));
	}
	if (bulletin_tick(w->store, w->conf, now, &err) < 0 ||
	    bulletin_retain(w->store, w->conf, now, &err) < 0 ||
	    remind_tick(w->store, w->conf, now, &err) < 0 ||
	    announce_tick(w->store, w->conf, now, &err) < 0) {
		log_error("%s", buf_str(&err));
		if (store_full(w->store))
			space_check(w, 1);
	}
	buf_free(&err);
	/* an issue (a reminder, an announcement) may have just queued rows:
	 * claimed at the next turn, not after an empty outbox's pause (one
	 * claim a second more when nothing was queued) */
	sender_wake(w->sender);
	return next_tick(w);
}

/* clock_look - at every turn: the test clock moved (whichever part of the
 * worker read the change), so the scheduler's tick runs in this turn */
static void
clock_look(loop_t *l, void *arg)
{
	struct worker *w = arg;

	if (!w->stopping && clock_changes() != w->clock_seen)
		loop_timer_set(l, w->tick_id, 0);
}

/* settled - the sender committed the last outcomes of what it had
 * claimed: an issue whose last row that was is sent now */
static void
settled(void *arg)
{
	struct worker *w = arg;
	buf_t err;

	buf_init(&err, 4096);
	if (bulletin_finish(w->store, clock_now(), &err) < 0)
		log_error("%s", buf_str(&err));
	buf_free(&err);
}

/* drained - while stopping: done once every request the intake read is
 * answered, nothing is in flight and every outcome is recorded, or after
 * SHUTDOWN_WAIT_MS whatever is */
static int64_t
drained(loop_t *l, void *arg)
{
	struct worker *w = arg;
	int late = clock_mono_ms() >= w->stop_deadline;

	if (sender_inflight(w->sender) == 0)
		sender_finish(w->sender);
	if ((intake_paused(w->intake) && sender_inflight(w->sender) == 0 &&
	    sender_pending(w->sender) == 0) || late) {
		if (late && sender_inflight(w->sender) > 0)
			log_warn("stopping with %d messages still waiting for the relay's reply"
			    " after %d s: their rows stay \"sending\" and go out again at the next"
			    " start (the relay may have taken them: a reader may get one twice)",
			    sender_inflight(w->sender), SHUTDOWN_WAIT_MS / 1000);
		if (sender_pending(w->sender) > 0)
			log_error("stopping with %d outcomes not recorded: their rows stay"
			    " \"sending\" and go out again at the next start",
			    sender_pending(w->sender));
		loop_stop(l);
		return LOOP_NOMORE;
	}
	return 20;
}

/* written - a write through the control socket (staff, the web pages,
 * inbound deliver) was committed: one that can stop a row the sender has
 * claimed but not yet sent has those rows judged again before they go,
 * so that "cancel" stops what is not yet sent, not what is not yet
 * claimed (up to a window of 64) */
static void
written(void *arg, const char *op)
{
	static const char *const stops[] = { "issue.hold", "issue.cancel",
	    "subscriber.remove", "subscriber.erase", "project.add", "project.remove",
	    "announce.cancel", "inbound.deliver", "web.unsubscribe", "web.preferences",
	    "web.contact_optout" };
	struct worker *w = arg;

	for (size_t i = 0; i < sizeof stops / sizeof *stops; i++)
		if (strcmp(op, stops[i]) == 0) {
			sender_recheck(w->sender);
			return;
		}
}

/* revised - the intake committed a new revision of an event (a producer's
 * cancel), or the LMTP listener a bounce, complaint or unsubscribe: the
 * messages claimed but not yet sent are judged again, as after a write
 * through the control socket */
static void
revised(void *arg)
{
	struct worker *w = arg;

	sender_recheck(w->sender);
}

/* dkim_check - the DKIM keys of c load (sign_open()); 0 or -1 with err */
static int
dkim_check(const conf_t *c, buf_t *err)
{
	sign_t *s = NULL;
	int rc = sign_open(c, &s, err);

	sign_close(s);
	return rc;
}

/* reload - SIGHUP: the configuration read again the way it was at start
 * (the file, the shortcuts, the -o overrides); the keys that can change
 * at run time (conf.c marks them) take effect, any other change is
 * named as needing a restart; a file that does not load changes nothing */
static void
reload(struct worker *w)
{
	conf_t fresh;
	render_t *r;
	buf_t err, changed, restart;
	int keys_bad = 0;

	notify_reloading();
	conf_init(&fresh);
	buf_init(&err, 4096);
	buf_init(&changed, 4096);
	buf_init(&restart, 4096);
	if (conf_setup(&fresh, w->config, w->db, w->endpoint, w->level, w->overrides,
	    (size_t)w->noverrides, &err) < 0) {
		log_error("reload: configuration: %s; the running configuration is kept",
		    buf_str(&err));
		goto out;
	}
	/* the DKIM keys, when signing, are read and checked before anything
	 * changes (a key rotated in place too): a bad one keeps every dkim.*
	 * value and the keys in use */
	if (*w->conf->dkim_domain && dkim_check(&fresh, &err) < 0) {
		log_error("reload: %s; the DKIM keys in use are kept", buf_str(&err));
		conf_keep(&fresh, w->conf, "dkim");
		keys_bad = 1;	/* said once: not read again below */
	}
	buf_reset(&err);
	conf_reload(w->conf, &fresh, &changed, &restart);
	if (*w->conf->dkim_domain && !keys_bad) {
		if (sender_dkim_reload(w->sender, w->conf, &err) < 0)
			log_error("reload: %s; the DKIM keys in use are kept", buf_str(&err));
		else
			log_info("reload: DKIM keys read again: s=%s%s%s", w->conf->dkim_selector,
			    *w->conf->dkim_ed25519_key_file ? " and s=" : "",
			    *w->conf->dkim_ed25519_key_file ? w->conf->dkim_ed25519_selector : "");
	}
	/* said at the level in force until now: a reload to "warning" is
	 * still logged */
	log_info("reload: %s%s%s%s", changed.len ? "applied " : "no change to apply",
	    buf_str(&changed), restart.len ? "; changed but needing a restart, not applied: " : "",
	    buf_str(&restart));
	log_set_level(log_level_parse(w->conf->log_level));
out:
	/* the templates, whatever became of the file: a set that does not
	 * load (its error names FILE:LINE:COL) keeps the one in use; one
	 * that does is taken by each message context at its next message */
	buf_reset(&err);
	if ((r = render_open(message_templates(w->conf), &err)) == NULL)
		log_error("reload: templates: %s; the templates loaded before are kept",
		    buf_str(&err));
	else {
		render_publish(r);
		render_close(r);
		log_info("reload: templates of %s loaded", message_templates(w->conf));
	}
	/* the producer keys, whatever became of the file: a bad directory
	 * keeps the old list */
	buf_reset(&err);
	if (w->zap && zap_reload(w->zap, &err) < 0)
		log_error("reload: %s; the %d producer keys allowed before stay", buf_str(&err),
		    zap_count(w->zap));
	notify_ready("taking events on the intake; sending");
	buf_free(&restart);
	buf_free(&changed);
	buf_free(&err);
	conf_free(&fresh);
}

static void
on_signal(loop_t *l, void *arg, short revents)
{
	struct worker *w = arg;
	struct signalfd_siginfo si;
	int fd = w->signal_fd;

	(void)revents;
	while (read(fd, &si, sizeof si) == sizeof si) {
		if (si.ssi_signo == SIGHUP) {
			if (!w->stopping)
				reload(w);
			continue;
		}
		if (w->stopping)
			continue;
		notify_stopping();
		log_info("%s: shutting down after %d messages in flight",
		    strsignal((int)si.ssi_signo), sender_inflight(w->sender));
		w->stopping = 1;
		w->stop_deadline = clock_mono_ms() + SHUTDOWN_WAIT_MS;
		intake_pause(w->intake);
		control_pause(w->control);
		lmtp_pause(w->lmtp);
		sender_release(w->sender);
		loop_del_timer(l, w->tick_id);
		loop_add_timer(l, 0, drained, w);
	}
}

static void
on_clock(loop_t *l, void *arg, short revents)
{
	(void)l, (void)arg, (void)revents;
	clock_refresh();
}

static int
worker_attach(struct worker *w, loop_t *l, int sfd, int cfd)
{
	w->signal_fd = sfd;
	/* the clock first: a turn's other callbacks see a change it brings */
	if ((cfd >= 0 && (loop_add_fd(l, cfd, ZMQ_POLLIN, on_clock, w) < 0 ||
	    loop_before_sleep(l, clock_look, w) < 0)) ||
	    loop_add_fd(l, sfd, ZMQ_POLLIN, on_signal, w) < 0 ||
	    (w->tick_id = loop_add_timer(l, 0, tick, w)) < 0)
		return -1;
	sender_on_settled(w->sender, settled, w);
	return 0;
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
	int c, print = 0, sfd = -1, cfd, rc = EX_OSERR, noverrides = 0, lock_fd = -1;
	store_t *store = NULL, *out_store = NULL, *metrics_store = NULL;
	metrics_t *metrics = NULL;
	intake_t *intake = NULL;
	zap_t	*zap = NULL;
	control_t *control = NULL;
	lmtp_t	*lmtp = NULL;
	int	 no_lmtp = 1;
	web_t *web = NULL;
	message_ctx_t *msg = NULL;
	sender_t *sender = NULL;
	struct worker w = { 0 };
	loop_t *loop = NULL;
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
	/* before any thread: the intake's event trees come from one block */
	arena_install();
	/* the database holds every address and the token key: what the
	 * worker creates is never world-readable, whatever the shell's
	 * umask (the unit's is 0027 already) */
	umask(umask(0) | 027);
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
	{
		sched_t sched;

		if (control_conf_check(&conf, &err) < 0 || metrics_listen_check(&conf, &err) < 0 ||
		    message_conf_check(&conf, &err) < 0 || sched_init(&sched, &conf, &err) < 0 ||
		    remind_conf_check(&conf, &err) < 0 || intake_conf_check(&conf, &err) < 0 ||
		    web_conf_check(&conf, &err) < 0 || sender_conf_check(&conf, &err) < 0 ||
		    lmtp_conf_check(&conf, &err) < 0 ||
		    dkim_check(&conf, &err) < 0) {
			log_error("configuration: %s", buf_str(&err));
			rc = EX_CONFIG;
			goto out;
		}
	}
	/* the one writer: held for the worker's life, so a tiedote command
	 * knows to send its writes here (admin.h); a command that holds it
	 * now is waited for, not overtaken; a worker is not: two never run */
	if (control_answers(&conf)) {
		log_error("control: a worker already answers on control.endpoint (of this"
		    " database, or of another in its directory: give each its own"
		    " control.endpoint); not started");
		rc = EX_TEMPFAIL;
		goto out;
	}
	while ((n = admin_lock_wait(&conf, ADMIN_LOCK_WAIT_MS, sfd, &lock_fd, &err)) == -2) {
		struct signalfd_siginfo si;

		/* a reload before anything is loaded has nothing to do: wait on */
		if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si && si.ssi_signo == SIGHUP) {
			log_info("reload asked while waiting for the lock: nothing to reload yet");
			continue;
		}
		log_info("stopped while waiting for the lock: nothing was started");
		rc = EX_OK;
		goto out;
	}
	if (n <= 0) {
		if (n == 0)
			buf_notef(&err, "the lock of %s is still held after %d s (by a tiedote"
			    " command writing without a worker, or by another tiedoted of this"
			    " database with another control.endpoint)", conf.db_path,
			    ADMIN_LOCK_WAIT_MS / 1000);
		log_error("store: %s", buf_str(&err));
		rc = EX_TEMPFAIL;
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
	/* the worker's set is the process's: the web thread's context shares
	 * it, and SIGHUP publishes the next (reload()) */
	render_publish(message_render(msg));
	if ((n = outbox_recover(out_store, clock_now())) > 0)
		/* claimed is not sent: only what SMTP had in hand can have
		 * reached the relay */
		log_warn("outbox: %d rows were claimed at the last stop and are queued again;"
		    " at most %d of them (smtp.connections) can have reached the relay",
		    n, n < (int)conf.smtp_connections ? n : (int)conf.smtp_connections);
	{
		int64_t dropped = 0;

		/* before the loop runs: no turn waits for this */
		while ((n = admin_expire(store, clock_now())) > 0)
			dropped += n;
		if (dropped)
			log_info("admin: abandoned imports (older than %d s) dropped: %lld rows",
			    ADMIN_IMPORT_TTL_S, (long long)dropped);
	}
	cfd = clock_watch();
	zctx = zmq_ctx_new();
	/* the ZAP handler before any socket binds: a CURVE server without
	 * one would let every client in */
	if (*conf.intake_key_file && (zap = zap_open(zctx, &conf, &err)) == NULL) {
		log_error("%s", buf_str(&err));
		rc = EX_CONFIG;
		goto out;
	}
	/* the control socket first: once the intake listens, commands can
	 * write through it */
	if ((control = control_open(zctx, &conf, store, &err)) == NULL ||
	    (intake = intake_open(zctx, &conf, store, &err)) == NULL) {
		log_error("%s", buf_str(&err));
		rc = EX_TEMPFAIL;
		goto out;
	}
	/* the figures read the store on their own thread, through their own
	 * handle, opened after the migrations */
	if (*conf.metrics_listen && (store_open(&conf, &metrics_store, &err) < 0 ||
	    (metrics = metrics_open(&conf, metrics_store, &err)) == NULL)) {
		log_error("%s", buf_str(&err));
		rc = EX_TEMPFAIL;	/* its address was checked with the configuration */
		goto out;
	}
	intake_metrics(intake, metrics);
	intake_zap(intake, zap);
	sender_metrics(sender, metrics);
	/* inbound mail writes with the intake's handle, as the control does */
	if ((lmtp = lmtp_open(&conf, store, &no_lmtp, &err)) == NULL && !no_lmtp) {
		log_error("%s", buf_str(&err));
		rc = EX_TEMPFAIL;	/* a socket that cannot be opened (in use, say) */
		goto out;
	}
	/* the pages after the control socket they write through */
	if (*conf.web_listen) {
		buf_t ep;

		buf_init(&ep, 8192);
		if (control_endpoint(&conf, &ep, NULL, &err) < 0 ||
		    (web = web_start(&conf, buf_str(&ep), &err)) == NULL) {
			buf_free(&ep);
			log_error("%s", buf_str(&err));
			rc = EX_TEMPFAIL;	/* checked with the configuration */
			goto out;
		}
		buf_free(&ep);
	}
	w = (struct worker){ .conf = &conf, .config = config, .db = db, .endpoint = endpoint,
	    .level = level, .overrides = overrides, .noverrides = noverrides, .store = out_store,
	    .intake = intake, .control = control, .lmtp = lmtp, .sender = sender,
	    .metrics = metrics, .zap = zap, .tick_id = -1, .signal_fd = sfd };
	control_on_write(control, written, &w);
	log_info("tiedoted %s started: store %s, schema version %d, relay %s",
	    TIEDOTE_VERSION, conf.db_path, store_schema_version(store), conf.smtp_url);
	{
		store_space_t sp;

		if (store_space(out_store, 0, &sp) != STORE_SPACE_ERROR)
			log_info("store: WAL budget %.1f MiB, reserve %.1f MiB, cap %.1f MiB (0: none);"
			    " %.1f MiB free, room %.1f MiB", MIB(sp.wal_budget), MIB(sp.reserve),
			    MIB(sp.cap), MIB(sp.avail), MIB(sp.room));
	}
	/* before the first turn, whose before-sleep hook claims messages */
	intake_on_full(intake, on_full, &w);
	intake_on_revision(intake, revised, &w);
	lmtp_on_stored(lmtp, revised, &w);
	space_check(&w, 0);

	if ((loop = loop_new()) == NULL || worker_attach(&w, loop, sfd, cfd) < 0 ||
	    (zap && zap_attach(zap, loop) < 0) ||
	    intake_attach(intake, loop) < 0 || control_attach(control, loop) < 0 ||
	    lmtp_attach(lmtp, loop) < 0 || sender_attach(sender, loop) < 0 ||
	    notify_watchdog(loop) < 0)
		goto out;
	/* migrations done, templates loaded, both sockets bound: ready */
	notify_ready("taking events on the intake; sending");
	if (loop_run(loop) < 0)
		goto out;
	rc = EX_OK;
	log_info("stopped");
out:
	/* first: its requests need the control socket and the loop */
	web_stop(web);
	/* the endpoint's thread first: it reads the store and the counters */
	metrics_close(metrics);
	store_close(metrics_store);
	lmtp_close(lmtp);
	loop_free(loop);
	intake_close(intake);
	control_close(control);
	zap_close(zap);
	if (zctx)
		zmq_ctx_term(zctx);
	sender_free(sender);
	message_close(msg);
	store_close(out_store);
	store_close(store);
	admin_unlock(lock_fd);
	if (sfd >= 0)
		close(sfd);
	conf_free(&conf);
	buf_free(&err);
	return rc;
}
