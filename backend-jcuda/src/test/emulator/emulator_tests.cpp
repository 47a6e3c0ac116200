// kernels.cu's tensor-core kernels on the warp emulator, against float64 references computed from the same 16-bit
// inputs. Run by WarpEmulatorTest (which compiles this file with the CUDA headers); prints one line per case,
// "PASS name ..." or "FAIL name ...", and exits non-zero when a case fails.
#define VT_WARP_EMULATOR
#include "warp_emulator.h"

#include "kernels.cu"

#include <random>
#include <string>

namespace {

int failures = 0;
int cases = 0;
const char* schedule = "";  // which cp.async schedule the emulator runs (see warp_emulator.h)

template <typename T>
T to16(float v) {
    if constexpr (std::is_same_v<T, __half>) {
        return __float2half_rn(v);
    } else {
        return __float2bfloat16_rn(v);
    }
}

// The bfloat16 or the float16 entry point of a kernel.
template <typename T, typename B, typename H>
auto pick(B bf16, H f16) {
    if constexpr (std::is_same_v<T, __half>) {
        return f16;
    } else {
        return bf16;
    }
}

template <typename T>
const char* typeName() {
    return std::is_same_v<T, __half> ? "f16" : "bf16";
}

// 16-bit device-style buffer with its exact float values.
template <typename T>
struct Buf16 {
    std::vector<T> h;
    std::vector<double> d;
    Buf16(std::size_t n, std::mt19937& rng, float sd) : h(n), d(n) {
        std::normal_distribution<float> dist(0.0f, sd);
        for (std::size_t i = 0; i < n; ++i) {
            h[i] = to16<T>(dist(rng));
            d[i] = toF(h[i]);
        }
    }
};

std::vector<float> randomF(std::size_t n, std::mt19937& rng, float sd) {
    std::normal_distribution<float> dist(0.0f, sd);
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng);
    return v;
}

// |a - b| <= atol + rtol |b| everywhere (b the reference); NaN anywhere fails.
void report(const std::string& name, const std::vector<double>& got, const std::vector<double>& want, double atol,
            double rtol) {
    ++cases;
    double worst = 0, maxAbs = 0;
    std::size_t at = 0;
    bool nan = false;
    for (std::size_t i = 0; i < want.size(); ++i) {
        double e = std::fabs(got[i] - want[i]);
        if (std::isnan(got[i])) nan = true;
        double r = e / (atol + rtol * std::fabs(want[i]));
        if (r > worst || std::isnan(r)) {
            worst = std::isnan(r) ? INFINITY : r;
            at = i;
        }
        maxAbs = std::max(maxAbs, e);
    }
    bool ok = !nan && worst <= 1.0;
    if (!ok) ++failures;
    std::printf("%s %s %s: %zu values, max |a-b| %.3g, worst/bound %.3f at %zu (got %.6g, want %.6g; atol %g, rtol %g)\n",
                ok ? "PASS" : "FAIL", name.c_str(), schedule, want.size(), maxAbs, worst, at, got[at], want[at], atol, rtol);
    std::fflush(stdout);
}

double gelu(double v) { return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))); }

