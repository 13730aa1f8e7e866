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
