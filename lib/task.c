/* Submitting, running and finishing tasks; the named-function registry.
 * See task.h for a task's life. */
#include "task.h"

#include "actor.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "alloc.h"
#include "handback.h"

#include "rcu.h"

struct ret_slot {
	const void *data;
	size_t size;
	troupe_free_fn free_fn;
	bool set;
	unsigned char inl[8];
};

struct troupe_ctx {
	troupe *rt;
	struct troupe__task *t;
	struct ret_slot *ret;
	unsigned nslots; /* max(nret, 1): a fire-and-forget call may return */
	bool failed, fatal;
	char *msg;
};

/* ------------------------------------------------------- who is calling */

/* A thread's caller id: a process-wide count with the top bit set, so it
 * never equals an object's or actor's id (the body ids below). */
static TROUPE__TLS uint64_t tls_thread_caller;
static TROUPE__TLS uint64_t tls_body_caller;

uint64_t troupe__caller_id(void)
{
	if (tls_body_caller != 0)
		return tls_body_caller;
	if (tls_thread_caller == 0) {
		static _Atomic uint64_t next = 1;
		tls_thread_caller = (uint64_t)1 << 63 |
				    atomic_fetch_add_explicit(
					    &next, 1, memory_order_relaxed);
	}
	return tls_thread_caller;
}

/* ------------------------------------------------------------ finishing */

void troupe__task_free(troupe *rt, struct troupe__task *t)
{
	for (unsigned i = 0; i < t->nrefs; i++)
		if (t->slots[i].o != NULL)
			troupe__obj_unref(rt, t->slots[i].o);
	for (unsigned i = 0; i < t->nactors; i++)
		if (troupe__task_actors(t)[i] != NULL)
			troupe__obj_release_user(rt,
						 troupe__task_actors(t)[i]);
	for (unsigned i = 0; i < t->nret; i++)
		if (t->rets[i] != NULL)
			troupe__obj_unref(rt, t->rets[i]);
	troupe__sched_free(rt, t, t->box);
}

void troupe__task_vote(troupe *rt, struct troupe__task *t)
{
	/* Acq_rel: the second voter frees, after seeing the first's writes. */
	if (atomic_fetch_add_explicit(&t->votes, 1, memory_order_acq_rel) == 1)
		troupe__task_free(rt, t);
}

/* Drops the task's holds on its arguments as soon as it no longer needs
 * them, so their memory does not wait for the second vote. */
static void release_args(troupe *rt, struct troupe__task *t)
{
	if (t->keep_args)
		return;
	for (unsigned i = 0; i < t->nrefs; i++) {
		troupe__obj_unref(rt, t->slots[i].o);
		t->slots[i].o = NULL;
	}
	for (unsigned i = 0; i < t->nactors; i++) {
		troupe__obj_release_user(rt, troupe__task_actors(t)[i]);
		troupe__task_actors(t)[i] = NULL;
	}
}

void troupe__task_fail(troupe *rt, struct troupe__task *t, troupe_err err,
		       const char *msg)
{
	/* Those already resolved (shutdown's sweep reaches a queued task's
	 * objects before the task is dropped) need no copy of msg made. */
	for (unsigned i = 0; i < t->nret; i++)
		if (!troupe__obj_done(t->rets[i]))
			troupe__obj_resolve_error(rt, t->rets[i], err,
						  troupe__format("%s", msg));
}

const char *troupe__fn_name(troupe *rt, troupe_fn fn, const char *given,
			    char *buf, size_t len)
{
	if (given != NULL)
		return given;
	pthread_rwlock_rdlock(&rt->fn_lock);
	for (int b = 0; b < TROUPE__FN_BUCKETS; b++)
		for (struct troupe__fn_entry *e = rt->fns[b]; e != NULL;
		     e = e->next)
			if (e->fn == fn) {
				snprintf(buf, len, "%s", e->name);
				pthread_rwlock_unlock(&rt->fn_lock);
				return buf;
			}
	pthread_rwlock_unlock(&rt->fn_lock);
	/* ISO C has no function-to-object pointer conversion; print the bytes
	 * of the pointer instead. */
	unsigned char b[sizeof fn];
	memcpy(b, &fn, sizeof fn);
	uint64_t v = 0;
	for (size_t i = 0; i < sizeof fn && i < 8; i++)
		v |= (uint64_t)b[i] << (8 * i);
	snprintf(buf, len, "fn@0x%llx", (unsigned long long)v);
	return buf;
}

