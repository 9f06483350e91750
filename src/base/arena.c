/*
 * arena - one block for the jansson trees of an intake batch; contract in
 * arena.h.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <jansson.h>

#include "arena.h"
#include "util.h"

/* what malloc guarantees on x86-64 and aarch64, and all jansson assumes */
#define ARENA_ALIGN	16

static char *base, *next;	/* the block, and its first unused byte */
static size_t live;		/* allocations cut from it and not yet freed */
static pthread_t owner;
static __thread int inside;	/* between arena_enter() and arena_leave() */
static unsigned long long cut, spilled;

static int
in_block(const void *p)
{
	return base != NULL && (const char *)p >= base && (const char *)p < base + ARENA_SIZE;
}

static void *
arena_malloc(size_t n)
{
	if (inside) {
		/* never 0: two live allocations must not share an address */
		size_t need = n == 0 ? ARENA_ALIGN : (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);

		if (need >= n && need <= (size_t)(base + ARENA_SIZE - next)) {
			void *p = next;

			next += need;
			live++;
			cut++;
			return p;
		}
		spilled++;
	}
	return malloc(n);
}

void
arena_free(void *p)
{
	if (!in_block(p)) {
		free(p);
		return;
	}
	if (!pthread_equal(owner, pthread_self()))
		fatal("arena: a jansson tree of the intake's thread was freed on another");
	/* the last one out: the whole block is free again */
	if (--live == 0)
		next = base;
}

void
arena_install(void)
{
	if (!ARENA_ON || base != NULL)
		return;
	base = next = xmalloc(ARENA_SIZE);
	owner = pthread_self();
	json_set_alloc_funcs(arena_malloc, arena_free);
}

void
arena_own(void)
{
	owner = pthread_self();
}

void
arena_enter(void)
{
	inside = base != NULL && pthread_equal(owner, pthread_self());
}

void
arena_leave(void)
{
	inside = 0;
}

void
arena_stats(unsigned long long *c, unsigned long long *s)
{
	*c = cut;
	*s = spilled;
}
