/* Code run on a stack of the test's own; see stackscan.h. */
#include "support/stackscan.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>

typedef struct call {
    void *(*fn)(void *);
    void *arg;
    int signal;
} call;

static void no_op(int sig)
{
    (void)sig;
}

static void *call_then_signal(void *arg)
{
    call *c = arg;

    c->fn(c->arg);
    if (c->signal)
        raise(SIGUSR1);
    return NULL;
}

static int run(void *stack, size_t len, void *(*fn)(void *), void *arg)
{
    pthread_attr_t attr;
    pthread_t t;
    int rc = -1;

    if (pthread_attr_init(&attr) != 0)
        return -1;
    if ((stack == NULL || pthread_attr_setstack(&attr, stack, len) == 0) &&
        pthread_create(&t, &attr, fn, arg) == 0 && pthread_join(t, NULL) == 0)
        rc = 0;
    pthread_attr_destroy(&attr);
    return rc;
}

int sfj_test_on_thread(void *(*fn)(void *), void *arg)
{
    return run(NULL, 0, fn, arg);
}

int sfj_test_on_stack(uint8_t *stack, size_t len, void *(*fn)(void *),
                      void *arg, int signal)
{
    struct sigaction sa, old;
    call c = {fn, arg, signal};
    int rc;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = no_op;
    if (sigaction(SIGUSR1, &sa, &old) != 0)
        return -1;
    memset(stack, 0, len);
    rc = run(stack, len, call_then_signal, &c);
    sigaction(SIGUSR1, &old, NULL);
    return rc;
}

size_t sfj_test_windows(const uint8_t *stack, size_t len, const uint8_t *secret,
                        size_t n)
{
    static const uint8_t zero[8];
    size_t k, i, found = 0;

    for (k = 0; k + 8 <= n; k++) {
        if (memcmp(secret + k, zero, 8) == 0)
            continue; /* a zeroed stack holds it anyway */
        for (i = 0; i + 8 <= len; i++) {
            if (stack[i] == secret[k] &&
                memcmp(stack + i, secret + k, 8) == 0) {
                found++;
                break;
            }
        }
    }
    return found;
}