// The 16-bit GEMMs (mma.sync: the H200-verified kernel, whose cases validate the emulator; wgmma): C = A B^T + bias,
// float32 C, on
// ragged edges (M, N not multiples of 128, K a multiple of 8 but not of 32), and the fused block's 16-bit epilogue
// (GELU, layer scale, residual) and its q/k/v head scatter.
// The two 16-bit product families: mma.sync (128 threads) and wgmma (256 threads, 1024 bytes of alignment slack).
struct MmaFamily {
    static constexpr const char* name = "gemm_mma_";
    static constexpr unsigned threads = 128;
    template <typename T>
    static constexpr std::size_t smem() { return 4 * (128 + 128) * 40 * sizeof(T); }  // Gemm.MMA_SHARED_BYTES
    template <typename T>
    static auto plain() { return pick<T>(vt_gemm_mma_bf16_nt, vt_gemm_mma_f16_nt); }
    template <typename T>
    static auto epi16() { return pick<T>(vt_gemm_mma_bf16_nt_epi16, vt_gemm_mma_f16_nt_epi16); }
    template <typename T>
    static auto epi() { return pick<T>(vt_gemm_mma_bf16_nt_epi, vt_gemm_mma_f16_nt_epi); }
};
struct WgmmaFamily {
    static constexpr const char* name = "gemm_wgmma_";
    static constexpr unsigned threads = 256;
    template <typename T>
    static constexpr std::size_t smem() { return 4 * 2 * 128 * 128 + 1024; }  // Gemm.WGMMA_SHARED_BYTES
    template <typename T>
    static auto plain() { return pick<T>(vt_gemm_wgmma_bf16_nt, vt_gemm_wgmma_f16_nt); }
    template <typename T>
    static auto epi16() { return pick<T>(vt_gemm_wgmma_bf16_nt_epi16, vt_gemm_wgmma_f16_nt_epi16); }
    template <typename T>
    static auto epi() { return pick<T>(vt_gemm_wgmma_bf16_nt_epi, vt_gemm_wgmma_f16_nt_epi); }
};

template <typename F, typename T>
void gemmCases(std::mt19937& rng) {
    const int M = 150, N = 136, K = 328;  // K: more k tiles than pipeline stages, the last one partial
    Buf16<T> a(std::size_t(M) * K, rng, 1.0f), b(std::size_t(N) * K, rng, 1.0f);
    std::vector<float> bias = randomF(N, rng, 1.0f);
    std::vector<double> ref(std::size_t(M) * N);
    for (int m = 0; m < M; ++m)
        for (int n = 0; n < N; ++n) {
            double s = 0;
            for (int k = 0; k < K; ++k) s += a.d[std::size_t(m) * K + k] * b.d[std::size_t(n) * K + k];
            ref[std::size_t(m) * N + n] = s;
        }
    const std::size_t smem = F::template smem<T>();
    dim3 grid((N + 127) / 128, (M + 127) / 128, 1);
    {
        std::vector<float> c(std::size_t(M) * N, NAN);
        vt_emu::launch(grid, F::threads, smem, F::template plain<T>(), (const T*) a.h.data(), (const T*) b.h.data(), c.data(),
                       (const float*) bias.data(), M, N, K, 0LL, 0LL, 0LL, 0.5f);
        std::vector<double> got(c.begin(), c.end()), want(ref.size());
        for (std::size_t i = 0; i < ref.size(); ++i) want[i] = 0.5 * ref[i] + bias[i % N];
        report(std::string(F::name) + typeName<T>() + " alpha+bias", got, want, 1e-4, 1e-4);
    }
    {
        std::vector<float> scale = randomF(N, rng, 1.0f), resid = randomF(std::size_t(M) * N, rng, 1.0f);
        std::vector<T> c(std::size_t(M) * N, to16<T>(NAN));
        vt_emu::launch(grid, F::threads, smem, F::template epi16<T>(), (const T*) a.h.data(), (const T*) b.h.data(), c.data(),
                       (const float*) bias.data(), M, N, K, (const float*) scale.data(), (const float*) resid.data(), 1,
                       0, 1, 1);
        std::vector<double> got(c.size()), want(ref.size());
        for (std::size_t i = 0; i < ref.size(); ++i) {
            got[i] = toF(c[i]);
            int n = (int) (i % N);
            want[i] = gelu(ref[i] + bias[n]) * scale[n] + resid[i];
        }
        report(std::string(F::name) + typeName<T>() + " gelu+scale+residual -> 16-bit", got, want, 1e-2, 1e-2);
    }
    {
        // the fused block's output products: bias, layer scale and the residual stream, float32 out
        std::vector<float> scale = randomF(N, rng, 1.0f), resid = randomF(std::size_t(M) * N, rng, 1.0f);
        std::vector<float> c(std::size_t(M) * N, NAN);
        vt_emu::launch(grid, F::threads, smem, F::template epi<T>(), (const T*) a.h.data(), (const T*) b.h.data(),
                       c.data(), (const float*) bias.data(), M, N, K, (const float*) scale.data(),
                       (const float*) resid.data(), -1, 0, 1, 1);
        std::vector<double> got(c.begin(), c.end()), want(ref.size());
        for (std::size_t i = 0; i < ref.size(); ++i) {
            int n = (int) (i % N);
            want[i] = (ref[i] + bias[n]) * scale[n] + resid[i];
        }
        report(std::string(F::name) + typeName<T>() + " bias+scale+residual -> float32", got, want, 1e-4, 1e-4);
    }
    {
        // columns q | k | v of 2 heads x 8 ... here N = 3 * heads * headDim with headDim 8: 136 is not a multiple of 3,
        // so use the first 120 columns (5 heads of 8), rows = 2 images x 75 tokens.
        const int n3 = 120, heads = 5, hd = 8, tokens = 75;
        std::vector<T> c(std::size_t(M) * n3, to16<T>(NAN));
        vt_emu::launch(dim3((n3 + 127) / 128, (M + 127) / 128, 1), F::threads, smem, F::template epi16<T>(), (const T*) a.h.data(),
                       (const T*) b.h.data(), c.data(), (const float*) nullptr, M, n3, K, (const float*) nullptr,
                       (const float*) nullptr, -1, heads, tokens, hd);
        std::vector<double> got(c.size()), want(c.size());
        const int width = n3 / 3;
        for (int m = 0; m < M; ++m)
            for (int n = 0; n < n3; ++n) {
                int which = n / width, cw = n % width, h = cw / hd, bb = m / tokens, tok = m % tokens;
                std::size_t dst = std::size_t(which) * M * width
                                  + ((std::size_t(bb) * heads + h) * tokens + tok) * hd + cw % hd;
                got[dst] = toF(c[dst]);
                want[dst] = ref[std::size_t(m) * N + n];
            }
        report(std::string(F::name) + typeName<T>() + " q/k/v head scatter", got, want, 1e-2, 1e-2);
    }
}

