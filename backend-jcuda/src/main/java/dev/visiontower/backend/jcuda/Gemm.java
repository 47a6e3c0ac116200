package dev.visiontower.backend.jcuda;

import dev.visiontower.api.VisionTowerException;
import jcuda.Pointer;
import jcuda.cudaDataType;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;
import jcuda.jcublas.JCublas2;
import jcuda.jcublas.cublasComputeType;
import jcuda.jcublas.cublasGemmAlgo;
import jcuda.jcublas.cublasHandle;
import jcuda.jcublas.cublasOperation;
import jcuda.runtime.cudaStream_t;

/**
 * Matrix products {@code C[z] = alpha * A[z] @ op(B[z]) + bias} on row-major float32 operands, batched over
 * {@code z} with element strides (0 broadcasts an operand). {@code op(B)} is {@code B^T} for {@code B [N, K]}
 * ({@code transB}: linear layers, {@code q k^T}) or {@code B} for {@code B [K, N]}.
 */
abstract class Gemm {
    /**
     * Dynamic shared memory of the mma.sync kernels ({@code vt_gemm_mma_*}): 4 stages of 128-row A and B tiles of 32
     * 16-bit values, rows padded by 8 (the epilogue's float32 tile reuses it).
     */
    static final int MMA_SHARED_BYTES = 4 * 2 * 128 * (32 + 8) * 2;

    /**
     * Dynamic shared memory of the wgmma kernels ({@code vt_gemm_wgmma_*}): 4 stages of 128-row A and B tiles of 64
     * 16-bit values (128-byte swizzled rows), plus 1024 bytes so the tiles can start on a 1024-byte boundary.
     */
    static final int WGMMA_SHARED_BYTES = 4 * 2 * 128 * 128 + 1024;

    /** Threads per block of the 16-bit product kernels for a tile choice: two warpgroups for wgmma, 4 warps else. */
    static int threads16(String tile) {
        return tile.equals("wgmma") ? 256 : 128;
    }

    /** Dynamic shared memory of the 16-bit product kernels ({@code vt_gemm_mma_*} or {@code vt_gemm_wgmma_*}). */
    static int sharedBytes16(String tile) {
        return tile.equals("wgmma") ? WGMMA_SHARED_BYTES : MMA_SHARED_BYTES;
    }

    /** Name prefix of the 16-bit product kernels for a tile choice and precision, e.g. {@code vt_gemm_mma_bf16_nt}. */
    static String kernel16(String tile, Precision p) {
        boolean f16 = p == Precision.FP16;
        if (tile.equals("wgmma")) {
            return f16 ? "vt_gemm_wgmma_f16_nt" : "vt_gemm_wgmma_bf16_nt";
        }
        return f16 ? "vt_gemm_mma_f16_nt" : "vt_gemm_mma_bf16_nt";
    }

    /** How the multiply-adds are computed (accumulation is always float32). */
    enum Precision {
        /** Exact float32 on CUDA cores. */
        FP32,
        /** Inputs rounded to TF32 (10-bit mantissa) on tensor cores. */
        TF32,
        /** Inputs rounded to bfloat16 on tensor cores. */
        BF16,
        /** Inputs rounded to float16 on tensor cores. */
        FP16
    }

    /** Engine name for {@code visiontower backends}. */
    abstract String describe();

    /**
     * @param a16 a bfloat16/float16 copy of A in the precision's type, or null
     * @param b16 the same for B, or null (engines that can read them use both copies instead of A and B)
     */
    abstract void run(Precision p, boolean transB, CUdeviceptr a, CUdeviceptr b, CUdeviceptr a16, CUdeviceptr b16,
                      CUdeviceptr c, CUdeviceptr bias, int m, int n, int k, long sA, long sB, long sC, int batch,
                      float alpha);

    /**
     * Whether {@link #run} would use 16-bit copies of the operands for this product (so the caller makes them: a
     * weight's copy is kept with the weight, an activation's is made per product).
     */
    boolean wants16BitCopies(Precision p, boolean transB, int k) {
        return false;
    }

