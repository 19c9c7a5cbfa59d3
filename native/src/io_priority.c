/* Demand-first scheduling between demand and background reads; see
 * io_priority.h. */
#include "io_priority.h"

#include <stdatomic.h>

static _Thread_local int background;
static atomic_uint demand_waiting;

void io_priority_set_background(int on) { background = on != 0; }

int io_priority_background(void) { return background; }

void io_priority_demand_wait_begin(void) {
  if (!background) atomic_fetch_add(&demand_waiting, 1);
}

void io_priority_demand_wait_end(void) {
  if (!background) atomic_fetch_sub(&demand_waiting, 1);
}

uint32_t io_priority_demand_waiting(void) { return atomic_load(&demand_waiting); }
