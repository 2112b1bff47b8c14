/* The KVM probe's guest: a multiboot image (QEMU -kernel) that does what a
 * stock 64-bit kernel does first and kvm_pvm cannot: enters long mode,
 * takes an exception (int3) and a timer interrupt (PIT through the PIC)
 * through a 64-bit IDT, then prints PROBE_MARKER on COM1 and leaves through
 * isa-debug-exit. Under TCG it passes in a fraction of a second; under a
 * KVM that cannot deliver exceptions it hangs, and the probe's deadline
 * says so. Built into a flat binary (objcopy -O binary) that qlaunch
 * embeds (Makefile: kvm-probe.h). Loaded at 1 MiB. */

#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00010000 /* the address fields below are valid */
#define COM1 0x3f8
#define DEBUG_EXIT 0xf4

    .text
    .code32
    .globl _start
_start:
mb_header:
    .long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
    .long mb_header  /* header_addr */
    .long _start     /* load_addr */
    .long 0          /* load_end_addr: the whole file */
    .long 0          /* bss_end_addr: none */
    .long entry32    /* entry_addr */

entry32:
    cli
    mov $stack_top, %esp
    lgdt gdt_ptr
    mov %cr4, %eax
    or $0x20, %eax              /* PAE */
    mov %eax, %cr4
    mov $pml4, %eax
    mov %eax, %cr3
    mov $0xC0000080, %ecx       /* EFER */
    rdmsr
    or $0x100, %eax             /* LME */
    wrmsr
    mov %cr0, %eax
    or $0x80000001, %eax        /* PG | PE */
    mov %eax, %cr0
    ljmp $0x08, $entry64

    .code64
entry64:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov $stack_top, %rsp
    mov $3, %edi
    mov $on_int3, %rsi
    call set_gate
    mov $32, %edi
    mov $on_timer, %rsi
    call set_gate
    lidt idt_ptr

    int3                        /* an exception through the IDT */
    cmpb $1, int3_seen
    jne fail

    /* PIC: master at vectors 32-39, slave at 40-47; only IRQ0 unmasked */
    mov $0x11, %al
    out %al, $0x20
    out %al, $0xA0
    mov $32, %al
    out %al, $0x21
    mov $40, %al
    out %al, $0xA1
    mov $4, %al
    out %al, $0x21
    mov $2, %al
    out %al, $0xA1
    mov $1, %al
    out %al, $0x21
    out %al, $0xA1
    mov $0xFE, %al
    out %al, $0x21
    mov $0xFF, %al
    out %al, $0xA1
    /* PIT channel 0, rate generator, about 1 kHz */
    mov $0x34, %al
    out %al, $0x43
    mov $0xA9, %al
    out %al, $0x40
    mov $0x04, %al
    out %al, $0x40
    sti
wait_tick:
    hlt                         /* woken by the timer interrupt */
    cmpl $2, ticks
    jb wait_tick
    cli

    mov $marker, %rsi
    mov $marker_end - marker, %ecx
    mov $COM1, %dx
1:  lodsb
    out %al, %dx
    loop 1b
    mov $0x31, %al              /* QEMU exits with status (0x31 << 1) | 1 = 99 */
    out %al, $DEBUG_EXIT
fail:
    hlt
    jmp fail

/* set_gate: IDT entry %edi -> handler %rsi (64-bit interrupt gate, CS 0x08) */
set_gate:
    shl $4, %edi
    lea idt(%rdi), %rdi
    mov %rsi, %rax
    mov %ax, (%rdi)
    movw $0x08, 2(%rdi)
    movw $0x8E00, 4(%rdi)
    shr $16, %rax
    mov %ax, 6(%rdi)
    shr $16, %rax
    mov %eax, 8(%rdi)
    movl $0, 12(%rdi)
    ret

on_int3:
    movb $1, int3_seen
    iretq

on_timer:
    push %rax
    incl ticks
    mov $0x20, %al              /* end of interrupt */
    out %al, $0x20
    pop %rax
    iretq

    .data
    .balign 8
gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF    /* 0x08: 64-bit code */
    .quad 0x00CF92000000FFFF    /* 0x10: data */
gdt_ptr:
    .word gdt_ptr - gdt - 1
    .long gdt
idt_ptr:
    .word 256 * 16 - 1
    .quad idt
int3_seen:
    .byte 0
    .balign 4
ticks:
    .long 0
marker:
    .ascii "\nqlaunch-kvm-probe: exceptions and interrupts work\n"
marker_end:

    /* identity map of the first 1 GiB in 2 MiB pages */
    .balign 4096
pml4:
    .quad pdpt + 3
    .fill 511, 8, 0
pdpt:
    .quad pd + 3
    .fill 511, 8, 0
pd:
    .set i, 0
    .rept 512
    .quad (i << 21) + 0x83
    .set i, i + 1
    .endr
idt:
    .fill 256 * 16, 1, 0
    .fill 4096, 1, 0
stack_top:
