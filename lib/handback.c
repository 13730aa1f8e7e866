/* Task blocks handed back to the thread that allocated them; see
 * handback.h for why and for the box's life. */
#include "handback.h"

#include <stdatomic.h>
#include <stdint.h>

#include "alloc.h"
#include "internal.h"

/* Under ASan a block put aside is poisoned, so a use after it was given
 * up is still reported at once.  (Sanitizer builds allocate with libc's
 * malloc, whose malloc_usable_size this needs.) */
#if defined(__SANITIZE_ADDRESS__) && defined(TROUPE_LIBC_MALLOC)
#include <malloc.h>
#include <sanitizer/asan_interface.h>
#define POISON(p) ASAN_POISON_MEMORY_REGION((p), malloc_usable_size(p))
#define UNPOISON(p) ASAN_UNPOISON_MEMORY_REGION((p), malloc_usable_size(p))
#else
#define POISON(p) ((void)(p))
#define UNPOISON(p) ((void)(p))
#endif

/* Blocks per array: the array is 512 bytes. */
#define HANDBACK_BATCH 61

/* Blocks of the usual sizes come back to a spare list of their owner
 * instead of to the allocator (see troupe__block_alloc): classes 1..3 are
 * 128, 192 and 256 bytes, the sizes of a call or a task with up to a few
 * inline arguments.  A box pointer handed out with such a block carries
 * its class in its low bits (boxes are line-aligned), and a block on its
 * way back carries it too (blocks are 16-byte aligned). */
#define CLASS_MASK ((uintptr_t)3)
#define CLASSES 4     /* 0: not kept */
#define SPARE_CAP 512 /* blocks kept a class, at most */
/* How far ahead of the block it hands out an allocation fetches one. */
#define SPARE_AHEAD 4

struct troupe__handback {
	struct troupe__handback *next; /* in the box's list */
	struct troupe__box *box;
	unsigned n;
	void *block[HANDBACK_BATCH];
};

/* The box's list once its thread has exited. */
#define CLOSED ((struct troupe__handback *)(uintptr_t)1)

struct troupe__box {
	/* Arrays handed back and not yet freed; CLOSED after the owner's
	 * exit.  Pushed by returners, taken whole by the owner. */
	_Atomic(struct troupe__handback *) head;
	/* Counts blocks off after the owner's exit (box_thread_exit):
	 * returners subtract what they free, the owner adds what was still
	 * out when it left; the one that brings it to zero frees the box.
	 * Before that only subtractions happen, so it cannot reach zero. */
	_Atomic long out;
};

static TROUPE__TLS struct troupe__box *my_box;
/* Blocks my_box has lent and not had back. */
static TROUPE__TLS long my_lent;

/* The calling thread's spare blocks of class c: spare[c][0..spare_n[c]),
 * the array made on the first one kept. */
static TROUPE__TLS void **spare[CLASSES];
static TROUPE__TLS unsigned spare_n[CLASSES];

static unsigned class_of_size(size_t n)
{
	return n >= 128 && n <= 256 && n % 64 == 0 ? (unsigned)(n / 64 - 1) : 0;
}

static struct troupe__box *untag_box(struct troupe__box *b)
{
	return (struct troupe__box *)((uintptr_t)b & ~CLASS_MASK);
}

static void *untag(void *p)
{
	return (void *)((uintptr_t)p & ~CLASS_MASK);
}

static unsigned class_of(const void *p)
{
	return (unsigned)((uintptr_t)p & CLASS_MASK);
}

static void count_off(struct troupe__box *b, long n)
{
	/* Acq_rel: the last one to count off sees every other's frees done
	 * before it frees the box. */
	if (atomic_fetch_sub_explicit(&b->out, n, memory_order_acq_rel) == n)
		troupe__free(b);
}

static void free_block(void *p)
{
	p = untag(p);
	UNPOISON(p);
	troupe__free(p);
}

/* Frees the blocks in h and h itself; returns how many blocks. */
static long free_array(struct troupe__handback *h)
{
	long n = (long)h->n;
	for (unsigned i = 0; i < h->n; i++)
		free_block(h->block[i]);
	troupe__free(h);
	return n;
}

/* keep_or_free when p has no class, its class no room, or no spare array
 * yet (then its count is 0): makes the array, or frees p.  Out of line, so
 * that keeping a spare needs no stack frame. */
static __attribute__((noinline)) void keep_or_free_slow(void *p)
{
	unsigned c = class_of(p);
	if (c != 0 && spare[c] == NULL &&
	    (spare[c] = troupe__malloc(SPARE_CAP * sizeof(void *))) != NULL)
		spare[c][spare_n[c]++] = untag(p);
	else
		free_block(p);
}

