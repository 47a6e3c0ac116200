package dev.visiontower.backend.jcuda;

import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

import static dev.visiontower.backend.jcuda.CudaBackend.toInt;

/**
 * Where the {@code jcuda} backend's matrix products go: the GEMM engine chosen at open (cuBLAS or this module's
 * tensor-core kernels, {@link Gemm}), in the backend's precision, with 16-bit copies of the operands where the engine
 * computes from them (a weight's copy made once and kept with it).
 */
final class GemmDispatch {
    private final CudaBackend backend;
    private final Gemm engine;
    private final Gemm.Precision precision;
    private final Kernels kernels;
    private final CUstream stream;

    GemmDispatch(CudaBackend backend, Gemm engine, Gemm.Precision precision, Kernels kernels, CUstream stream) {
        this.backend = backend;
        this.engine = engine;
        this.precision = precision;
        this.kernels = kernels;
        this.stream = stream;
    }


    /**
     * One matrix product. When the engine computes from 16-bit copies, a weight's copy is made once and kept with
     * it, and an activation's is made here and released after the product (stream order keeps that safe).
     *
     * @param weight the tensor behind {@code b} when it is a model weight (its copy is cached), else null
     */
    void run(boolean transB, CUdeviceptr a, CUdeviceptr b, CudaTensor weight, CUdeviceptr out,
                      CUdeviceptr bias, long m, long n, long k, long sA, long sB, long sC, long batch, float alpha) {
        if (m == 0 || n == 0 || batch == 0) {
            return;
        }
        if (k == 0) { // an empty sum: zeros (plus the bias)
            JCudaDriver.cuMemsetD32Async(out, 0, m * n * batch, stream);
            if (bias != null) {
                kernels.launch1d(stream, "vt_bias_residual", m * n * batch, out, out, bias, null, m * batch, n);
            }
            return;
        }
        int ki = toInt(k, "inner size");
        CudaAllocator.Block a16 = null;
        CudaAllocator.Block b16 = null;
        CUdeviceptr b16ptr = null;
        try {
            boolean copies = engine.wants16BitCopies(precision, transB, ki);
            if (copies) {
                a16 = backend.to16Bit(a, sA == 0 ? m * k : sA * batch);
            }
            if (weight != null && weight.parameter && (copies || precision == Gemm.Precision.BF16)) {
                b16ptr = weight.lowPrecisionCopy(backend);
            } else if (copies) {
                b16 = backend.to16Bit(b, sB == 0 ? n * k : sB * batch);
                b16ptr = b16.ptr();
            }
            engine.run(precision, transB, a, b, a16 == null ? null : a16.ptr(), b16ptr, out, bias, toInt(m, "rows"),
                    toInt(n, "columns"), ki, sA, sB, sC, toInt(batch, "batch"), alpha);
        } finally {
            if (a16 != null) {
                backend.freeBlock(a16);
            }
            if (b16 != null) {
                backend.freeBlock(b16);
            }
        }
    }
}
