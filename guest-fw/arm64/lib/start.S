// AArch64 entry, stacks and exception vectors for the stubs (QEMU virt -kernel enters
// CPU 0 at EL1h with the MMU off; the others start through PSCI CPU_ON at
// secondary_entry). _start, main and secondary_main are weak so a stub may bring its own
// (uart-hello does).
    .weak   _start
    .weak   main
    .weak   secondary_main
    .global secondary_entry

    .section .text.boot, "ax"
_start:
    bl      cpu_setup
    cbnz    x19, 2f                 // only CPU 0 enters here; park any other
    ldr     x0, =__bss_start
    ldr     x1, =__bss_end
1:  cmp     x0, x1
    b.hs    3f
    str     xzr, [x0], #8
    b       1b
3:  bl      main
    bl      system_off
2:  wfi
    b       2b

    .text
secondary_entry:
    bl      cpu_setup
    mov     x0, x19
    bl      secondary_main
    ldr     x0, =0x84000002         // PSCI CPU_OFF
    hvc     #0
4:  wfi
    b       4b

// x19 = CPU number (MPIDR_EL1.Aff0), SP = top of its 16 KiB stack, VBAR_EL1 = vectors.
cpu_setup:
    mrs     x19, mpidr_el1
    and     x19, x19, #0xff
    ldr     x1, =__stacks_start
    add     x2, x19, #1
    lsl     x2, x2, #14
    add     sp, x1, x2
    ldr     x1, =vectors
    msr     vbar_el1, x1
    isb
    ret

// Exception vectors (Arm ARM D1.10.2): IRQs from EL1t (+0x080) and EL1h (+0x280) go to
// irq_handler with the caller-saved registers and ELR/SPSR preserved; anything else is a
// firmware bug reported by bad_exception.
    .macro  ventry target
    .balign 0x80
    b       \target
    .endm

    .balign 2048
vectors:
    ventry  bad_vector
    ventry  irq_vector
    ventry  bad_vector
    ventry  bad_vector
    ventry  bad_vector
    ventry  irq_vector
    ventry  bad_vector
    ventry  bad_vector
    .rept   8
    ventry  bad_vector
    .endr

irq_vector:
    sub     sp, sp, #176
    stp     x0, x1, [sp, #0]
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x29, [sp, #144]
    mrs     x0, elr_el1
    mrs     x1, spsr_el1
    stp     x30, x0, [sp, #160]
    str     x1, [sp, #-16]!
    bl      irq_handler
    ldr     x1, [sp], #16
    ldp     x30, x0, [sp, #160]
    msr     elr_el1, x0
    msr     spsr_el1, x1
    ldp     x0, x1, [sp, #0]
    ldp     x2, x3, [sp, #16]
    ldp     x4, x5, [sp, #32]
    ldp     x6, x7, [sp, #48]
    ldp     x8, x9, [sp, #64]
    ldp     x10, x11, [sp, #80]
    ldp     x12, x13, [sp, #96]
    ldp     x14, x15, [sp, #112]
    ldp     x16, x17, [sp, #128]
    ldp     x18, x29, [sp, #144]
    add     sp, sp, #176
    eret

bad_vector:
    mrs     x0, esr_el1
    mrs     x1, elr_el1
    bl      bad_exception
5:  wfi
    b       5b
