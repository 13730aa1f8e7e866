/*
 * Happens-before annotations for ThreadSanitizer, for hand-offs it cannot
 * see: liburcu's queues and hash table publish with inline assembly and
 * volatile accesses, and RCU grace periods come from a system call.  Each
 * use names the real synchronization it stands for; outside TSan builds
 * these compile to nothing.
 */
#ifndef TROUPE_TSAN_H
#define TROUPE_TSAN_H

#if defined(__SANITIZE_THREAD__)
#define TROUPE__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TROUPE__TSAN 1
#endif
#endif

#ifdef TROUPE__TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define troupe__tsan_release(p) __tsan_release((void *)(p))
#define troupe__tsan_acquire(p) __tsan_acquire((void *)(p))
#else
#define troupe__tsan_release(p) ((void)0)
#define troupe__tsan_acquire(p) ((void)0)
#endif

#endif
