// visiontower CUDA kernels for the jcuda backend.
//
// Built to PTX with nvcc at build time where the CUDA toolkit is installed (shipped in the jar as kernels.ptx), or
// compiled at run time with NVRTC. Every entry point is extern "C" so the backend finds it by name. Tensors are dense
// row-major float32 (or int64 for indices); matrix products may compute on tensor cores in TF32, bfloat16 or float16
// with float32 accumulation, and the fused transformer block keeps its intermediates in bfloat16/float16. Sizes are
// 64-bit where a tensor can exceed 2^31 elements.
//
// No standard headers beyond the CUDA ones NVRTC provides itself.
//
// VT_WARP_EMULATOR: the test suite also compiles this file as host C++ against a warp emulator
// (src/test/emulator/warp_emulator.h) that runs the mma.sync/ldmatrix/cp.async kernels on the CPU, lane by lane. The
// inline-PTX helpers have an emulated branch for that build; the WMMA code is left out of it.

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#ifndef VT_WARP_EMULATOR
#include <mma.h>

using namespace nvcuda;
#endif

#define VT_MAX_DIMS 8

// A strided view: shape and strides (in elements) of up to 8 dimensions. Passed by value as 17 int64 values.
struct Layout {
    long long ndim;
    long long shape[VT_MAX_DIMS];
    long long stride[VT_MAX_DIMS];
};

// Two strided operands over one (output) shape; used by broadcasting element-wise ops.
struct Layout2 {
    long long ndim;
    long long shape[VT_MAX_DIMS];
    long long sa[VT_MAX_DIMS];
    long long sb[VT_MAX_DIMS];
};

__device__ __forceinline__ long long offsetOf(long long i, const Layout& l) {
    long long off = 0;
    for (int d = (int) l.ndim - 1; d >= 0; --d) {
        long long s = l.shape[d];
        long long c = i % s;
        i /= s;
        off += c * l.stride[d];
    }
    return off;
}

// Loads and stores of float32, bfloat16 or float16 through float32.
__device__ __forceinline__ float toF(float v) { return v; }
__device__ __forceinline__ float toF(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float toF(__half v) { return __half2float(v); }
template <typename TO> __device__ __forceinline__ TO fromF(float v);
template <> __device__ __forceinline__ float fromF<float>(float v) { return v; }
template <> __device__ __forceinline__ __nv_bfloat16 fromF<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }
template <> __device__ __forceinline__ __half fromF<__half>(float v) { return __float2half_rn(v); }

__device__ __forceinline__ float vt_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

// The MLP activations: 0 quick_gelu, 1 gelu (erf), 2 gelu (tanh approximation).
__device__ __forceinline__ float vt_activation(float v, int op) {
    switch (op) {
        case 0: return v * vt_sigmoid(1.702f * v);
        case 1: return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
        default: {
            float u = 0.79788456080286536f * (v + 0.044715f * v * v * v);
            return 0.5f * v * (1.0f + tanhf(u));
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Copies and element-wise operations
// ---------------------------------------------------------------------------------------------------------------

// out (dense, n elements) = in viewed through `src` (permute, narrow, expand, diagonal all reduce to this).
extern "C" __global__ void vt_copy_f32(float* __restrict__ out, const float* __restrict__ in, Layout src, long long n) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        out[i] = in[offsetOf(i, src)];
    }
}

extern "C" __global__ void vt_copy_i64(long long* __restrict__ out, const long long* __restrict__ in, Layout src,
                                       long long n) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        out[i] = in[offsetOf(i, src)];
    }
}

// Writes a dense input into a strided destination (concatenation writes each part into a slice of the output).
extern "C" __global__ void vt_scatter_f32(float* __restrict__ out, Layout dst, const float* __restrict__ in, long long n) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        out[offsetOf(i, dst)] = in[i];
    }
}

extern "C" __global__ void vt_scatter_i64(long long* __restrict__ out, Layout dst, const long long* __restrict__ in,
                                          long long n) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        out[offsetOf(i, dst)] = in[i];
    }
}

// op: 0 add, 1 sub, 2 mul. Broadcasting through zero strides.
extern "C" __global__ void vt_binary(float* __restrict__ out, const float* __restrict__ a, const float* __restrict__ b,
                                     Layout2 l, long long n, int op) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        long long r = i, oa = 0, ob = 0;
        for (int d = (int) l.ndim - 1; d >= 0; --d) {
            long long s = l.shape[d];
            long long c = r % s;
            r /= s;
            oa += c * l.sa[d];
            ob += c * l.sb[d];
        }
        float x = a[oa], y = b[ob];
        out[i] = op == 0 ? x + y : (op == 1 ? x - y : x * y);
    }
}

// The same-shape fast path.
extern "C" __global__ void vt_binary_dense(float* __restrict__ out, const float* __restrict__ a,
                                           const float* __restrict__ b, long long n, int op) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        float x = a[i], y = b[i];
        out[i] = op == 0 ? x + y : (op == 1 ? x - y : x * y);
    }
}

// out[r, c] = x[r, c] + bias[c] (+ residual[r, c] when residual != null): the epilogue of a linear layer.
extern "C" __global__ void vt_bias_residual(float* __restrict__ out, const float* __restrict__ x,
                                            const float* __restrict__ bias, const float* __restrict__ residual,
                                            long long rows, long long cols) {
    long long n = rows * cols;
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        float v = x[i];
        if (bias != nullptr) v += bias[i % cols];
        if (residual != nullptr) v += residual[i];
        out[i] = v;
    }
}

// op: 0 quick_gelu, 1 gelu (erf), 2 gelu (tanh), 3 scale by p, 4 exp, 5 log_sigmoid, 6 equal_to p
extern "C" __global__ void vt_unary(float* __restrict__ out, const float* __restrict__ x, long long n, int op, float p) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        float v = x[i];
        float r;
        switch (op) {
            case 0:
            case 1:
            case 2: r = vt_activation(v, op); break;
            case 3: r = v * p; break;
            case 4: r = expf(v); break;
            case 5: r = fminf(v, 0.0f) - log1pf(expf(-fabsf(v))); break;
            default: r = v == p ? 1.0f : 0.0f; break;
        }
        out[i] = r;
    }
}

extern "C" __global__ void vt_i64_to_f32(float* __restrict__ out, const long long* __restrict__ x, long long n) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        out[i] = (float) x[i];
    }
}

// keep [B, N] (float or int64) to an additive mask [B, 1, 1, N]: 0 where kept, -FLT_MAX where padded.
extern "C" __global__ void vt_padding_mask(float* __restrict__ out, const float* __restrict__ keepF,
                                           const long long* __restrict__ keepI, long long n) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        bool keep = keepF != nullptr ? keepF[i] != 0.0f : keepI[i] != 0;
        out[i] = keep ? 0.0f : -3.402823466e38f;
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Row reductions: one block per row, blockDim.x a power of two <= 1024.
// ---------------------------------------------------------------------------------------------------------------

__device__ __forceinline__ float warpSum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warpMax(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Block-wide sum; every thread gets the result. `scratch` holds 32 floats.
__device__ float blockSum(float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = warpSum(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float t = lane < warps ? scratch[lane] : 0.0f;
    t = warpSum(t);
    return t;
}

__device__ float blockMax(float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = warpMax(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float t = lane < warps ? scratch[lane] : -INFINITY;
    t = warpMax(t);
    return t;
}

// LayerNorm over the last dimension (biased variance, two passes for accuracy); the output is float32, or bfloat16 /
// float16 when it only feeds a 16-bit matrix product (the fused transformer block).
template <typename TO>
__device__ void layerNormRow(TO* __restrict__ out, const float* __restrict__ x, const float* __restrict__ w,
                             const float* __restrict__ b, long long cols, float eps) {
    __shared__ float scratch[32];
    const float* row = x + blockIdx.x * cols;
    TO* o = out + blockIdx.x * cols;
    float s = 0.0f;
    for (long long c = threadIdx.x; c < cols; c += blockDim.x) s += row[c];
    float mean = blockSum(s, scratch) / (float) cols;
    float q = 0.0f;
    for (long long c = threadIdx.x; c < cols; c += blockDim.x) {
        float d = row[c] - mean;
        q += d * d;
    }
    float inv = rsqrtf(blockSum(q, scratch) / (float) cols + eps);
    for (long long c = threadIdx.x; c < cols; c += blockDim.x) {
        float v = (row[c] - mean) * inv;
        if (w != nullptr) v *= w[c];
        if (b != nullptr) v += b[c];
        o[c] = fromF<TO>(v);
    }
}

template <typename TO>
__device__ void rmsNormRow(TO* __restrict__ out, const float* __restrict__ x, const float* __restrict__ w,
                           long long cols, float eps) {
    __shared__ float scratch[32];
    const float* row = x + blockIdx.x * cols;
    TO* o = out + blockIdx.x * cols;
    float q = 0.0f;
    for (long long c = threadIdx.x; c < cols; c += blockDim.x) q += row[c] * row[c];
    float inv = rsqrtf(blockSum(q, scratch) / (float) cols + eps);
    for (long long c = threadIdx.x; c < cols; c += blockDim.x) {
        float v = row[c] * inv;
        o[c] = fromF<TO>(w != nullptr ? v * w[c] : v);
    }
}

#define VT_NORMS(SUFFIX, TO)                                                                                         \
    extern "C" __global__ void vt_layer_norm##SUFFIX(TO* __restrict__ out, const float* __restrict__ x,               \
            const float* __restrict__ w, const float* __restrict__ b, long long cols, float eps) {                    \
        layerNormRow<TO>(out, x, w, b, cols, eps);                                                                    \
    }                                                                                                                 \
    extern "C" __global__ void vt_rms_norm##SUFFIX(TO* __restrict__ out, const float* __restrict__ x,                 \
            const float* __restrict__ w, long long cols, float eps) {                                                 \
        rmsNormRow<TO>(out, x, w, cols, eps);                                                                         \
    }

VT_NORMS(, float)
VT_NORMS(_bf16, __nv_bfloat16)
VT_NORMS(_f16, __half)

// Softmax (log = 0) or log-softmax (log = 1) over the last dimension, with an optional scale, additive mask and
// causal masking for attention scores laid out as [B, H, Nq, Nk] rows. The mask is read through its strides over
// (B, H, Nq, Nk); heads = H, queries = Nq.
extern "C" __global__ void vt_softmax_rows(float* __restrict__ out, const float* __restrict__ x, long long cols,
                                           int log, float scale, const float* __restrict__ mask,
                                           long long msB, long long msH, long long msQ, long long msK,
                                           long long heads, long long queries, int causal) {
    __shared__ float scratch[32];
    long long r = blockIdx.x;
    const float* row = x + r * cols;
    float* o = out + r * cols;
    long long qi = r % queries;
    long long hi = (r / queries) % heads;
    long long bi = r / queries / heads;
    const float* mrow = mask != nullptr ? mask + bi * msB + hi * msH + qi * msQ : nullptr;
    float m = -INFINITY;
    for (long long c = threadIdx.x; c < cols; c += blockDim.x) {
        float v = row[c] * scale;
        if (mrow != nullptr) v += mrow[c * msK];
        if (causal && c > qi) v = -INFINITY;
        m = fmaxf(m, v);
    }
    m = blockMax(m, scratch);
    if (m == -INFINITY) m = 0.0f;
    float s = 0.0f;
    for (long long c = threadIdx.x; c < cols; c += blockDim.x) {
        float v = row[c] * scale;
        if (mrow != nullptr) v += mrow[c * msK];
        if (causal && c > qi) v = -INFINITY;
        s += expf(v - m);
    }
    s = blockSum(s, scratch);
    float ls = logf(s);
    for (long long c = threadIdx.x; c < cols; c += blockDim.x) {
        float v = row[c] * scale;
        if (mrow != nullptr) v += mrow[c * msK];
        if (causal && c > qi) v = -INFINITY;
        o[c] = log ? v - m - ls : expf(v - m) / s;
    }
}

// Sum of all elements into out[0] (one block).
extern "C" __global__ void vt_sum_all(float* __restrict__ out, const float* __restrict__ x, long long n) {
    __shared__ float scratch[32];
    float s = 0.0f;
    for (long long i = threadIdx.x; i < n; i += blockDim.x) s += x[i];
    s = blockSum(s, scratch);
    if (threadIdx.x == 0) out[0] = s;
}

// ---------------------------------------------------------------------------------------------------------------
// Reductions over a middle dimension: x viewed as [outer, d, inner], one thread per (outer, inner).
// ---------------------------------------------------------------------------------------------------------------

extern "C" __global__ void vt_mean_dim(float* __restrict__ out, const float* __restrict__ x, long long outer,
                                       long long d, long long inner) {
    long long n = outer * inner;
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        long long o = i / inner, in = i % inner;
        const float* p = x + o * d * inner + in;
        float s = 0.0f;
        for (long long k = 0; k < d; ++k) s += p[k * inner];
        out[i] = s / (float) d;
    }
}

