/*
 * The RCU flavor troupe uses (liburcu memb: readers pay a compiler barrier,
 * grace periods use the membarrier syscall), behind three names so the
 * choice lives in one place.
 *
 * ThreadSanitizer cannot see the ordering a grace period provides (it comes
 * from a system call), so under TSan each read-side unlock is published as
 * a release on a per-process sync object and each completed grace period
 * acquires it.  That is the grace period's real guarantee — everything a
 * reader did before its unlock happens before what the updater does after
 * synchronize — stated in the form TSan understands.
 */
#ifndef TROUPE_RCU_H
#define TROUPE_RCU_H

#include <urcu/urcu-memb.h>

#include "tsan.h"

#ifdef TROUPE__TSAN
extern char troupe__tsan_grace;
#endif

static inline void troupe__rcu_lock(void)
{
	urcu_memb_read_lock();
}

static inline void troupe__rcu_unlock(void)
{
#ifdef TROUPE__TSAN
	troupe__tsan_release(&troupe__tsan_grace);
#endif
	urcu_memb_read_unlock();
}

static inline void troupe__rcu_synchronize(void)
{
	urcu_memb_synchronize_rcu();
#ifdef TROUPE__TSAN
	troupe__tsan_acquire(&troupe__tsan_grace);
#endif
}

#endif