static const char *body_name(troupe *rt, struct troupe__task *t, char *buf,
			     size_t len)
{
	if (t->self != NULL)
		return troupe__actor_class_name(t->self);
	return troupe__fn_name(rt, t->fn, t->name, buf, len);
}

enum troupe__outcome troupe__task_invoke(troupe *rt, struct troupe__task *t,
					 void *state, char **msg_out)
{
	unsigned nslots = t->nret > 1 ? t->nret : 1;
	struct ret_slot one, *ret = &one;
	if (nslots > 1) {
		ret = troupe__calloc(nslots, sizeof *ret);
		if (ret == NULL) {
			troupe__task_fail(rt, t, TROUPE_ENOMEM,
					  "out of memory starting the task");
			release_args(rt, t);
			if (msg_out != NULL)
				*msg_out = troupe__format("out of memory");
			return TROUPE__FAILED;
		}
	} else {
		memset(&one, 0, sizeof one);
	}
	struct troupe_ctx ctx = {.rt = rt, .t = t, .ret = ret,
				 .nslots = nslots};

	/* Calls made by this body are ordered as one caller's. */
	uint64_t outer = tls_body_caller;
	static TROUPE__TLS uint64_t body_seq;
	/* An actor's object header comes first (actor.h). */
	tls_body_caller = t->self != NULL ? ((struct troupe__obj *)t->self)->id
			  : t->nret > 0	  ? t->rets[0]->id
					  : (uint64_t)1 << 62 | ++body_seq;
	/* Shutdown may have resolved our refs already: then do not run. */
	if (t->nret == 0 || !troupe__obj_done(t->rets[0])) {
		unsigned kept = troupe__kept_enter();
		if (t->self != NULL)
			t->method(rt, &ctx, state, t->args, t->nargs);
		else
			t->fn(rt, &ctx, t->args, t->nargs);
		troupe__kept_leave(kept);
	}
	tls_body_caller = outer;
	release_args(rt, t);

	enum troupe__outcome out = TROUPE__RETURNED;
	if (ctx.failed) {
		char buf[64];
		const char *what = body_name(rt, t, buf, sizeof buf);
		out = ctx.fatal && t->self != NULL ? TROUPE__FATAL
						   : TROUPE__FAILED;
		if (out == TROUPE__FAILED) {
			char *msg = troupe__format(
				t->self != NULL ? "actor '%s': a call failed: %s"
						: "task '%s' failed: %s",
				what,
				ctx.msg != NULL ? ctx.msg : "(no message)");
			troupe__task_fail(rt, t, TROUPE_ETASK,
					  msg != NULL ? msg
						      : "task failed (out of "
							"memory formatting its "
							"message)");
			troupe__free(msg);
		}
		if (msg_out != NULL) {
			*msg_out = ctx.msg;
			ctx.msg = NULL;
		}
		troupe__free(ctx.msg);
		for (unsigned i = 0; i < nslots; i++)
			if (ret[i].set && ret[i].free_fn != NULL)
				ret[i].free_fn((void *)ret[i].data);
	} else {
		for (unsigned i = 0; i < t->nret; i++) {
			struct ret_slot *r = &ret[i];
			troupe__obj_resolve_value(
				rt, t->rets[i], r->free_fn ? r->data : r->inl,
				r->size, r->free_fn);
		}
		/* A fire-and-forget call's return goes nowhere. */
		if (t->nret == 0 && ret[0].set && ret[0].free_fn != NULL)
			ret[0].free_fn((void *)ret[0].data);
	}
	if (ret != &one)
		troupe__free(ret);
	return out;
}

/* Claims t for the calling thread (a dequeuer's side): false when a getter
 * claimed it first.  A claim is never undone while t is queued (the
 * producer's ref keeps its object), so one seen set needs no exchange: the
 * queue slot of a task its getter ran is only a vote.  Acquire: if a
 * getter ran it, we see that before voting. */
