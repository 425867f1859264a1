// x86-64 entry, GDT, per-CPU stacks and the interrupt stubs shared by every stub.
// The machine starts CPU 0 at _start (the ELF entry, 0x0010_0000) and APs at ap_entry
// through the ACPI wakeup mailbox, all in 64-bit mode with paging off and CS=0, so each
// CPU loads the GDT below and reloads CS with a far return before it can IRETQ.
    .code64
    .section .text.boot, "ax"
    .weak _start
_start:
    xor     %edi, %edi
    jmp     cpu_entry

    .text
    .global ap_entry
ap_entry:
    mov     $0xFEE00020, %eax        // xAPIC ID register: APIC ID in bits 31:24
    mov     (%rax), %edi
    shr     $24, %edi
cpu_entry:                           // edi = CPU index (= APIC ID)
    lea     1(%rdi), %rax
    shl     $14, %rax                // 16 KiB per CPU
    lea     __stacks_start(%rip), %rsp
    add     %rax, %rsp
    lgdt    gdt_ptr(%rip)
    lea     1f(%rip), %rax
    pushq   $0x08
    pushq   %rax
    lretq
1:  mov     $0x10, %eax
    mov     %eax, %ds
    mov     %eax, %es
    mov     %eax, %ss
    call    cpu_start                // C: never returns
2:  cli
    hlt
    jmp     2b

// Interrupt stubs for vectors 32..255, 16 bytes apart: push the vector, join irq_common.
    .align  16
    .global irq_stubs
irq_stubs:
    .set    vec, 32
    .rept   224
    .align  16
    pushq   $vec
    jmp     irq_common
    .set    vec, vec + 1
    .endr

irq_common:                          // frame: SS RSP RFLAGS CS RIP vector
    push    %rax
    push    %rcx
    push    %rdx
    push    %rsi
    push    %rdi
    push    %r8
    push    %r9
    push    %r10
    push    %r11
    mov     72(%rsp), %rdi
    cld
    sub     $8, %rsp                 // 16-byte aligned call
    call    irq_dispatch
    add     $8, %rsp
    pop     %r11
    pop     %r10
    pop     %r9
    pop     %r8
    pop     %rdi
    pop     %rsi
    pop     %rdx
    pop     %rcx
    pop     %rax
    add     $8, %rsp
    iretq

    .section .rodata
    .align  16
gdt:
    .quad   0
    .quad   0x00AF9A000000FFFF       // 0x08: 64-bit code, DPL0
    .quad   0x00CF92000000FFFF       // 0x10: data, DPL0
gdt_end:
gdt_ptr:
    .word   gdt_end - gdt - 1
    .quad   gdt
