// A CPU emulator of the parts of the CUDA execution model that kernels.cu's tensor-core kernels use, so that their
// index arithmetic (fragment layouts, tiling, edges, shared-memory reuse) is tested without a GPU.
//
// Every CUDA thread of a block is an OS thread; blocks run one after another. __syncthreads and __syncwarp are
// barriers (a thread that returns drops out of them, as on the GPU). The warp-collective instructions exchange their
// operands through a per-warp buffer between two warp barriers and compute what each lane receives from the PTX ISA's
// definitions:
//   mma.sync.aligned.m16n8k16.row.col.f32.{bf16,f16}: with g = lane / 4, t = lane % 4, A registers hold
//     (row g, k 2t..2t+1), (row g+8, k 2t..), (row g, k 2t+8..), (row g+8, k 2t+8..); B registers (k 2t.., n g),
//     (k 2t+8.., n g); C/D (row g, n 2t..2t+1), (row g+8, n 2t..2t+1); the lower half of a register is the lower index.
//   ldmatrix.sync.aligned.m8n8.x4[.trans].shared.b16: lanes 8i..8i+7 give the row addresses of matrix i; register i
//     of lane l holds row l / 4, columns 2 (l % 4) and 2 (l % 4) + 1 of matrix i (with .trans, of its transpose).
//   wgmma.mma_async m64n128k16 (see wgmma64x128): operands through shared-memory descriptors (K-major, 128-byte
//     swizzle), accumulators in the m16n8 pattern per warp of the warpgroup; carried out at the wait_group that
//     retires it, the accumulators poisoned until then.
//   cp.async.cg 16 bytes: queued per thread, carried out at cp.async.wait_group for all but the newest N committed
//     groups, so that a read of shared memory before its wait sees the poison, not the data; or, with copiesAtIssue,
//     at once (the schedule that exposes a tile refilled before an asynchronous reader is done with it).
// Checked on the way, each failure printed with what and where, then abort(): row and copy addresses 16-byte aligned
// and inside dynamic shared memory, no write past the launch's dynamic shared memory size, no copy left pending when a
// thread exits. Shared memory is filled with 0xFF (NaN in float32, bfloat16 and float16) before every block.
//
// Not emulated: static __shared__ arrays (in this host build they would be per-thread locals), so only kernels that
// use dynamic shared memory, or none, are run here; and WMMA (its fragment layouts are unspecified).
//
// The emulator is validated by running the mma.sync GEMM that was verified on an H200 (MEASUREMENTS.md) through it.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <vector_functions.h>
#include <vector_types.h>

#include <algorithm>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#define __launch_bounds__(...)

using std::max;
using std::min;

inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }

inline thread_local uint3 threadIdx;
inline uint3 blockIdx;
inline dim3 blockDim;
inline dim3 gridDim;

namespace vt_emu {

// The largest dynamic shared memory of one block on Hopper (227 KiB).
constexpr std::size_t kSharedBytes = 232448;

}  // namespace vt_emu

// Dynamic shared memory as kernels.cu declares it: `extern __shared__ unsigned char smemRaw[]`, at global scope and
// inside namespace vt.
alignas(128) inline unsigned char smemRaw[vt_emu::kSharedBytes];
namespace vt {
alignas(128) inline unsigned char smemRaw[vt_emu::kSharedBytes];
}