static bool claim_queued(struct troupe__task *t)
{
	_Atomic uint8_t *c = &t->rets[0]->claim;
	return atomic_load_explicit(c, memory_order_acquire) == 0 &&
	       atomic_exchange_explicit(c, 1, memory_order_acq_rel) == 0;
}

void troupe__task_dequeued(troupe *rt, struct troupe__task *t)
{
	if (!claim_queued(t)) {
		troupe__task_vote(rt, t);
		return;
	}
	troupe__task_invoke(rt, t, NULL, NULL);
	troupe__task_free(rt, t);
}

struct troupe__task *troupe__task_claim_run(troupe *rt, struct troupe__obj *o)
{
	/* Acquire: pairs with the release that published the task. */
	struct troupe__task *t =
		atomic_load_explicit(&o->task, memory_order_acquire);
	if (t == NULL || atomic_load_explicit(&o->claim,
					      memory_order_relaxed) != 0 ||
	    atomic_exchange_explicit(&o->claim, 1, memory_order_acq_rel) != 0)
		return NULL;
	/* The claim means no one else runs t or frees it: the queue slot
	 * that still points at it will only vote. */
	troupe__task_invoke(rt, t, NULL, NULL);
	return t;
}

bool troupe__task_run_inline(troupe *rt, struct troupe__obj *o)
{
	struct troupe__task *t = troupe__task_claim_run(rt, o);
	if (t != NULL)
		troupe__task_vote(rt, t);
	return t != NULL;
}

void troupe__task_drop(troupe *rt, struct troupe__task *t)
{
	if (!claim_queued(t)) {
		troupe__task_vote(rt, t);
		return;
	}
	troupe__task_fail(rt, t, TROUPE_ESHUTDOWN,
			  "the runtime shut down before this task ran");
	troupe__task_free(rt, t);
}

/* --------------------------------------------------------- readiness */

troupe_err troupe__task_check_args(troupe *rt, struct troupe__task *t,
				   char **msg)
{
	for (unsigned i = 0; i < t->nrefs; i++) {
		struct troupe__argslot *s = &t->slots[i];
		struct troupe__obj *o = s->o;
		if (troupe__obj_state(o) == TROUPE__ERROR) {
			char buf[64];
			*msg = troupe__format(
				"task '%s' did not run: its argument %u "
				"failed: %s",
				body_name(rt, t, buf, sizeof buf), s->index,
				(const char *)o->data);
			return o->err;
		}
		t->args[s->index] = (troupe_value){o->data, o->size};
	}
	return TROUPE_OK;
}

/* A task with ref arguments, all resolved: reads their values into its
 * args, or fails it without running when one failed (false). */
static __attribute__((noinline)) bool args_ready(troupe *rt,
						 struct troupe__task *t)
{
	char *msg = NULL;
	troupe_err err = troupe__task_check_args(rt, t, &msg);
	if (err == TROUPE_OK)
		return true;
	troupe__task_fail(rt, t, err, msg ? msg : "(no memory)");
	troupe__free(msg);
	/* Never queued: nobody else can claim it. */
	troupe__task_free(rt, t);
	return false;
}

/* All of t's arguments have resolved: queue it, or fail it without running
 * when an argument failed.  An actor's call goes back to its actor. */
static void ready(troupe *rt, struct troupe__task *t)
{
	if (t->self != NULL) {
		troupe__actor_call_ready(rt, t);
		return;
	}
	/* Only a ref argument can have failed (out of line: a task without
	 * one needs no stack frame here). */
	if (t->nrefs > 0 && !args_ready(rt, t))
		return;
	/* Release: a getter that finds the task here sees it whole. */
	atomic_store_explicit(&t->rets[0]->task, t, memory_order_release);
	troupe__sched_push(rt, &t->job);
}

void troupe__task_dep_done(troupe *rt, struct troupe__task *t)
{
	/* Acq_rel: the last one sees every argument's resolution. */
	if (atomic_fetch_sub_explicit(&t->deps, 1, memory_order_acq_rel) == 1)
		ready(rt, t);
}

