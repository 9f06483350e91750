/*
 * loop - the worker's one event loop; contract in loop.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "loop.h"
#include "util.h"

struct io {
	int	 used;
	void	*socket;
	int	 fd;
	short	 events;
	loop_io_fn *fn;
	void	*arg;
};

struct timer {
	int	 used;
	int64_t	 due;		/* clock_mono_ms() */
	loop_timer_fn *fn;
	void	*arg;
	unsigned gen;		/* one more at each add: a slot given again */
};

struct source {
	const loop_source_t *ops;
	void	*arg;
	int	 first, n;	/* its items in this turn's set */
};

struct loop {
	struct io io[LOOP_MAX_IO];
	int	 nio;		/* high-water mark of io[] */
	struct timer timers[LOOP_MAX_TIMERS];
	struct source sources[LOOP_MAX_SOURCES];
	int	 nsources;
	struct {
		void	(*fn)(loop_t *, void *);
		void	*arg;
	} before[LOOP_MAX_BEFORE];
	int	 nbefore;
	int	(*idle_pending)(void *);
	void	(*idle_run)(void *);
	void	*idle_arg;
	int	 stop;
	int	 failed;
};

loop_t *
loop_new(void)
{
	return xcalloc(1, sizeof(loop_t));
}

void
loop_free(loop_t *l)
{
	free(l);
}

static int
add_io(loop_t *l, void *socket, int fd, short events, loop_io_fn *fn, void *arg)
{
	for (int i = 0; i < LOOP_MAX_IO; i++) {
		if (l->io[i].used)
			continue;
		l->io[i] = (struct io){ 1, socket, fd, events, fn, arg };
		if (i >= l->nio)
			l->nio = i + 1;
		return i;
	}
	log_error("loop: more than %d sockets and descriptors", LOOP_MAX_IO);
	return -1;
}

int
loop_add_socket(loop_t *l, void *socket, short events, loop_io_fn *fn, void *arg)
{
	return add_io(l, socket, -1, events, fn, arg);
}

int
loop_add_fd(loop_t *l, int fd, short events, loop_io_fn *fn, void *arg)
{
	return add_io(l, NULL, fd, events, fn, arg);
}

void
loop_set_events(loop_t *l, int id, short events)
{
	if (id >= 0 && id < LOOP_MAX_IO && l->io[id].used)
		l->io[id].events = events;
}

void
loop_del(loop_t *l, int id)
{
	if (id >= 0 && id < LOOP_MAX_IO)
		l->io[id].used = 0;
}

int
loop_add_source(loop_t *l, const loop_source_t *ops, void *arg)
{
	if (l->nsources == LOOP_MAX_SOURCES) {
		log_error("loop: more than %d sources", LOOP_MAX_SOURCES);
		return -1;
	}
	l->sources[l->nsources] = (struct source){ ops, arg, 0, 0 };
	return l->nsources++;
}

int
loop_add_timer(loop_t *l, int64_t ms, loop_timer_fn *fn, void *arg)
{
	for (int i = 0; i < LOOP_MAX_TIMERS; i++) {
		if (l->timers[i].used)
			continue;
		l->timers[i] = (struct timer){ 1, clock_mono_ms() + ms, fn, arg,
		    l->timers[i].gen + 1 };
		return i;
	}
	log_error("loop: more than %d timers", LOOP_MAX_TIMERS);
	return -1;
}

void
loop_timer_set(loop_t *l, int id, int64_t ms)
{
	if (id >= 0 && id < LOOP_MAX_TIMERS && l->timers[id].used)
		l->timers[id].due = clock_mono_ms() + ms;
}

void
loop_del_timer(loop_t *l, int id)
{
	if (id >= 0 && id < LOOP_MAX_TIMERS)
		l->timers[id].used = 0;
}

int
loop_before_sleep(loop_t *l, void (*fn)(loop_t *, void *), void *arg)
{
	if (l->nbefore == LOOP_MAX_BEFORE) {
		log_error("loop: more than %d before-sleep hooks", LOOP_MAX_BEFORE);
		return -1;
	}
	l->before[l->nbefore].fn = fn;
	l->before[l->nbefore].arg = arg;
	l->nbefore++;
	return 0;
}

