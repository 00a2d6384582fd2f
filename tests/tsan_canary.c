/* A planted data race: scripts/test-tsan.sh runs this first and requires
 * ThreadSanitizer to report it, so a TSan job that sees nothing (a missing
 * Archer tool, a wrong option) fails instead of passing. */
#include <stdio.h>

int main(void)
{
    long sum = 0;
#pragma omp parallel for num_threads(2)
    for (int i = 0; i < 100000; i++)
        sum += i; /* unsynchronised read-modify-write from two threads */
    printf("%ld\n", sum);
    return 0;
}