extern "C" __global__ void vt_l2norm_dim(float* __restrict__ out, const float* __restrict__ x, long long outer,
                                         long long d, long long inner, float eps) {
    long long n = outer * inner;
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        long long o = i / inner, in = i % inner;
        const float* p = x + o * d * inner + in;
        float* q = out + o * d * inner + in;
        float s = 0.0f;
        for (long long k = 0; k < d; ++k) s += p[k * inner] * p[k * inner];
        float inv = 1.0f / fmaxf(sqrtf(s), eps);
        for (long long k = 0; k < d; ++k) q[k * inner] = p[k * inner] * inv;
    }
}

extern "C" __global__ void vt_argmax_dim(long long* __restrict__ out, const float* __restrict__ x, long long outer,
                                         long long d, long long inner) {
    long long n = outer * inner;
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        long long o = i / inner, in = i % inner;
        const float* p = x + o * d * inner + in;
        float best = p[0];
        long long at = 0;
        for (long long k = 1; k < d; ++k) {
            float v = p[k * inner];
            if (v > best || (v != v && best == best)) {  // NaN wins, like torch.argmax
                best = v;
                at = k;
            }
        }
        out[i] = at;
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Gathers
// ---------------------------------------------------------------------------------------------------------------

// out[k, :] = table[ids[k], :] (ids validated on the host).
extern "C" __global__ void vt_embedding(float* __restrict__ out, const float* __restrict__ table,
                                        const long long* __restrict__ ids, long long count, long long dim) {
    long long n = count * dim;
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        out[i] = table[ids[i / dim] * dim + i % dim];
    }
}

// out[b, :] = x[b, index[b], :] with x [B, N, inner].
extern "C" __global__ void vt_gather_rows(float* __restrict__ out, const float* __restrict__ x,
                                          const long long* __restrict__ index, long long batch, long long rows,
                                          long long inner) {
    long long n = batch * inner;
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        long long b = i / inner;
        out[i] = x[(b * rows + index[b]) * inner + i % inner];
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Images
// ---------------------------------------------------------------------------------------------------------------

// pixels [B, C, H, W] to patches [B * gh * gw, C * p * p] (row-major grid, channel-major patch), for the patch GEMM.
extern "C" __global__ void vt_im2col(float* __restrict__ out, const float* __restrict__ px, long long batch, int ch,
                                     int h, int w, int p, int gh, int gw) {
    long long k = (long long) ch * p * p;
    long long n = batch * gh * gw * k;
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        long long row = i / k, col = i % k;
        int c = (int) (col / (p * p));
        int dy = (int) ((col / p) % p);
        int dx = (int) (col % p);
        long long b = row / (gh * gw);
        int g = (int) (row % (gh * gw));
        int y = (g / gw) * p + dy;
        int x = (g % gw) * p + dx;
        out[i] = px[((b * ch + c) * h + y) * w + x];
    }
}

__device__ __forceinline__ float cubicWeight(float t) {
    const float a = -0.75f;
    t = fabsf(t);
    if (t <= 1.0f) return ((a + 2.0f) * t - (a + 3.0f)) * t * t + 1.0f;
    if (t < 2.0f) return ((a * t - 5.0f * a) * t + 8.0f * a) * t - 4.0f * a;
    return 0.0f;
}

// PyTorch bicubic (align_corners=False, no antialias) over [planes, h, w] -> [planes, oh, ow].
extern "C" __global__ void vt_resize_bicubic(float* __restrict__ out, const float* __restrict__ x, long long planes,
                                             int h, int w, int oh, int ow) {
    long long n = planes * oh * ow;
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        int ox = (int) (i % ow);
        int oy = (int) ((i / ow) % oh);
        long long pl = i / ((long long) oh * ow);
        float sy = (oy + 0.5f) * ((float) h / (float) oh) - 0.5f;
        float sx = (ox + 0.5f) * ((float) w / (float) ow) - 0.5f;
        int y0 = (int) floorf(sy);
        int x0 = (int) floorf(sx);
        float ty = sy - y0, tx = sx - x0;
        const float* src = x + pl * h * w;
        float acc = 0.0f;
        for (int a = -1; a <= 2; ++a) {
            int yy = min(max(y0 + a, 0), h - 1);
            float wy = cubicWeight(a - ty);
            float row = 0.0f;
            for (int b = -1; b <= 2; ++b) {
                int xx = min(max(x0 + b, 0), w - 1);
                row += cubicWeight(b - tx) * src[yy * w + xx];
            }
            acc += wy * row;
        }
        out[i] = acc;
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Matrix products C[z] = alpha * A[z] (M x K) @ op(B[z]) + bias, row-major, batch z = blockIdx.z with strides.
// op(B) = B^T for B [N, K] (TRANS_B, a linear layer, q k^T) or B for B [K, N] (attention's p v, matmul).
// ---------------------------------------------------------------------------------------------------------------

// Exact float32 on CUDA cores: 64 x 64 tiles, 256 threads, 4 x 4 outputs per thread.
template <bool TRANS_B>
__device__ void gemmF32(const float* __restrict__ A, const float* __restrict__ B, float* __restrict__ C,
                        const float* __restrict__ bias, int M, int N, int K, long long sA, long long sB, long long sC,
                        float alpha) {
    __shared__ float As[16][64 + 4];
    __shared__ float Bs[16][64 + 4];
    const float* a = A + blockIdx.z * sA;
    const float* b = B + blockIdx.z * sB;
    float* c = C + blockIdx.z * sC;
    int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
    int m0 = blockIdx.y * 64, n0 = blockIdx.x * 64;
    float acc[4][4] = {};
    for (int k0 = 0; k0 < K; k0 += 16) {
        for (int e = threadIdx.x; e < 64 * 16; e += 256) {
            int r = e / 16, kk = e % 16;
            int gm = m0 + r, gk = k0 + kk;
            As[kk][r] = (gm < M && gk < K) ? a[(long long) gm * K + gk] : 0.0f;
            int gn = n0 + r;
            if (TRANS_B) {
                Bs[kk][r] = (gn < N && gk < K) ? b[(long long) gn * K + gk] : 0.0f;
            }
        }
        if (!TRANS_B) {
            for (int e = threadIdx.x; e < 64 * 16; e += 256) {
                int kk = e / 64, cN = e % 64;
                int gk = k0 + kk, gn = n0 + cN;
                Bs[kk][cN] = (gn < N && gk < K) ? b[(long long) gk * N + gn] : 0.0f;
            }
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < 16; ++kk) {
            float av[4], bv[4];
#pragma unroll
            for (int i = 0; i < 4; ++i) av[i] = As[kk][ty + 16 * i];
#pragma unroll
            for (int j = 0; j < 4; ++j) bv[j] = Bs[kk][tx + 16 * j];
#pragma unroll
            for (int i = 0; i < 4; ++i)
#pragma unroll
                for (int j = 0; j < 4; ++j) acc[i][j] += av[i] * bv[j];
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        int gm = m0 + ty + 16 * i;
        if (gm >= M) continue;
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            int gn = n0 + tx + 16 * j;
            if (gn >= N) continue;
            float v = alpha * acc[i][j];
            if (bias != nullptr) v += bias[gn];
            c[(long long) gm * N + gn] = v;
        }
    }
}

extern "C" __global__ void __launch_bounds__(256) vt_gemm_f32_nt(const float* A, const float* B, float* C,
        const float* bias, int M, int N, int K, long long sA, long long sB, long long sC, float alpha) {
    gemmF32<true>(A, B, C, bias, M, N, K, sA, sB, sC, alpha);
}

extern "C" __global__ void __launch_bounds__(256) vt_gemm_f32_nn(const float* A, const float* B, float* C,
        const float* bias, int M, int N, int K, long long sA, long long sB, long long sC, float alpha) {
    gemmF32<false>(A, B, C, bias, M, N, K, sA, sB, sC, alpha);
}

#ifndef VT_WARP_EMULATOR  // WMMA products (not emulated)

// Tensor cores (WMMA): 128 x 128 block tiles, K step 32, 8 warps each owning a 64 x 32 piece (4 x 2 fragments of
// 16 x 16), float32 accumulation. Operands are read as float32 (or bfloat16 for B when the weights have a bfloat16
// copy) and rounded to the fragment type while being staged in shared memory; the next K step is prefetched into
// registers while the current one is multiplied.
namespace vt {

template <typename T> struct Frag;
template <> struct Frag<__nv_bfloat16> {
    typedef __nv_bfloat16 Smem;
    typedef __nv_bfloat16 Elem;
    static const int KS = 16;
    __device__ static Smem cvt(float v) { return __float2bfloat16_rn(v); }
};
template <> struct Frag<__half> {
    typedef __half Smem;
    typedef __half Elem;
    static const int KS = 16;
    __device__ static Smem cvt(float v) { return __float2half_rn(v); }
};
template <> struct Frag<wmma::precision::tf32> {
    typedef float Smem;
    typedef wmma::precision::tf32 Elem;
    static const int KS = 8;
    __device__ static Smem cvt(float v) { return wmma::__float_to_tf32(v); }
};

__device__ __forceinline__ float ld(const float* p) { return *p; }
__device__ __forceinline__ float ld(const __nv_bfloat16* p) { return __bfloat162float(*p); }

constexpr int BM = 128, BN = 128, BK = 32, PAD = 8;

template <typename P, typename TB, bool TRANS_B>
__device__ void gemmTc(const float* __restrict__ A, const TB* __restrict__ B, float* __restrict__ C,
                       const float* __restrict__ bias, int M, int N, int K, long long sA, long long sB, long long sC,
                       float alpha) {
    typedef typename Frag<P>::Smem S;
    constexpr int KS = Frag<P>::KS;
    // A tile [BM][BK]; B tile [BN][BK] (TRANS_B, read as a column-major K x N fragment) or [BK][BN].
    constexpr int B_COLS = TRANS_B ? BK : BN;
    extern __shared__ __align__(128) unsigned char smemRaw[];
    S* As = reinterpret_cast<S*>(smemRaw);
    S* Bs = As + BM * (BK + PAD);
    float* Cs = reinterpret_cast<float*>(smemRaw);  // reused for the epilogue

    const float* a = A + blockIdx.z * sA;
    const TB* b = B + blockIdx.z * sB;
    float* c = C + blockIdx.z * sC;
    int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    int warp = threadIdx.x / 32;
    int wm = (warp / 4) * 64;  // 2 warps down
    int wn = (warp % 4) * 32;  // 4 warps across

    wmma::fragment<wmma::accumulator, 16, 16, KS, float> acc[4][2];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.0f);

    // 256 threads stage 128 x 32 values per operand: 16 each.
    float ra[16], rb[16];
    auto loadA = [&](int k0) {
#pragma unroll
        for (int e = 0; e < 16; ++e) {
            int idx = threadIdx.x + e * 256;
            int r = idx / BK, kk = idx % BK;
            int gm = m0 + r, gk = k0 + kk;
            ra[e] = (gm < M && gk < K) ? a[(long long) gm * K + gk] : 0.0f;
        }
    };
    auto loadB = [&](int k0) {
#pragma unroll
        for (int e = 0; e < 16; ++e) {
            int idx = threadIdx.x + e * 256;
            if (TRANS_B) {
                int r = idx / BK, kk = idx % BK;
                int gn = n0 + r, gk = k0 + kk;
                rb[e] = (gn < N && gk < K) ? ld(b + (long long) gn * K + gk) : 0.0f;
            } else {
                int kk = idx / BN, cN = idx % BN;
                int gk = k0 + kk, gn = n0 + cN;
                rb[e] = (gn < N && gk < K) ? ld(b + (long long) gk * N + gn) : 0.0f;
            }
        }
    };
    auto store = [&]() {
#pragma unroll
        for (int e = 0; e < 16; ++e) {
            int idx = threadIdx.x + e * 256;
            As[(idx / BK) * (BK + PAD) + idx % BK] = Frag<P>::cvt(ra[e]);
            Bs[(idx / B_COLS) * (B_COLS + PAD) + idx % B_COLS] = Frag<P>::cvt(rb[e]);
        }
    };

    loadA(0);
    loadB(0);
    for (int k0 = 0; k0 < K; k0 += BK) {
        __syncthreads();
        store();
        __syncthreads();
        if (k0 + BK < K) {
            loadA(k0 + BK);
            loadB(k0 + BK);
        }
#pragma unroll
        for (int kk = 0; kk < BK; kk += KS) {
            wmma::fragment<wmma::matrix_a, 16, 16, KS, typename Frag<P>::Elem, wmma::row_major> fa[4];
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                wmma::load_matrix_sync(fa[i], As + (wm + 16 * i) * (BK + PAD) + kk, BK + PAD);
            }
#pragma unroll
            for (int j = 0; j < 2; ++j) {
                if (TRANS_B) {
                    wmma::fragment<wmma::matrix_b, 16, 16, KS, typename Frag<P>::Elem, wmma::col_major> fb;
                    wmma::load_matrix_sync(fb, Bs + (wn + 16 * j) * (BK + PAD) + kk, BK + PAD);
#pragma unroll
                    for (int i = 0; i < 4; ++i) wmma::mma_sync(acc[i][j], fa[i], fb, acc[i][j]);
                } else {
                    wmma::fragment<wmma::matrix_b, 16, 16, KS, typename Frag<P>::Elem, wmma::row_major> fb;
                    wmma::load_matrix_sync(fb, Bs + kk * (BN + PAD) + wn + 16 * j, BN + PAD);
#pragma unroll
                    for (int i = 0; i < 4; ++i) wmma::mma_sync(acc[i][j], fa[i], fb, acc[i][j]);
                }
            }
        }
    }
    // Epilogue through shared memory (bounds, alpha, bias): each warp stages one 16 x 16 fragment at a time.
    __syncthreads();
    float* cw = Cs + warp * 256;
    int lane = threadIdx.x % 32;
#pragma unroll
    for (int i = 0; i < 4; ++i) {
#pragma unroll
        for (int j = 0; j < 2; ++j) {
            wmma::store_matrix_sync(cw, acc[i][j], 16, wmma::mem_row_major);
            __syncwarp();
#pragma unroll
            for (int e = 0; e < 8; ++e) {
                int idx = lane + 32 * e;
                int gm = m0 + wm + 16 * i + idx / 16, gn = n0 + wn + 16 * j + idx % 16;
                if (gm < M && gn < N) {
                    float v = alpha * cw[idx];
                    if (bias != nullptr) v += bias[gn];
                    c[(long long) gm * N + gn] = v;
                }
            }
            __syncwarp();
        }
    }
}

}  // namespace vt

