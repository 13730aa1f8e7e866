/* The library's thread-local storage class. */
#ifndef TROUPE_TLS_H
#define TROUPE_TLS_H

/* Thread-locals of the library.  The initial-exec model reads them with
 * one instruction instead of a call to __tls_get_addr per access (seen at
 * 7% of an actor-call profile); it needs the library loaded at start-up or
 * with some static TLS to spare when dlopen'ed — glibc keeps a surplus for
 * exactly such small variables. */
#if defined(__GNUC__)
#define TROUPE__TLS _Thread_local __attribute__((tls_model("initial-exec")))
#else
#define TROUPE__TLS _Thread_local
#endif

#endif