static void arg_ready(troupe *rt, struct troupe__waiter *w,
		      struct troupe__obj *o)
{
	(void)o;
	struct troupe__argslot *s =
		caa_container_of(w, struct troupe__argslot, w);
	troupe__task_dep_done(rt, s->t);
}

void troupe__task_hook_deps(troupe *rt, struct troupe__task *t)
{
	atomic_init(&t->deps, t->nrefs + 1);
	for (unsigned i = 0; i < t->nrefs; i++)
		if (!troupe__waiter_add(rt, t->slots[i].o, &t->slots[i].w))
			troupe__task_dep_done(rt, t);
}

/* ------------------------------------------------------------ submit */

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/* Undoes a build that was never hooked: its objects are dropped. */
static void unbuild(troupe *rt, struct troupe__task *t)
{
	for (unsigned i = 0; i < t->nret; i++)
		if (t->rets[i] != NULL)
			/* Never handed out: drop the caller's ref too. */
			troupe__obj_release_user(rt, t->rets[i]);
	/* task_free drops the producer's refs (rets may hold NULLs where
	 * making an object failed). */
	troupe__task_free(rt, t);
}

/* build's arguments past i64 and f64: copies bytes, and finds and holds
 * ref and actor arguments (the lookups in one read-side section).  *pp is
 * where the bytes go, and is moved past them.  Out of line, so that a
 * task of plain numbers carries none of it. */
static __attribute__((noinline)) troupe_err
copy_args(troupe *rt, struct troupe__task *t, const troupe_arg *args,
	  size_t nargs, struct troupe__obj **actors, char **pp)
{
	troupe_err err = TROUPE_OK;
	char *p = *pp;
	/* The section covers the lookups; calls with no handle to look up skip
	 * it (a fire-and-forget actor call with bytes only, say). */
	bool held = false;
	for (size_t i = 0; i < nargs && !held; i++)
		held = args[i].kind == TROUPE_ARG_REF ||
		       args[i].kind == TROUPE_ARG_ACTOR;
	if (held)
		troupe__rcu_lock();
	troupe_value *vals = t->args;
	for (size_t i = 0; i < nargs && err == TROUPE_OK; i++) {
		const troupe_arg *a = &args[i];
		const void *src;
		size_t n = 8;
		struct troupe__obj *o;
		switch (a->kind) {
		case TROUPE_ARG_I64:
			src = &a->i64;
			break;
		case TROUPE_ARG_F64:
			src = &a->f64;
			break;
		case TROUPE_ARG_REF:
			err = troupe__obj_lookup(rt, a->ref, &o);
			if (err == TROUPE_OK)
				err = troupe__obj_ref_id(o, a->ref.id);
			if (err != TROUPE_OK)
				continue;
			struct troupe__argslot *s = &t->slots[t->nrefs++];
			s->t = t;
			s->o = o;
			s->index = (unsigned)i;
			s->w.wake = arg_ready;
			continue;
		case TROUPE_ARG_ACTOR:
			err = troupe__actor_lookup_obj(rt, a->actor, &o);
			if (err == TROUPE_OK)
				err = troupe__obj_retain_user(o);
			if (err != TROUPE_OK)
				continue;
			actors[t->nactors++] = o;
			src = &a->actor.id;
			break;
		default: /* bytes, checked by build */
			src = a->data, n = a->size;
			break;
		}
		if (n == 8)
			memcpy(p, src, 8); /* a move, not a call */
		else if (n > 0)
			memcpy(p, src, n);
		vals[i] = (troupe_value){p, n};
		p += align8(n);
	}
	if (held)
		troupe__rcu_unlock();
	*pp = p;
	return err;
}

/* troupe__task_build, inlined into troupe_submit too: one frame a task
 * instead of two. */