#define VT_GEMM_TC(NAME, P, TB, TRANS)                                                                              \
    extern "C" __global__ void __launch_bounds__(256) NAME(const float* A, const TB* B, float* C, const float* bias, \
            int M, int N, int K, long long sA, long long sB, long long sC, float alpha) {                             \
        vt::gemmTc<P, TB, TRANS>(A, B, C, bias, M, N, K, sA, sB, sC, alpha);                                          \
    }

VT_GEMM_TC(vt_gemm_tf32_nt, wmma::precision::tf32, float, true)
VT_GEMM_TC(vt_gemm_tf32_nn, wmma::precision::tf32, float, false)
VT_GEMM_TC(vt_gemm_bf16_nt, __nv_bfloat16, float, true)
VT_GEMM_TC(vt_gemm_bf16_nn, __nv_bfloat16, float, false)
VT_GEMM_TC(vt_gemm_bf16w_nt, __nv_bfloat16, __nv_bfloat16, true)
VT_GEMM_TC(vt_gemm_f16_nt, __half, float, true)
VT_GEMM_TC(vt_gemm_f16_nn, __half, float, false)

#endif  // WMMA products

// Asynchronous 16-byte global -> shared copies (zero-filled when !valid), in commit groups.
namespace vt {

__device__ __forceinline__ void cpAsync16(void* smem, const void* gmem, bool valid) {
#ifdef VT_WARP_EMULATOR
    vt_emu::cpAsync16(smem, gmem, valid);
#else
    unsigned s = (unsigned) __cvta_generic_to_shared(smem);
    int bytes = valid ? 16 : 0;
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(gmem), "r"(bytes));
#endif
}

__device__ __forceinline__ void cpAsyncCommit() {
#ifdef VT_WARP_EMULATOR
    vt_emu::cpAsyncCommit();
#else
    asm volatile("cp.async.commit_group;\n" ::);
#endif
}

template <int N>
__device__ __forceinline__ void cpAsyncWait() {
#ifdef VT_WARP_EMULATOR
    vt_emu::cpAsyncWait(N);
#else
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
#endif
}

}  // namespace vt

#ifndef VT_WARP_EMULATOR  // WMMA products (not emulated)

// Pipelined tensor-core products for NT layouts (linear layers, q k^T) whose operands are already in the fragment's
// storage type (bfloat16 or float16 copies, or float32 read as TF32): 128 x 128 x 32 block tiles, 8 warps of 64 x 32,
// global -> shared copies with cp.async (16 bytes, zero-filled past the edges) running STAGES - 1 tiles ahead of the
// tensor cores. Needs K a multiple of 16 bytes' worth of elements and 16-byte aligned operands (checked by the host).
namespace vt {

template <typename P> struct Store;
template <> struct Store<__nv_bfloat16> { typedef __nv_bfloat16 T; };
template <> struct Store<__half> { typedef __half T; };
template <> struct Store<wmma::precision::tf32> { typedef float T; };

template <typename FragT>
__device__ __forceinline__ void roundTf32(FragT& f, wmma::precision::tf32*) {
#pragma unroll
    for (int t = 0; t < f.num_elements; ++t) f.x[t] = wmma::__float_to_tf32(f.x[t]);
}
template <typename FragT, typename P>
__device__ __forceinline__ void roundTf32(FragT&, P*) {}

template <typename P, int STAGES, int WJ>
__device__ void gemmPipe(const typename Store<P>::T* __restrict__ A, const typename Store<P>::T* __restrict__ B,
                         float* __restrict__ C, const float* __restrict__ bias, int M, int N, int K, long long sA,
                         long long sB, long long sC, float alpha) {
    typedef typename Store<P>::T T;
    constexpr int CH = 16 / sizeof(T);       // elements per 16-byte copy
    constexpr int LD = BK + CH;              // shared row length: one chunk of padding
    constexpr int KS = Frag<P>::KS;
    constexpr int ROW_CHUNKS = BK / CH;
    constexpr int BNT = 4 * 16 * WJ;         // block tile width: 4 warps across, WJ fragments each
    constexpr int PER_THREAD_A = BM * ROW_CHUNKS / 256;
    constexpr int PER_THREAD_B = BNT * ROW_CHUNKS / 256;
    constexpr int STAGE = (BM + BNT) * LD;   // A tile then B tile
    extern __shared__ __align__(128) unsigned char smemRaw[];
    T* sm = reinterpret_cast<T*>(smemRaw);
    float* Cs = reinterpret_cast<float*>(smemRaw);

    const T* a = A + blockIdx.z * sA;
    const T* b = B + blockIdx.z * sB;
    float* c = C + blockIdx.z * sC;
    int m0 = blockIdx.y * BM, n0 = blockIdx.x * BNT;
    int warp = threadIdx.x / 32;
    int wm = (warp / 4) * 64;
    int wn = (warp % 4) * 16 * WJ;

    wmma::fragment<wmma::accumulator, 16, 16, KS, float> acc[4][WJ];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < WJ; ++j) wmma::fill_fragment(acc[i][j], 0.0f);

    int kTiles = (K + BK - 1) / BK;
    auto load = [&](int slot, int kt) {
        T* sa = sm + slot * STAGE;
        T* sb = sa + BM * LD;
        int k0 = kt * BK;
#pragma unroll
        for (int e = 0; e < PER_THREAD_A; ++e) {
            int idx = threadIdx.x + e * 256;
            int r = idx / ROW_CHUNKS;
            int ck = (idx % ROW_CHUNKS) * CH;
            int gk = k0 + ck;
            int gm = m0 + r;
            bool va = gm < M && gk < K;
            cpAsync16(sa + r * LD + ck, va ? a + (long long) gm * K + gk : a, va);
        }
#pragma unroll
        for (int e = 0; e < PER_THREAD_B; ++e) {
            int idx = threadIdx.x + e * 256;
            int r = idx / ROW_CHUNKS;
            int ck = (idx % ROW_CHUNKS) * CH;
            int gk = k0 + ck;
            int gn = n0 + r;
            bool vb = gn < N && gk < K;
            cpAsync16(sb + r * LD + ck, vb ? b + (long long) gn * K + gk : b, vb);
        }
    };

#pragma unroll
    for (int s = 0; s < STAGES - 1; ++s) {
        if (s < kTiles) load(s, s);
        cpAsyncCommit();
    }
    for (int kt = 0; kt < kTiles; ++kt) {
        cpAsyncWait<STAGES - 2>();
        __syncthreads();
        int next = kt + STAGES - 1;
        if (next < kTiles) load(next % STAGES, next);
        cpAsyncCommit();
        const T* sa = sm + (kt % STAGES) * STAGE;
        const T* sb = sa + BM * LD;
#pragma unroll
        for (int kk = 0; kk < BK; kk += KS) {
            wmma::fragment<wmma::matrix_a, 16, 16, KS, typename Frag<P>::Elem, wmma::row_major> fa[4];
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                wmma::load_matrix_sync(fa[i], sa + (wm + 16 * i) * LD + kk, LD);
                roundTf32(fa[i], (P*) nullptr);
            }
#pragma unroll
            for (int j = 0; j < WJ; ++j) {
                wmma::fragment<wmma::matrix_b, 16, 16, KS, typename Frag<P>::Elem, wmma::col_major> fb;
                wmma::load_matrix_sync(fb, sb + (wn + 16 * j) * LD + kk, LD);
                roundTf32(fb, (P*) nullptr);
#pragma unroll
                for (int i = 0; i < 4; ++i) wmma::mma_sync(acc[i][j], fa[i], fb, acc[i][j]);
            }
        }
    }
    cpAsyncWait<0>();
    __syncthreads();
    float* cw = Cs + warp * 256;
    int lane = threadIdx.x % 32;
#pragma unroll
    for (int i = 0; i < 4; ++i) {
#pragma unroll
        for (int j = 0; j < WJ; ++j) {
            wmma::store_matrix_sync(cw, acc[i][j], 16, wmma::mem_row_major);
            __syncwarp();
#pragma unroll
            for (int e = 0; e < 8; ++e) {
                int idx = lane + 32 * e;
                int gm = m0 + wm + 16 * i + idx / 16, gn = n0 + wn + 16 * j + idx % 16;
                if (gm < M && gn < N) {
                    float v = alpha * cw[idx];
                    if (bias != nullptr) v += bias[gn];
                    c[(long long) gm * N + gn] = v;
                }
            }
            __syncwarp();
        }
    }
}

}  // namespace vt

#define VT_GEMM_PIPE(NAME, P, STAGES, WJ)                                                                           \
    extern "C" __global__ void __launch_bounds__(256) NAME(const vt::Store<P>::T* A, const vt::Store<P>::T* B,      \
            float* C, const float* bias, int M, int N, int K, long long sA, long long sB, long long sC, float alpha) { \
        vt::gemmPipe<P, STAGES, WJ>(A, B, C, bias, M, N, K, sA, sB, sC, alpha);                                       \
    }

// 128 x 128 tiles (warps of 64 x 32), and 128 x 256 tiles (warps of 64 x 64: twice the work per shared-memory read)
VT_GEMM_PIPE(vt_gemm_pipe_bf16_nt, __nv_bfloat16, 4, 2)
VT_GEMM_PIPE(vt_gemm_pipe_f16_nt, __half, 4, 2)
VT_GEMM_PIPE(vt_gemm_pipe_tf32_nt, wmma::precision::tf32, 3, 2)
VT_GEMM_PIPE(vt_gemm_pipe_bf16_nt_wide, __nv_bfloat16, 3, 4)
VT_GEMM_PIPE(vt_gemm_pipe_f16_nt_wide, __half, 3, 4)

#endif  // WMMA products

// Tensor-core products on raw mma.sync instructions (m16n8k16, bfloat16 or float16 operands, float32 accumulation)
// with ldmatrix fragment loads, for NT layouts whose operands are 16-bit copies (A [M, K], B [N, K], row-major):
// 128 x 128 x 32 block tiles, 4 warps of 64 x 64 (32 mma per 16-deep step against 8 ldmatrix), cp.async pipeline of
// STAGES tiles; shared rows padded to 80 bytes so the eight rows an ldmatrix reads fall in distinct banks. The
// epilogue goes through shared memory (see below). Needs K a multiple of 8 and 16-byte aligned operands (host-checked).
namespace vt {

// D = A B + D for one m16n8k16 tile (A row-major, B column-major, float32 accumulators).
#define VT_MMA_M16N8K16(TYPE)                                                                                          \
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32." TYPE "." TYPE ".f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "          \
                 "{%8,%9}, {%0,%1,%2,%3};\n"                                                                           \
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])                                                      \
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]))

#ifndef VT_WARP_EMULATOR
__device__ __forceinline__ void mmaAsm(float* c, const unsigned* a, const unsigned* b, __nv_bfloat16*) {
    VT_MMA_M16N8K16("bf16");
}
__device__ __forceinline__ void mmaAsm(float* c, const unsigned* a, const unsigned* b, __half*) {
    VT_MMA_M16N8K16("f16");
}
#endif

template <typename T> struct Mma {
    __device__ __forceinline__ static void run(float* c, const unsigned* a, const unsigned* b) {
#ifdef VT_WARP_EMULATOR
        vt_emu::mma16816<T>(c, a, b);
#else
        mmaAsm(c, a, b, static_cast<T*>(nullptr));
#endif
    }
};

// Four 8 x 8 16-bit matrices from shared memory; lanes 8i..8i+7 give the row addresses of matrix i. Lane l gets
// row l / 4, elements 2 (l % 4) and 2 (l % 4) + 1 of each matrix (with .trans: of each matrix's transpose).
#define VT_LDMATRIX_X4(QUALIFIER)                                                                                      \
    asm volatile("ldmatrix.sync.aligned.m8n8.x4" QUALIFIER ".shared.b16 {%0,%1,%2,%3}, [%4];\n"                        \
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])                                                      \
                 : "r"(s))

template <bool TRANS>
__device__ __forceinline__ void ldmatrixX4Of(unsigned* r, const void* smem) {
#ifdef VT_WARP_EMULATOR
    vt_emu::ldmatrixX4(r, smem, TRANS);
#else
    unsigned s = (unsigned) __cvta_generic_to_shared(smem);
    if constexpr (TRANS) {
        VT_LDMATRIX_X4(".trans");
    } else {
        VT_LDMATRIX_X4("");
    }
#endif
}

__device__ __forceinline__ void ldmatrixX4(unsigned* r, const void* smem) { ldmatrixX4Of<false>(r, smem); }
__device__ __forceinline__ void ldmatrixX4Trans(unsigned* r, const void* smem) { ldmatrixX4Of<true>(r, smem); }

// v[0..7] += / *= eight floats at a 16-byte aligned address.
__device__ __forceinline__ void add8(float* v, const float* p) {
    float4 a = reinterpret_cast<const float4*>(p)[0], b = reinterpret_cast<const float4*>(p)[1];
    v[0] += a.x; v[1] += a.y; v[2] += a.z; v[3] += a.w; v[4] += b.x; v[5] += b.y; v[6] += b.z; v[7] += b.w;
}
__device__ __forceinline__ void mul8(float* v, const float* p) {
    float4 a = reinterpret_cast<const float4*>(p)[0], b = reinterpret_cast<const float4*>(p)[1];
    v[0] *= a.x; v[1] *= a.y; v[2] *= a.z; v[3] *= a.w; v[4] *= b.x; v[5] *= b.y; v[6] *= b.z; v[7] *= b.w;
}

// Two floats rounded to a 16-bit pair, as the 32-bit word that holds them (lower address first).
template <typename TO> __device__ __forceinline__ unsigned pack2(float a, float b);
template <> __device__ __forceinline__ unsigned pack2<__nv_bfloat16>(float a, float b) {
    __nv_bfloat162 p = __floats2bfloat162_rn(a, b);
    return *reinterpret_cast<unsigned*>(&p);
}
template <> __device__ __forceinline__ unsigned pack2<__half>(float a, float b) {
    __half2 p = __floats2half2_rn(a, b);
    return *reinterpret_cast<unsigned*>(&p);
}

// What the product's epilogue does to v = alpha * (A B^T)[m, n] + bias[n], in this order: the MLP activation
// (act >= 0, codes of vt_activation), a per-column scale (layer scale), a residual [M, N] added; then the value is
// stored as TO at row-major [M, N], or, with heads > 0, into three planes q, k, v of [B, heads, tokens, headDim]
// (columns are q | k | v of heads * headDim each, rows are batch-major tokens): the attention's input layout.
struct Epilogue {
    const float* scale;
    const float* residual;
    int act;
    int heads;
    int tokens;
    int headDim;
};

// The products' epilogue, from a 128 x 128 float32 tile `cs` (row stride LDC) in shared memory that holds
// alpha * (A B^T) for rows m0.., columns n0..: every thread finishes runs of 8 columns of a row (bias, activation,
// scale, residual) and stores them as TO, 16 bytes at a time where the destination allows.
template <typename TO, int THREADS>
__device__ void epilogueTile(const float* cs, int LDC, TO* __restrict__ c, const float* __restrict__ bias, int M, int N,
                             int m0, int n0, const Epilogue& ep) {
    bool scatter = ep.heads > 0;
    int width = scatter ? N / 3 : N;
    // 16-byte stores need every run of 8 to be contiguous and aligned in the destination
    bool vec = scatter ? ep.headDim % 8 == 0 && width % 8 == 0 : N % (16 / (int) sizeof(TO)) == 0;
    auto dst = [&](int gm, int gn) -> long long {
        if (!scatter) return (long long) gm * N + gn;
        int which = gn / width, cw = gn - which * width;
        int hh = cw / ep.headDim;
        long long bb = gm / ep.tokens, nn = gm - bb * ep.tokens;
        return which * (long long) M * width + ((bb * ep.heads + hh) * ep.tokens + nn) * ep.headDim
               + (cw - hh * ep.headDim);
    };
    // bias, scale and residual rows are read as float4 pairs where whole runs of 8 are aligned
    bool vecIn = N % 4 == 0;
#pragma unroll 4
    for (int e = 0; e < 128 * 128 / 8 / THREADS; ++e) {
        int idx = threadIdx.x + e * THREADS;
        int r = idx / 16, cc = (idx % 16) * 8;
        int gm = m0 + r, gn = n0 + cc;
        if (gm >= M || gn >= N) continue;
        float4 lo = *reinterpret_cast<const float4*>(cs + r * LDC + cc);
        float4 hi = *reinterpret_cast<const float4*>(cs + r * LDC + cc + 4);
        float v[8] = {lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w};
        int cols = min(8, N - gn);
        const float* res = ep.residual != nullptr ? ep.residual + (long long) gm * N + gn : nullptr;
        if (vecIn && cols == 8) {
            if (bias != nullptr) add8(v, bias + gn);
            if (ep.act >= 0) {
#pragma unroll
                for (int q = 0; q < 8; ++q) v[q] = vt_activation(v[q], ep.act);
            }
            if (ep.scale != nullptr) mul8(v, ep.scale + gn);
            if (res != nullptr) add8(v, res);
        } else {
#pragma unroll
            for (int q = 0; q < 8; ++q) {
                if (q < cols) {
                    float x = v[q];
                    if (bias != nullptr) x += bias[gn + q];
                    if (ep.act >= 0) x = vt_activation(x, ep.act);
                    if (ep.scale != nullptr) x *= ep.scale[gn + q];
                    if (res != nullptr) x += res[q];
                    v[q] = x;
                }
            }
        }
        if (vec && cols == 8) {
            TO* p = c + dst(gm, gn);
            if constexpr (sizeof(TO) == 4) {
                reinterpret_cast<float4*>(p)[0] = make_float4(v[0], v[1], v[2], v[3]);
                reinterpret_cast<float4*>(p)[1] = make_float4(v[4], v[5], v[6], v[7]);
            } else {
                *reinterpret_cast<uint4*>(p) = make_uint4(pack2<TO>(v[0], v[1]), pack2<TO>(v[2], v[3]),
                                                          pack2<TO>(v[4], v[5]), pack2<TO>(v[6], v[7]));
            }
        } else {
            for (int q = 0; q < cols; ++q) c[dst(gm, gn + q)] = fromF<TO>(v[q]);
        }
    }
}

