/*
 * Task blocks go back to the thread that allocated them.
 *
 * A task's or a call's block is allocated by the thread that submits it and
 * is mostly freed by a worker.  Freed there, it would go onto its page's
 * cross-thread free list in mimalloc, and the submitting thread, when it
 * next collects that list, walks it one block at a time: each step a load
 * of a line the worker's core wrote last, waiting for the step before.
 * With a caller that only submits (fire-and-forget calls) that walk was
 * the hottest instruction of the run — one cross-core transfer per call,
 * in series (bench/README.md).
 *
 * Instead a worker gathers the blocks it is done with by owner, in arrays,
 * and hands each full array to its owner with one push; the owner takes
 * the blocks back itself when it next allocates a block.  An array of
 * pointers is read without a chain: its loads go out together.
 *
 * Every thread that allocates blocks has a box, made with its first block;
 * a block's allocator gives the caller the box to return it to.  A box
 * outlives its thread until every block it lent is back: at thread exit
 * the box is closed, later returners free directly and count the blocks
 * off, and whoever counts off the last one frees the box.
 *
 * Blocks handed back to a thread are taken in when it next allocates a
 * block or waits (get, wait), or when it exits.  Those of the usual sizes
 * (128, 192, 256 bytes; up to 512 of each, 288 KiB at most) are kept as
 * the thread's spares and handed out again before the allocator's, the
 * next few fetched ahead (handback.c says why); the rest are freed, as
 * local frees.  A thread's spares are freed when it exits, and a worker's
 * when it parks (troupe__box_free_spares): an idle pool keeps none.
 * Threads: any, as each function says.
 */
#ifndef TROUPE_HANDBACK_H
#define TROUPE_HANDBACK_H

#include <stddef.h>

struct troupe__box;
struct troupe__handback;

/* Open arrays a worker fills at once (blocks of as many owners). */
#define TROUPE__RETURNS_OPEN 4

/* A worker's blocks on their way back; that worker's thread only. */
struct troupe__returns {
	struct troupe__handback *open[TROUPE__RETURNS_OPEN];
	unsigned evict; /* which open array goes when a fifth owner shows */
};

/* A block of n bytes from the calling thread's box; *box is where it goes
 * back (troupe__block_free, troupe__returns_put) — an opaque token, not
 * to be dereferenced.  Takes in what was handed back to this thread
 * first.  NULL on no memory.  Any thread. */
void *troupe__block_alloc(size_t n, struct troupe__box **box);

/* Takes in what was handed back to the calling thread (troupe__block_alloc
 * does this too): spares kept, the rest freed.  For a thread about to
 * wait, which may not allocate again for a while.  Any thread. */
void troupe__box_drain(void);

/* Frees the calling thread's spare blocks.  For a worker about to park.
 * Any thread. */
void troupe__box_free_spares(void);

/* Gives p (from troupe__block_alloc, with its box) up at once: kept as a
 * spare when box is the calling thread's own, else freed.  Any thread. */
void troupe__block_free(void *p, struct troupe__box *box);

/* Puts p aside to go back to box with others (under ASan it is poisoned
 * until then), or, when box is the calling thread's own, keeps it as a
 * spare (or frees it when its class has no room).
 * The returns' own thread. */
void troupe__returns_put(struct troupe__returns *r, void *p,
			 struct troupe__box *box);

/* Hands back (or frees) everything r holds.  The returns' own thread. */
void troupe__returns_flush(struct troupe__returns *r);

/* The calling thread is exiting: closes its box (see above). */
void troupe__box_thread_exit(void);

#endif