void
loop_idle(loop_t *l, int (*pending)(void *), void (*run)(void *), void *arg)
{
	l->idle_pending = pending;
	l->idle_run = run;
	l->idle_arg = arg;
}

void
loop_stop(loop_t *l)
{
	l->stop = 1;
}

void
loop_fail(loop_t *l)
{
	l->stop = l->failed = 1;
}

/* timeout - ms until the nearest timer or source timeout, -1 for none */
static long
timeout(loop_t *l, int64_t now)
{
	long t = -1, s;

	for (int i = 0; i < LOOP_MAX_TIMERS; i++) {
		if (!l->timers[i].used)
			continue;
		s = l->timers[i].due > now ? (long)(l->timers[i].due - now) : 0;
		if (t < 0 || s < t)
			t = s;
	}
	for (int i = 0; i < l->nsources; i++) {
		const struct source *src = &l->sources[i];

		if (src->ops->timeout_ms && (s = src->ops->timeout_ms(src->arg)) >= 0 &&
		    (t < 0 || s < t))
			t = s;
	}
	return t;
}

static void
run_timers(loop_t *l)
{
	int64_t now = clock_mono_ms(), next;

	for (int i = 0; i < LOOP_MAX_TIMERS && !l->stop; i++) {
		struct timer *tm = &l->timers[i];

		unsigned gen = tm->gen;

		if (!tm->used || tm->due > now)
			continue;
		next = tm->fn(l, tm->arg);
		/* a call that deleted its own timer and added one, which took
		 * this slot: what it returned is not the new timer's */
		if (!tm->used || tm->gen != gen)
			continue;
		if (next == LOOP_NOMORE)
			tm->used = 0;
		else
			tm->due = now + next;
	}
}

int
loop_run(loop_t *l)
{
	zmq_pollitem_t items[LOOP_MAX_ITEMS];
	int map[LOOP_MAX_IO];		/* items[k] is io[map[k]] for k < nfixed */

	l->stop = l->failed = 0;
	while (!l->stop) {
		int nitems = 0, nfixed, idle, n;
		long t;

		for (int i = 0; i < l->nbefore && !l->stop; i++)
			l->before[i].fn(l, l->before[i].arg);
		if (l->stop)
			break;
		for (int i = 0; i < l->nio; i++) {
			struct io *e = &l->io[i];

			/* a socket waiting for nothing is left out, untouched: it
			 * may be another thread's for now (intake.c) */
			if (!e->used || (e->socket && e->events == 0))
				continue;
			map[nitems] = i;
			items[nitems++] = (zmq_pollitem_t){ e->socket, e->fd, e->events, 0 };
		}
		nfixed = nitems;
		for (int i = 0; i < l->nsources; i++) {
			struct source *src = &l->sources[i];

			src->first = nitems;
			src->n = src->ops->items(src->arg, items + nitems, LOOP_MAX_ITEMS - nitems);
			nitems += src->n;
		}
		idle = l->idle_pending && l->idle_pending(l->idle_arg);
		t = idle ? 0 : timeout(l, clock_mono_ms());
		if (nitems == 0 && t < 0) {
			/* zmq_poll would sleep for ever: nothing can wake it */
			log_error("loop: nothing to wait for");
			return -1;
		}
		if ((n = zmq_poll(items, nitems, t)) < 0) {
			if (zmq_errno() == EINTR)
				continue;
			log_error("loop: zmq_poll: %s", zmq_strerror(zmq_errno()));
			return -1;
		}
		if (n == 0 && idle)
			l->idle_run(l->idle_arg);
		for (int k = 0; k < nfixed && !l->stop; k++) {
			struct io *e = &l->io[map[k]];

			/* deleted, or replaced, by an earlier callback */
			if (!e->used || e->socket != items[k].socket || e->fd != items[k].fd)
				continue;
			if (items[k].revents)
				e->fn(l, e->arg, items[k].revents);
		}
		for (int i = 0; i < l->nsources && !l->stop; i++) {
			struct source *src = &l->sources[i];

			src->ops->process(src->arg, items + src->first, src->n);
		}
		run_timers(l);
	}
	return l->failed ? -1 : 0;
}
