/*
 * Ray's ray.util.ActorPool, built on the public API only: it is a
 * convenience over troupe_actor_call, and anything it needed beyond the
 * public API would be something an application writing its own pool would
 * lack too.
 *
 * One thread drives a pool (the header says so), so nothing here is
 * atomic or locked.
 *
 * Every submit becomes an entry on one list kept in submission order.  An
 * entry is QUEUED (no actor was idle; it holds a copy of its arguments),
 * RUNNING (called on an actor; it holds the result ref) or FAILED (its
 * deferred call was refused; it holds the error).  Invariants between
 * calls:
 *  - every QUEUED entry comes after every RUNNING or FAILED one, since
 *    queued calls are made strictly from the front of the queue;
 *  - an actor is idle exactly when no RUNNING entry names it, so at most
 *    nactors entries are RUNNING;
 *  - an idle actor implies an empty queue (pump() runs whenever an actor
 *    goes idle).
 * As in Ray, an actor goes idle when its result is fetched, not when its
 * call finishes: that keeps "one call per actor" true without watching
 * refs in the background, at the cost of head-of-line blocking in get_next.
 *
 * A queued call that troupe_actor_call refuses when it is finally made
 * (a method not of the actor's class, max_pending_calls reached by other
 * callers, shutdown) cannot report to its submitter any more: its entry
 * turns FAILED, and the get_next that reaches it returns that error code,
 * consuming the entry without handing out a ref.
 */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "troupe.h"

#include "alloc.h"

enum entry_state { QUEUED, RUNNING, FAILED };

struct entry {
	struct entry *prev, *next;
	enum entry_state state;
	troupe_err err; /* FAILED */
	troupe_ref ref; /* RUNNING */
	size_t actor;	/* RUNNING: index into pool->actors */
	troupe_method method;
	size_t nargs; /* QUEUED: args[] follows, then the copied bytes */
	troupe_arg args[];
};

struct troupe_actor_pool {
	troupe *rt;
	troupe_actor *actors;
	size_t nactors;
	size_t *idle; /* a stack of actor indices */
	size_t nidle;
	struct entry *head, *tail;
	struct entry *first_queued;
	/* Scratch for get_next_unordered, sized for the most RUNNING entries
	 * there can be (nactors) so that it never allocates. */
	troupe_ref *wait_refs;
	bool *wait_ready;
	struct entry **wait_entries;
};

static void link_tail(troupe_actor_pool *p, struct entry *e)
{
	e->next = NULL;
	e->prev = p->tail;
	if (p->tail != NULL)
		p->tail->next = e;
	else
		p->head = e;
	p->tail = e;
}

static void unlink_entry(troupe_actor_pool *p, struct entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		p->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		p->tail = e->prev;
}

/* Drops the references a queued entry took on its ref and actor
 * arguments, once the call has copied (or retained) them itself, or will
 * never be made. */
static void release_queued_args(troupe *rt, struct entry *e)
{
	for (size_t i = 0; i < e->nargs; i++) {
		if (e->args[i].kind == TROUPE_ARG_REF)
			(void)troupe_release(rt, e->args[i].ref);
		else if (e->args[i].kind == TROUPE_ARG_ACTOR)
			(void)troupe_actor_release(rt, e->args[i].actor);
	}
	e->nargs = 0;
}

/* Makes the calls that waited for an actor, oldest first, while actors
 * are idle.  A refused call does not stop the others: it turns FAILED and
 * leaves its actor idle for the next one. */
static void pump(troupe_actor_pool *p)
{
	while (p->nidle > 0 && p->first_queued != NULL) {
		struct entry *e = p->first_queued;
		size_t a = p->idle[p->nidle - 1];
		troupe_ref ref;
		troupe_err err = troupe_actor_call(p->rt, p->actors[a],
						   e->method, e->args, e->nargs,
						   &ref);
		release_queued_args(p->rt, e);
		p->first_queued = e->next;
		if (err == TROUPE_OK) {
			p->nidle--;
			e->state = RUNNING;
			e->ref = ref;
			e->actor = a;
		} else {
			e->state = FAILED;
			e->err = err;
		}
	}
}

/* Hands over a resolved or failed entry: frees its actor for the queue and
 * the entry itself. */
