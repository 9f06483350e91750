/* test_arena - the intake's block for jansson trees: used only inside,
 * reused only when all of it is free, spilling to malloc, one thread's */
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <jansson.h>

#include "arena.h"
#include "test.h"
#include "util.h"

static const char doc[] = "{\"id\":\"x\",\"title\":{\"fi\":\"Ajankohtaista\",\"sv\":\"Aktuellt\"},"
    "\"regions\":[\"KYS\",\"OYS\"]}";

static unsigned long long
cut_now(void)
{
	unsigned long long c, s;

	arena_stats(&c, &s);
	return c;
}

static unsigned long long
spilled_now(void)
{
	unsigned long long c, s;

	arena_stats(&c, &s);
	return s;
}

static json_t *
parse_inside(const char *text)
{
	json_t *v;

	arena_enter();
	v = json_loads(text, 0, NULL);
	arena_leave();
	return v;
}

TEST(outside_is_malloc)
{
	unsigned long long before = cut_now();
	json_t *v = json_loads(doc, 0, NULL);

	CHECK(v != NULL);
	CHECK(cut_now() == before);
	json_decref(v);
}

TEST(inside_comes_from_the_block_and_is_reused_when_all_is_free)
{
	unsigned long long before = cut_now();
	json_t *a = parse_inside(doc), *b, *c;

	CHECK(a != NULL);
	CHECK(cut_now() > before || !ARENA_ON);
	b = parse_inside(doc);
	CHECK(json_equal(a, b));
	json_decref(a);
	/* b still lives: the block is not reused under it */
	c = parse_inside(doc);
	CHECK(c != a && c != b);
	CHECK(json_equal(b, c));
	json_decref(b);
	json_decref(c);
	/* all free: the next tree starts where the first one did */
	b = parse_inside(doc);
	CHECK(b == a || !ARENA_ON);
	json_decref(b);
}

TEST(a_tree_freed_after_leave_and_text_made_inside)
{
	json_t *a = parse_inside(doc), *b;
	char *text;

	arena_enter();
	text = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS);
	arena_leave();
	CHECK(text != NULL);
	CHECK(strstr(text, "\"regions\":[\"KYS\",\"OYS\"]") != NULL);
	arena_free(text);
	json_decref(a);
	/* nothing was left behind: the block starts over */
	b = parse_inside(doc);
	a = parse_inside(doc);
	json_decref(a);
	json_decref(b);
	a = parse_inside(doc);
	CHECK(a == b || !ARENA_ON);
	json_decref(a);
}

TEST(a_tree_larger_than_the_block_spills_to_malloc)
{
	size_t n = ARENA_SIZE / 8;
	char *big = xmalloc(n * 4 + 16);
	unsigned long long before = spilled_now();
	json_t *v;
	size_t len = 0;

	big[len++] = '[';
	for (size_t i = 0; i < n; i++) {
		memcpy(big + len, i ? ",[1]" : "[1]", i ? 4 : 3);
		len += i ? 4 : 3;
	}
	big[len++] = ']';
	big[len] = '\0';
	v = parse_inside(big);
	CHECK(v != NULL && json_array_size(v) == n);
	CHECK(spilled_now() > before || !ARENA_ON);
	CHECK(json_integer_value(json_array_get(json_array_get(v, n - 1), 0)) == 1);
	json_decref(v);
	free(big);
}

static void *
other_thread(void *arg)
{
	json_t **tree = arg, *mine;
	unsigned long long before = cut_now();

	/* not the owner: its enter is a no-op, its trees are malloc's */
	arena_enter();
	mine = json_loads(doc, 0, NULL);
	arena_leave();
	if (cut_now() != before)
		return (void *)1;
	json_decref(mine);
	if (*tree)
		json_decref(*tree);	/* an owner's tree: fatal */
	return NULL;
}

TEST(another_thread_gets_malloc_and_may_not_free_the_block)
{
	pthread_t t;
	json_t *none = NULL, *owned;
	void *rv = (void *)2;
	pid_t pid;
	int status;

	CHECK(pthread_create(&t, NULL, other_thread, &none) == 0);
	CHECK(pthread_join(t, &rv) == 0);
	CHECK(rv == NULL);
	if (!ARENA_ON)
		return;
	owned = parse_inside(doc);
	fflush(stdout);		/* the child's exit() must not print it again */
	if ((pid = fork()) == 0) {
		close(2);	/* the fatal line is expected */
		if (pthread_create(&t, NULL, other_thread, &owned) == 0)
			pthread_join(t, NULL);
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 75);
	json_decref(owned);
}

/* taker - arena_own(), then a tree from the block, freed here */
static void *
taker(void *arg)
{
	unsigned long long before;
	json_t *v;

	(void)arg;
	arena_own();
	before = cut_now();
	v = parse_inside(doc);
	if (v == NULL || cut_now() == before)
		return (void *)1;
	json_decref(v);
	return NULL;
}

/* arena_own() (the intake's thread): the block is the taker's from then
 * on, and the thread that installed it gets malloc inside */
TEST(a_thread_takes_the_block)
{
	unsigned long long before;
	pthread_t t;
	void *rv = (void *)2;
	json_t *v;

	if (!ARENA_ON)
		return;
	CHECK(pthread_create(&t, NULL, taker, NULL) == 0);
	CHECK(pthread_join(t, &rv) == 0);
	CHECK(rv == NULL);
	before = cut_now();
	v = parse_inside(doc);
	CHECK(v != NULL);
	CHECK(cut_now() == before);
	json_decref(v);
}

int
main(void)
{
	arena_install();
	RUN(outside_is_malloc);
	RUN(inside_comes_from_the_block_and_is_reused_when_all_is_free);
	RUN(a_tree_freed_after_leave_and_text_made_inside);
	RUN(a_tree_larger_than_the_block_spills_to_malloc);
	RUN(another_thread_gets_malloc_and_may_not_free_the_block);
	RUN(a_thread_takes_the_block);	/* last: the block changes hands */
	return TEST_DONE();
}
