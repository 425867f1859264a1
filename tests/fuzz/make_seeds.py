#!/usr/bin/env python3
"""Writes the structured seeds of the its and vtd fuzz targets (corpus/<target>/lifecycle*).

The one-op seeds (op00..) start the fuzzer anywhere; these walk a unit through the life a
driver gives it, so that every run of the corpus, the test suite's replay included, takes
the cache-on/cache-off differential (fuzz_its.cpp, fuzz_vtd.cpp) through translations that
hit, commands and table switches that must drop them, and the faults in between. Each
byte follows the op-stream grammar of the target's play(): an op number, then its operands
in the order the target reads them. Run from the repository root; rerun after changing
that grammar.
"""
import pathlib
import struct

ROOT = pathlib.Path(__file__).resolve().parent / "corpus"


def u8(v):
    return bytes([v & 0xFF])


def u16(v):
    return struct.pack("<H", v & 0xFFFF)


def u32(v):
    return struct.pack("<I", v & 0xFFFFFFFF)


def u64(v):
    return struct.pack("<Q", v & 0xFFFFFFFFFFFFFFFF)


# ---- its (fuzz_its.cpp): RAM at 0x4000_0000, 1 MiB; two CPUs ----
ITS_CMD = {"MOVI": 0, "INT": 1, "CLEAR": 2, "SYNC": 3, "MAPD": 4, "MAPC": 5, "MAPTI": 6,
           "MAPI": 7, "INV": 8, "INVALL": 9, "MOVALL": 10, "DISCARD": 11}


def its_cmd(name, dev=0, event=0, lpi=0, size=0, valid=1, itt_page=0, rd=None, icid=0, rd2=0):
    """Op 4: DeviceID, opcode, EventID, pINTID, Size, word 2 (V, ITT or RDbase, ICID), word 3."""
    b = u8(4) + u8(1) + u8(dev) + u8(ITS_CMD[name])
    b += u8(1) + u8(event) + u8(1) + u16(lpi - 8192 if lpi else 0) + u8(size)
    if rd is None:  # an ITT address: RAM + itt_page * 0x100
        b += u8(valid) + u16(itt_page)
    else:  # a processor number as RDbase
        b += u8(valid | 2) + u16(rd)
    b += u8(1) + u16(icid)  # ICID (taken modulo 4)
    b += u8(1) + u8(rd2)  # word 3: RDbase2 (MOVALL) as a processor number
    b += u8(0)  # CWRITER without Retry
    return b


def its_msi(dev, event):
    return u8(6) + u8(1) + u8(event) + u8(1) + u8(dev)


def its_ack(cpu):
    return u8(10) + u8(cpu)