    void close() {
    }

    static void checkGrid(int m, int n, int batch) {
        if (batch > 65535 || (m + 63) / 64 > 65535) {
            throw new VisionTowerException("jcuda: matrix product of " + batch + " x [" + m + ", " + n
                    + "] exceeds one launch");
        }
    }

    /** This module's kernels: tiled float32 on CUDA cores, WMMA tensor-core tiles for TF32/BF16/FP16. */
    static final class Own extends Gemm {
        private static final int BM = 128;
        private static final int BK = 32;
        private static final int PAD = 8;
        private final Kernels kernels;
        private final CUstream stream;

        @Override
        String describe() {
            String tiles = tile.equals("mma") ? "; bf16/fp16 NT products on mma.sync + ldmatrix 128x128 tiles)"
                    : tile.equals("wgmma") ? "; bf16/fp16 NT products on wgmma 128x128x64 tiles, sm_90a)"
                    : tile.equals("wide") ? ", 128x256 tiles)" : ")";
            return "own kernels (float32 tiles on CUDA cores; TF32/bf16/fp16 WMMA tiles on tensor cores"
                    + (pipeline ? ", cp.async-pipelined where K allows" + tiles : ", unpipelined)");
        }

        /** Whether the pipelined tensor-core kernels (cp.async, multi-stage) are used where they apply. */
        private final boolean pipeline;

        /**
         * Which pipelined kernel computes 16-bit NT products: {@code narrow} (WMMA, 128 x 128 tiles), {@code wide}
         * (WMMA, 128 x 256), {@code mma} (mma.sync with ldmatrix, 128 x 128 tiles of 4 warps) or {@code wgmma}
         * (Hopper's wgmma from swizzled shared memory, 128 x 128 x 64 tiles of two warpgroups; sm_90a kernels).
         */
        private final String tile;

        Own(Kernels kernels, CUstream stream, boolean pipeline, String tile) {
            this.kernels = kernels;
            this.stream = stream;
            this.pipeline = pipeline;
            this.tile = tile;
        }

        @Override
        boolean wants16BitCopies(Precision p, boolean transB, int k) {
            return pipeline && transB && k % 8 == 0 && (p == Precision.BF16 || p == Precision.FP16);
        }

        @Override
        void run(Precision p, boolean transB, CUdeviceptr a, CUdeviceptr b, CUdeviceptr a16, CUdeviceptr b16,
                 CUdeviceptr c, CUdeviceptr bias, int m, int n, int k, long sA, long sB, long sC, int batch,
                 float alpha) {
            checkGrid(m, n, batch);
            String t = transB ? "nt" : "nn";
            if (p == Precision.FP32) {
                kernels.launch(stream, "vt_gemm_f32_" + t, (n + 63) / 64, (m + 63) / 64, batch, 256, 0,
                        a, b, c, bias, m, n, k, sA, sB, sC, alpha);
                return;
            }
            int gx = (n + BM - 1) / BM;
            int gy = (m + BM - 1) / BM;
            if (p == Precision.TF32 && pipeline && transB && k % 4 == 0) {
                int smem = 3 * 2 * BM * (BK + 4) * 4;
                kernels.launch(stream, "vt_gemm_pipe_tf32_nt", gx, gy, batch, 256, smem,
                        a, b, c, bias, m, n, k, sA, sB, sC, alpha);
                return;
            }
            if (a16 != null && b16 != null && wants16BitCopies(p, transB, k)) {
                if (tile.equals("mma") || tile.equals("wgmma")) {
                    kernels.launch(stream, kernel16(tile, p), gx, gy, batch, threads16(tile), sharedBytes16(tile),
                            a16, b16, c, bias, m, n, k, sA, sB, sC, alpha);
                    return;
                }
                String name = p == Precision.BF16 ? "vt_gemm_pipe_bf16_nt" : "vt_gemm_pipe_f16_nt";
                int smem = 4 * 2 * BM * (BK + 8) * 2;
                if (tile.equals("wide")) {
                    name += "_wide";
                    gx = (n + 2 * BM - 1) / (2 * BM);
                    smem = 3 * 3 * BM * (BK + 8) * 2;
                }
                kernels.launch(stream, name, gx, gy, batch, 256, smem, a16, b16, c, bias, m, n, k, sA, sB, sC, alpha);
                return;
            }
            int elem = p == Precision.TF32 ? 4 : 2;
            int bTile = transB ? BM * (BK + PAD) : BK * (BM + PAD);
            int smem = (BM * (BK + PAD) + bTile) * elem;
            String name;
            CUdeviceptr bb = b;
            if (p == Precision.TF32) {
                name = "vt_gemm_tf32_" + t;
            } else if (p == Precision.FP16) {
                name = "vt_gemm_f16_" + t;
            } else if (b16 != null && transB) {
                name = "vt_gemm_bf16w_nt";
                bb = b16;
            } else {
                name = "vt_gemm_bf16_" + t;
            }
            kernels.launch(stream, name, gx, gy, batch, 256, smem, a, bb, c, bias, m, n, k, sA, sB, sC, alpha);
        }
    }

