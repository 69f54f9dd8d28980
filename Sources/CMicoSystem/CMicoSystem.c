#define _GNU_SOURCE
#include "CMicoSystem.h"

#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/socket.h>

int CMicoSystem_prctl_set_dumpable(int value) {
    return prctl(PR_SET_DUMPABLE, value, 0, 0, 0);
}

int CMicoSystem_prctl_get_dumpable(void) {
    return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
}

int CMicoSystem_accept_nonblocking(int fd) {
    return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

int CMicoSystem_peer_credentials(int fd, uid_t *uid, gid_t *gid) {
    struct ucred credentials;
    socklen_t length = sizeof(credentials);
    int result = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length);
    if (result == 0) {
        *uid = credentials.uid;
        *gid = credentials.gid;
    }
    return result;
}

int CMicoSystem_affinity_cpu_count(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return -1;
    return CPU_COUNT(&set);
}

void CMicoSystem_return_freed_memory(void) {
    malloc_trim(0);
}

int CMicoSystem_mallopt(int param, int value) {
    return mallopt(param, value);
}

int CMicoSystem_set_thread_name(const char *name) {
    return pthread_setname_np(pthread_self(), name);
}

static __thread unsigned char thread_read_buffer[CMICO_THREAD_READ_BUFFER_SIZE];

unsigned char *CMicoSystem_thread_read_buffer(void) {
    return thread_read_buffer;
}
