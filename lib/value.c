/* Putting values into the object table, reading typed values, and the
 * caller's side of reference counting. */
#include "internal.h"

#include <stddef.h>
#include <stdint.h>

#include "alloc.h"

#include "rcu.h"

static troupe_err put(troupe *rt, const void *data, size_t size,
		      troupe_free_fn free_fn, troupe_ref *ref)
{
	/* No object can be larger than half the address space: such a size is
	 * a caller's bug (a negative length cast to size_t, say). */
	if (rt == NULL || ref == NULL || (data == NULL && size > 0) ||
	    size > PTRDIFF_MAX / 2)
		return TROUPE_EINVAL;
	if (troupe__stopping(rt))
		return TROUPE_ESHUTDOWN;
	troupe__thread_enter();
	struct troupe__obj *o = troupe__obj_new(rt, 0);
	if (o == NULL)
		return TROUPE_ENOMEM;
	/* A fresh object: this resolution cannot lose. */
	troupe__obj_resolve_value(rt, o, data, size, free_fn);
	if (troupe__obj_state(o) != TROUPE__READY) {
		troupe__obj_release_user(rt, o); /* the copy ran out of memory */
		return TROUPE_ENOMEM;
	}
	*ref = (troupe_ref){o->id};
	return TROUPE_OK;
}

troupe_err troupe_put(troupe *rt, const void *data, size_t size,
		      troupe_ref *ref)
{
	return put(rt, data, size, NULL, ref);
}

static void keep(void *data)
{
	(void)data;
}

troupe_err troupe_put_owned(troupe *rt, void *data, size_t size,
			    troupe_free_fn free_fn, troupe_ref *ref)
{
	/* No free function: the caller keeps the buffer alive (static
	 * storage, say); it is still not copied. */
	return put(rt, data, size, free_fn != NULL ? free_fn : keep, ref);
}

troupe_err troupe_put_i64(troupe *rt, int64_t v, troupe_ref *ref)
{
	return put(rt, &v, sizeof v, NULL, ref);
}

troupe_err troupe_put_f64(troupe *rt, double v, troupe_ref *ref)
{
	return put(rt, &v, sizeof v, NULL, ref);
}

troupe_err troupe_put_str(troupe *rt, const char *s, troupe_ref *ref)
{
	if (s == NULL)
		return TROUPE_EINVAL;
	return put(rt, s, strlen(s) + 1, NULL, ref);
}

troupe_err troupe_value_i64(const troupe_value *v, int64_t *out)
{
	if (v == NULL || out == NULL)
		return TROUPE_EINVAL;
	return troupe__value_8(v, out);
}

troupe_err troupe_value_f64(const troupe_value *v, double *out)
{
	if (v == NULL || out == NULL)
		return TROUPE_EINVAL;
	return troupe__value_8(v, out);
}

troupe_err troupe_value_str(const troupe_value *v, const char **out)
{
	if (v == NULL || out == NULL)
		return TROUPE_EINVAL;
	if (v->size == 0 || v->data == NULL ||
	    memchr(v->data, '\0', v->size) != (const char *)v->data + v->size - 1)
		return TROUPE_ETYPE;
	*out = v->data;
	return TROUPE_OK;
}

troupe_err troupe_retain(troupe *rt, troupe_ref ref)
{
	return troupe__handle_retain(rt, ref.id, TROUPE__OBJ_VALUE);
}

troupe_err troupe_release(troupe *rt, troupe_ref ref)
{
	return troupe__handle_release(rt, ref.id, TROUPE__OBJ_VALUE);
}

/* ------------------------------------------------------- large blocks */

/* A large value's block is kept when the value goes, for the next large
 * value: a fresh block costs a page clear in the kernel for every page the
 * copy touches first, about half of a 100 MiB put (perf: clear_page_erms
 * 49% of the samples, the copy 35%), while a kept one costs the copy
 * alone.  A kept block's pages are marked MADV_FREE: under memory pressure
 * the kernel takes them back (a later write then faults in a zeroed page),
 * and until then they are reused as they are.  At most TROUPE__BIG_SLOTS
 * blocks and BIG_MAX bytes are kept, the oldest going first; shutdown
 * frees them.  A lock: each use is one copy of 8 MiB or more. */
#define BIG_MAX ((size_t)256 << 20)

void troupe__big_init(troupe *rt)
{
	pthread_mutex_init(&rt->big.lock, NULL);
	rt->big.n = 0;
}

/* A kept block serves a value of at least two thirds of its size, so a
 * small value does not pin a much larger block. */
static bool big_fits(size_t cap, size_t size)
{
	return size <= cap && cap - size <= size / 2;
}

/* Takes kept block i out of c (under its lock). */
static void *big_take(struct troupe__big_cache *c, unsigned i)
{
	void *p = c->slot[i].p;
	memmove(&c->slot[i], &c->slot[i + 1],
		(c->n - i - 1) * sizeof c->slot[0]);
	c->n--;
	return p;
}

static void *big_alloc(troupe *rt, size_t size)
{
	struct troupe__big_cache *c = &rt->big;
	void *p = NULL;
	pthread_mutex_lock(&c->lock);
	unsigned best = c->n;
	for (unsigned i = 0; i < c->n; i++)
		if (big_fits(c->slot[i].cap, size) &&
		    (best == c->n || c->slot[i].cap < c->slot[best].cap))
			best = i;
	if (best < c->n)
		p = big_take(c, best);
	pthread_mutex_unlock(&c->lock);
	return p != NULL ? p : troupe__malloc_large(size);
}

void *troupe__value_copy(troupe *rt, const void *data, size_t size,
			 troupe_free_fn *free_fn)
{
	bool big = size >= TROUPE__LARGE_VALUE;
	void *p = big ? big_alloc(rt, size) : troupe__malloc(size);
	if (p == NULL)
		return NULL;
	*free_fn = big ? troupe__big_drop : troupe__free;
	return memcpy(p, data, size);
}

void troupe__big_drop(void *p)
{
	troupe__free(p);
}

void troupe__big_keep(troupe *rt, void *p)
{
	struct troupe__big_cache *c = &rt->big;
	size_t cap = troupe__usable_size(p);
	if (cap > BIG_MAX) {
		troupe__free(p);
		return;
	}
#ifdef MADV_FREE
	troupe__advise_middle(p, cap, MADV_FREE);
#endif
	void *out[TROUPE__BIG_SLOTS];
	unsigned nout = 0;
	pthread_mutex_lock(&c->lock);
	size_t bytes = cap;
	for (unsigned i = 0; i < c->n; i++)
		bytes += c->slot[i].cap;
	/* Room for p: the oldest go (bytes stays <= BIG_MAX once c is
	 * empty, as cap is). */
	while (c->n == TROUPE__BIG_SLOTS || bytes > BIG_MAX) {
		bytes -= c->slot[0].cap;
		out[nout++] = big_take(c, 0);
	}
	c->slot[c->n].p = p;
	c->slot[c->n].cap = cap;
	c->n++;
	pthread_mutex_unlock(&c->lock);
	for (unsigned i = 0; i < nout; i++)
		troupe__free(out[i]);
}

void troupe__big_fini(troupe *rt)
{
	struct troupe__big_cache *c = &rt->big;
	while (c->n > 0)
		troupe__free(big_take(c, 0));
	pthread_mutex_destroy(&c->lock);
}
