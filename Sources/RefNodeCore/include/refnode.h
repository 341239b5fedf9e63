/* refnode: an independent sample implementation of the Vigil protocols, in C. Placeholder. */
#ifndef REFNODE_H
#define REFNODE_H
int rn_version(void);
#endif