struct AttentionCase {
    const char* name;
    int B, H, Nq, Nk;
    bool causal;
    int mask;  // 0 none, 1 key padding [B, 1, 1, Nk] of 0 / -inf, 2 additive [B, H, Nq, Nk]
};

// vt_flash2_*: q, k, v as the fused block hands them over (planes [B, H, N, D]) and the output as it wants it
// ([B, Nq, H * D]), against softmax(scale q k^T + mask) v in float64 from the same 16-bit inputs.
template <typename T, int D>
void attentionCase(std::mt19937& rng, const AttentionCase& c, double atol, double rtol) {
    const int B = c.B, H = c.H, Nq = c.Nq, Nk = c.Nk;
    Buf16<T> q(std::size_t(B) * H * Nq * D, rng, 1.5f), k(std::size_t(B) * H * Nk * D, rng, 1.5f),
        v(std::size_t(B) * H * Nk * D, rng, 1.0f);
    std::vector<float> mask;
    long long msB = 0, msH = 0, msQ = 0, msK = 0;
    if (c.mask == 1) {
        mask.assign(std::size_t(B) * Nk, 0.0f);
        for (int b = 0; b < B; ++b) {
            int keep = std::max(1, Nk - 37 * (b + 1));
            for (int j = keep; j < Nk; ++j) mask[std::size_t(b) * Nk + j] = -INFINITY;
        }
        msB = Nk;
        msK = 1;
    } else if (c.mask == 2) {
        std::uniform_real_distribution<float> u(-3.0f, 0.0f);
        mask.resize(std::size_t(B) * H * Nq * Nk);
        for (float& x : mask) x = u(rng);
        msB = (long long) H * Nq * Nk;
        msH = (long long) Nq * Nk;
        msQ = Nk;
        msK = 1;
    }
    const float scale = 1.0f / std::sqrt((float) D);
    std::vector<T> out(std::size_t(B) * Nq * H * D, to16<T>(NAN));
    const std::size_t smem = 5 * 64 * (D + 8) * sizeof(T);  // CudaBackend.flash2SharedBytes
    auto kernel = D == 64 ? pick<T>(vt_flash2_bf16_d64, vt_flash2_f16_d64) : pick<T>(vt_flash2_bf16_d128, vt_flash2_f16_d128);
    vt_emu::launch(dim3((Nq + 63) / 64, B * H, 1), 128, smem, kernel, (const T*) q.h.data(), (const T*) k.h.data(),
                   (const T*) v.h.data(), out.data(), (const float*) (mask.empty() ? nullptr : mask.data()), msB, msH,
                   msQ, msK, H, Nq, Nk, scale, c.causal ? 1 : 0, (long long) H * Nq * D, (long long) Nq * D,
                   (long long) D, (long long) H * Nk * D, (long long) Nk * D, (long long) D, (long long) Nq * H * D,
                   (long long) D, (long long) H * D);
    std::vector<double> got(out.size()), want(out.size()), p(Nk);
    for (int b = 0; b < B; ++b)
        for (int h = 0; h < H; ++h)
            for (int i = 0; i < Nq; ++i) {
                const double* qi = &q.d[((std::size_t(b) * H + h) * Nq + i) * D];
                double mx = -INFINITY;
                for (int j = 0; j < Nk; ++j) {
                    const double* kj = &k.d[((std::size_t(b) * H + h) * Nk + j) * D];
                    double dot = 0;
                    for (int d = 0; d < D; ++d) dot += qi[d] * kj[d];
                    double x = dot * scale;
                    if (c.causal && j > i) x = -INFINITY;
                    if (c.mask == 1) x += mask[std::size_t(b) * Nk + j];
                    if (c.mask == 2) x += mask[((std::size_t(b) * H + h) * Nq + i) * Nk + j];
                    p[j] = x;
                    mx = std::max(mx, x);
                }
                double sum = 0;
                for (int j = 0; j < Nk; ++j) sum += (p[j] = std::exp(p[j] - mx));
                for (int d = 0; d < D; ++d) {
                    double o = 0;
                    for (int j = 0; j < Nk; ++j) o += p[j] * v.d[((std::size_t(b) * H + h) * Nk + j) * D + d];
                    std::size_t at = (std::size_t(b) * Nq + i) * H * D + std::size_t(h) * D + d;
                    want[at] = o / sum;
                    got[at] = toF(out[at]);
                }
            }
    report(std::string("flash2_") + typeName<T>() + "_d" + std::to_string(D) + " " + c.name, got, want, atol, rtol);
}