template <typename T, int STAGES, typename TO>
__device__ void gemmMma(const T* __restrict__ A, const T* __restrict__ B, TO* __restrict__ C,
                        const float* __restrict__ bias, int M, int N, int K, long long sA, long long sB, long long sC,
                        float alpha, Epilogue ep) {
    constexpr int TM = 128, TN = 128, TK = 32, LD = TK + 8;
    constexpr int STAGE = (TM + TN) * LD;
    extern __shared__ __align__(128) unsigned char smemRaw[];
    T* sm = reinterpret_cast<T*>(smemRaw);

    const T* a = A + blockIdx.z * sA;
    const T* b = B + blockIdx.z * sB;
    TO* c = C + blockIdx.z * sC;
    int m0 = blockIdx.y * TM, n0 = blockIdx.x * TN;
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    int wm = (warp / 2) * 64, wn = (warp % 2) * 64;

    float acc[4][8][4];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.0f;

    int kTiles = (K + TK - 1) / TK;
    // 128 rows x 4 chunks of 8 elements per operand and stage: 4 chunks of each per thread.
    auto load = [&](int slot, int kt) {
        T* sa = sm + slot * STAGE;
        T* sb = sa + TM * LD;
        int k0 = kt * TK;
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            int idx = threadIdx.x + e * 128;
            int r = idx / 4;
            int ck = (idx % 4) * 8;
            int gk = k0 + ck;
            int gm = m0 + r;
            bool va = gm < M && gk < K;
            cpAsync16(sa + r * LD + ck, va ? a + (long long) gm * K + gk : a, va);
            int gn = n0 + r;
            bool vb = gn < N && gk < K;
            cpAsync16(sb + r * LD + ck, vb ? b + (long long) gn * K + gk : b, vb);
        }
    };

#pragma unroll
    for (int s = 0; s < STAGES - 1; ++s) {
        if (s < kTiles) load(s, s);
        cpAsyncCommit();
    }
    // Per-lane ldmatrix row offsets: A matrices (rows 0-7 | 8-15) x (k 0-7 | 8-15) give a0..a3; B matrices
    // (n 0-7, k 0-7), (n 0-7, k 8-15), (n 8-15, k 0-7), (n 8-15, k 8-15) give b0, b1 of two n8 tiles.
    int aRow = wm + (lane % 16), aCol = (lane / 16) * 8;
    int bRow = wn + (lane / 16) * 8 + (lane % 8), bCol = ((lane / 8) % 2) * 8;
    for (int kt = 0; kt < kTiles; ++kt) {
        cpAsyncWait<STAGES - 2>();
        __syncthreads();
        int next = kt + STAGES - 1;
        if (next < kTiles) load(next % STAGES, next);
        cpAsyncCommit();
        const T* sa = sm + (kt % STAGES) * STAGE;
        const T* sb = sa + TM * LD;
#pragma unroll
        for (int kk = 0; kk < TK; kk += 16) {
            unsigned af[4][4], bf[8][2];
#pragma unroll
            for (int i = 0; i < 4; ++i) ldmatrixX4(af[i], sa + (aRow + 16 * i) * LD + kk + aCol);
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                unsigned r[4];
                ldmatrixX4(r, sb + (bRow + 16 * j) * LD + kk + bCol);
                bf[2 * j][0] = r[0];
                bf[2 * j][1] = r[1];
                bf[2 * j + 1][0] = r[2];
                bf[2 * j + 1][1] = r[3];
            }
#pragma unroll
            for (int i = 0; i < 4; ++i)
#pragma unroll
                for (int j = 0; j < 8; ++j) Mma<T>::run(acc[i][j], af[i], bf[j]);
        }
    }
    cpAsyncWait<0>();

    // Epilogue through shared memory, so that global reads and writes are whole 16-byte vectors: the warps park
    // alpha * acc in a [128][132] float tile (accumulator (i, j) holds rows g and g + 8, columns 2t and 2t + 1 of its
    // 16 x 8 piece), then every thread finishes runs of 8 columns of a row (bias, activation, scale, residual) and
    // stores them.
    __syncthreads();
    constexpr int LDC = TN + 4;
    float* cs = reinterpret_cast<float*>(smemRaw);
    {
        int g = lane / 4, t = lane % 4;
#pragma unroll
        for (int i = 0; i < 4; ++i)
#pragma unroll
            for (int j = 0; j < 8; ++j)
#pragma unroll
                for (int h = 0; h < 2; ++h) {
                    int r = wm + 16 * i + g + 8 * h, cc = wn + 8 * j + 2 * t;
                    *reinterpret_cast<float2*>(cs + r * LDC + cc) =
                        make_float2(alpha * acc[i][j][2 * h], alpha * acc[i][j][2 * h + 1]);
                }
    }
    __syncthreads();
    epilogueTile<TO, 128>(cs, LDC, c, bias, M, N, m0, n0, ep);
}

}  // namespace vt

// The GEMM engine's entry points (float32 C, bias only) and the fused block's (any epilogue, float32 or 16-bit C).
#define VT_GEMM_MMA(NAME, T, STAGES)                                                                                 \
    extern "C" __global__ void __launch_bounds__(128) NAME(const T* A, const T* B, float* C, const float* bias,       \
            int M, int N, int K, long long sA, long long sB, long long sC, float alpha) {                             \
        vt::gemmMma<T, STAGES, float>(A, B, C, bias, M, N, K, sA, sB, sC, alpha,                                      \
                                      vt::Epilogue{nullptr, nullptr, -1, 0, 1, 1});                                   \
    }                                                                                                                 \
    extern "C" __global__ void __launch_bounds__(128) NAME##_epi(const T* A, const T* B, float* C,                   \
            const float* bias, int M, int N, int K, const float* scale, const float* residual, int act, int heads,    \
            int tokens, int headDim) {                                                                                \
        vt::gemmMma<T, STAGES, float>(A, B, C, bias, M, N, K, 0, 0, 0, 1.0f,                                          \
                                      vt::Epilogue{scale, residual, act, heads, tokens, headDim});                    \
    }                                                                                                                 \
    extern "C" __global__ void __launch_bounds__(128) NAME##_epi16(const T* A, const T* B, T* C, const float* bias,  \
            int M, int N, int K, const float* scale, const float* residual, int act, int heads, int tokens,           \
            int headDim) {                                                                                            \
        vt::gemmMma<T, STAGES, T>(A, B, C, bias, M, N, K, 0, 0, 0, 1.0f,                                              \
                                  vt::Epilogue{scale, residual, act, heads, tokens, headDim});                        \
    }

VT_GEMM_MMA(vt_gemm_mma_bf16_nt, __nv_bfloat16, 4)
VT_GEMM_MMA(vt_gemm_mma_f16_nt, __half, 4)

// ---------------------------------------------------------------------------------------------------------------
// Hopper (sm_90a) products on wgmma: C = alpha * A B^T (+ epilogue) for A [M, K], B [N, K] 16-bit, row-major.
// 128 x 128 x 64 block tiles, two warpgroups of 64 x 128 (wgmma.m64n128k16, float32 accumulators in registers),
// both operands read by the tensor cores straight from shared memory through matrix descriptors: K-major tiles of
// 128-byte rows (64 values) in the 128-byte swizzle (the 16-byte chunk c of row r is stored at chunk c ^ (r % 8);
// 8-row groups 1024 bytes apart: the descriptor's stride byte offset), filled by cp.async in a 4-stage pipeline.
// The epilogue is the mma.sync kernels' (epilogueTile). Built only into the sm_90a module (kernels compiled for
// sm_90a, loaded for tile=wgmma); elsewhere the entry points exist but only report that wgmma is missing.
// ---------------------------------------------------------------------------------------------------------------
#if defined(VT_WARP_EMULATOR) || (defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL))
#define VT_WGMMA 1
#endif

// out[0] = 1 when this module's wgmma kernels are real (compiled for sm_90a), 0 otherwise.
extern "C" __global__ void vt_wgmma_available(int* out) {
#ifdef VT_WGMMA
    out[0] = 1;
#else
    out[0] = 0;
#endif
}

#ifdef VT_WGMMA
namespace vt {

constexpr int WG_TM = 128, WG_TN = 128, WG_TK = 64, WG_STAGES = 4;
constexpr int WG_TILE = 128 * 128;  // bytes of one 128-row x 64-value operand tile

__device__ __forceinline__ unsigned sharedAddress(const void* p) {
#ifdef VT_WARP_EMULATOR
    return vt_emu::sharedAddress(p);
#else
    return (unsigned) __cvta_generic_to_shared(p);
#endif
}

// Shared-memory matrix descriptor: start address, leading byte offset 16 (unused by K-major swizzled layouts),
// stride byte offset 1024 (between 8-row groups), 128-byte swizzle.
__device__ __forceinline__ unsigned long long wgmmaDesc(const void* smem) {
    unsigned long long a = sharedAddress(smem);
    return ((a & 0x3FFFFull) >> 4) | (1ull << 16) | ((1024ull >> 4) << 32) | (1ull << 62);
}

__device__ __forceinline__ void wgmmaFence() {
#ifndef VT_WARP_EMULATOR
    asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void wgmmaCommit() {
#ifdef VT_WARP_EMULATOR
    vt_emu::wgmmaCommit();
#else
    asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
#endif
}
// Waits until at most N committed wgmma groups of this warpgroup are still running.
template <int N>
__device__ __forceinline__ void wgmmaWait() {
#ifdef VT_WARP_EMULATOR
    vt_emu::wgmmaWait(N);
#else
    asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
#endif
}
// Makes this thread's generic-proxy writes to shared memory (cp.async included) visible to wgmma's async proxy.
__device__ __forceinline__ void fenceProxyAsync() {
#ifndef VT_WARP_EMULATOR
    asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
#endif
}
// Keeps the compiler from moving accumulator reads/writes across the asynchronous wgmma.
__device__ __forceinline__ void fenceAccumulators(float (&d)[64]) {
#ifndef VT_WARP_EMULATOR
#pragma unroll
    for (int i = 0; i < 64; ++i) asm volatile("" : "+f"(d[i])::"memory");
#endif
}

// d (+)= A B^T for a 64 x 16 A and 128 x 16 B tile given by descriptors; accumulate = 0 overwrites d.
#define VT_WGMMA_M64N128K16(TYPE)                                                                                      \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"                                                          \
                 "wgmma.mma_async.sync.aligned.m64n128k16.f32." TYPE "." TYPE " "                                      \
                 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "                             \
                 "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "                    \
                 "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "                    \
                 "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "                   \
                 "%64, %65, p, 1, 1, 0, 0;\n}\n"                                                                       \
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]),                 \
                   "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]),             \
                   "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]),          \
                   "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]),          \
                   "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]),          \
                   "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]),          \
                   "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]),          \
                   "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]),          \
                   "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]),          \
                   "+f"(d[63])                                                                                         \
                 : "l"(descA), "l"(descB), "r"(accumulate))

