// A fixed amount of ordinary computation (tools/bench_guest.sh times it on irqremap and on
// QEMU): byte stores, loads and branches in the proportions of a sieve, the kind of code
// that dominates the sieve image of kvm-unit-tests and a kernel's memset/memcpy. The
// result is printed so that both machines can be seen to have done the same work.
#include "fw.h"

#define N 65536u
#define ROUNDS 40u

static u8 composite[N];

static u32 sieve(void) {
  for (u32 i = 0; i < N; ++i) composite[i] = 0;
  u32 primes = 0;
  for (u32 i = 2; i < N; ++i) {
    if (composite[i]) continue;
    ++primes;
    for (u32 j = i + i; j < N; j += i) composite[j] = 1;
  }
  return primes;
}

int main(void) {
  u32 total = 0;
  for (u32 r = 0; r < ROUNDS; ++r) total += sieve();
  puts("compute: ");
  puthex(ROUNDS);
  puts(" rounds, primes below 65536 per round ");
  puthex(total / ROUNDS);
  puts("\n");
  return 0;
}