template <typename T>
void attentionCases(std::mt19937& rng, double atol, double rtol) {
    attentionCase<T, 64>(rng, {"B2 H2 N197 (ViT-B/16 tokens)", 2, 2, 197, 197, false, 0}, atol, rtol);
    attentionCase<T, 128>(rng, {"B1 H2 N130", 1, 2, 130, 130, false, 0}, atol, rtol);
    attentionCase<T, 64>(rng, {"B1 H2 N100 causal", 1, 2, 100, 100, true, 0}, atol, rtol);
    attentionCase<T, 128>(rng, {"B2 H1 N77 causal + key padding", 2, 1, 77, 77, true, 1}, atol, rtol);
    attentionCase<T, 64>(rng, {"B2 H2 Nq50 Nk130 additive mask", 2, 2, 50, 130, false, 2}, atol, rtol);
}

// vt_layer_norm_rows* / vt_rms_norm_rows*: one warp per row, rows not a multiple of the 4 per block.
template <typename TO>
void normCase(std::mt19937& rng, bool rms, int rows, int cols, bool affine, double atol, double rtol) {
    std::vector<float> x = randomF(std::size_t(rows) * cols, rng, 2.0f), w = randomF(cols, rng, 1.0f),
                       b = randomF(cols, rng, 1.0f);
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c) x[std::size_t(r) * cols + c] += 3.0f * (float) (r % 5);  // row means != 0
    std::vector<TO> out(std::size_t(rows) * cols);
    const float eps = 1e-5f;
    const float* wp = affine ? w.data() : nullptr;
    const float* bp = affine ? b.data() : nullptr;
    dim3 grid((rows + 3) / 4, 1, 1);
    if constexpr (std::is_same_v<TO, float>) {
        if (rms) {
            vt_emu::launch(grid, 128, 0, vt_rms_norm_rows, out.data(), (const float*) x.data(), wp, (long long) rows,
                           cols, eps);
        } else {
            vt_emu::launch(grid, 128, 0, vt_layer_norm_rows, out.data(), (const float*) x.data(), wp, bp,
                           (long long) rows, cols, eps);
        }
    } else if (rms) {
        vt_emu::launch(grid, 128, 0, pick<TO>(vt_rms_norm_rows_bf16, vt_rms_norm_rows_f16), out.data(),
                       (const float*) x.data(), wp, (long long) rows, cols, eps);
    } else {
        vt_emu::launch(grid, 128, 0, pick<TO>(vt_layer_norm_rows_bf16, vt_layer_norm_rows_f16), out.data(),
                       (const float*) x.data(), wp, bp, (long long) rows, cols, eps);
    }
    std::vector<double> got(out.size()), want(out.size());
    for (int r = 0; r < rows; ++r) {
        const float* xr = &x[std::size_t(r) * cols];
        double mean = 0, var = 0;
        if (!rms) {
            for (int c = 0; c < cols; ++c) mean += xr[c];
            mean /= cols;
        }
        for (int c = 0; c < cols; ++c) var += (xr[c] - mean) * (xr[c] - mean);
        double inv = 1.0 / std::sqrt(var / cols + eps);
        for (int c = 0; c < cols; ++c) {
            double y = (xr[c] - mean) * inv;
            if (affine) y = y * w[c] + (rms ? 0.0 : b[c]);
            want[std::size_t(r) * cols + c] = y;
            got[std::size_t(r) * cols + c] = toF(out[std::size_t(r) * cols + c]);
        }
    }
    const char* tn = std::is_same_v<TO, float> ? "f32" : std::is_same_v<TO, __half> ? "f16" : "bf16";
    report(std::string(rms ? "rms_norm_rows_" : "layer_norm_rows_") + tn + " rows " + std::to_string(rows) + " cols "
               + std::to_string(cols) + (affine ? "" : " no weight/bias"),
           got, want, atol, rtol);
}

