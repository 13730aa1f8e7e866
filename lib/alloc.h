/*
 * The allocator troupe's descriptors and values come from: mimalloc, except
 * in sanitizer builds.  ASan and TSan see only the allocator they
 * intercept (libc's); memory from an uninstrumented mimalloc would hide
 * leaks and overflows from ASan and show TSan false races wherever a block
 * freed on one thread is reused on another.  meson.build defines
 * TROUPE_LIBC_MALLOC when a sanitizer is on.
 */
#ifndef TROUPE_ALLOC_H
#define TROUPE_ALLOC_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#ifdef TROUPE_LIBC_MALLOC
#include <malloc.h>
static inline void *troupe__malloc(size_t n) { return malloc(n); }
static inline void *troupe__calloc(size_t k, size_t n) { return calloc(k, n); }
static inline void *troupe__realloc(void *p, size_t n) { return realloc(p, n); }
static inline void troupe__free(void *p) { free(p); }
static inline void *troupe__zalloc_aligned(size_t n, size_t align)
{
	void *p = NULL;
	if (posix_memalign(&p, align, n) != 0)
		return NULL;
	return memset(p, 0, n);
}
static inline size_t troupe__usable_size(void *p)
{
	return malloc_usable_size(p);
}
#else
#include <mimalloc.h>
static inline void *troupe__malloc(size_t n) { return mi_malloc(n); }
static inline void *troupe__calloc(size_t k, size_t n) { return mi_calloc(k, n); }
static inline void *troupe__realloc(void *p, size_t n) { return mi_realloc(p, n); }
static inline void troupe__free(void *p) { mi_free(p); }
static inline void *troupe__zalloc_aligned(size_t n, size_t align)
{
	return mi_zalloc_aligned(n, align);
}
static inline size_t troupe__usable_size(void *p)
{
	return mi_usable_size(p);
}
#endif

/* A block for a large value about to be filled by a copy.  Fresh memory
 * costs a page fault per 4 KiB touched, which dominates the copy itself;
 * asking for transparent huge pages over the block's 2 MiB-aligned middle
 * takes one fault per 2 MiB instead (measured: a 100 MiB troupe_put went
 * from ~1.6 to ~4.9 GB/s, bench/README.md).  Only a hint: where THP is off
 * or memory is fragmented the kernel falls back to small pages.  Better
 * still is no fresh block: value.c keeps released ones for reuse. */
#define TROUPE__LARGE_VALUE ((size_t)8 << 20)
#define TROUPE__HUGE_PAGE ((uintptr_t)2 << 20)

/* Advice (madvise) for the whole 2 MiB pages inside [p, p + n): the head
 * and tail of the block share their pages with other blocks. */
static inline void troupe__advise_middle(void *p, size_t n, int advice)
{
	uintptr_t lo = ((uintptr_t)p + TROUPE__HUGE_PAGE - 1) &
		       ~(TROUPE__HUGE_PAGE - 1);
	uintptr_t hi = ((uintptr_t)p + n) & ~(TROUPE__HUGE_PAGE - 1);
	if (hi > lo)
		(void)madvise((void *)lo, hi - lo, advice);
}

static inline void *troupe__malloc_large(size_t n)
{
	void *p = troupe__malloc(n);
#ifdef MADV_HUGEPAGE
	if (p != NULL && n >= TROUPE__LARGE_VALUE)
		troupe__advise_middle(p, n, MADV_HUGEPAGE);
#endif
	return p;
}

#endif
