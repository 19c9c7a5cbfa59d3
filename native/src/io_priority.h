/* Demand reads before background reads.
 *
 * A *demand* read is one a container is waiting for (a FUSE request, a
 * conversion). A *background* read is one nobody waits for: trace replay
 * and list prefetch (spec §8.4, §8.5). Both go through the same blob cache
 * and fetch bridge, so without a rule a replay of thousands of records
 * would queue in front of the read that blocks the container.
 *
 * The rule has two parts:
 *  - a thread that issues background reads marks itself with
 *    io_priority_set_background(1); the fetch bridge keeps some of its
 *    request slots for the other threads (fetch.c), so demand fetches never
 *    wait for a slot that prefetch holds;
 *  - while any demand read waits for a fetch (io_priority_demand_wait_begin
 *    .. _end, called by the cache around the wait), background readers
 *    hold back before their next read (io_priority_demand_waiting; the
 *    prefetcher decides how much, prefetch.h).
 *
 * Counting costs one atomic add on a cache miss and nothing on a hit.
 * Thread-safety: every function may be called from any thread; the
 * background mark is per thread. */
#ifndef OBD_IO_PRIORITY_H
#define OBD_IO_PRIORITY_H

#include <stdint.h>

/* Marks (1) or unmarks (0) the calling thread as a background reader. */
void io_priority_set_background(int on);

/* 1 when the calling thread is marked background. */
int io_priority_background(void);

/* Bracket a demand read's wait for a fetch; no-ops on background threads. */
void io_priority_demand_wait_begin(void);
void io_priority_demand_wait_end(void);

/* Demand reads waiting for a fetch now, process-wide. */
uint32_t io_priority_demand_waiting(void);

#endif