/* Keeps the owner's block p (tagged) as a spare if it has a class and its
 * class has room, else frees it.  It stays poisoned while kept. */
static inline void keep_or_free(void *p)
{
	unsigned c = class_of(p);
	if (c != 0 && spare_n[c] < SPARE_CAP && spare[c] != NULL)
		spare[c][spare_n[c]++] = untag(p);
	else
		keep_or_free_slow(p);
}

/* The owner takes back a list of arrays of its own blocks: spares kept,
 * the rest freed. */
static void take_back(struct troupe__handback *list)
{
	while (list != NULL) {
		struct troupe__handback *next = list->next;
		for (unsigned i = 0; i < list->n; i++)
			keep_or_free(list->block[i]);
		my_lent -= (long)list->n;
		troupe__free(list);
		list = next;
	}
}

void troupe__box_free_spares(void)
{
	for (unsigned c = 1; c < CLASSES; c++) {
		for (unsigned i = 0; i < spare_n[c]; i++)
			free_block(spare[c][i]);
		troupe__free(spare[c]);
		spare[c] = NULL;
		spare_n[c] = 0;
	}
}

/* Takes in what came back to box b.  Out of line: most calls
 * find nothing, and need no stack frame for that. */
static __attribute__((noinline)) void drain(struct troupe__box *b)
{
	/* Acquire: pairs with the returners' pushes, so the blocks' last
	 * uses happen before these frees. */
	take_back(
		atomic_exchange_explicit(&b->head, NULL, memory_order_acquire));
}

/* Drains b if anything came back to it. */
static inline void drain_if(struct troupe__box *b)
{
	if (atomic_load_explicit(&b->head, memory_order_relaxed) != NULL)
		drain(b);
}

void troupe__box_drain(void)
{
	if (my_box != NULL)
		drain_if(my_box);
}

/* Takes back a block of the calling thread's own box (box, tagged with
 * its class): kept as a spare while its class has room, so the next
 * allocation of its size reuses it while its lines are still in this
 * core's cache, and with no trip through the allocator either way. */
static inline void free_own_block(void *p, struct troupe__box *box)
{
	POISON(p);
	keep_or_free((void *)((uintptr_t)p | ((uintptr_t)box & CLASS_MASK)));
	my_lent--;
}

/* The calling thread's box, made on its first block. */
static __attribute__((noinline, cold)) struct troupe__box *box_new(void)
{
	/* A line of its own: returners push onto it. */
	struct troupe__box *b =
		troupe__zalloc_aligned(sizeof *b, TROUPE__CACHELINE);
	if (b == NULL)
		return NULL;
	atomic_init(&b->head, NULL);
	atomic_init(&b->out, 0);
	my_box = b;
	return b;
}

/* Asks for the line at p for writing, ahead of the write. */
static inline void prefetch_write(const void *p)
{
#if defined(__x86_64__)
	/* prefetchw (a no-op on the few x86-64 parts without it); the
	 * builtin emits it only where the target flags name it. */
	__asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
#else
	__builtin_prefetch(p, 1, 3);
#endif
}

/* A block came back to its owner from a worker that read and wrote it
 * last: its lines are in that worker's cache.  Taken from the allocator,
 * the block is written for the first time when the caller fills it, and
 * the caller's next atomic instruction (a queue push is one) waits for
 * those lines to come over, one block at a time.  Spares are handed out
 * from an array, so the next ones are known in advance: each allocation
 * asks for the lines of the one SPARE_AHEAD behind it, and their transfers
 * overlap the caller's work instead of stalling it.
 *
 * take_spare hands out the last spare of class c (there is one) for a
 * block of n bytes. */
static inline void *take_spare(unsigned c, size_t n)
{
	unsigned k = --spare_n[c];
	void *p = spare[c][k];
	if (k >= SPARE_AHEAD) {
		char *next = spare[c][k - SPARE_AHEAD];
		for (size_t off = 0; off < n; off += TROUPE__CACHELINE)
			prefetch_write(next + off);
	}
	UNPOISON(p);
	return p;
}

/* Counts p (of class c) as lent by b and tags the box handed out with it. */
static inline void *lend(struct troupe__box *b, unsigned c, void *p,
			 struct troupe__box **box)
{
	my_lent++;
	*box = (struct troupe__box *)((uintptr_t)b | c);
	return p;
}

/* troupe__block_alloc when the thread has no box yet, blocks came back to
 * it, or it has no spare of the size.  Out of line, so that taking a
 * spare needs no stack frame. */