    /**
     * cuBLAS ({@code cublasGemmStridedBatchedEx}) with float32 storage; TF32/BF16/FP16 through cuBLAS's fast compute
     * types. Row-major products are computed as their column-major transposes; the bias is added by a kernel.
     */
    static final class Cublas extends Gemm {
        private final cublasHandle handle = new cublasHandle();
        private final Kernels kernels;
        private final CUstream stream;
        private final String version;

        Cublas(Kernels kernels, CUstream stream) {
            this.kernels = kernels;
            this.stream = stream;
            JCublas2.setExceptionsEnabled(true);
            JCublas2.cublasCreate(handle);
            JCublas2.cublasSetStream(handle, new cudaStream_t(stream));
            int[] v = new int[1];
            JCublas2.cublasGetVersion(handle, v);
            version = v[0] / 10000 + "." + (v[0] / 100) % 100 + "." + v[0] % 100;
        }

        @Override
        String describe() {
            return "cuBLAS " + version + " (cublasGemmStridedBatchedEx)";
        }

        @Override
        void run(Precision p, boolean transB, CUdeviceptr a, CUdeviceptr b, CUdeviceptr a16, CUdeviceptr b16,
                 CUdeviceptr c, CUdeviceptr bias, int m, int n, int k, long sA, long sB, long sC, int batch,
                 float alpha) {
            int compute;
            switch (p) {
                case TF32: compute = cublasComputeType.CUBLAS_COMPUTE_32F_FAST_TF32; break;
                case BF16: compute = cublasComputeType.CUBLAS_COMPUTE_32F_FAST_16BF; break;
                case FP16: compute = cublasComputeType.CUBLAS_COMPUTE_32F_FAST_16F; break;
                default: compute = cublasComputeType.CUBLAS_COMPUTE_32F; break;
            }
            // Column-major view: C^T [N, M] = op(B)^T [N, K] x A^T [K, M].
            int opB = transB ? cublasOperation.CUBLAS_OP_T : cublasOperation.CUBLAS_OP_N;
            int ldb = transB ? k : n;
            JCublas2.cublasGemmStridedBatchedEx(handle, opB, cublasOperation.CUBLAS_OP_N, n, m, k,
                    Pointer.to(new float[] {alpha}), b, cudaDataType.CUDA_R_32F, ldb, sB,
                    a, cudaDataType.CUDA_R_32F, k, sA, Pointer.to(new float[] {0f}),
                    c, cudaDataType.CUDA_R_32F, n, sC, batch, compute, cublasGemmAlgo.CUBLAS_GEMM_DEFAULT);
            if (bias != null) {
                kernels.launch1d(stream, "vt_bias_residual", (long) m * n * batch, c, c, bias, null,
                        (long) m * batch, (long) n);
            }
        }

        @Override
        void close() {
            JCublas2.cublasDestroy(handle);
        }
    }
}
