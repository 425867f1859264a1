// Stage 1 translation for the AArch64 stubs that turn the MMU on: TCR_EL1 fields for
// 48-bit VAs with the 4 KB granule, and the descriptor bits they use (Arm ARM D8.2, D8.3).
#pragma once

// 48-bit VAs, 4 KB granule: both walks start at level 0 (Arm ARM D8.2.7).
#define TCR_T0SZ(n) ((u64)(n))
#define TCR_T1SZ(n) ((u64)(n) << 16)
#define TCR_TG1_4K (2ul << 30)
#define TCR_IPS_40 (2ul << 32)
#define TCR_SH_INNER ((3ul << 12) | (3ul << 28))
#define TCR_WBWA ((1ul << 8) | (1ul << 10) | (1ul << 24) | (1ul << 26))

// Descriptors (Arm ARM D8.3): table/page 0b11, block 0b01; AF, SH inner, AttrIndx into
// MAIR_EL1 (0: Device-nGnRnE, 1: Normal write-back), AP[1]: EL0 may access.
#define DESC_TABLE 3ul
#define DESC_PAGE 3ul
#define DESC_BLOCK 1ul
#define AF (1ul << 10)
#define SH (3ul << 8)
#define NORMAL (1ul << 2)
#define DEVICE 0ul
#define AP_EL0 (1ul << 6)
