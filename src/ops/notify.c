/*
 * notify - sd_notify for the worker; contract in notify.h.
 */
#include <stdio.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "notify.h"

#define NOTIFY_STATUS_MAX 256	/* one line of `systemctl status` */

static void
say(const char *what)
{
	int rc = sd_notify(0, what);

	/* 0: no NOTIFY_SOCKET, nobody listens; that is normal */
	if (rc < 0)
		log_debug("sd_notify(%s): %d", what, rc);
}

static void
say_status(const char *head, const char *status)
{
	char line[NOTIFY_STATUS_MAX];

	snprintf(line, sizeof line, "%s%sSTATUS=%s", head, *head ? "\n" : "",
	    status ? status : "");
	say(line);
}

void
notify_ready(const char *status)
{
	say_status("READY=1", status);
}

void
notify_stopping(void)
{
	say_status("STOPPING=1", "stopping: finishing the messages in flight");
}

void
notify_reloading(void)
{
	say("RELOADING=1");
}

void
notify_status(const char *status)
{
	say_status("", status);
}

static int64_t
ping(loop_t *l, void *arg)
{
	const int64_t *every = arg;

	(void)l;
	say("WATCHDOG=1");
	return *every;
}

int
notify_watchdog(loop_t *l)
{
	static int64_t every;	/* ms; the one watchdog of the process */
	uint64_t usec = 0;

	/* > 0 only when WATCHDOG_USEC is set and WATCHDOG_PID, if set, is us */
	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return 0;
	/* half the interval, as sd_watchdog_enabled(3) advises; 1 ms at least */
	every = (int64_t)(usec / 2000);
	if (every < 1)
		every = 1;
	log_info("systemd watchdog: WATCHDOG=1 every %lld ms", (long long)every);
	return loop_add_timer(l, 0, ping, &every) < 0 ? -1 : 0;
}
