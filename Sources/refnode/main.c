#include <stdio.h>
#include "refnode.h"
int main(void) { printf("refnode %d\n", rn_version()); return 0; }
