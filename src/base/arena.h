/*
 * arena - where jansson builds the event trees of one intake batch.
 *
 * A pipelined producer's events spend more time in malloc and free than
 * in SQLite: every object, key, bucket array and string of a parsed event
 * is its own allocation (bench/intake, perf: about a fifth of the worker's
 * CPU).  The intake's tree of an event dies as soon as the event is
 * validated and written in canonical form, so between arena_enter() and
 * arena_leave() the calling thread's jansson allocations are cut from one
 * block instead, and the block is reused once the last of them has been
 * freed.
 *
 * Safe by construction rather than by discipline: the block is reused
 * only when every allocation cut from it has been freed (a count), so an
 * object that outlived its batch keeps it in use, and later allocations
 * simply go to malloc until it is freed.  An allocation the block has no
 * room for also goes to malloc.  Whatever jansson frees is recognised by
 * its address, so a tree may be freed after arena_leave(), and jansson's
 * json_dumps() text made inside must be released with arena_free(), not
 * free().
 *
 * arena_install() sets jansson's allocator for the whole process and makes
 * the block; outside an arena_enter() that allocator is malloc and free.
 * A program that never calls it is unchanged, and arena_enter() is then a
 * no-op.  Threads: arena_install() is called before any other thread
 * starts (jansson's allocator is the whole process's), and the thread
 * that called it owns the block, unless another takes it with
 * arena_own() before its first arena_enter() (the intake's own thread;
 * the block is then never used by the first); another thread's
 * arena_enter() is a no-op (its allocations go to malloc), and its freeing
 * an arena pointer is fatal (a tree must not cross threads).
 *
 * BUGS: under AddressSanitizer the block is not used (every allocation is
 * malloc's), so that ASan still sees each object's use after free.
 */
#ifndef TIEDOTE_ARENA_H
#define TIEDOTE_ARENA_H

#include <stddef.h>

/* ARENA_ON - 0 under AddressSanitizer (see BUGS) */
#if defined(__SANITIZE_ADDRESS__)
#define ARENA_ON	0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_ON	0
#endif
#endif
#ifndef ARENA_ON
#define ARENA_ON	1
#endif

/* ARENA_SIZE - the block: a batch of 256 events of about 2 KB in tree
 * form each is half of it; larger batches spill into malloc */
#define ARENA_SIZE	((size_t)1 << 20)

void	arena_install(void);
void	arena_own(void);
void	arena_enter(void);
void	arena_leave(void);
/* arena_free - jansson's free: what arena_enter() gave back, or free() */
void	arena_free(void *);
/* arena_stats - allocations cut from the block since start, and those that
 * went to malloc while inside (the block had no room left) */
void	arena_stats(unsigned long long *cut, unsigned long long *spilled);

#endif
