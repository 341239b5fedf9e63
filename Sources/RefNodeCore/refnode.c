#include "refnode.h"
int rn_version(void) { return 1; }
