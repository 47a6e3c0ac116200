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
     * @param bBf16 a bfloat16 copy of B (weights), used instead of B by engines that can, or null
     */
    abstract void run(Precision p, boolean transB, CUdeviceptr a, CUdeviceptr b, CUdeviceptr bBf16, CUdeviceptr c,
                      CUdeviceptr bias, int m, int n, int k, long sA, long sB, long sC, int batch, float alpha);

    /** Whether {@link #run} reads a bfloat16 weight copy for {@link Precision#BF16} (so one is worth keeping). */
    boolean usesBf16Weights() {
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

        Own(Kernels kernels, CUstream stream) {
            this.kernels = kernels;
            this.stream = stream;
        }

        @Override
        String describe() {
            return "own kernels (float32 tiles on CUDA cores; TF32/bf16/fp16 WMMA tiles on tensor cores)";
        }

        @Override
        boolean usesBf16Weights() {
            return true;
        }

        @Override
        void run(Precision p, boolean transB, CUdeviceptr a, CUdeviceptr b, CUdeviceptr bBf16, CUdeviceptr c,
                 CUdeviceptr bias, int m, int n, int k, long sA, long sB, long sC, int batch, float alpha) {
            checkGrid(m, n, batch);
            String t = transB ? "nt" : "nn";
            if (p == Precision.FP32) {
                kernels.launch(stream, "vt_gemm_f32_" + t, (n + 63) / 64, (m + 63) / 64, batch, 256, 0,
                        a, b, c, bias, m, n, k, sA, sB, sC, alpha);
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
            } else if (bBf16 != null && transB) {
                name = "vt_gemm_bf16w_nt";
                bb = bBf16;
            } else {
                name = "vt_gemm_bf16_" + t;
            }
            kernels.launch(stream, name, (n + BM - 1) / BM, (m + BM - 1) / BM, batch, 256, smem,
                    a, bb, c, bias, m, n, k, sA, sB, sC, alpha);
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
        void run(Precision p, boolean transB, CUdeviceptr a, CUdeviceptr b, CUdeviceptr bBf16, CUdeviceptr c,
                 CUdeviceptr bias, int m, int n, int k, long sA, long sB, long sC, int batch, float alpha) {
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
