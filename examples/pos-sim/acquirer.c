/* The simulated acquirer: the app's own host protocol, not sfj's. It
 * approves everything but amounts ending in 99 (insufficient funds). */
#include <stdio.h>
#include <string.h>

#include "sim.h"

static int up = 1;

int acq_is_up(void)
{
    return up;
}

void acq_set_up(int value)
{
    up = value;
}

void acq_authorize(const char *txn_id, int64_t amount, acq_answer *out)
{
    unsigned h = 5381;
    const char *p;

    memset(out, 0, sizeof *out);
    if (amount % 100 == 99) {
        strcpy(out->response, "51");
        return;
    }
    for (p = txn_id; *p; p++)
        h = h * 33 + (unsigned char)*p;
    out->approved = 1;
    snprintf(out->auth_code, sizeof out->auth_code, "%06u", h % 1000000u);
    strcpy(out->response, "00");
}