static troupe_err take(troupe_actor_pool *p, struct entry *e, troupe_ref *ref)
{
	troupe_err err = TROUPE_OK;
	assert(e->state != QUEUED);
	if (e->state == RUNNING) {
		*ref = e->ref;
		p->idle[p->nidle++] = e->actor;
	} else {
		err = e->err;
	}
	unlink_entry(p, e);
	troupe__free(e);
	pump(p);
	return err;
}

troupe_err troupe_actor_pool_create(troupe *rt, const troupe_actor *actors,
				    size_t n, troupe_actor_pool **pool)
{
	if (rt == NULL || actors == NULL || n == 0 || pool == NULL ||
	    n > PTRDIFF_MAX / sizeof(troupe_actor))
		return TROUPE_EINVAL;
	troupe_actor_pool *p = troupe__calloc(1, sizeof *p);
	if (p == NULL)
		return TROUPE_ENOMEM;
	p->rt = rt;
	p->actors = troupe__calloc(n, sizeof *p->actors);
	p->idle = troupe__calloc(n, sizeof *p->idle);
	p->wait_refs = troupe__calloc(n, sizeof *p->wait_refs);
	p->wait_ready = troupe__calloc(n, sizeof *p->wait_ready);
	p->wait_entries = troupe__calloc(n, sizeof *p->wait_entries);
	troupe_err err = TROUPE_ENOMEM;
	if (p->actors == NULL || p->idle == NULL || p->wait_refs == NULL ||
	    p->wait_ready == NULL || p->wait_entries == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		err = troupe_actor_retain(rt, actors[i]);
		if (err != TROUPE_OK)
			goto fail;
		p->actors[p->nactors++] = actors[i];
	}
	/* Reversed, so that the first submits go to actors[0], [1], …: a pool
	 * used below capacity then behaves predictably. */
	for (size_t i = 0; i < n; i++)
		p->idle[i] = n - 1 - i;
	p->nidle = n;
	*pool = p;
	return TROUPE_OK;
fail:
	for (size_t i = 0; i < p->nactors; i++)
		(void)troupe_actor_release(rt, p->actors[i]);
	troupe__free(p->actors);
	troupe__free(p->idle);
	troupe__free(p->wait_refs);
	troupe__free(p->wait_ready);
	troupe__free(p->wait_entries);
	troupe__free(p);
	return err;
}

troupe_err troupe_actor_pool_destroy(troupe_actor_pool *pool)
{
	if (pool == NULL)
		return TROUPE_EINVAL;
	troupe_actor_pool *p = pool;
	/* The header promises that submitted calls still run: queued ones are
	 * made now, fire-and-forget, spread over the actors.  The one-call-
	 * per-actor rule ends with the pool; each actor's mailbox orders
	 * them.  Errors are ignored: nobody is left to report them to (after
	 * shutdown every call is refused, and the memory is freed anyway). */
	size_t next_actor = 0;
	struct entry *e = p->head;
	while (e != NULL) {
		struct entry *next = e->next;
		if (e->state == QUEUED) {
			(void)troupe_actor_call(p->rt, p->actors[next_actor],
						e->method, e->args, e->nargs,
						NULL);
			next_actor = (next_actor + 1) % p->nactors;
			release_queued_args(p->rt, e);
		} else if (e->state == RUNNING) {
			(void)troupe_release(p->rt, e->ref);
		}
		troupe__free(e);
		e = next;
	}
	for (size_t i = 0; i < p->nactors; i++)
		(void)troupe_actor_release(p->rt, p->actors[i]);
	troupe__free(p->actors);
	troupe__free(p->idle);
	troupe__free(p->wait_refs);
	troupe__free(p->wait_ready);
	troupe__free(p->wait_entries);
	troupe__free(p);
	return TROUPE_OK;
}

/* A queued call outlives the caller's argument array and whatever its
 * BYTES point at, so the entry carries a copy of both in one block, and
 * holds its ref and actor arguments so that the caller may release them. */