static inline __attribute__((always_inline)) troupe_err
build(troupe *rt, const troupe_arg *args, size_t nargs, unsigned nret,
      const char *name, struct troupe__task **out)
{
	if ((nargs > 0 && args == NULL) || nargs > UINT32_MAX ||
	    nret > 1u << 20)
		return TROUPE_EINVAL;
	/* The usual kinds first.  Only bytes can make the total overflow:
	 * the rest add at most 8 a time, for at most 2^32 arguments. */
	size_t nrefs = 0, nactors = 0, bytes = 0, n8 = 0;
	for (size_t i = 0; i < nargs; i++) {
		enum troupe_arg_kind k = args[i].kind;
		if (k == TROUPE_ARG_I64 || k == TROUPE_ARG_F64) {
			bytes += 8, n8++;
		} else if (k == TROUPE_ARG_REF) {
			nrefs++;
		} else if (k == TROUPE_ARG_ACTOR) {
			nactors++, bytes += 8;
		} else if (k == TROUPE_ARG_BYTES &&
			   (args[i].data != NULL || args[i].size == 0) &&
			   args[i].size <= PTRDIFF_MAX / 2) {
			bytes += align8(args[i].size);
			if (bytes > PTRDIFF_MAX / 2)
				return TROUPE_EINVAL; /* no block that large */
		} else {
			return TROUPE_EINVAL;
		}
	}
	if (troupe__stopping(rt))
		return TROUPE_ESHUTDOWN;
	troupe__thread_enter();

	size_t namelen = name != NULL ? strlen(name) + 1 : 0;
	size_t size = sizeof(struct troupe__task) +
		      nret * sizeof(struct troupe__obj *) +
		      nactors * sizeof(struct troupe__obj *) +
		      nargs * sizeof(troupe_value) +
		      nrefs * sizeof(struct troupe__argslot) + bytes +
		      align8(namelen);
	/* Whole cache lines: mimalloc aligns a small page's blocks to their
	 * size, so blocks of a multiple of 64 bytes start on a line.  A
	 * fire-and-forget call alone is 112 bytes, and at that size a caller
	 * writing one call shared a line with the worker reading the one
	 * before it. */
	size = (size + TROUPE__CACHELINE - 1) &
	       ~(size_t)(TROUPE__CACHELINE - 1);
	struct troupe__box *box;
	struct troupe__task *t = troupe__block_alloc(size, &box);
	if (t == NULL)
		return TROUPE_ENOMEM;
	t->box = box;
	char *p = (char *)(t + 1);
	t->rets = (struct troupe__obj **)p;
	p += nret * sizeof(struct troupe__obj *);
	/* The held actors (troupe__task_actors) follow rets[nret]: nret is
	 * set now, before rets are made, so that holds. */
	t->nret = nret;
	struct troupe__obj **actors = (struct troupe__obj **)p;
	p += nactors * sizeof(struct troupe__obj *);
	t->args = (troupe_value *)p;
	p += nargs * sizeof(troupe_value);
	t->slots = (struct troupe__argslot *)p;
	p += nrefs * sizeof(struct troupe__argslot);
	t->job.kind = TROUPE__JOB_TASK;
	t->fn = NULL;
	t->nargs = (unsigned)nargs;
	t->nrefs = 0;
	t->nactors = 0;
	atomic_init(&t->votes, 0);
	atomic_init(&t->deps, 1);
	t->self = NULL;
	t->caller = 0;
	t->next = NULL;
	t->retries = 0;
	t->guard_dropped = false;
	t->parked = false;
	t->counted = false;
	t->keep_args = false;

	/* Only i64 and f64 arguments (the usual case): 8 bytes each, nothing
	 * to look up or hold. */
	troupe_err err = TROUPE_OK;
	if (n8 == nargs) {
		troupe_value *vals = t->args;
		for (size_t i = 0; i < nargs; i++) {
			const troupe_arg *a = &args[i];
			memcpy(p,
			       a->kind == TROUPE_ARG_I64 ?
				       (const void *)&a->i64 :
				       (const void *)&a->f64,
			       8);
			vals[i] = (troupe_value){p, 8};
			p += 8;
		}
	} else {
		err = copy_args(rt, t, args, nargs, actors, &p);
	}
	if (name != NULL) {
		memcpy(p, name, namelen);
		t->name = p;
	} else {
		t->name = NULL;
	}

	unsigned made = 0;
	if (err == TROUPE_OK)
		for (; made < nret; made++) {
			/* One ref for the caller, one for the producer; a body's
			 * one result gets one more, for the thread to keep for
			 * the get or release that likely follows. */
			t->rets[made] = nret == 1 ? troupe__obj_new_kept(rt) :
						    troupe__obj_new(rt, 1);
			if (t->rets[made] == NULL) {
				err = TROUPE_ENOMEM;
				break;
			}
		}
	if (err == TROUPE_OK && nret > 0) {
		/* Shutdown has begun: back out, so nothing is left pending.
		 * (The contract keeps application threads' calls from
		 * overlapping shutdown; bodies, and outside threads running
		 * one in their get, are waited for before shutdown's last
		 * sweep of the table, which resolves what they made.  With no
		 * object made there is nothing to leave pending.) */
		if (atomic_load_explicit(&rt->stopping, memory_order_acquire))
			err = TROUPE_ESHUTDOWN;
	}
	if (err != TROUPE_OK) {
		for (unsigned i = made; i < nret; i++)
			t->rets[i] = NULL; /* not made */
		unbuild(rt, t);
		return err;
	}
	*out = t;
	return TROUPE_OK;
}

