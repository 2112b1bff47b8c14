/* Accelerator choice: does KVM really run guests here, or fall back to TCG. */
#pragma once

#include "profile.h"

typedef struct {
    gboolean dev_exists; /* /dev/kvm */
    gboolean dev_opens;  /* opens read-write */
    int api_version;     /* KVM_GET_API_VERSION, 12 when sane */
    gboolean create_vm;  /* KVM_CREATE_VM succeeded */
    gboolean hw_flag;    /* vmx or svm in /proc/cpuinfo */
    gboolean pvm;        /* /dev/kvm comes from kvm_pvm (software) */
    int probe;           /* 1 passed, 0 failed, -1 not run */
    char *detail;        /* why the last check failed, or what passed */
} KvmFacts;

void kvm_facts_clear(KvmFacts *f);
/* Reads /dev/kvm, /proc/cpuinfo and /sys/module; runs nothing. */
void accel_gather(KvmFacts *f);
/* Boots the embedded guest under -accel kvm until its init prints its
 * marker on the serial line, within timeout_ms. The answer is cached per
 * host boot in cache_file (skipped when NULL). With timeout_ms 0 only the
 * cached answer is used; nothing is run. */
void accel_probe(KvmFacts *f, const char *qemu, const char *guest_dir, const char *cache_file,
                 gint64 timeout_ms);
/* Pure: the accelerator to use ("kvm"/"tcg", transfer full) and why.
 * FALSE with *reason set when accel=kvm is asked for but does not work and
 * force is not set. */
gboolean accel_decide(AccelChoice want, const KvmFacts *f, gboolean force, char **accel,
                      char **reason);
/* Whether the facts say KVM runs guests, and why not (transfer full). */
gboolean accel_kvm_usable(const KvmFacts *f, char **why);
