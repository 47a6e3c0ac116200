package dev.visiontower.backend.jcuda;

import java.util.Locale;
import java.util.OptionalDouble;

/**
 * Dense (no sparsity) peak rates of the GPUs we know, from NVIDIA's data sheets, in TFLOP/s: float32 on CUDA cores,
 * TF32, and bfloat16/float16 on tensor cores. Unknown GPUs give no figure rather than a guess.
 */
final class Peaks {
    private Peaks() {
    }

    /** {fp32, tf32, bf16/fp16} for a name fragment; the first match wins, so specific names come first. */
    private static final Object[][] TABLE = {
        {"H200", 66.9, 494.7, 989.4},
        {"H100 NVL", 60.0, 417.5, 835.0},
        {"H100 PCIE", 51.2, 378.0, 756.0},
        {"H100", 66.9, 494.7, 989.4}, // SXM5 (HBM3)
        {"GH200", 66.9, 494.7, 989.4},
        {"A100", 19.5, 156.0, 312.0},
        {"L40S", 91.6, 183.0, 362.0},
        {"A10", 31.2, 62.5, 125.0},
        {"L4", 30.3, 60.0, 121.0},
    };

    static OptionalDouble denseTflops(CudaDriver.Gpu gpu, Gemm.Precision p) {
        String name = gpu.name().toUpperCase(Locale.ROOT);
        for (Object[] row : TABLE) {
            if (name.contains((String) row[0])) {
                switch (p) {
                    case FP32: return OptionalDouble.of((Double) row[1]);
                    case TF32: return OptionalDouble.of((Double) row[2]);
                    default: return OptionalDouble.of((Double) row[3]);
                }
            }
        }
        return OptionalDouble.empty();
    }
}
