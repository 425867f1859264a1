// Exception vectors that record what the CPU wrote on entry (Arm ARM D1.10.2): every
// entry pushes a frame {vector offset, ESR_EL1, ELR_EL1, SPSR_EL1, FAR_EL1, x30} and calls
// exc_handler(frame), which may change ELR/SPSR before the ERET.
    .global exc_vectors, run_el0, el0_exit, el0_code
    .global svc_el1_insn, udf_el1_insn, svc_el1t_insn, svc_el0_insn, udf_el0_insn, hvc_el0_insn, svc_exit_insn
    .global do_svc_el1, do_udf_el1, do_svc_el1t, do_blr, ldr_insn, do_ldr, str_insn, do_str
    .global do_bkpt, bkpt_insn

    .macro  ventry off
    .balign 0x80
    stp     x0, x1, [sp, #-16]!
    mov     x0, #\off
    b       exc_common
    .endm

    .text
    .balign 2048
exc_vectors:
    .irp    off, 0x000, 0x080, 0x100, 0x180, 0x200, 0x280, 0x300, 0x380, 0x400, 0x480, 0x500, 0x580, 0x600, 0x680, 0x700, 0x780
    ventry  \off
    .endr

exc_common:
    stp     x2, x3, [sp, #-16]!
    stp     x4, x5, [sp, #-16]!
    stp     x6, x7, [sp, #-16]!
    stp     x8, x9, [sp, #-16]!
    stp     x10, x11, [sp, #-16]!
    stp     x12, x13, [sp, #-16]!
    stp     x14, x15, [sp, #-16]!
    stp     x16, x17, [sp, #-16]!
    stp     x18, x30, [sp, #-16]!
    sub     sp, sp, #48
    mrs     x1, esr_el1
    stp     x0, x1, [sp, #0]
    mrs     x1, elr_el1
    mrs     x2, spsr_el1
    stp     x1, x2, [sp, #16]
    mrs     x1, far_el1
    stp     x1, x30, [sp, #32]
    mov     x0, sp
    bl      exc_handler
    ldp     x1, x2, [sp, #16]
    msr     elr_el1, x1
    msr     spsr_el1, x2
    add     sp, sp, #48
    ldp     x18, x30, [sp], #16
    ldp     x16, x17, [sp], #16
    ldp     x14, x15, [sp], #16
    ldp     x12, x13, [sp], #16
    ldp     x10, x11, [sp], #16
    ldp     x8, x9, [sp], #16
    ldp     x6, x7, [sp], #16
    ldp     x4, x5, [sp], #16
    ldp     x2, x3, [sp], #16
    ldp     x0, x1, [sp], #16
    eret

// SVC #0x7b at EL1h with Z and C set (SPSR must keep NZCV).
do_svc_el1:
    mov     x0, #0x60000000
    msr     nzcv, x0
svc_el1_insn:
    svc     #0x7b
    ret

// An EL3 register read from EL1 is UNDEFINED (EC 0x00).
// The target of hardware breakpoint 0: the breakpoint is taken before the add runs, and
// after the handler's return (with PSTATE.D set) the add runs once: x0 + 1.
do_bkpt:
bkpt_insn:
    add     x0, x0, #1
    ret

do_udf_el1:
udf_el1_insn:
    mrs     x0, sctlr_el3
    ret

// SVC from EL1t (SP_EL0 selected): vector +0x000, the handler still runs on SP_EL1.
do_svc_el1t:
    mov     x1, sp
    sub     x0, x1, #0x1000
    msr     sp_el0, x0
    msr     spsel, #0
svc_el1t_insn:
    svc     #1
    msr     spsel, #1
    ret

// blr x0 to an address that faults on fetch; the handler returns to x30.
do_blr:
    stp     x29, x30, [sp, #-16]!
    blr     x0
    ldp     x29, x30, [sp], #16
    ret

// A load from x0; the handler skips it.
do_ldr:
ldr_insn:
    ldr     x0, [x0]
    ret

// A 32-bit store of w1 to x0; the handler skips it.
do_str:
str_insn:
    str     w1, [x0]
    ret

// run_el0(stack): ERET to el0_code at EL0t on `stack` (Arm ARM D1.11 "Exception return");
// el0_code ends with SVC #0xff, whose handler returns here through el0_exit at EL1h.
run_el0:
    adr     x1, el1_saved
    stp     x19, x20, [x1, #0]
    stp     x21, x22, [x1, #16]
    stp     x23, x24, [x1, #32]
    stp     x25, x26, [x1, #48]
    stp     x27, x28, [x1, #64]
    stp     x29, x30, [x1, #80]
    mov     x2, sp
    str     x2, [x1, #96]
    msr     sp_el0, x0
    adr     x0, el0_code
    msr     elr_el1, x0
    msr     spsr_el1, xzr            // EL0t, interrupts unmasked
    eret
el0_exit:
    adr     x1, el1_saved
    ldr     x2, [x1, #96]
    mov     sp, x2
    ldp     x19, x20, [x1, #0]
    ldp     x21, x22, [x1, #16]
    ldp     x23, x24, [x1, #32]
    ldp     x25, x26, [x1, #48]
    ldp     x27, x28, [x1, #64]
    ldp     x29, x30, [x1, #80]
    ret

el0_code:
    mov     x5, sp
    str     x5, [sp, #-16]!          // EL0 stores to its own stack
svc_el0_insn:
    svc     #5
udf_el0_insn:
    mrs     x0, sctlr_el1            // EL1 register from EL0: UNDEFINED
hvc_el0_insn:
    hvc     #0                       // HVC at EL0: UNDEFINED (Arm ARM C6.2.99)
svc_exit_insn:
    svc     #0xff

    .data
    .balign 8
el1_saved:
    .skip   104
