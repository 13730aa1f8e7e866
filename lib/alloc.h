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
#include <stdlib.h>
#include <string.h>

#ifdef TROUPE_LIBC_MALLOC
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
#endif

#endif
