/*
 * Actors: state plus a mailbox, run on the shared pool (see actor.md).
 *
 * An actor lives in the object table as an object of kind ACTOR, so its
 * handle is an id like a ref: lookups take no lock, a stale handle fails
 * cleanly, and its memory goes through the same RCU reclamation.  Its user
 * refs are handles; its runtime refs are the calls queued on it and the turn
 * (scheduled or running) that drains them.  When both reach zero it is
 * destroyed: destructor, registry entry, memory.
 *
 * A call is a task (task.h) whose `self` is the actor.  It is pushed onto
 * the actor's MPSC mailbox at once, so one caller's calls enter in the order
 * they were made.  The push that finds the actor idle schedules a turn: a
 * job that runs up to a batch of calls and then requeues itself at the back
 * of the pool if more wait.
 */
#ifndef TROUPE_ACTOR_H
#define TROUPE_ACTOR_H

#include "internal.h"

struct troupe__actor;
struct troupe__task;

/* The name of a's class (for messages); never NULL. */
const char *troupe__actor_class_name(const struct troupe__actor *a);

/* Inside an RCU read-side section: the actor object a names (EINVAL for id
 * 0, EFOREIGN, ESTALE — also for a released handle or a non-actor id). */
troupe_err troupe__actor_lookup_obj(troupe *rt, troupe_actor a,
				    struct troupe__obj **o);

/* A parked call's arguments have all resolved: back into its mailbox. */
void troupe__actor_call_ready(troupe *rt, struct troupe__task *t);

/* Pool jobs (sched.c): an actor's turn; its destruction. */
void troupe__actor_turn(troupe *rt, struct troupe__job *j);
void troupe__actor_finish(troupe *rt, struct troupe__job *j);

/* The last ref of actor object o is gone (objtab.c). */
void troupe__actor_destroy(troupe *rt, struct troupe__obj *o);

troupe_err troupe__actors_init(troupe *rt);
/* Shutdown, once no worker runs: frees every actor's calls, runs
 * destructors not yet run. */
void troupe__actors_shutdown(troupe *rt);
void troupe__actors_fini(troupe *rt);

#endif
