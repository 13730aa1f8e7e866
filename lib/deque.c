/* Chase-Lev deque; see deque.h.  The memory orders follow Lê et al. 2013
 * (figure 1), with one strengthening: slots are written with release and
 * read with acquire rather than relying on the standalone fences alone.  On
 * x86 and ARMv8 that costs nothing extra, and it lets ThreadSanitizer —
 * which does not model fences — see the hand-off of a task's contents. */
#include "deque.h"

#include "alloc.h"

static struct troupe__deque_buf *buf_new(int64_t cap)
{
	struct troupe__deque_buf *b =
		troupe__malloc(sizeof *b + (size_t)cap * sizeof b->slot[0]);
	if (b == NULL)
		return NULL;
	b->mask = cap - 1;
	b->next_retired = NULL;
	return b;
}

int troupe__deque_init(struct troupe__deque *d, unsigned log_cap)
{
	struct troupe__deque_buf *b = buf_new((int64_t)1 << log_cap);
	if (b == NULL)
		return -1;
	atomic_init(&d->top, 0);
	atomic_init(&d->bottom, 0);
	atomic_init(&d->buf, b);
	d->retired = NULL;
	return 0;
}

void troupe__deque_fini(struct troupe__deque *d)
{
	troupe__free(atomic_load_explicit(&d->buf, memory_order_relaxed));
	while (d->retired != NULL) {
		struct troupe__deque_buf *n = d->retired->next_retired;
		troupe__free(d->retired);
		d->retired = n;
	}
}

/* Owner only: copy the live range [t, b) into a buffer twice as large. */
static struct troupe__deque_buf *grow(struct troupe__deque *d,
				      struct troupe__deque_buf *old, int64_t t,
				      int64_t b)
{
	struct troupe__deque_buf *n = buf_new((old->mask + 1) * 2);
	if (n == NULL)
		return NULL;
	for (int64_t i = t; i < b; i++)
		atomic_store_explicit(
			&n->slot[i & n->mask],
			atomic_load_explicit(&old->slot[i & old->mask],
					     memory_order_relaxed),
			memory_order_relaxed);
	/* Release: a thief that loads the new buffer sees its slots. */
	atomic_store_explicit(&d->buf, n, memory_order_release);
	old->next_retired = d->retired;
	d->retired = old;
	return n;
}

/* Stores x at bottom b of buffer a and moves bottom past it. */
static inline void put(struct troupe__deque *d, struct troupe__deque_buf *a,
		       int64_t b, void *x)
{
	atomic_store_explicit(&a->slot[b & a->mask], x, memory_order_release);
	/* Release: the slot is written before a thief can see bottom move. */
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
}

/* A push that finds the buffer full.  Out of line and cold: inlined, the
 * grow made every push save and restore six registers. */
static __attribute__((noinline, cold)) int
push_grow(struct troupe__deque *d, struct troupe__deque_buf *a, int64_t t,
	  int64_t b, void *x)
{
	a = grow(d, a, t, b);
	if (a == NULL)
		return -1;
	put(d, a, b, x);
	return 0;
}

int troupe__deque_push(struct troupe__deque *d, void *x)
{
	int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
	/* Acquire: pairs with a thief's CAS on top, so a slot it took is no
	 * longer read once we overwrite it. */
	int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
	struct troupe__deque_buf *a =
		atomic_load_explicit(&d->buf, memory_order_relaxed);
	if (b - t > a->mask)
		return push_grow(d, a, t, b, x);
	put(d, a, b, x);
	return 0;
}

void *troupe__deque_pop(struct troupe__deque *d)
{
	int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed) - 1;
	struct troupe__deque_buf *a =
		atomic_load_explicit(&d->buf, memory_order_relaxed);
	atomic_store_explicit(&d->bottom, b, memory_order_relaxed);
	/* Seq_cst: the bottom store must be ordered before the top load, or a
	 * thief and the owner could both take the last element. */
	atomic_thread_fence(memory_order_seq_cst);
	int64_t t = atomic_load_explicit(&d->top, memory_order_relaxed);
	if (t > b) { /* empty */
		atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
		return NULL;
	}
	void *x = atomic_load_explicit(&a->slot[b & a->mask],
				       memory_order_acquire);
	if (t == b) { /* the last one: race the thieves for it */
		if (!atomic_compare_exchange_strong_explicit(
			    &d->top, &t, t + 1, memory_order_seq_cst,
			    memory_order_relaxed))
			x = NULL;
		atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
	}
	return x;
}

void *troupe__deque_steal(struct troupe__deque *d)
{
	int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
	/* Seq_cst: orders the top load before the bottom load (pairs with the
	 * fence in pop). */
	atomic_thread_fence(memory_order_seq_cst);
	int64_t b = atomic_load_explicit(&d->bottom, memory_order_acquire);
	if (t >= b)
		return NULL;
	/* Acquire: see the slots of a buffer the owner just grew into. */
	struct troupe__deque_buf *a =
		atomic_load_explicit(&d->buf, memory_order_acquire);
	void *x = atomic_load_explicit(&a->slot[t & a->mask],
				       memory_order_acquire);
	if (!atomic_compare_exchange_strong_explicit(&d->top, &t, t + 1,
						     memory_order_seq_cst,
						     memory_order_relaxed))
		return TROUPE__DEQUE_ABORT;
	return x;
}

int64_t troupe__deque_size(const struct troupe__deque *d)
{
	int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
	int64_t t = atomic_load_explicit(&d->top, memory_order_relaxed);
	return b > t ? b - t : 0;
}
