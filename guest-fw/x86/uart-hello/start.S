// x86/uart-hello: the smallest stub. The boot CPU prints one line on the 16550 transmit
// register (I/O port 0x3F8) and leaves through the isa-debug-exit port 0xF4 with value 0.
    .code64
    .section .text.boot, "ax"
    .global _start
_start:
    lea     message(%rip), %rsi
    mov     $0x3f8, %dx
1:  movb    (%rsi), %al
    test    %al, %al
    jz      2f
    outb    %al, %dx
    inc     %rsi
    jmp     1b
2:  mov     $0xf4, %dx
    xor     %eax, %eax
    outb    %al, %dx
3:  hlt
    jmp     3b

    .section .rodata
message:
    .asciz  "irqremap: hello from x86\n"
