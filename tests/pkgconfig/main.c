/* Built by tools/test against an installed troupe with nothing but the flags
 * from `pkg-config --cflags --libs troupe`: proves the header, the shared
 * library and the .pc file are enough to write a program. */
#include <troupe.h>

#include <stdio.h>

static int check(const char *what, troupe_err err)
{
	if (err != TROUPE_OK) {
		fprintf(stderr, "pkgconfig check: %s: %s\n", what,
			troupe_strerror(err));
		return 1;
	}
	return 0;
}

int main(void)
{
	troupe *rt;
	troupe_ref ref;
	int64_t v = 0;

	if (check("troupe_init", troupe_init(&rt, NULL)))
		return 1;
	if (check("troupe_put_i64", troupe_put_i64(rt, 42, &ref)) ||
	    check("troupe_get_i64", troupe_get_i64(rt, ref, -1, &v)) ||
	    check("troupe_release", troupe_release(rt, ref))) {
		troupe_shutdown(rt);
		return 1;
	}
	if (check("troupe_shutdown", troupe_shutdown(rt)))
		return 1;
	if (v != 42) {
		fprintf(stderr, "pkgconfig check: got %lld, want 42\n",
			(long long)v);
		return 1;
	}
	printf("pkgconfig check: put 42, got %lld\n", (long long)v);
	return 0;
}