static troupe_err queue_call(troupe_actor_pool *p, troupe_method method,
			     const troupe_arg *args, size_t nargs)
{
	if (nargs > (PTRDIFF_MAX - sizeof(struct entry)) / sizeof(troupe_arg))
		return TROUPE_EINVAL;
	size_t size = sizeof(struct entry) + nargs * sizeof(troupe_arg);
	for (size_t i = 0; i < nargs; i++) {
		switch (args[i].kind) {
		case TROUPE_ARG_BYTES:
			if (args[i].data == NULL && args[i].size > 0)
				return TROUPE_EINVAL;
			if (args[i].size > PTRDIFF_MAX - size)
				return TROUPE_EINVAL;
			size += args[i].size;
			break;
		case TROUPE_ARG_REF:
		case TROUPE_ARG_I64:
		case TROUPE_ARG_F64:
		case TROUPE_ARG_ACTOR:
			break;
		default:
			return TROUPE_EINVAL;
		}
	}
	struct entry *e = troupe__malloc(size);
	if (e == NULL)
		return TROUPE_ENOMEM;
	*e = (struct entry){.state = QUEUED, .method = method};
	char *bytes = (char *)&e->args[nargs];
	troupe_err err = TROUPE_OK;
	for (size_t i = 0; i < nargs; i++) {
		troupe_arg a = args[i];
		if (a.kind == TROUPE_ARG_BYTES) {
			if (a.size > 0)
				memcpy(bytes, a.data, a.size);
			a.data = bytes;
			bytes += a.size;
		} else if (a.kind == TROUPE_ARG_REF) {
			err = troupe_retain(p->rt, a.ref);
		} else if (a.kind == TROUPE_ARG_ACTOR) {
			err = troupe_actor_retain(p->rt, a.actor);
		}
		if (err != TROUPE_OK) {
			release_queued_args(p->rt, e); /* the first e->nargs */
			troupe__free(e);
			return err;
		}
		e->args[e->nargs++] = a;
	}
	link_tail(p, e);
	if (p->first_queued == NULL)
		p->first_queued = e;
	return TROUPE_OK;
}

troupe_err troupe_actor_pool_submit(troupe_actor_pool *pool,
				    troupe_method method,
				    const troupe_arg *args, size_t nargs)
{
	if (pool == NULL || method == NULL || (args == NULL && nargs > 0))
		return TROUPE_EINVAL;
	troupe_actor_pool *p = pool;
	if (p->nidle == 0)
		return queue_call(p, method, args, nargs);
	/* The entry is allocated before the call is made, so that running out
	 * of memory cannot leave a call that the pool does not track. */
	struct entry *e = troupe__malloc(sizeof *e);
	if (e == NULL)
		return TROUPE_ENOMEM;
	size_t a = p->idle[p->nidle - 1];
	troupe_ref ref;
	troupe_err err = troupe_actor_call(p->rt, p->actors[a], method, args,
					   nargs, &ref);
	if (err != TROUPE_OK) {
		troupe__free(e);
		return err;
	}
	p->nidle--;
	*e = (struct entry){
		.state = RUNNING, .ref = ref, .actor = a, .method = method};
	link_tail(p, e);
	return TROUPE_OK;
}

troupe_err troupe_actor_pool_has_next(troupe_actor_pool *pool, bool *has)
{
	if (pool == NULL || has == NULL)
		return TROUPE_EINVAL;
	*has = pool->head != NULL;
	return TROUPE_OK;
}

troupe_err troupe_actor_pool_has_free(troupe_actor_pool *pool, bool *has)
{
	if (pool == NULL || has == NULL)
		return TROUPE_EINVAL;
	*has = pool->nidle > 0 && pool->first_queued == NULL;
	return TROUPE_OK;
}

troupe_err troupe_actor_pool_get_next(troupe_actor_pool *pool, double timeout_s,
				      troupe_ref *ref)
{
	if (pool == NULL || ref == NULL)
		return TROUPE_EINVAL;
	troupe_actor_pool *p = pool;
	struct entry *e = p->head;
	if (e == NULL)
		return TROUPE_ENOTFOUND;
	/* A queued entry at the front would mean every actor idle. */
	assert(e->state != QUEUED);
	if (e->state == RUNNING) {
		/* wait, not get: it tells "resolved to an error" (a result
		 * like any other) from "could not wait" (leave it next). */
		bool ready = false;
		troupe_err err =
			troupe_wait(p->rt, &e->ref, 1, 1, timeout_s, &ready);
		if (err != TROUPE_OK)
			return err;
	}
	return take(p, e, ref);
}

