#ifndef CSPOOLSANDBOX_H
#define CSPOOLSANDBOX_H

/// Always 1: referenced by the spool executable so that the linker keeps the sandbox's entry point (a constructor that
/// handles `spool __sandbox …` before the Swift runtime starts).
int spool_sandbox_linked(void);

#endif