#ifndef VT_WARP_EMULATOR
__device__ __forceinline__ void wgmmaAsm(float (&d)[64], unsigned long long descA, unsigned long long descB,
                                         int accumulate, __nv_bfloat16*) {
    VT_WGMMA_M64N128K16("bf16");
}
__device__ __forceinline__ void wgmmaAsm(float (&d)[64], unsigned long long descA, unsigned long long descB,
                                         int accumulate, __half*) {
    VT_WGMMA_M64N128K16("f16");
}
#endif

template <typename T>
__device__ __forceinline__ void wgmma(float (&d)[64], unsigned long long descA, unsigned long long descB,
                                      int accumulate) {
#ifdef VT_WARP_EMULATOR
    vt_emu::wgmma64x128<T>(d, descA, descB, accumulate);
#else
    wgmmaAsm(d, descA, descB, accumulate, static_cast<T*>(nullptr));
#endif
}

template <typename T, typename TO>
__device__ void gemmWgmma(const T* __restrict__ A, const T* __restrict__ B, TO* __restrict__ C,
                          const float* __restrict__ bias, int M, int N, int K, long long sA, long long sB,
                          long long sC, float alpha, Epilogue ep) {
    extern __shared__ __align__(128) unsigned char smemRaw[];
    // the swizzle repeats every 1024 bytes: tiles start on a 1024-byte boundary (the launch adds 1024 bytes of slack)
    unsigned char* base = smemRaw + ((1024 - (sharedAddress(smemRaw) & 1023)) & 1023);

    const T* a = A + blockIdx.z * sA;
    const T* b = B + blockIdx.z * sB;
    TO* c = C + blockIdx.z * sC;
    int m0 = blockIdx.y * WG_TM, n0 = blockIdx.x * WG_TN;
    int wg = threadIdx.x / 128;

    float d[64];
#pragma unroll
    for (int i = 0; i < 64; ++i) d[i] = 0.0f;
    fenceAccumulators(d);

    int kTiles = (K + WG_TK - 1) / WG_TK;
    // One wgmma group stays in flight while the next k tile is issued, so a stage is refilled only two tiles after
    // it was read: loads run WG_STAGES - 2 tiles ahead.
    constexpr int AHEAD = WG_STAGES - 2;
    // 128 rows x 8 chunks of 16 bytes per operand and stage: 4 of each per thread
    auto load = [&](int slot, int kt) {
        unsigned char* ta = base + slot * 2 * WG_TILE;
        unsigned char* tb = ta + WG_TILE;
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            int idx = threadIdx.x + e * 256;
            int r = idx / 8, ch = idx % 8;
            int gk = kt * WG_TK + ch * 8;
            int off = r * 128 + ((ch ^ (r & 7)) << 4);
            int gm = m0 + r, gn = n0 + r;
            bool va = gm < M && gk < K, vb = gn < N && gk < K;
            cpAsync16(ta + off, va ? a + (long long) gm * K + gk : a, va);
            cpAsync16(tb + off, vb ? b + (long long) gn * K + gk : b, vb);
        }
    };
#pragma unroll
    for (int s = 0; s < AHEAD; ++s) {
        if (s < kTiles) load(s, s);
        cpAsyncCommit();
    }
    for (int kt = 0; kt < kTiles; ++kt) {
        cpAsyncWait<AHEAD - 1>();
        fenceProxyAsync();
        // tile kt landed for everyone; the stage refilled below was read by the wgmma group of tile kt - 2, which
        // every warpgroup saw finish (wgmmaWait<1> at the end of kt - 1) before this barrier
        __syncthreads();
        int next = kt + AHEAD;
        if (next < kTiles) load(next % WG_STAGES, next);
        cpAsyncCommit();
        const unsigned char* ta = base + (kt % WG_STAGES) * 2 * WG_TILE + wg * 64 * 128;
        const unsigned char* tb = base + (kt % WG_STAGES) * 2 * WG_TILE + WG_TILE;
        // no other instruction may touch the accumulators while a group is in flight, or ptxas serializes the wgmma
        // pipeline (message C7515; KernelSourceTest checks): they are fenced after their zero-initialisation, which
        // the compiler would otherwise move into this loop, and after the last wait
        wgmmaFence();
#pragma unroll
        for (int ks = 0; ks < WG_TK / 16; ++ks) {
            wgmma<T>(d, wgmmaDesc(ta + 32 * ks), wgmmaDesc(tb + 32 * ks), 1);
        }
        wgmmaCommit();
        wgmmaWait<1>();
    }
    wgmmaWait<0>();
    fenceAccumulators(d);
    cpAsyncWait<0>();

    // accumulator i of this thread: rows 64 wg + 16 (warp % 4) + g (+ 8 for i % 4 >= 2), column 8 (i / 4) + 2t + i % 2
    __syncthreads();
    constexpr int LDC = WG_TN + 4;
    float* cs = reinterpret_cast<float*>(base);
    {
        int w = (threadIdx.x / 32) % 4, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
#pragma unroll
        for (int j = 0; j < 16; ++j)
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                int r = wg * 64 + w * 16 + g + 8 * h, cc = 8 * j + 2 * t;
                *reinterpret_cast<float2*>(cs + r * LDC + cc) = make_float2(alpha * d[4 * j + 2 * h],
                                                                            alpha * d[4 * j + 2 * h + 1]);
            }
    }
    __syncthreads();
    epilogueTile<TO, 256>(cs, LDC, c, bias, M, N, m0, n0, ep);
}

}  // namespace vt
#endif  // VT_WGMMA

// Same arguments as VT_GEMM_MMA's three entry points; 256 threads, Gemm.WGMMA_SHARED_BYTES.
#ifdef VT_WGMMA
#define VT_WGMMA_CALL(...) __VA_ARGS__
#else
#define VT_WGMMA_CALL(...)
#endif
#define VT_GEMM_WGMMA(NAME, T)                                                                                       \
    extern "C" __global__ void __launch_bounds__(256) NAME(const T* A, const T* B, float* C, const float* bias,       \
            int M, int N, int K, long long sA, long long sB, long long sC, float alpha) {                             \
        VT_WGMMA_CALL(vt::gemmWgmma<T, float>(A, B, C, bias, M, N, K, sA, sB, sC, alpha,                              \
                                              vt::Epilogue{nullptr, nullptr, -1, 0, 1, 1});)                          \
    }                                                                                                                 \
    extern "C" __global__ void __launch_bounds__(256) NAME##_epi(const T* A, const T* B, float* C,                   \
            const float* bias, int M, int N, int K, const float* scale, const float* residual, int act, int heads,    \
            int tokens, int headDim) {                                                                                \
        VT_WGMMA_CALL(vt::gemmWgmma<T, float>(A, B, C, bias, M, N, K, 0, 0, 0, 1.0f,                                  \
                                              vt::Epilogue{scale, residual, act, heads, tokens, headDim});)           \
    }                                                                                                                 \
    extern "C" __global__ void __launch_bounds__(256) NAME##_epi16(const T* A, const T* B, T* C, const float* bias,  \
            int M, int N, int K, const float* scale, const float* residual, int act, int heads, int tokens,           \
            int headDim) {                                                                                            \
        VT_WGMMA_CALL(vt::gemmWgmma<T, T>(A, B, C, bias, M, N, K, 0, 0, 0, 1.0f,                                      \
                                          vt::Epilogue{scale, residual, act, heads, tokens, headDim});)               \
    }

VT_GEMM_WGMMA(vt_gemm_wgmma_bf16_nt, __nv_bfloat16)
VT_GEMM_WGMMA(vt_gemm_wgmma_f16_nt, __half)

// LayerNorm / RMSNorm with one warp per row, for rows of 128..1024 values in multiples of 128 (ViT widths): the row
// stays in registers as float4s (lane l holds float4s l, l + 32, ...), so it is read from memory once; the statistics
// are exact two-pass ones over the registers, reduced by shuffles; no shared memory, no block barrier. 4 rows per
// block of 128 threads. Same arguments as vt_layer_norm* / vt_rms_norm* plus the row count; x, out 16-byte aligned.
namespace vt {

template <typename TO, bool RMS>
__device__ void normRowsWarp(TO* __restrict__ out, const float* __restrict__ x, const float* __restrict__ w,
                             const float* __restrict__ b, long long rows, int cols, float eps) {
    constexpr int MAX4 = 8;  // float4s per lane: cols <= 32 * 4 * 8
    long long row = (long long) blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    if (row >= rows) return;  // the whole warp
    int lane = threadIdx.x % 32, n4 = cols / 4;
    const float4* xr = reinterpret_cast<const float4*>(x + row * cols);
    float4 v[MAX4];
    float mean = 0.0f;
    if (!RMS) {
        float s = 0.0f;
#pragma unroll
        for (int i = 0; i < MAX4; ++i) {
            if (32 * i < n4) {
                v[i] = xr[lane + 32 * i];
                s += (v[i].x + v[i].y) + (v[i].z + v[i].w);
            }
        }
        mean = warpSum(s) / (float) cols;
    } else {
#pragma unroll
        for (int i = 0; i < MAX4; ++i) {
            if (32 * i < n4) v[i] = xr[lane + 32 * i];
        }
    }
    float q = 0.0f;
#pragma unroll
    for (int i = 0; i < MAX4; ++i) {
        if (32 * i < n4) {
            float a = v[i].x - mean, bb = v[i].y - mean, c = v[i].z - mean, d = v[i].w - mean;
            q += (a * a + bb * bb) + (c * c + d * d);
        }
    }
    float inv = rsqrtf(warpSum(q) / (float) cols + eps);
    TO* o = out + row * cols;
#pragma unroll
    for (int i = 0; i < MAX4; ++i) {
        if (32 * i < n4) {
            int c = 4 * (lane + 32 * i);
            float y[4] = {(v[i].x - mean) * inv, (v[i].y - mean) * inv, (v[i].z - mean) * inv, (v[i].w - mean) * inv};
            if (w != nullptr) {
                float4 ww = *reinterpret_cast<const float4*>(w + c);
                y[0] *= ww.x; y[1] *= ww.y; y[2] *= ww.z; y[3] *= ww.w;
            }
            if (!RMS && b != nullptr) {
                float4 bv = *reinterpret_cast<const float4*>(b + c);
                y[0] += bv.x; y[1] += bv.y; y[2] += bv.z; y[3] += bv.w;
            }
            if constexpr (sizeof(TO) == 4) {
                *reinterpret_cast<float4*>(o + c) = make_float4(y[0], y[1], y[2], y[3]);
            } else {
                *reinterpret_cast<uint2*>(o + c) = make_uint2(pack2<TO>(y[0], y[1]), pack2<TO>(y[2], y[3]));
            }
        }
    }
}

}  // namespace vt

