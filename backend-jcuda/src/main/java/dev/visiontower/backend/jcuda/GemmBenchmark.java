package dev.visiontower.backend.jcuda;

import dev.visiontower.api.DType;
import dev.visiontower.api.Device;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.spi.BackendOptions;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.Random;

/**
 * The GEMM engine on the products of a ViT forward, timed on the GPU with CUDA events after warm-up:
 * {@code java -p <mods> -m dev.visiontower.backend.jcuda/dev.visiontower.backend.jcuda.GemmBenchmark [rows]
 * [precision...]} where precision is fp32, tf32, bf16 or fp16 (default: all) and rows defaults to 25,216
 * (ViT-B/16 at batch 128: 128 x 197 tokens). Prints TFLOP/s and the fraction of the GPU's dense peak.
 */
public final class GemmBenchmark {
    private GemmBenchmark() {
    }

    public static void main(String[] args) {
        int rows = args.length > 0 ? Integer.parseInt(args[0]) : 128 * 197;
        List<String> modes = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            modes.add(args[i]);
        }
        if (modes.isEmpty()) {
            modes = List.of("fp32", "tf32", "bf16", "fp16");
        }
        int[][] shapes = {{rows, 768, 2304}, {rows, 768, 3072}, {rows, 3072, 768}, {4096, 4096, 4096}};
        String[] names = {"qkv", "fc1", "fc2", "square"};
        String gemm = System.getProperty("visiontower.jcuda.gemm", "auto");
        System.out.printf(Locale.ROOT, "%-6s %-7s %-22s %10s %10s %9s%n", "MODE", "PRODUCT", "SHAPE M x K x N", "MS",
                "TFLOP/S", "OF PEAK");
        for (String mode : modes) {
            DType dt = mode.equals("bf16") ? DType.BFLOAT16 : mode.equals("fp16") ? DType.FLOAT16 : DType.FLOAT32;
            Map<String, String> extra = Map.of("tf32", Boolean.toString(mode.equals("tf32")), "gemm", gemm);
            try (CudaBackend b = (CudaBackend) new JCudaBackendProvider().open(
                    new BackendOptions(Device.cuda(0), dt, 0, extra))) {
                if (mode.equals(modes.get(0))) {
                    System.out.println("# " + b.describe());
                }
                OptionalDouble peak = b.peakTflops();
                Random r = new Random(1);
                for (int s = 0; s < shapes.length; s++) {
                    int m = shapes[s][0];
                    int k = shapes[s][1];
                    int n = shapes[s][2];
                    try (TensorScope scope = b.newScope()) {
                        Tensor x = b.fromHost(HostTensor.ofFloats(fill(r, m * k), m, k));
                        Tensor w = b.parameter("w", HostTensor.ofFloats(fill(r, n * k), n, k));
                        try {
                            for (int i = 0; i < 3; i++) {
                                b.ops().linear(x, w, null).close();
                            }
                            int reps = 10;
                            float ms = b.timeOnDevice(() -> {
                                for (int i = 0; i < reps; i++) {
                                    b.ops().linear(x, w, null).close();
                                }
                            }) / reps;
                            double tflops = 2.0 * m * k * n / (ms / 1e3) / 1e12;
                            System.out.printf(Locale.ROOT, "%-6s %-7s %-22s %10.3f %10.1f %9s%n", mode, names[s],
                                    m + " x " + k + " x " + n, ms, tflops,
                                    peak.isPresent() ? String.format(Locale.ROOT, "%.1f%%",
                                            100 * tflops / peak.getAsDouble()) : "-");
                        } finally {
                            w.close();
                        }
                    }
                }
            }
        }
    }

    private static float[] fill(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (r.nextFloat() - 0.5f) * 0.2f;
        }
        return v;
    }
}
