/*
 * test_loop - the worker's event loop: callbacks for ready descriptors in
 * the order they were added, none for an entry deleted in the same turn,
 * timers by their due time, idle work only while nothing is ready, the
 * before-sleep hooks at every turn in the order added, a timer moved to
 * now, loop_stop and loop_fail.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "loop.h"
#include "test.h"

static char trace[256];
static int fds[2][2], ids[2], turns, idle_left, idle_runs;

static void
note(const char *s)
{
	strncat(trace, s, sizeof trace - strlen(trace) - 1);
}

static void
on_read(loop_t *l, void *arg, short revents)
{
	int which = *(int *)arg;
	char c;

	(void)revents;
	if (read(fds[which][0], &c, 1) == 1)
		note(which ? "B" : "A");
	/* A deletes B: B, ready in the same turn, is not called */
	if (which == 0)
		loop_del(l, ids[1]);
}

static void
before(loop_t *l, void *arg)
{
	(void)arg;
	if (++turns == 50)
		loop_fail(l);		/* a runaway test ends, failing */
}

static int64_t
stop_after(loop_t *l, void *arg)
{
	(void)arg;
	note("S");
	loop_stop(l);
	return LOOP_NOMORE;
}

static int64_t
every(loop_t *l, void *arg)
{
	int *n = arg;

	(void)l;
	note("T");
	return ++*n < 3 ? 1 : LOOP_NOMORE;
}

static int64_t
forever(loop_t *l, void *arg)
{
	(void)l, (void)arg;
	return 1;
}

static int
idle_pending(void *arg)
{
	(void)arg;
	return idle_left > 0;
}

static void
idle_run(void *arg)
{
	(void)arg;
	idle_left--;
	idle_runs++;
	note("I");
}

TEST(order_and_deletion)
{
	static int a = 0, b = 1;
	loop_t *l = loop_new();

	trace[0] = '\0';
	turns = 0;
	CHECK(pipe(fds[0]) == 0 && pipe(fds[1]) == 0);
	ids[0] = loop_add_fd(l, fds[0][0], ZMQ_POLLIN, on_read, &a);
	ids[1] = loop_add_fd(l, fds[1][0], ZMQ_POLLIN, on_read, &b);
	loop_before_sleep(l, before, NULL);
	CHECK(write(fds[1][1], "x", 1) == 1 && write(fds[0][1], "x", 1) == 1);
	loop_add_timer(l, 0, stop_after, NULL);
	CHECK(loop_run(l) == 0);
	/* A before the timer; B was ready but deleted by A */
	CHECK_STR(trace, "AS");
	CHECK(turns == 1);
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 2; j++)
			close(fds[i][j]);
	loop_free(l);
}

TEST(timers_and_idle)
{
	loop_t *l = loop_new();
	int n = 0;
	int64_t t0 = clock_mono_ms();

	trace[0] = '\0';
	turns = 0;
	idle_left = 2;
	idle_runs = 0;
	loop_before_sleep(l, before, NULL);
	loop_idle(l, idle_pending, idle_run, NULL);
	loop_add_timer(l, 1, every, &n);
	loop_add_timer(l, 30, stop_after, NULL);
	CHECK(loop_run(l) == 0);
	/* the idle work first (poll only looks while there is some), then a
	 * repeating timer three times, then the later one */
	CHECK(idle_runs == 2);
	CHECK(strncmp(trace, "II", 2) == 0);
	CHECK(strstr(trace, "TTT") != NULL && strchr(trace, 'S') == trace + strlen(trace) - 1);
	CHECK(clock_mono_ms() - t0 >= 30);
	loop_free(l);
}

/* a timer whose call deletes itself and adds another, which takes its
 * slot, and returns LOOP_NOMORE: the new timer lives on and fires */
static int64_t
replace_self(loop_t *l, void *arg)
{
	int *self = arg;

	note("R");
	loop_del_timer(l, *self);
	loop_add_timer(l, 1, stop_after, NULL);
	return LOOP_NOMORE;
}

TEST(a_timer_replaced_in_its_own_call)
{
	loop_t *l = loop_new();
	int self;

	trace[0] = '\0';
	turns = 0;
	loop_before_sleep(l, before, NULL);
	self = loop_add_timer(l, 1, replace_self, &self);
	CHECK(loop_run(l) == 0);
	CHECK_STR(trace, "RS");
	loop_free(l);
}

TEST(fail_returns_minus_one)
{
	loop_t *l = loop_new();

	turns = 0;
	loop_before_sleep(l, before, NULL);
	loop_add_timer(l, 0, forever, NULL);	/* keeps the loop turning */
	CHECK(loop_run(l) == -1 && turns == 50);
	loop_free(l);
	/* nothing to wait for: an error, not a sleep for ever */
	l = loop_new();
	CHECK(loop_run(l) == -1);
	loop_free(l);
}

/* bring_forward - a second before-sleep hook: at the second turn it
 * moves the timer whose id is *arg to now */
static void
bring_forward(loop_t *l, void *arg)
{
	note("H");
	if (turns == 2)
		loop_timer_set(l, *(int *)arg, 0);
}

TEST(hooks_in_order_and_a_timer_moved_to_now)
{
	loop_t *l = loop_new();
	int64_t t0 = clock_mono_ms();
	int id, n = 2;

	trace[0] = '\0';
	turns = 0;
	CHECK(loop_before_sleep(l, before, NULL) == 0);
	/* the first turn's poll waits for this one (50 ms), the second turn's
	 * hook moves the hour-long one to now, which stops the loop */
	CHECK(loop_add_timer(l, 50, every, &n) >= 0);
	CHECK((id = loop_add_timer(l, 3600 * 1000, stop_after, NULL)) >= 0);
	CHECK(loop_before_sleep(l, bring_forward, &id) == 0);
	CHECK(loop_run(l) == 0);
	CHECK_STR(trace, "HTHS");
	CHECK(turns == 2);
	CHECK(clock_mono_ms() - t0 < 3000);
	/* past the limit: refused, not overwritten */
	for (int i = 2; i < LOOP_MAX_BEFORE; i++)
		CHECK(loop_before_sleep(l, before, NULL) == 0);
	CHECK(loop_before_sleep(l, before, NULL) == -1);
	loop_free(l);
}

int
main(void)
{
	RUN(order_and_deletion);
	RUN(timers_and_idle);
	RUN(a_timer_replaced_in_its_own_call);
	RUN(fail_returns_minus_one);
	RUN(hooks_in_order_and_a_timer_moved_to_now);
	return TEST_DONE();
}