#define VT_NORM_ROWS(SUFFIX, TO)                                                                                     \
    extern "C" __global__ void __launch_bounds__(128) vt_layer_norm_rows##SUFFIX(TO* __restrict__ out,               \
            const float* __restrict__ x, const float* __restrict__ w, const float* __restrict__ b, long long rows,    \
            int cols, float eps) {                                                                                    \
        vt::normRowsWarp<TO, false>(out, x, w, b, rows, cols, eps);                                                   \
    }                                                                                                                 \
    extern "C" __global__ void __launch_bounds__(128) vt_rms_norm_rows##SUFFIX(TO* __restrict__ out,                 \
            const float* __restrict__ x, const float* __restrict__ w, long long rows, int cols, float eps) {           \
        vt::normRowsWarp<TO, true>(out, x, w, nullptr, rows, cols, eps);                                              \
    }

VT_NORM_ROWS(, float)
VT_NORM_ROWS(_bf16, __nv_bfloat16)
VT_NORM_ROWS(_f16, __half)

// float32 -> float16 copy.
extern "C" __global__ void vt_f32_to_f16(__half* __restrict__ out, const float* __restrict__ x, long long n) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        out[i] = __float2half_rn(x[i]);
    }
}

#ifndef VT_WARP_EMULATOR  // WMMA attention (not emulated)

// Fused attention for 16-bit compute (FlashAttention-style): one block of 4 warps per 64 queries of one (batch, head);
// keys and values stream through shared memory 64 at a time, q k^T and p v run on tensor cores (16-bit operands,
// float32 accumulation), and the softmax is computed online in float32 with the running maximum and sum, so the
// [Nq, Nk] score matrix never reaches global memory. D is 64 or 128. Inputs are float32 or already 16-bit, output
// float32 or 16-bit, each addressed through (batch, head, token) strides: the plain [B, H, N, D] layout, or the fused
// block's q/k/v planes and its [B, N, H * D] output, which spare the head permutes.
namespace vt {

template <typename T, int D, typename TI, typename TO>
__device__ void flashAttention(const TI* __restrict__ Q, const TI* __restrict__ K, const TI* __restrict__ V,
                               TO* __restrict__ O, const float* __restrict__ mask, long long msB, long long msH,
                               long long msQ, long long msK, int H, int Nq, int Nk, float scale, int causal,
                               long long qB, long long qH, long long qN, long long kB, long long kH, long long kN,
                               long long oB, long long oH, long long oN) {
    constexpr int BQ = 64, BKV = 64, LDT = D + 8, LDP = BKV + 8;
    constexpr int SW = D > BKV ? D : BKV;
    extern __shared__ __align__(128) unsigned char smemRaw[];
    T* Qs = reinterpret_cast<T*>(smemRaw);
    T* Ks = Qs + BQ * LDT;
    T* Vs = Ks + BKV * LDT;
    float* Sall = reinterpret_cast<float*>(Vs + BKV * LDT);
    float* Os = Sall + 4 * 16 * SW;
    T* Ps = reinterpret_cast<T*>(Os + 4 * 16 * D);
    float* rowM = reinterpret_cast<float*>(Ps + 4 * 16 * LDP);
    float* rowL = rowM + 64;
    float* rowA = rowL + 64;

    int bh = blockIdx.y;
    int b = bh / H, h = bh % H;
    int q0 = blockIdx.x * BQ;
    const TI* q = Q + b * qB + h * qH;
    const TI* k = K + b * kB + h * kH;
    const TI* v = V + b * kB + h * kH;
    TO* o = O + b * oB + h * oH;
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;

    if constexpr (sizeof(TI) == 2) {  // 16-bit input: 16-byte copies (rows and strides are multiples of 8)
        for (int i = threadIdx.x; i < BQ * D / 8; i += 128) {
            int r = i / (D / 8), c = (i % (D / 8)) * 8, gq = q0 + r;
            *reinterpret_cast<uint4*>(Qs + r * LDT + c) =
                gq < Nq ? *reinterpret_cast<const uint4*>(q + gq * qN + c) : make_uint4(0, 0, 0, 0);
        }
    } else {
        for (int i = threadIdx.x; i < BQ * D; i += 128) {
            int r = i / D, c = i % D, gq = q0 + r;
            Qs[r * LDT + c] = Frag<T>::cvt(gq < Nq ? toF(q[gq * qN + c]) : 0.0f);
        }
    }
    float* Ow = Os + warp * 16 * D;
    float* Sw = Sall + warp * 16 * SW;
    T* Pw = Ps + warp * 16 * LDP;
    for (int i = lane; i < 16 * D; i += 32) Ow[i] = 0.0f;
    if (lane < 16) {
        rowM[warp * 16 + lane] = -INFINITY;
        rowL[warp * 16 + lane] = 0.0f;
    }
    int kvEnd = causal ? min(Nk, q0 + BQ) : Nk;
    for (int kv0 = 0; kv0 < kvEnd; kv0 += BKV) {
        __syncthreads();
        if constexpr (sizeof(TI) == 2) {
            for (int i = threadIdx.x; i < BKV * D / 8; i += 128) {
                int r = i / (D / 8), c = (i % (D / 8)) * 8, gk = kv0 + r;
                bool ok = gk < Nk;
                *reinterpret_cast<uint4*>(Ks + r * LDT + c) =
                    ok ? *reinterpret_cast<const uint4*>(k + gk * kN + c) : make_uint4(0, 0, 0, 0);
                *reinterpret_cast<uint4*>(Vs + r * LDT + c) =
                    ok ? *reinterpret_cast<const uint4*>(v + gk * kN + c) : make_uint4(0, 0, 0, 0);
            }
        } else {
            for (int i = threadIdx.x; i < BKV * D; i += 128) {
                int r = i / D, c = i % D, gk = kv0 + r;
                bool ok = gk < Nk;
                Ks[r * LDT + c] = Frag<T>::cvt(ok ? toF(k[gk * kN + c]) : 0.0f);
                Vs[r * LDT + c] = Frag<T>::cvt(ok ? toF(v[gk * kN + c]) : 0.0f);
            }
        }
        __syncthreads();
#pragma unroll
        for (int j = 0; j < BKV / 16; ++j) {
            wmma::fragment<wmma::accumulator, 16, 16, 16, float> s;
            wmma::fill_fragment(s, 0.0f);
#pragma unroll
            for (int kk = 0; kk < D; kk += 16) {
                wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> fa;
                wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> fb;
                wmma::load_matrix_sync(fa, Qs + (warp * 16) * LDT + kk, LDT);
                wmma::load_matrix_sync(fb, Ks + (j * 16) * LDT + kk, LDT);
                wmma::mma_sync(s, fa, fb, s);
            }
            wmma::store_matrix_sync(Sw + j * 16, s, SW, wmma::mem_row_major);
        }
        __syncwarp();
        for (int r = 0; r < 16; ++r) {
            int gq = q0 + warp * 16 + r;
            const float* mrow = (mask != nullptr && gq < Nq) ? mask + b * msB + h * msH + gq * msQ : nullptr;
            float x[2];
#pragma unroll
            for (int t = 0; t < 2; ++t) {
                int c = lane + 32 * t, gk = kv0 + c;
                float val = Sw[r * SW + c] * scale;
                if (gk >= Nk || (causal && gk > gq)) {
                    val = -INFINITY;
                } else if (mrow != nullptr) {
                    val += mrow[gk * msK];
                }
                x[t] = val;
            }
            float mOld = rowM[warp * 16 + r];
            float mNew = fmaxf(mOld, warpMax(fmaxf(x[0], x[1])));
            float base = mNew == -INFINITY ? 0.0f : mNew;
            float p0 = expf(x[0] - base), p1 = expf(x[1] - base);
            float sum = warpSum(p0 + p1);
            float alpha = expf(mOld - base);
            Pw[r * LDP + lane] = Frag<T>::cvt(p0);
            Pw[r * LDP + lane + 32] = Frag<T>::cvt(p1);
            __syncwarp();
            if (lane == 0) {
                rowM[warp * 16 + r] = mNew;
                rowL[warp * 16 + r] = rowL[warp * 16 + r] * alpha + sum;
                rowA[warp * 16 + r] = alpha;
            }
        }
        __syncwarp();
#pragma unroll
        for (int d0 = 0; d0 < D; d0 += 16) {
            wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
            wmma::fill_fragment(acc, 0.0f);
#pragma unroll
            for (int kk = 0; kk < BKV; kk += 16) {
                wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> fp;
                wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> fv;
                wmma::load_matrix_sync(fp, Pw + kk, LDP);
                wmma::load_matrix_sync(fv, Vs + kk * LDT + d0, LDT);
                wmma::mma_sync(acc, fp, fv, acc);
            }
            wmma::store_matrix_sync(Sw + d0, acc, SW, wmma::mem_row_major);
        }
        __syncwarp();
        for (int i = lane; i < 16 * D; i += 32) {
            int r = i / D, c = i % D;
            Ow[i] = Ow[i] * rowA[warp * 16 + r] + Sw[r * SW + c];
        }
        __syncwarp();
    }
    if constexpr (sizeof(TO) == 2) {
        for (int i = lane; i < 16 * D / 8; i += 32) {
            int r = i / (D / 8), c = (i % (D / 8)) * 8, gq = q0 + warp * 16 + r;
            if (gq < Nq) {
                float inv = 1.0f / rowL[warp * 16 + r];
                const float* src = Ow + r * D + c;
                *reinterpret_cast<uint4*>(o + gq * oN + c) =
                    make_uint4(pack2<TO>(src[0] * inv, src[1] * inv), pack2<TO>(src[2] * inv, src[3] * inv),
                               pack2<TO>(src[4] * inv, src[5] * inv), pack2<TO>(src[6] * inv, src[7] * inv));
            }
        }
    } else {
        for (int i = lane; i < 16 * D; i += 32) {
            int r = i / D, c = i % D, gq = q0 + warp * 16 + r;
            if (gq < Nq) o[gq * oN + c] = fromF<TO>(Ow[i] / rowL[warp * 16 + r]);
        }
    }
}

}  // namespace vt

#define VT_FLASH(NAME, T, D, TI, TO)                                                                                \
    extern "C" __global__ void __launch_bounds__(128) NAME(const TI* Q, const TI* K, const TI* V, TO* O,             \
            const float* mask, long long msB, long long msH, long long msQ, long long msK, int H, int Nq, int Nk,      \
            float scale, int causal, long long qB, long long qH, long long qN, long long kB, long long kH,            \
            long long kN, long long oB, long long oH, long long oN) {                                                 \
        vt::flashAttention<T, D, TI, TO>(Q, K, V, O, mask, msB, msH, msQ, msK, H, Nq, Nk, scale, causal, qB, qH, qN, \
                                         kB, kH, kN, oB, oH, oN);                                                     \
    }

