// arm64/doorbell-storm: 2,000,000 stores of a mapped event to GITS_TRANSLATER with IRQs
// masked (include/storm.h).
#define STORM_EVENT 0
#define BANNER "doorbell-storm: event 0 -> LPI 8192 on CPU 0, IRQs masked\n"
#include "storm.h"
