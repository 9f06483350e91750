/*
 * loop - the worker's one event loop: descriptors and ZeroMQ sockets,
 * timers, and the one place that sleeps.
 *
 * Modelled on Redis's ae.c, on zmq_poll() because the intake is a ZeroMQ
 * socket.  Each part of the worker registers what it waits for:
 *   loop_add_socket/loop_add_fd  a ZeroMQ socket or a descriptor, with the
 *                                events it waits for (ZMQ_POLLIN, ...);
 *                                loop_set_events() changes them (0: not
 *                                now; a socket is then not polled at all,
 *                                so another thread may use it meanwhile),
 *                                loop_del() removes the entry
 *   loop_add_source              a set of pollitems that changes from turn
 *                                to turn (libcurl's SMTP sockets): asked
 *                                for its items and its timeout before each
 *                                sleep, given what poll said after it
 *   loop_add_timer               a callback after ms; it returns the ms to
 *                                its next call, or LOOP_NOMORE;
 *                                loop_timer_set() moves its next call to
 *                                ms from now (0: this turn)
 *   loop_before_sleep            called at the start of every turn, before
 *                                the poll set is built, in the order
 *                                added (the worker looks at the test
 *                                clock there, the sender claims and
 *                                submits)
 *   loop_idle                    work for when nothing is ready: while its
 *                                pending() says yes the loop only looks
 *                                (timeout 0), and calls run() when that
 *                                look found nothing
 * A turn: before-sleep hook, poll (until the nearest timer or source
 * timeout, or at once with idle work), the ready entries' callbacks in the
 * order they were added, the sources, then the due timers.  Timers run on
 * the monotonic clock (clock_mono_ms()), never on the settable one.
 *
 * Ownership: the loop borrows every socket, descriptor and argument; it
 * closes nothing.  Callbacks may add and delete entries and timers, their
 * own included; a deleted entry gets no more calls, in this turn either.
 * Errors: loop_add_* return -1 past the limits below (a programming
 * error, logged); loop_run() returns 0 after loop_stop(), -1 after
 * loop_fail(), when poll fails for another reason than EINTR, and when
 * nothing is left to wait for (no entry, timer or source timeout).
 * Threads: one loop, one thread.
 */
#ifndef TIEDOTE_LOOP_H
#define TIEDOTE_LOOP_H

#include <stdint.h>
#include <zmq.h>

#define LOOP_MAX_IO	32	/* sockets and descriptors */
#define LOOP_MAX_ITEMS	256	/* pollitems of one turn, sources included */
#define LOOP_MAX_TIMERS	16
#define LOOP_MAX_SOURCES 4
#define LOOP_MAX_BEFORE	4	/* before-sleep hooks */
#define LOOP_NOMORE	(-1)

typedef struct loop loop_t;
typedef void	loop_io_fn(loop_t *, void *arg, short revents);
typedef int64_t	loop_timer_fn(loop_t *, void *arg);

typedef struct loop_source {
	int	(*items)(void *arg, zmq_pollitem_t *, int max);
	long	(*timeout_ms)(void *arg);	/* -1: none */
	void	(*process)(void *arg, const zmq_pollitem_t *, int n);
} loop_source_t;

loop_t	*loop_new(void);
void	 loop_free(loop_t *);
int	 loop_add_socket(loop_t *, void *socket, short events, loop_io_fn *, void *arg);
int	 loop_add_fd(loop_t *, int fd, short events, loop_io_fn *, void *arg);
void	 loop_set_events(loop_t *, int id, short events);
void	 loop_del(loop_t *, int id);
int	 loop_add_source(loop_t *, const loop_source_t *, void *arg);
int	 loop_add_timer(loop_t *, int64_t ms, loop_timer_fn *, void *arg);
/* loop_timer_set - a timer's next call ms from now; an unknown id is ignored */
void	 loop_timer_set(loop_t *, int id, int64_t ms);
void	 loop_del_timer(loop_t *, int id);
int	 loop_before_sleep(loop_t *, void (*fn)(loop_t *, void *), void *arg);
/* loop_idle - pending NULL removes it */
void	 loop_idle(loop_t *, int (*pending)(void *), void (*run)(void *), void *arg);
/* loop_stop - loop_run() returns 0 after this turn; loop_fail - -1 */
void	 loop_stop(loop_t *);
void	 loop_fail(loop_t *);
int	 loop_run(loop_t *);

#endif
