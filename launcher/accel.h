/* Accelerator choice: does KVM really run guests here, or fall back to TCG. */
#pragma once

#include <signal.h>

#include "profile.h"

typedef struct {
    gboolean dev_exists;  /* /dev/kvm */
    gboolean dev_opens;   /* opens read-write */
    int api_version;      /* KVM_GET_API_VERSION, 12 when sane */
    gboolean create_vm;   /* KVM_CREATE_VM succeeded */
    gboolean hw_flag;     /* vmx or svm in /proc/cpuinfo */
    gboolean pvm;         /* /dev/kvm comes from kvm_pvm (software) */
    int probe;            /* 1 passed, 0 failed, -1 not run */
    char *detail;         /* why the last check failed, or what passed */
    char *cpu;            /* probe passed: the -cpu model that ran the guest */
    double probe_secs;    /* how long the probe took */
    gint64 probed_at;     /* when it ran (Unix time) */
    gboolean cached;      /* the answer came from the cache */
    gboolean interrupted; /* *stop was set during the probe: nothing cached */
} KvmFacts;

/* A probe QEMU's deadline per CPU model: a good KVM passes in well under
 * a second, and three models that hang cost under 8 s. */
#define ACCEL_PROBE_TIMEOUT_MS 2500

void kvm_facts_clear(KvmFacts *f);
/* Reads /dev/kvm, /proc/cpuinfo and /sys/module; runs nothing. */
void accel_gather(KvmFacts *f);
/* Runs a purpose-built guest (launcher/kvm-probe.S: long mode, an int3
 * and a timer interrupt through a 64-bit IDT) under -accel kvm, trying the
 * CPU models host, host,-arch-capabilities and qemu64 in turn, each within
 * timeout_ms; sets probe, cpu (the model that ran it) and detail. The
 * answer is cached in cache_file (skipped when NULL) keyed by the host's
 * boot id and the QEMU binary (path, size, mtime). With timeout_ms 0 only a
 * cached answer is used. qemu should be an absolute path. When *stop
 * becomes set the probe QEMU is killed, interrupted is set and nothing is
 * cached. */
void accel_probe(KvmFacts *f, const char *qemu, const char *cache_file, gint64 timeout_ms,
                 const volatile sig_atomic_t *stop);
/* Pure: the accelerator to use ("kvm"/"tcg", transfer full) and why.
 * FALSE with *reason set when accel=kvm is asked for but does not work and
 * force is not set. */
gboolean accel_decide(AccelChoice want, const KvmFacts *f, gboolean force, char **accel,
                      char **reason);
/* Whether the facts say KVM runs guests, and why not (transfer full). */
gboolean accel_kvm_usable(const KvmFacts *f, char **why);
/* This host boot's id (/proc/sys/kernel/random/boot_id), or "unknown";
 * a key for what a reboot may change. */
char *accel_boot_id(void);