troupe_err troupe_actor_pool_get_next_unordered(troupe_actor_pool *pool,
						double timeout_s,
						troupe_ref *ref)
{
	if (pool == NULL || ref == NULL)
		return TROUPE_EINVAL;
	troupe_actor_pool *p = pool;
	if (p->head == NULL)
		return TROUPE_ENOTFOUND;
	size_t n = 0;
	for (struct entry *e = p->head; e != NULL && e != p->first_queued;
	     e = e->next) {
		if (e->state == FAILED)
			return take(p, e, ref); /* resolved already */
		p->wait_entries[n] = e;
		p->wait_refs[n] = e->ref;
		p->wait_ready[n] = false;
		n++;
	}
	troupe_err err = troupe_wait(p->rt, p->wait_refs, n, 1, timeout_s,
				     p->wait_ready);
	if (err != TROUPE_OK)
		return err;
	/* Of several ready, the oldest: what get_next would return first. */
	size_t i = 0;
	while (i < n && !p->wait_ready[i])
		i++;
	if (i == n)
		return TROUPE_ETIMEDOUT; /* unreachable if wait keeps its word */
	return take(p, p->wait_entries[i], ref);
}

/* After a failed map: waits for the calls it made and drops their results,
 * so that the pool has nothing pending again, as map found it.  If waiting
 * fails (the runtime shut down) the rest stay pending. */
static void drain(troupe_actor_pool *p)
{
	troupe_ref r;
	while (p->head != NULL) {
		bool refused = p->head->state == FAILED; /* consumed anyway */
		troupe_err err = troupe_actor_pool_get_next(p, -1, &r);
		if (err == TROUPE_OK)
			(void)troupe_release(p->rt, r);
		else if (!refused)
			return;
	}
}

/* Submits only while an actor is free, so items never need copying (the
 * queue stays empty); results are collected in a scratch array so that
 * refs is written only on success. */
static troupe_err map(troupe_actor_pool *p, troupe_method method,
		      const troupe_arg *items, size_t n, troupe_ref *refs,
		      bool ordered)
{
	if (p == NULL || method == NULL ||
	    (n > 0 && (items == NULL || refs == NULL)))
		return TROUPE_EINVAL;
	if (p->head != NULL)
		return TROUPE_EINVAL;
	if (n == 0)
		return TROUPE_OK;
	if (n > PTRDIFF_MAX / sizeof(troupe_ref))
		return TROUPE_EINVAL;
	troupe_ref *got = troupe__malloc(n * sizeof *got);
	if (got == NULL)
		return TROUPE_ENOMEM;
	size_t nsubmitted = 0, ngot = 0;
	troupe_err err = TROUPE_OK;
	while (ngot < n) {
		if (nsubmitted < n && p->nidle > 0) {
			err = troupe_actor_pool_submit(p, method,
						       &items[nsubmitted], 1);
			if (err != TROUPE_OK)
				break;
			nsubmitted++;
			continue;
		}
		err = ordered ?
			      troupe_actor_pool_get_next(p, -1, &got[ngot]) :
			      troupe_actor_pool_get_next_unordered(p, -1,
								   &got[ngot]);
		if (err != TROUPE_OK)
			break;
		ngot++;
	}
	if (err != TROUPE_OK) {
		drain(p);
		for (size_t i = 0; i < ngot; i++)
			(void)troupe_release(p->rt, got[i]);
	} else {
		memcpy(refs, got, n * sizeof *got);
	}
	troupe__free(got);
	return err;
}

troupe_err troupe_actor_pool_map(troupe_actor_pool *pool, troupe_method method,
				 const troupe_arg *items, size_t n,
				 troupe_ref *refs)
{
	return map(pool, method, items, n, refs, true);
}

troupe_err troupe_actor_pool_map_unordered(troupe_actor_pool *pool,
					   troupe_method method,
					   const troupe_arg *items, size_t n,
					   troupe_ref *refs)
{
	return map(pool, method, items, n, refs, false);
}
