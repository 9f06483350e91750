/*
 * notify - the worker's word to systemd (sd_notify(3), libsystemd):
 * readiness, stopping, reloading and the watchdog's keep-alive.
 *
 * notify_ready() says READY=1 once the worker can do its work: the
 * migrations have run, the templates are loaded and checked, the intake
 * and control sockets are bound; a unit with Type=notify starts what is
 * ordered after it only then.  notify_stopping() says STOPPING=1 when a
 * signal asks the worker to stop; notify_reloading() RELOADING=1 before a
 * SIGHUP's reload and notify_ready() again after it.  notify_status()
 * sets the one-line STATUS= that `systemctl status` shows.
 * notify_watchdog() registers a loop timer that says WATCHDOG=1 every
 * half of WatchdogSec= (WATCHDOG_USEC): from the loop itself, so a loop
 * that stops turning (a hang in SQLite, in a callback) stops the pings
 * and systemd restarts the worker; without a watchdog it registers
 * nothing.
 *
 * Without NOTIFY_SOCKET (not under systemd, or Type= is not notify)
 * every call does nothing.  Errors: sd_notify's are ignored, logged once
 * at debug level: the worker works the same without a manager.
 * Threads: the loop's thread.
 */
#ifndef TIEDOTE_NOTIFY_H
#define TIEDOTE_NOTIFY_H

#include "loop.h"

void	notify_ready(const char *status);
void	notify_stopping(void);
void	notify_reloading(void);
void	notify_status(const char *status);
/* notify_watchdog - 0 (a timer registered, or no watchdog wanted), -1
 * when the loop has no room for the timer */
int	notify_watchdog(loop_t *);

#endif
