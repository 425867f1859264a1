// arm64/uart-hello: the smallest stub. CPU 0 prints one line on the PL011 (QEMU virt
// 0x0900_0000, UARTDR at offset 0) and powers the machine off with PSCI SYSTEM_OFF over
// HVC (PSCI 1.1 §5.1.10, function ID 0x8400_0008). It runs unchanged on
// qemu-system-aarch64 -M virt, which makes it the first differential check.
    .section .text.boot, "ax"
    .global _start
_start:
    mrs     x0, mpidr_el1
    and     x0, x0, #0xff           // Aff0: only CPU 0 runs this stub
    cbnz    x0, park
    ldr     x1, =0x09000000         // PL011 UARTDR
    adr     x2, message
1:  ldrb    w3, [x2], #1
    cbz     w3, 2f
    str     w3, [x1]
    b       1b
2:  ldr     x0, =0x84000008         // PSCI SYSTEM_OFF
    hvc     #0
park:
    wfi
    b       park

    .section .rodata
message:
    .asciz  "irqremap: hello from arm64\n"
