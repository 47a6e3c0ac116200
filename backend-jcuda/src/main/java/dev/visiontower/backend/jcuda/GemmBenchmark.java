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
 * [mode...]} where a mode is fp32, tf32, bf16 or fp16, optionally suffixed {@code -unpipelined} for the simpler
 * tensor-core kernels, {@code -wmma} or {@code -wide} for the 128 x 128 or 128 x 256 WMMA kernels instead of the
 * mma.sync ones (default: all four, then the WMMA and unpipelined variants) and rows defaults to 25,216
 * (ViT-B/16 at batch 128: 128 x 197 tokens). Prints TFLOP/s and the fraction of the GPU's dense peak.
 */
public final class GemmBenchmark {
    private GemmBenchmark() {
    }

    public static void main(String[] args) {
        if (args.length > 0 && args[0].equals("ops")) {
            for (int i = 1; i < args.length; i++) {
                operations(args[i]);
            }
            return;
        }
        if (args.length > 0 && args[0].equals("block")) {
            for (int i = 1; i < args.length; i++) {
                block(args[i]);
            }
            return;
        }
        int rows = args.length > 0 ? Integer.parseInt(args[0]) : 128 * 197;
        List<String> modes = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            modes.add(args[i]);
        }
        if (modes.isEmpty()) {
            modes = List.of("fp32", "tf32", "bf16", "fp16", "bf16-wmma", "fp16-wmma", "bf16-wide", "fp16-wide",
                    "tf32-unpipelined", "bf16-unpipelined");
        }
        int[][] shapes = {{rows, 768, 2304}, {rows, 768, 3072}, {rows, 3072, 768}, {4096, 4096, 4096}};
        String[] names = {"qkv", "fc1", "fc2", "square"};
        String gemm = System.getProperty("visiontower.jcuda.gemm", "auto");
        System.out.printf(Locale.ROOT, "%-17s %-7s %-22s %10s %10s %9s%n", "MODE", "PRODUCT", "SHAPE M x K x N", "MS",
                "TFLOP/S", "OF PEAK");
        for (String mode : modes) {
            DType dt = mode.startsWith("bf16") ? DType.BFLOAT16 : mode.startsWith("fp16") ? DType.FLOAT16 : DType.FLOAT32;
            Map<String, String> extra = Map.of("tf32", Boolean.toString(mode.startsWith("tf32")), "gemm", gemm,
                    "pipeline", Boolean.toString(!mode.endsWith("-unpipelined")),
                    "tile", mode.endsWith("-wide") ? "wide" : mode.endsWith("-wmma") ? "narrow"
                            : mode.endsWith("-wgmma") ? "wgmma" : "mma");
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
                            System.out.printf(Locale.ROOT, "%-17s %-7s %-22s %10.3f %10.1f %9s%n", mode, names[s],
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

    /** The other operations of a ViT-B/16 block at batch 128, timed the same way (where the rest of a pass goes). */
    static void operations(String mode) {
        DType dt = mode.startsWith("bf16") ? DType.BFLOAT16 : DType.FLOAT32;
        try (CudaBackend b = (CudaBackend) new JCudaBackendProvider().open(new BackendOptions(Device.cuda(0), dt, 0,
                Map.of("tf32", Boolean.toString(mode.startsWith("tf32")),
                        "attention", mode.endsWith("-unfused") ? "unfused" : "fused")))) {
            Random r = new Random(2);
            int tokens = 128 * 197;
            try (TensorScope scope = b.newScope()) {
                Tensor q = b.fromHost(HostTensor.ofFloats(fill(r, tokens * 768), 128, 12, 197, 64));
                Tensor x = b.fromHost(HostTensor.ofFloats(fill(r, tokens * 768), tokens, 768));
                Tensor h = b.fromHost(HostTensor.ofFloats(fill(r, tokens * 3072), tokens, 3072));
                Tensor w = b.fromHost(HostTensor.ofFloats(fill(r, 768), 768));
                Map<String, Runnable> ops = new java.util.LinkedHashMap<>();
                ops.put("attention [128,12,197,64]", () -> b.ops().attention(q, q, q, null, false, 0.125).close());
                ops.put("layerNorm [25216,768]", () -> b.ops().layerNorm(x, w, w, 1e-5).close());
                ops.put("gelu [25216,3072]", () -> b.ops().activation(h, dev.visiontower.api.Activation.GELU).close());
                ops.put("add [25216,768]", () -> b.ops().add(x, x).close());
                ops.put("permute heads [128,197,12,64]", () -> b.ops().permute(b.ops().reshape(x, 128, 197, 12, 64),
                        0, 2, 1, 3).close());
                for (Map.Entry<String, Runnable> e : ops.entrySet()) {
                    for (int i = 0; i < 3; i++) {
                        try (TensorScope inner = b.newScope()) {
                            e.getValue().run();
                        }
                    }
                    float ms = b.timeOnDevice(() -> {
                        for (int i = 0; i < 10; i++) {
                            try (TensorScope inner = b.newScope()) {
                                e.getValue().run();
                            }
                        }
                    }) / 10;
                    System.out.printf(Locale.ROOT, "%-17s %-32s %10.3f ms%n", mode, e.getKey(), ms);
                }
            }
        }
    }

    /**
     * One CLIP ViT-B/16 transformer block at batch 128 (random weights), as the backend's fused block or composed
     * from operations: mode {@code bf16|fp16} suffixed {@code -fused}, {@code -flash2} (fused, register-resident
     * attention) or {@code -ops}; {@code -wgmma} before the suffix puts the fused block's products on wgmma and
     * {@code -warpnorm} its norms on one warp per row (e.g. {@code bf16-wgmma-warpnorm-flash2}).
     */
    static void block(String mode) {
        DType dt = mode.startsWith("fp16") ? DType.FLOAT16 : DType.BFLOAT16;
        dev.visiontower.api.nn.VitConfig cfg = dev.visiontower.api.nn.VitPresets.clipVitB16();
        dev.visiontower.api.nn.BlockSpec spec = dev.visiontower.api.nn.BlockSpec.of(cfg);
        try (CudaBackend b = (CudaBackend) new JCudaBackendProvider().open(new BackendOptions(Device.cuda(0), dt, 0,
                Map.of("block", mode.endsWith("-ops") ? "ops" : "fused",
                        "attention", mode.endsWith("-flash2") ? "flash2" : "fused",
                        "tile", mode.contains("-wgmma") ? "wgmma" : "mma",
                        "norm", mode.contains("-warpnorm") ? "warp" : "block")))) {
            dev.visiontower.api.nn.RandomWeights rw = dev.visiontower.api.nn.RandomWeights.of(cfg, 5);
            Map<String, Tensor> weights = new java.util.LinkedHashMap<>();
            for (String name : dev.visiontower.api.nn.VisionTransformer.parameterShapes(cfg).keySet()) {
                if (name.startsWith("blocks.0.")) {
                    weights.put(name.substring("blocks.0.".length()), b.parameter(name, rw.load(name)));
                }
            }
            try (dev.visiontower.api.nn.Parameters p = new dev.visiontower.api.nn.Parameters(weights);
                 TensorScope scope = b.newScope()) {
                dev.visiontower.api.nn.TransformerBlock blk = b.layers().block(spec, p, b.ops());
                int batch = 128;
                int n = 197;
                Tensor x = b.fromHost(HostTensor.ofFloats(fill(new Random(3), batch * n * 768), batch, n, 768));
                Runnable once = () -> {
                    try (TensorScope inner = b.newScope()) {
                        blk.forward(x, null);
                    }
                };
                for (int i = 0; i < 3; i++) {
                    once.run();
                }
                float ms = b.timeOnDevice(() -> {
                    for (int i = 0; i < 10; i++) {
                        once.run();
                    }
                }) / 10;
                long t = (long) batch * n;
                double flops = 2.0 * t * (4L * 768 * 768 + 2L * 768 * 3072) + 4.0 * batch * 12 * n * n * 64;
                System.out.printf(Locale.ROOT, "%-17s %-32s %10.3f ms %8.1f TFLOP/s (%s)%n", mode,
                        "ViT-B/16 block [128,197,768]", ms, flops / (ms / 1e3) / 1e12, blk.getClass().getSimpleName());
                if (blk instanceof FusedBlock) {
                    FusedBlock fb = (FusedBlock) blk;
                    FusedBlock.profile = true;
                    try {
                        for (int i = 0; i < 10; i++) {
                            once.run();
                        }
                    } finally {
                        FusedBlock.profile = false;
                    }
                    fb.stages.forEach((stage, total) -> System.out.printf(Locale.ROOT, "%-17s   %-30s %10.3f ms%n",
                            mode, stage, total / 10));
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
