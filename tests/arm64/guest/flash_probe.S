// A guest for tests/arm64/boot_test.cpp, linked by ld.lld with -Ttext=0x40080000 and no
// linker script: lld then puts the ELF and program headers in a read-only PT_LOAD at
// 0x0020_0000, inside QEMU virt's flash bank 0, and .text at 0x4008_0000.
// It prints x0 at entry, the first word of its own ELF header (through __ehdr_start, in
// flash), stores to that word and prints it again (flash is ROM: unchanged), then powers
// off with PSCI SYSTEM_OFF (HVC #0, function 0x8400_0008, Arm DEN 0022D §5.1.10).
        .text
        .globl _start
_start:
        mov     x19, x0
        mov     x0, x19
        bl      print_hex
        adrp    x20, __ehdr_start
        add     x20, x20, :lo12:__ehdr_start
        ldr     w0, [x20]
        bl      print_hex
        movz    w1, #0xbeef
        str     w1, [x20]
        ldr     w0, [x20]
        bl      print_hex
        movz    x0, #0x0008
        movk    x0, #0x8400, lsl #16
        hvc     #0
1:      b       1b

// Prints x0 as 16 hex digits and a newline on the PL011 data register (0x0900_0000).
print_hex:
        movz    x9, #0x0900, lsl #16
        mov     x10, #60
2:      lsr     x11, x0, x10
        and     x11, x11, #0xf
        cmp     x11, #10
        add     x12, x11, #'0'
        add     x13, x11, #('a' - 10)
        csel    x11, x12, x13, lt
        strb    w11, [x9]
        subs    x10, x10, #4
        b.ge    2b
        mov     w11, #'\n'
        strb    w11, [x9]
        ret
