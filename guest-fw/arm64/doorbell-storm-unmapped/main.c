// arm64/doorbell-storm-unmapped: 2,000,000 stores of an unmapped event (EventID 1, beyond
// nothing mapped) to GITS_TRANSLATER: the ITS drops every one (include/storm.h).
#define STORM_EVENT 1
#define BANNER "doorbell-storm-unmapped: event 1 unmapped, every write dropped\n"
#include "storm.h"