troupe_err troupe__task_build(troupe *rt, const troupe_arg *args, size_t nargs,
			      unsigned nret, const char *name,
			      struct troupe__task **out)
{
	return build(rt, args, nargs, nret, name, out);
}

/* Inlined into troupe_submit: a call less on every task. */
static inline __attribute__((always_inline)) troupe_err
submit(troupe *rt, troupe_fn fn, const char *name, const troupe_arg *args,
       size_t nargs, const troupe_task_opts *opts, troupe_ref *refs)
{
	if (rt == NULL || fn == NULL || refs == NULL)
		return TROUPE_EINVAL;
	unsigned nret = opts != NULL && opts->num_returns > 0
				? opts->num_returns
				: 1;
	if (name == NULL && opts != NULL)
		name = opts->name;
	struct troupe__task *t;
	troupe_err err = build(rt, args, nargs, nret, name, &t);
	if (err != TROUPE_OK)
		return err;
	t->fn = fn;
	for (unsigned i = 0; i < nret; i++)
		refs[i] = (troupe_ref){t->rets[i]->id};
	if (t->nrefs == 0) {
		/* Nothing to wait for, and no waiter counts the guard: it
		 * goes without the atomic. */
		ready(rt, t);
		return TROUPE_OK;
	}
	troupe__task_hook_deps(rt, t);
	troupe__task_dep_done(rt, t); /* the guard */
	return TROUPE_OK;
}

troupe_err troupe_submit(troupe *rt, troupe_fn fn, const troupe_arg *args,
			 size_t nargs, const troupe_task_opts *opts,
			 troupe_ref *refs)
{
	return submit(rt, fn, NULL, args, nargs, opts, refs);
}

/* ---------------------------------------------------------- registry */

static unsigned name_hash(const char *s)
{
	unsigned h = 2166136261u; /* FNV-1a */
	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h % TROUPE__FN_BUCKETS;
}

