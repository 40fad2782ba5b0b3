#include <stddef.h>

/* greyd allocates through jemalloc (linking it replaces malloc and free for the whole
 * process: Swift's runtime, NIO, RocksDB). Only its control call is declared here:
 * <jemalloc/jemalloc.h> declares malloc and the rest again, beside Glibc's. */
int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
