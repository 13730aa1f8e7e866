/*
 * Chase-Lev work-stealing deque (Lê, Pop, Cohen, Zappa Nardelli, "Correct
 * and Efficient Work-Stealing for Weak Memory Models", PPoPP 2013), in C11
 * atomics.
 *
 * Concurrency: push and pop only from the owner thread; steal from any
 * thread, concurrently with the owner and other thieves.  Elements are
 * non-NULL pointers.  The buffer grows on demand; old buffers are kept until
 * troupe__deque_fini because a thief may still be reading one.
 */
#ifndef TROUPE_DEQUE_H
#define TROUPE_DEQUE_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct troupe__deque_buf {
	int64_t mask; /* capacity - 1; capacity is a power of two */
	struct troupe__deque_buf *next_retired;
	_Atomic(void *) slot[];
};

struct troupe__deque {
	alignas(64) _Atomic int64_t top;    /* thieves' end */
	alignas(64) _Atomic int64_t bottom; /* owner's end */
	_Atomic(struct troupe__deque_buf *) buf;
	struct troupe__deque_buf *retired; /* grown-out-of buffers, owner only */
};

/* Returned by steal when it lost a race: the deque may not be empty. */
#define TROUPE__DEQUE_ABORT ((void *)1)

/* Initial capacity is 2^log_cap slots.  0 on success, -1 on no memory. */
int troupe__deque_init(struct troupe__deque *d, unsigned log_cap);
/* Frees all buffers.  No other thread may touch d any more. */
void troupe__deque_fini(struct troupe__deque *d);
/* Owner only.  0 on success, -1 when growing failed (nothing pushed). */
int troupe__deque_push(struct troupe__deque *d, void *x);
/* Owner only: the newest element, or NULL when empty. */
void *troupe__deque_pop(struct troupe__deque *d);
/* Any thread: the oldest element, NULL when empty, or TROUPE__DEQUE_ABORT. */
void *troupe__deque_steal(struct troupe__deque *d);
/* Owner only: the bottom slot's pointer, without taking it (NULL when
 * empty).  Only to compare: a thief may take and free it meanwhile. */
static inline void *troupe__deque_peek(const struct troupe__deque *d)
{
	int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
	int64_t t = atomic_load_explicit(&d->top, memory_order_relaxed);
	if (b <= t)
		return NULL;
	struct troupe__deque_buf *a =
		atomic_load_explicit(&d->buf, memory_order_relaxed);
	return atomic_load_explicit(&a->slot[(b - 1) & a->mask],
				    memory_order_relaxed);
}
/* Any thread: a racy estimate of the number of elements (>= 0). */
int64_t troupe__deque_size(const struct troupe__deque *d);

#endif
