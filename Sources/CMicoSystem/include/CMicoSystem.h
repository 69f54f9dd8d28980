#ifndef C_MICO_SYSTEM_H
#define C_MICO_SYSTEM_H

// Linux calls that Swift cannot import: variadic functions and declarations behind _GNU_SOURCE; and C
// thread-local storage, which Swift cannot declare. One shim, one C call or variable, no logic.

#include <malloc.h>
#include <sys/types.h>

// epoll and eventfd (used by MicoIO's IOLoop): Glibc's Swift module does not include these headers.
#include <sys/epoll.h>
#include <sys/eventfd.h>

/// prctl(PR_SET_DUMPABLE, value): 0 forbids core dumps and ptrace attach by other users.
int CMicoSystem_prctl_set_dumpable(int value);

/// prctl(PR_GET_DUMPABLE).
int CMicoSystem_prctl_get_dumpable(void);

/// accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC): one call instead of accept + two fcntl.
int CMicoSystem_accept_nonblocking(int fd);

/// getsockopt(fd, SOL_SOCKET, SO_PEERCRED, …): the uid and gid of a unix-domain peer.
int CMicoSystem_peer_credentials(int fd, uid_t *uid, gid_t *gid);

/// malloc_trim(0): gives free heap pages of every arena back to the system.
void CMicoSystem_return_freed_memory(void);

/// mallopt(param, value), for M_TRIM_THRESHOLD and M_MMAP_THRESHOLD (from <malloc.h>): 1 on success.
int CMicoSystem_mallopt(int param, int value);

/// CPU_COUNT of sched_getaffinity(0, …): the CPUs this process may run on; -1 on failure.
int CMicoSystem_affinity_cpu_count(void);

/// pthread_setname_np(pthread_self(), name): the calling thread's name as ps, top and /proc show it (at most 15
/// bytes; a longer name is refused with ERANGE).
int CMicoSystem_set_thread_name(const char *name);

/// The size of `CMicoSystem_thread_read_buffer()`.
#define CMICO_THREAD_READ_BUFFER_SIZE 8192

/// The calling thread's own buffer of CMICO_THREAD_READ_BUFFER_SIZE bytes, for a read whose bytes are copied out
/// before the thread does anything else.
unsigned char *CMicoSystem_thread_read_buffer(void);

#endif