// float32 in and out (the attention operation), and 16-bit in and out (the fused transformer block).
VT_FLASH(vt_flash_bf16_d64, __nv_bfloat16, 64, float, float)
VT_FLASH(vt_flash_bf16_d128, __nv_bfloat16, 128, float, float)
VT_FLASH(vt_flash_f16_d64, __half, 64, float, float)
VT_FLASH(vt_flash_f16_d128, __half, 128, float, float)
VT_FLASH(vt_flash16_bf16_d64, __nv_bfloat16, 64, __nv_bfloat16, __nv_bfloat16)
VT_FLASH(vt_flash16_bf16_d128, __nv_bfloat16, 128, __nv_bfloat16, __nv_bfloat16)
VT_FLASH(vt_flash16_f16_d64, __half, 64, __half, __half)
VT_FLASH(vt_flash16_f16_d128, __half, 128, __half, __half)

#endif  // WMMA attention

// Register-resident attention for 16-bit q, k, v and output (the FlashAttention-2 scheme on mma.sync): one block of
// 4 warps per 64 queries of one (batch, head), each warp owning 16 query rows for the whole pass. Keys and values
// stream through shared memory 64 at a time with cp.async, double-buffered so the next tile loads while this one is
// used. A warp's q rows stay in registers as mma A fragments; its 16 x 64 scores are mma accumulators, scaled into
// the log2 domain, masked, and turned into probabilities in registers (row maximum and sum over the 4 lanes that
// share a row, by shuffles); those accumulators are repacked as the A fragments of p v (the m16n8 accumulator layout
// is the m16n8k16 A layout of two k-halves), and v's B fragments come from ldmatrix.trans on the row-major tile. The
// output accumulates in registers with the running rescale; it leaves through the warp's q rows in shared memory for
// 16-byte stores. Same arguments as vt_flash16_*: mask [B, H, Nq, Nk] through broadcast strides (or null), causal,
// and (batch, head, token) strides of q (k and v share theirs) and of the output. Needs the q, k, v rows and strides
// 16-byte aligned (multiples of 8 elements; host-checked). D is 64 or 128.
namespace vt {

template <typename T, int D>
__device__ void flashAttention2(const T* __restrict__ Q, const T* __restrict__ K, const T* __restrict__ V,
                                T* __restrict__ O, const float* __restrict__ mask, long long msB, long long msH,
                                long long msQ, long long msK, int H, int Nq, int Nk, float scale, int causal,
                                long long qB, long long qH, long long qN, long long kB, long long kH, long long kN,
                                long long oB, long long oH, long long oN) {
    constexpr int BQ = 64, BKV = 64, LDT = D + 8, CH = D / 8, TILE = BKV * LDT;
    constexpr float LOG2E = 1.4426950408889634f;
    extern __shared__ __align__(128) unsigned char smemRaw[];
    T* Qs = reinterpret_cast<T*>(smemRaw);
    T* KVs = Qs + BQ * LDT;  // two stages of [k tile | v tile]

    int bh = blockIdx.y;
    int b = bh / H, h = bh % H;
    int q0 = blockIdx.x * BQ;
    const T* q = Q + b * qB + h * qH;
    const T* k = K + b * kB + h * kH;
    const T* v = V + b * kB + h * kH;
    T* o = O + b * oB + h * oH;
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;

    for (int i = threadIdx.x; i < BQ * CH; i += 128) {
        int r = i / CH, c = (i % CH) * 8, gq = q0 + r;
        bool ok = gq < Nq;
        cpAsync16(Qs + r * LDT + c, ok ? q + gq * qN + c : q, ok);
    }
    auto loadKV = [&](int slot, int kv0) {
        T* ks = KVs + slot * 2 * TILE;
        T* vs = ks + TILE;
        for (int i = threadIdx.x; i < BKV * CH; i += 128) {
            int r = i / CH, c = (i % CH) * 8, gk = kv0 + r;
            bool ok = gk < Nk;
            cpAsync16(ks + r * LDT + c, ok ? k + gk * kN + c : k, ok);
            cpAsync16(vs + r * LDT + c, ok ? v + gk * kN + c : v, ok);
        }
    };
    loadKV(0, 0);
    cpAsyncCommit();

    // this lane's two query rows (g and g + 8 of the warp's 16) and their mask rows
    int rows[2] = {q0 + warp * 16 + g, q0 + warp * 16 + g + 8};
    const float* mrow[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        mrow[r] = (mask != nullptr && rows[r] < Nq) ? mask + b * msB + h * msH + rows[r] * msQ : nullptr;
    }
    unsigned qf[D / 16][4];
    float acc[D / 8][4];
#pragma unroll
    for (int d = 0; d < D / 8; ++d)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc[d][e] = 0.0f;
    float rowMax[2] = {-INFINITY, -INFINITY}, rowSum[2] = {0.0f, 0.0f};
    const float sl2 = scale * LOG2E;

    int kvEnd = causal ? min(Nk, q0 + BQ) : Nk;
    int tiles = (kvEnd + BKV - 1) / BKV;
    for (int it = 0; it < tiles; ++it) {
        cpAsyncWait<0>();
        __syncthreads();  // tile `it` is in shared memory for everyone; everyone is done with tile it - 1
        if (it == 0) {
#pragma unroll
            for (int kk = 0; kk < D / 16; ++kk) {
                ldmatrixX4(qf[kk], Qs + (warp * 16 + lane % 16) * LDT + kk * 16 + (lane / 16) * 8);
            }
        }
        if (it + 1 < tiles) loadKV((it + 1) % 2, (it + 1) * BKV);
        cpAsyncCommit();
        const T* ks = KVs + (it % 2) * 2 * TILE;
        const T* vs = ks + TILE;
        int kv0 = it * BKV;

        // scores: 8 accumulators of 16 x 8 (keys 8j .. 8j + 7)
        float s[BKV / 8][4];
#pragma unroll
        for (int j = 0; j < BKV / 8; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) s[j][e] = 0.0f;
#pragma unroll
        for (int kk = 0; kk < D / 16; ++kk) {
#pragma unroll
            for (int jj = 0; jj < BKV / 16; ++jj) {
                unsigned r[4];
                ldmatrixX4(r, ks + (jj * 16 + (lane / 16) * 8 + lane % 8) * LDT + kk * 16 + ((lane / 8) % 2) * 8);
                unsigned b0[2] = {r[0], r[1]}, b1[2] = {r[2], r[3]};
                Mma<T>::run(s[2 * jj], qf[kk], b0);
                Mma<T>::run(s[2 * jj + 1], qf[kk], b1);
            }
        }
        // scale to the log2 domain, mask, and the new running maximum of each row
        float mNew[2] = {rowMax[0], rowMax[1]};
#pragma unroll
        for (int j = 0; j < BKV / 8; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                int r = e / 2, gk = kv0 + 8 * j + 2 * t + e % 2;
                float x = s[j][e] * sl2;
                if (gk >= Nk || (causal && gk > rows[r])) {
                    x = -INFINITY;
                } else if (mrow[r] != nullptr) {
                    x += mrow[r][gk * msK] * LOG2E;
                }
                s[j][e] = x;
                mNew[r] = fmaxf(mNew[r], x);
            }
        float base[2], alpha[2], part[2] = {0.0f, 0.0f};
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            mNew[r] = fmaxf(mNew[r], __shfl_xor_sync(0xffffffffu, mNew[r], 1));
            mNew[r] = fmaxf(mNew[r], __shfl_xor_sync(0xffffffffu, mNew[r], 2));
            base[r] = mNew[r] == -INFINITY ? 0.0f : mNew[r];
            alpha[r] = exp2f(rowMax[r] - base[r]);
            rowMax[r] = mNew[r];
        }
#pragma unroll
        for (int j = 0; j < BKV / 8; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                float p = exp2f(s[j][e] - base[e / 2]);
                s[j][e] = p;
                part[e / 2] += p;
            }
        // each lane keeps a partial row sum (its columns); the 4 lanes of a row are added once, at the end
#pragma unroll
        for (int r = 0; r < 2; ++r) rowSum[r] = rowSum[r] * alpha[r] + part[r];
#pragma unroll
        for (int d = 0; d < D / 8; ++d)
#pragma unroll
            for (int e = 0; e < 4; ++e) acc[d][e] *= alpha[e / 2];
        // o += p v: keys 16kk .. 16kk + 15 are one k step; p's A fragment is accumulators 2kk and 2kk + 1
#pragma unroll
        for (int kk = 0; kk < BKV / 16; ++kk) {
            unsigned pa[4] = {pack2<T>(s[2 * kk][0], s[2 * kk][1]), pack2<T>(s[2 * kk][2], s[2 * kk][3]),
                              pack2<T>(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                              pack2<T>(s[2 * kk + 1][2], s[2 * kk + 1][3])};
#pragma unroll
            for (int dd = 0; dd < D / 16; ++dd) {
                unsigned r[4];
                ldmatrixX4Trans(r, vs + (kk * 16 + lane % 16) * LDT + dd * 16 + (lane / 16) * 8);
                unsigned b0[2] = {r[0], r[1]}, b1[2] = {r[2], r[3]};
                Mma<T>::run(acc[2 * dd], pa, b0);
                Mma<T>::run(acc[2 * dd + 1], pa, b1);
            }
        }
    }
    cpAsyncWait<0>();

    float inv[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        float l = rowSum[r];
        l += __shfl_xor_sync(0xffffffffu, l, 1);
        l += __shfl_xor_sync(0xffffffffu, l, 2);
        inv[r] = 1.0f / l;
    }
    // the warp's own 16 q rows in shared memory are free now: stage the 16-bit output there
    T* os = Qs + warp * 16 * LDT;
#pragma unroll
    for (int d = 0; d < D / 8; ++d)
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            *reinterpret_cast<unsigned*>(os + (g + 8 * r) * LDT + 8 * d + 2 * t) =
                pack2<T>(acc[d][2 * r] * inv[r], acc[d][2 * r + 1] * inv[r]);
        }
    __syncwarp();
    for (int i = lane; i < 16 * CH; i += 32) {
        int r = i / CH, c = (i % CH) * 8, gq = q0 + warp * 16 + r;
        if (gq < Nq) *reinterpret_cast<uint4*>(o + gq * oN + c) = *reinterpret_cast<const uint4*>(os + r * LDT + c);
    }
}

}  // namespace vt

#define VT_FLASH2(NAME, T, D)                                                                                       \
    extern "C" __global__ void __launch_bounds__(128) NAME(const T* Q, const T* K, const T* V, T* O,                 \
            const float* mask, long long msB, long long msH, long long msQ, long long msK, int H, int Nq, int Nk,      \
            float scale, int causal, long long qB, long long qH, long long qN, long long kB, long long kH,            \
            long long kN, long long oB, long long oH, long long oN) {                                                 \
        vt::flashAttention2<T, D>(Q, K, V, O, mask, msB, msH, msQ, msK, H, Nq, Nk, scale, causal, qB, qH, qN, kB, kH, \
                                  kN, oB, oH, oN);                                                                    \
    }

VT_FLASH2(vt_flash2_bf16_d64, __nv_bfloat16, 64)
VT_FLASH2(vt_flash2_bf16_d128, __nv_bfloat16, 128)
VT_FLASH2(vt_flash2_f16_d64, __half, 64)
VT_FLASH2(vt_flash2_f16_d128, __half, 128)

// float32 -> bfloat16 copy (the weights' tensor-core copy).
extern "C" __global__ void vt_f32_to_bf16(__nv_bfloat16* __restrict__ out, const float* __restrict__ x, long long n) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        out[i] = __float2bfloat16_rn(x[i]);
    }
}
