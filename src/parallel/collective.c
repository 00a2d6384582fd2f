/* Agreement on failure over any collective (mrnet/parallel.h). */
#include "mrnet/parallel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/error.h"

#define AGREE_MESSAGE 1024

mrnet_status mrnet_collective_agree(const mrnet_collective *c, mrnet_status st)
{
    if (!c || c->size <= 1)
        return st;
    /* slot r: rank r's status (0 when it succeeded) */
    double *status = calloc((size_t)c->size, sizeof *status);
    if (!status) { /* cannot agree without memory: end the job rather than hang it */
        fprintf(stderr, "mrnet: rank %d: out of memory agreeing on an error\n", c->rank);
        mrnet_mpi_abort(1);
        return MRNET_ERR_NOMEM;
    }
    status[c->rank] = (double)st;
    c->sum_double(c->ctx, status, (size_t)c->size);
    int failed = -1;
    for (int r = 0; r < c->size && failed < 0; r++)
        if (status[r] != 0)
            failed = r;
    mrnet_status agreed = failed < 0 ? MRNET_OK : (mrnet_status)status[failed];
    free(status);
    if (failed < 0)
        return MRNET_OK;
    char message[AGREE_MESSAGE];
    snprintf(message, sizeof message, "%s", c->rank == failed ? mrnet_last_error() : "");
    c->broadcast(c->ctx, message, sizeof message, failed);
    message[sizeof message - 1] = '\0';
    return mrnet_fail(agreed, "rank %d: %s", failed, message);
}
