/* The library's optional log callback (include/sfj/log.h). */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#include "common/logging.h"

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static sfj_log_cb g_cb;
static sfj_log_level g_max;
static void *g_payload;

void sfj_log_set(sfj_log_cb cb, sfj_log_level max_level, void *payload)
{
    pthread_mutex_lock(&g_lock);
    g_cb = cb;
    g_max = max_level;
    g_payload = payload;
    pthread_mutex_unlock(&g_lock);
}

void sfj__log(sfj_log_level level, const char *fmt, ...)
{
    char line[256];
    sfj_log_cb cb;
    void *payload;
    va_list ap;

    pthread_mutex_lock(&g_lock);
    cb = level <= g_max ? g_cb : NULL;
    payload = g_payload;
    pthread_mutex_unlock(&g_lock);
    if (cb == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    cb(level, line, payload);
}