static __attribute__((noinline)) void *
block_alloc_slow(size_t n, struct troupe__box **box)
{
	struct troupe__box *b = my_box;
	if (b == NULL) {
		b = box_new();
		if (b == NULL)
			return NULL;
	} else {
		drain_if(b);
	}
	unsigned c = class_of_size(n);
	if (c != 0 && spare_n[c] > 0)
		return lend(b, c, take_spare(c, n), box);
	void *p = troupe__malloc(n);
	return p != NULL ? lend(b, c, p, box) : NULL;
}

void *troupe__block_alloc(size_t n, struct troupe__box **box)
{
	struct troupe__box *b = my_box;
	unsigned c = class_of_size(n);
	if (b == NULL ||
	    atomic_load_explicit(&b->head, memory_order_relaxed) != NULL ||
	    c == 0 || spare_n[c] == 0)
		return block_alloc_slow(n, box);
	return lend(b, c, take_spare(c, n), box);
}

void troupe__block_free(void *p, struct troupe__box *box)
{
	if (untag_box(box) == my_box) {
		free_own_block(p, box);
	} else {
		troupe__free(p);
		count_off(untag_box(box), 1);
	}
}

/* Sends h to its box's owner, or frees its blocks here when the owner is
 * this thread or has exited. */
static void hand_back(struct troupe__handback *h)
{
	struct troupe__box *b = h->box;
	if (b == my_box) {
		h->next = NULL;
		take_back(h);
		return;
	}
	struct troupe__handback *head =
		atomic_load_explicit(&b->head, memory_order_relaxed);
	do {
		if (head == CLOSED) {
			count_off(b, free_array(h));
			return;
		}
		h->next = head;
		/* Release: the blocks' last uses (and the array's contents)
		 * before the owner's acquire. */
	} while (!atomic_compare_exchange_weak_explicit(&b->head, &head, h,
							memory_order_release,
							memory_order_relaxed));
}

/* troupe__returns_put for another thread's block: batches it by owner.
 * Out of line, so that the own-block case needs no stack frame. */
static __attribute__((noinline)) void
returns_put_other(struct troupe__returns *r, void *p, struct troupe__box *box)
{
	uintptr_t class = (uintptr_t)box & CLASS_MASK;
	box = untag_box(box);
	unsigned slot = TROUPE__RETURNS_OPEN;
	for (unsigned i = 0; i < TROUPE__RETURNS_OPEN; i++) {
		struct troupe__handback *h = r->open[i];
		if (h != NULL && h->box == box) {
			slot = i;
			break;
		}
		if (h == NULL && slot == TROUPE__RETURNS_OPEN)
			slot = i;
	}
	if (slot == TROUPE__RETURNS_OPEN) {
		/* A fifth owner: send one open array on its way early. */
		slot = r->evict++ % TROUPE__RETURNS_OPEN;
		hand_back(r->open[slot]);
		r->open[slot] = NULL;
	}
	struct troupe__handback *h = r->open[slot];
	if (h == NULL) {
		h = troupe__malloc(sizeof *h);
		if (h == NULL) {
			troupe__block_free(p, box); /* untagged: freed */
			return;
		}
		h->box = box;
		h->n = 0;
		r->open[slot] = h;
	}
	POISON(p);
	h->block[h->n++] = (void *)((uintptr_t)p | class);
	if (h->n == HANDBACK_BATCH) {
		hand_back(h);
		r->open[slot] = NULL;
	}
}

void troupe__returns_put(struct troupe__returns *r, void *p,
			 struct troupe__box *box)
{
	if (untag_box(box) != my_box) {
		returns_put_other(r, p, box);
		return;
	}
	/* Our own block (a task run where it was made): nothing to batch. */
	free_own_block(p, box);
}

void troupe__returns_flush(struct troupe__returns *r)
{
	for (unsigned i = 0; i < TROUPE__RETURNS_OPEN; i++)
		if (r->open[i] != NULL) {
			hand_back(r->open[i]);
			r->open[i] = NULL;
		}
}

void troupe__box_thread_exit(void)
{
	struct troupe__box *b = my_box;
	if (b == NULL)
		return;
	my_box = NULL;
	take_back(atomic_exchange_explicit(&b->head, CLOSED,
					   memory_order_acq_rel));
	troupe__box_free_spares();
	long left = my_lent;
	my_lent = 0;
	if (atomic_fetch_add_explicit(&b->out, left, memory_order_acq_rel) +
		    left ==
	    0)
		troupe__free(b);
}