void normCases(std::mt19937& rng) {
    normCase<float>(rng, false, 37, 768, true, 1e-5, 1e-5);
    normCase<__nv_bfloat16>(rng, false, 9, 1024, true, 1e-2, 1e-2);
    normCase<__half>(rng, false, 6, 128, false, 2e-3, 2e-3);
    normCase<float>(rng, true, 13, 768, true, 1e-5, 1e-5);
    normCase<__nv_bfloat16>(rng, true, 5, 256, true, 1e-2, 1e-2);
}

}  // namespace

int main() {
    // every case under both cp.async schedules: copies landing at their wait (exposes reads before the wait) and at
    // issue (exposes a stage refilled while an asynchronous wgmma may still read it)
    for (bool atIssue : {false, true}) {
        vt_emu::copiesAtIssue = atIssue;
        schedule = atIssue ? "[copies at issue]" : "[copies at wait]";
        std::mt19937 rng(20261127);
        gemmCases<MmaFamily, __nv_bfloat16>(rng);
        gemmCases<MmaFamily, __half>(rng);
        gemmCases<WgmmaFamily, __nv_bfloat16>(rng);
        gemmCases<WgmmaFamily, __half>(rng);
        attentionCases<__nv_bfloat16>(rng, 1e-2, 2e-2);
        attentionCases<__half>(rng, 2e-3, 5e-3);
        if (!atIssue) normCases(rng);  // no cp.async in them
    }
    std::printf("%d cases, %d failed\n", cases, failures);
    return failures == 0 ? 0 : 1;
}