def its_lifecycle(knobs):
    b = u8(knobs) + u8(15) + u8(15) + u8(15)  # knobs; Devbits, IDbits, CIDbits = 16
    b += u8(3) + u8(0) + u16(0x10) + u8(0) + u8(0) + u8(0)  # BASER0: device table, one page
    b += u8(3) + u8(0) + u16(0x11) + u8(0) + u8(0) + u8(1)  # BASER1: collection table
    b += u8(2) + u16(0x12) + u8(0) + u8(0)  # CBASER: one-page queue
    for cpu, pend in ((0, 4), (1, 5)):  # PROPBASER (16 ID bits), PENDBASER, EnableLPIs
        b += u8(8) + u8(cpu) + u8(0) + u16(0x20) + u8(15)
        b += u8(8) + u8(cpu) + u8(1) + u16(pend) + u8(0)
    # LPI config bytes 8192..8199: enabled, priority 0xA0 (a direct RAM write: op 5).
    b += u8(5) + u16(0x20000 // 8) + u8(0) + u64(0xA1A1A1A1A1A1A1A1)
    for cpu in (0, 1):
        b += u8(8) + u8(cpu) + u8(2) + u8(1)
    b += u8(1) + u8(1)  # GITS_CTLR.Enabled
    b += its_cmd("MAPD", dev=1, size=7, itt_page=0x300)
    b += its_cmd("MAPD", dev=2, size=3, itt_page=0x310)
    b += its_cmd("MAPC", rd=0, icid=0) + its_cmd("MAPC", rd=1, icid=1)
    b += its_cmd("MAPTI", dev=1, event=3, lpi=8195, icid=0)
    b += its_cmd("MAPTI", dev=1, event=4, lpi=8196, icid=1)
    b += its_cmd("MAPI", dev=2, event=5, icid=0)  # pINTID = EventID 5: E_ITS_MAPTI_PHYSICALID_OOR
    b += its_cmd("SYNC", rd=0)
    b += its_msi(1, 3) + its_msi(1, 3) + its_msi(1, 4) + its_ack(0) + its_ack(1)
    b += its_cmd("MOVI", dev=1, event=3, icid=1)  # the cached route must follow
    b += its_msi(1, 3) + its_ack(1)
    b += its_cmd("DISCARD", dev=1, event=3)  # the cached translation must go
    b += its_msi(1, 3) + its_msi(1, 4)
    b += its_cmd("MAPTI", dev=1, event=3, lpi=8198, icid=0)  # remapped to another LPI
    b += its_msi(1, 3) + its_ack(0)
    b += its_cmd("INT", dev=1, event=4) + its_cmd("CLEAR", dev=1, event=4)
    b += its_cmd("MOVALL", rd=1, rd2=0)  # pending state of CPU 1 moves to CPU 0
    b += its_cmd("MAPC", rd=0, icid=1)  # collection 1 now on CPU 0
    b += its_msi(1, 4) + its_ack(0) + its_ack(1)
    b += its_cmd("INV", dev=1, event=4) + its_cmd("INVALL", icid=1)
    b += its_cmd("MAPC", valid=0, rd=0, icid=1)  # collection 1 unmapped
    b += its_msi(1, 4) + its_msi(2, 5)
    b += its_cmd("MAPD", dev=2, valid=0)  # device 2 unmapped
    b += its_msi(2, 5) + its_msi(1, 3)
    b += u8(1) + u8(0) + its_msi(1, 3)  # ITS disabled
    return b


# ---- vtd (fuzz_vtd.cpp): RAM at 0x10_0000, 256 KiB ----
VTD_REGS = ["GCMD", "RTADDR", "CCMD", "FSTS", "FECTL", "FEDATA", "FEADDR", "IQT", "IQA", "ICS",
            "IECTL", "IEDATA", "IEADDR", "IRTA", "IVA", "IOTLB", "FRCD", "FRCD8", "FRCD16"]
GCMD = {"TE": 0, "SRTP": 1, "WBF": 2, "QIE": 3, "IRE": 4, "SIRTP": 5, "CFI": 6}
RAM = 0x10_0000


def vtd_irta(table_off, size_field):
    """Op 2 on IRTA: RAM + table_off, S = size_field (2^(S+1) entries)."""
    return u8(2) + u8(VTD_REGS.index("IRTA")) + u16(table_off >> 4) + u8(size_field)


def vtd_gcmd(bit, keep, oneshot):
    return u8(3) + u8(GCMD[bit]) + u8(keep) + u8(oneshot)


def vtd_entry(addr, lo, hi):
    return u8(4) + u16((addr - RAM) // 16) + u64(lo) + u64(hi)


def vtd_reg(name, value):
    """Op 1: a known register written whole."""
    return u8(1) + u8(VTD_REGS.index(name)) + u64(value)


def irte(vector, dest, sid=None, x2apic=False):
    lo = 1 | vector << 16 | dest << (32 if x2apic else 40)  # xAPIC: DST[15:8]
    hi = 0 if sid is None else sid | 1 << 18  # SVT=01: verify the full source-id
    return lo, hi


def posted_irte(vector, pda, sid=None):
    lo = 1 | 1 << 15 | vector << 16 | ((pda >> 6) & 0x3FFFFFF) << 38
    hi = (0 if sid is None else sid | 1 << 18) | (pda >> 32) << 32
    return lo, hi


def vtd_msi(handle, sid, data=0, remappable=True):
    low = (handle & 0x7FFF) << 1 | (1 if remappable else 0)
    return u8(7) + u16(low) + u8((handle >> 15 & 1) << 2) + u32(data) + u16(sid)


def vtd_lifecycle(knobs, nfr):
    b = u8(knobs) + u8(nfr)
    irt = RAM + 0x1000
    b += vtd_irta(0x1000, 3)  # 16 entries
    b += vtd_gcmd("SIRTP", 0, 1)
    b += vtd_entry(irt + 0 * 16, *irte(0x41, 1))
    b += vtd_entry(irt + 1 * 16, *irte(0x42, 2, sid=0x18))
    b += vtd_entry(irt + 2 * 16, *posted_irte(0x43, RAM + 0x2000, sid=0x18))
    b += vtd_gcmd("IRE", 1, 0)
    msis = [(0, 0x18), (1, 0x18), (1, 0x19), (2, 0x18), (3, 0x18), (20, 0x18), (1 << 15, 0x18)]
    for _ in range(2):  # a miss, then a hit
        for h, sid in msis:
            b += vtd_msi(h, sid)
    b += vtd_msi(0, 0x18, remappable=False)  # compatibility format, CFI clear
    # A second table in x2APIC mode (IRTA.EIME=1), latched with SIRTP: nothing cached
    # from the first may answer, and no entry decoded under EIME=0 may stand.
    b += vtd_reg("IRTA", RAM + 0x3000 | 1 << 11 | 3) + vtd_gcmd("SIRTP", 0, 1)
    for h, sid in msis[:4]:
        b += vtd_msi(h, sid)
    b += vtd_entry(RAM + 0x3000 + 16, *irte(0x51, 0x103, x2apic=True))
    b += vtd_msi(1, 0x18) + vtd_msi(1, 0x18)
    b += vtd_irta(0x1000, 3) + vtd_gcmd("SIRTP", 0, 1)  # back to the first table
    for h, sid in msis[:4]:
        b += vtd_msi(h, sid)
    b += vtd_gcmd("IRE", 0, 0) + vtd_msi(0, 0x18)  # IR off
    return b


def main():
    seeds = {
        "its/lifecycle": its_lifecycle(0x10),  # differential, 48-entry cache
        "its/lifecycle-evict": its_lifecycle(0x10 | 0x08),  # differential, one 3-way bucket
        "its/lifecycle-stall": its_lifecycle(0x10 | 0x02),  # differential, Stall policy
        "vtd/lifecycle": vtd_lifecycle(0x00, 0x08 | 3),  # differential, EIM, posted
        "vtd/lifecycle-esirtps": vtd_lifecycle(0x08, 0x08 | 3),  # SIRTP invalidates the IEC
    }
    for name, data in seeds.items():
        (ROOT / name).write_bytes(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