static struct troupe__fn_entry *find_fn(troupe *rt, const char *name)
{
	for (struct troupe__fn_entry *e = rt->fns[name_hash(name)]; e != NULL;
	     e = e->next)
		if (strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

troupe_err troupe_register(troupe *rt, const char *name, troupe_fn fn)
{
	if (rt == NULL || name == NULL || *name == '\0' || fn == NULL)
		return TROUPE_EINVAL;
	if (troupe__stopping(rt))
		return TROUPE_ESHUTDOWN;
	size_t len = strlen(name) + 1;
	struct troupe__fn_entry *e = troupe__malloc(sizeof *e + len);
	if (e == NULL)
		return TROUPE_ENOMEM;
	e->fn = fn;
	memcpy(e->name, name, len);
	pthread_rwlock_wrlock(&rt->fn_lock);
	if (find_fn(rt, name) != NULL) {
		pthread_rwlock_unlock(&rt->fn_lock);
		troupe__free(e);
		return TROUPE_EEXIST;
	}
	unsigned b = name_hash(name);
	e->next = rt->fns[b];
	rt->fns[b] = e;
	pthread_rwlock_unlock(&rt->fn_lock);
	return TROUPE_OK;
}

troupe_err troupe_submit_named(troupe *rt, const char *name,
			       const troupe_arg *args, size_t nargs,
			       const troupe_task_opts *opts, troupe_ref *refs)
{
	if (rt == NULL || name == NULL)
		return TROUPE_EINVAL;
	if (troupe__stopping(rt))
		return TROUPE_ESHUTDOWN;
	pthread_rwlock_rdlock(&rt->fn_lock);
	struct troupe__fn_entry *e = find_fn(rt, name);
	troupe_fn fn = e != NULL ? e->fn : NULL;
	pthread_rwlock_unlock(&rt->fn_lock);
	if (fn == NULL)
		return TROUPE_ENOTFOUND;
	/* Entries live until shutdown, so the name can be borrowed. */
	return submit(rt, fn, opts != NULL && opts->name ? opts->name : e->name,
		      args, nargs, opts, refs);
}

void troupe__fns_fini(troupe *rt)
{
	for (int b = 0; b < TROUPE__FN_BUCKETS; b++)
		while (rt->fns[b] != NULL) {
			struct troupe__fn_entry *e = rt->fns[b];
			rt->fns[b] = e->next;
			troupe__free(e);
		}
}

/* ------------------------------------------------- inside a body: ctx */

static troupe_err set_ret(troupe_ctx *ctx, unsigned index, const void *data,
			  size_t size, troupe_free_fn free_fn)
{
	if (ctx == NULL || index >= ctx->nslots || ctx->failed ||
	    ctx->ret[index].set || (data == NULL && size > 0) ||
	    size > PTRDIFF_MAX / 2)
		return TROUPE_EINVAL;
	struct ret_slot *r = &ctx->ret[index];
	if (free_fn != NULL) {
		r->data = data;
		r->free_fn = free_fn;
	} else if (size <= sizeof r->inl) {
		if (size > 0)
			memcpy(r->inl, data, size);
	} else {
		void *copy =
			troupe__value_copy(ctx->rt, data, size, &r->free_fn);
		if (copy == NULL)
			return TROUPE_ENOMEM;
		r->data = copy;
	}
	r->size = size;
	r->set = true;
	return TROUPE_OK;
}

troupe_err troupe_return(troupe_ctx *ctx, const void *data, size_t size)
{
	return set_ret(ctx, 0, data, size, NULL);
}

troupe_err troupe_return_at(troupe_ctx *ctx, unsigned index, const void *data,
			    size_t size)
{
	return set_ret(ctx, index, data, size, NULL);
}

troupe_err troupe_return_owned(troupe_ctx *ctx, unsigned index, void *data,
			       size_t size, troupe_free_fn free_fn)
{
	if (free_fn == NULL)
		return TROUPE_EINVAL;
	return set_ret(ctx, index, data, size, free_fn);
}

troupe_err troupe_return_i64(troupe_ctx *ctx, int64_t v)
{
	return set_ret(ctx, 0, &v, sizeof v, NULL);
}

troupe_err troupe_return_f64(troupe_ctx *ctx, double v)
{
	return set_ret(ctx, 0, &v, sizeof v, NULL);
}

troupe_err troupe_return_str(troupe_ctx *ctx, const char *s)
{
	if (s == NULL)
		return TROUPE_EINVAL;
	return set_ret(ctx, 0, s, strlen(s) + 1, NULL);
}

static troupe_err fail(troupe_ctx *ctx, bool fatal, const char *fmt,
		       va_list ap)
{
	if (ctx == NULL || fmt == NULL)
		return TROUPE_EINVAL;
	if (ctx->failed)
		return TROUPE_ETASK; /* the first message stands */
	ctx->msg = troupe__vformat(fmt, ap);
	ctx->failed = true;
	ctx->fatal = fatal;
	return TROUPE_ETASK;
}

troupe_err troupe_fail(troupe_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	troupe_err err = fail(ctx, false, fmt, ap);
	va_end(ap);
	return err;
}

troupe_err troupe_fail_fatal(troupe_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	troupe_err err = fail(ctx, true, fmt, ap);
	va_end(ap);
	return err;
}