namespace vt_emu {

[[noreturn]] inline void fail(const char* what) {
    std::fprintf(stderr, "EMULATOR FAILURE: %s (block %u,%u,%u thread %u)\n", what, blockIdx.x, blockIdx.y, blockIdx.z,
                 threadIdx.x);
    std::fflush(stderr);
    std::abort();
}

struct Warp {
    std::barrier<> sync{32};
    unsigned u[32][6];
    float f[32];
    const void* p[32];
};

struct Block {
    explicit Block(int threads) : all(threads), warps(new Warp[threads / 32]) {}
    std::barrier<> all;
    std::unique_ptr<Warp[]> warps;
};

inline Block* block = nullptr;
inline std::size_t sharedLimit = 0;  // dynamic shared memory bytes of the current launch

struct Copy {
    void* dst;
    const void* src;
    bool valid;
};
inline thread_local std::vector<Copy> openGroup;
inline thread_local std::vector<std::vector<Copy>> committed;

inline int lane() { return (int) (threadIdx.x % 32); }
inline Warp& warp() { return block->warps[threadIdx.x / 32]; }
inline void syncwarp() { warp().sync.arrive_and_wait(); }
inline void syncthreads() { block->all.arrive_and_wait(); }

inline bool inShared(const void* p, std::size_t bytes) {
    auto in = [&](const unsigned char* base) {
        const unsigned char* c = static_cast<const unsigned char*>(p);
        return c >= base && c + bytes <= base + sharedLimit;
    };
    return in(::smemRaw) || in(vt::smemRaw);
}

inline void checkShared16(const void* p, const char* what) {
    if (reinterpret_cast<std::uintptr_t>(p) % 16 != 0) fail(what);
    if (!inShared(p, 16)) fail(what);
}

// When cp.async copies land: at the wait_group that retires them (default; a read before the wait sees the poison) or
// at issue (then a copy into a tile that an asynchronous wgmma has not yet read shows, since wgmma reads late).
inline bool copiesAtIssue = false;

inline void copy16(const Copy& c) {
    if (c.valid) {
        std::memcpy(c.dst, c.src, 16);
    } else {
        std::memset(c.dst, 0, 16);
    }
}

inline void cpAsync16(void* smem, const void* gmem, bool valid) {
    checkShared16(smem, "cp.async destination not 16-byte aligned or outside dynamic shared memory");
    if (valid && reinterpret_cast<std::uintptr_t>(gmem) % 16 != 0) fail("cp.async source not 16-byte aligned");
    if (copiesAtIssue) {
        copy16({smem, gmem, valid});
    } else {
        openGroup.push_back({smem, gmem, valid});
    }
}

inline void cpAsyncCommit() {
    committed.push_back(std::move(openGroup));
    openGroup.clear();
}

inline void cpAsyncWait(int newest) {
    while ((int) committed.size() > newest) {
        for (const Copy& c : committed.front()) copy16(c);
        committed.erase(committed.begin());
    }
}

template <typename T>
inline float element(unsigned reg, int upper) {  // the lower or upper 16-bit value of a register
    std::uint16_t bits = (std::uint16_t) (upper ? reg >> 16 : reg & 0xffffu);
    T v;
    std::memcpy(&v, &bits, 2);
    if constexpr (sizeof(T) == 2 && std::is_same_v<T, __half>) {
        return __half2float(v);
    } else {
        return __bfloat162float(v);
    }
}

// D = A B + C for one m16n8k16 tile held by the 32 lanes.
template <typename T>
inline void mma16816(float* c, const unsigned* a, const unsigned* b) {
    Warp& w = warp();
    int l = lane();
    for (int i = 0; i < 4; ++i) w.u[l][i] = a[i];
    w.u[l][4] = b[0];
    w.u[l][5] = b[1];
    syncwarp();
    int g = l / 4, t = l % 4;
    float d[4];
    for (int i = 0; i < 4; ++i) {
        int row = g + 8 * (i / 2), col = 2 * t + (i % 2);
        float acc = c[i];
        for (int k = 0; k < 16; ++k) {
            float av = element<T>(w.u[(row % 8) * 4 + (k % 8) / 2][row / 8 + 2 * (k / 8)], k % 2);
            float bv = element<T>(w.u[col * 4 + (k % 8) / 2][4 + k / 8], k % 2);
            acc += av * bv;
        }
        d[i] = acc;
    }
    syncwarp();
    for (int i = 0; i < 4; ++i) c[i] = d[i];
}

inline void ldmatrixX4(unsigned* r, const void* smem, bool trans) {
    checkShared16(smem, "ldmatrix row address not 16-byte aligned or outside dynamic shared memory");
    Warp& w = warp();
    int l = lane();
    w.p[l] = smem;
    syncwarp();
    for (int i = 0; i < 4; ++i) {
        std::uint16_t e[2];
        for (int h = 0; h < 2; ++h) {
            int row = trans ? 2 * (l % 4) + h : l / 4;
            int col = trans ? l / 4 : 2 * (l % 4) + h;
            std::memcpy(&e[h], static_cast<const unsigned char*>(w.p[8 * i + row]) + 2 * col, 2);
        }
        r[i] = (unsigned) e[0] | ((unsigned) e[1] << 16);
    }
    syncwarp();
}

// Offset of p in the dynamic shared memory window (what cvta.to.shared gives on the GPU).
inline unsigned sharedAddress(const void* p) {
    const unsigned char* c = static_cast<const unsigned char*>(p);
    for (const unsigned char* base : {static_cast<const unsigned char*>(::smemRaw),
                                      static_cast<const unsigned char*>(vt::smemRaw)}) {
        if (c >= base && c < base + kSharedBytes) return (unsigned) (c - base);
    }
    fail("address outside shared memory converted to a shared address");
}

// One operand element of wgmma from a shared-memory matrix descriptor, for the one layout the kernels use: K-major,
// 128-byte swizzle (start address bits 0-13 and stride byte offset bits 32-45, both in 16-byte units; swizzle mode
// bits 62-63 = 1). Row r of the 8-row group r / 8 starts at start + (r / 8) SBO + (r % 8) 128; the hardware XORs
// address bits 4-6 (the 16-byte chunk) with bits 7-9 (the row within the 1024-byte swizzle atom).
template <typename T>
inline float descriptorElement(unsigned long long desc, int row, int k) {
    if ((desc >> 62) != 1) fail("wgmma descriptor: only the 128-byte swizzle is emulated");
    if (((desc >> 49) & 7) != 0) fail("wgmma descriptor: non-zero matrix base offset");
    unsigned start = (unsigned) (desc & 0x3FFF) << 4;
    unsigned sbo = (unsigned) ((desc >> 32) & 0x3FFF) << 4;
    if (start % 128 + 32 > 128) fail("wgmma descriptor: a k16 step crosses a 128-byte swizzle row");
    unsigned addr = start + (unsigned) (row / 8) * sbo + (unsigned) (row % 8) * 128 + 2u * (unsigned) k;
    unsigned phys = addr ^ (((addr >> 7) & 7u) << 4);
    if (phys + 2 > sharedLimit) fail("wgmma operand outside the launch's dynamic shared memory");
    std::uint16_t bits;
    std::memcpy(&bits, vt::smemRaw + phys, 2);
    return element<T>(bits, 0);
}

// wgmma.mma_async.sync.aligned.m64n128k16.f32.{bf16,f16} with both operands K-major in shared memory. Thread i of the
// warpgroup holds d[4j + 2h + e] = D[16 (i / 32) + (i % 32) / 4 + 8h][8j + 2 (i % 4) + e]. Asynchronous as on the GPU,
// and as late as it may be: queued at issue, carried out (shared memory read, accumulators written) at the
// wgmma.wait_group that retires its commit group; until then the accumulators are poisoned (NaN), so reading them, or
// overwriting the operand tiles, before the wait shows in the results.
template <typename T>
inline void wgmma64x128Now(float* d, unsigned long long descA, unsigned long long descB, int accumulate) {
    int i = (int) (threadIdx.x % 128);
    int w = i / 32, g = (i % 32) / 4, t = i % 4;
    for (int j = 0; j < 16; ++j)
        for (int h = 0; h < 2; ++h)
            for (int e = 0; e < 2; ++e) {
                int row = 16 * w + g + 8 * h, col = 8 * j + 2 * t + e;
                float acc = accumulate ? d[4 * j + 2 * h + e] : 0.0f;
                for (int k = 0; k < 16; ++k) {
                    acc += descriptorElement<T>(descA, row, k) * descriptorElement<T>(descB, col, k);
                }
                d[4 * j + 2 * h + e] = acc;
            }
}

struct PendingWgmma {
    float* d;
    unsigned long long descA, descB;
    int accumulate;
    bool f16;
};
struct Shadow {  // the value registers d hold once their pending wgmma operations retire
    float* d;
    float v[64];
};
inline thread_local std::vector<PendingWgmma> wgmmaOpen;
inline thread_local std::vector<std::vector<PendingWgmma>> wgmmaCommitted;
inline thread_local std::vector<Shadow> shadows;

inline Shadow* shadowOf(float* d) {
    for (Shadow& s : shadows) {
        if (s.d == d) return &s;
    }
    return nullptr;
}

template <typename T>
inline void wgmma64x128(float (&d)[64], unsigned long long descA, unsigned long long descB, int accumulate) {
    if (shadowOf(d) == nullptr) {  // nothing pending on these registers: they hold the operand's current value
        shadows.push_back(Shadow{d, {}});
        std::memcpy(shadows.back().v, d, sizeof(float) * 64);
    }
    wgmmaOpen.push_back(PendingWgmma{d, descA, descB, accumulate, std::is_same_v<T, __half>});
    for (float& x : d) x = NAN;
}

inline void wgmmaCommit() {
    wgmmaCommitted.push_back(std::move(wgmmaOpen));
    wgmmaOpen.clear();
}

// Retires all but the newest `newest` committed groups, in issue order; registers with nothing left pending get
// their values back.
inline void wgmmaWait(int newest) {
    if (!wgmmaOpen.empty()) fail("wgmma.wait_group with wgmma operations not yet committed");
    while ((int) wgmmaCommitted.size() > newest) {
        for (const PendingWgmma& p : wgmmaCommitted.front()) {
            Shadow* s = shadowOf(p.d);
            if (p.f16) {
                wgmma64x128Now<__half>(s->v, p.descA, p.descB, p.accumulate);
            } else {
                wgmma64x128Now<__nv_bfloat16>(s->v, p.descA, p.descB, p.accumulate);
            }
        }
        wgmmaCommitted.erase(wgmmaCommitted.begin());
    }
    for (auto it = shadows.begin(); it != shadows.end();) {
        bool pending = false;
        for (const auto& g : wgmmaCommitted) {
            for (const PendingWgmma& p : g) pending = pending || p.d == it->d;
        }
        if (pending) {
            ++it;
        } else {
            std::memcpy(it->d, it->v, sizeof(float) * 64);
            it = shadows.erase(it);
        }
    }
}

inline float shflXor(float v, int mask) {
    Warp& w = warp();
    int l = lane();
    w.f[l] = v;
    syncwarp();
    float r = w.f[l ^ mask];
    syncwarp();
    return r;
}

// Runs kernel(args...) over the grid, one block at a time, blockDim.x threads each (1-D blocks).
template <typename Kernel, typename... Args>
void launch(dim3 grid, unsigned threads, std::size_t sharedBytes, Kernel kernel, Args... args) {
    if (sharedBytes > kSharedBytes) fail("launch asks for more dynamic shared memory than a block can have");
    if (threads == 0 || threads % 32 != 0 || threads > 1024) fail("launch: threads must be a multiple of 32, <= 1024");
    gridDim = grid;
    blockDim = dim3(threads, 1, 1);
    sharedLimit = sharedBytes;
    for (unsigned z = 0; z < grid.z; ++z) {
        for (unsigned y = 0; y < grid.y; ++y) {
            for (unsigned x = 0; x < grid.x; ++x) {
                blockIdx = make_uint3(x, y, z);
                std::memset(::smemRaw, 0xFF, kSharedBytes);
                std::memset(vt::smemRaw, 0xFF, kSharedBytes);
                Block b((int) threads);
                block = &b;
                std::vector<std::thread> ts;
                ts.reserve(threads);
                for (unsigned t = 0; t < threads; ++t) {
                    ts.emplace_back([&, t] {
                        threadIdx = make_uint3(t, 0, 0);
                        openGroup.clear();
                        committed.clear();
                        wgmmaOpen.clear();
                        wgmmaCommitted.clear();
                        shadows.clear();
                        kernel(args...);
                        if (!openGroup.empty() || !committed.empty()) fail("cp.async copies still pending at exit");
                        if (!wgmmaOpen.empty() || !wgmmaCommitted.empty()) fail("wgmma still pending at exit");
                        warp().sync.arrive_and_drop();
                        block->all.arrive_and_drop();
                    });
                }
                for (std::thread& th : ts) th.join();
                block = nullptr;
                for (const unsigned char* base : {::smemRaw, vt::smemRaw}) {
                    for (std::size_t i = sharedBytes; i < kSharedBytes; ++i) {
                        if (base[i] != 0xFF) fail("a write past the launch's dynamic shared memory");
                    }
                }
            }
        }
    }
}

}  // namespace vt_emu

inline void __syncthreads() { vt_emu::syncthreads(); }
inline void __syncwarp(unsigned = 0xffffffffu) { vt_emu::syncwarp(); }
inline float __shfl_xor_sync(unsigned, float v, int mask) { return vt_emu::shflXor(v, mask); }
