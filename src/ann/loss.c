/* Softmax cross-entropy: the loss of every classifier here. */
#include <math.h>

#include "spikebridge/ann.h"

/* Labels must be < classes, batch >= 1 and classes >= 1: otherwise this
 * returns -1.0 (never a valid loss) and writes nothing to probs or dlogits,
 * so that a bad label file shows up as an impossible loss instead of a read
 * past the row. The row's log-sum-exp is taken in double after subtracting
 * its maximum: logits of 1000 neither overflow nor lose the small terms. */
double ann_softmax_xent(const float *logits, const uint8_t *labels, int batch, int classes,
                        float *probs, float *dlogits)
{
    if (batch < 1 || classes < 1)
        return -1.0;
    for (int b = 0; b < batch; b++)
        if (labels[b] >= classes)
            return -1.0;

    double total = 0;
    const double inv_batch = 1.0 / batch;
    for (int b = 0; b < batch; b++) {
        const float *z = logits + (size_t)b * classes;
        float zmax = z[0];
        for (int k = 1; k < classes; k++)
            zmax = z[k] > zmax ? z[k] : zmax;
        double sum = exp((double)z[0] - zmax);
        for (int k = 1; k < classes; k++)
            sum += exp((double)z[k] - zmax);
        const double log_sum = log(sum);
        total += log_sum - ((double)z[labels[b]] - zmax);
        for (int k = 0; k < classes; k++) {
            double p = exp((double)z[k] - zmax - log_sum);
            if (probs)
                probs[(size_t)b * classes + k] = (float)p;
            if (dlogits)
                dlogits[(size_t)b * classes + k] = (float)((p - (k == labels[b])) * inv_batch);
        }
    }
    return total * inv_batch;
}
