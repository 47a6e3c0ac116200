package dev.visiontower.backend.jcuda;

import com.google.auto.service.AutoService;
import dev.visiontower.api.Backend;
import dev.visiontower.api.BackendUnavailableException;
import dev.visiontower.api.Device;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.spi.Availability;
import dev.visiontower.api.spi.BackendOptions;
import dev.visiontower.api.spi.BackendProvider;
import dev.visiontower.api.spi.Capability;
import dev.visiontower.api.spi.OptionSpec;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Provider of the {@code jcuda} backend. Construction is free; {@link #probe()} loads the driver API
 * ({@code libcuda.so.1}, the only hard requirement), lists the GPUs and finds out which GEMM engine and kernel source
 * would be used; every failure becomes a reason, never a crash.
 */
@AutoService(BackendProvider.class)
public final class JCudaBackendProvider implements BackendProvider {
    /** Name of the backend. */
    public static final String NAME = "jcuda";

    private static String cublasProblem;
    private static boolean cublasProbed;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public int priority() {
        return 50;
    }

    @Override
    public Set<Capability> capabilities() {
        return EnumSet.of(Capability.INFERENCE, Capability.FLOAT32, Capability.BFLOAT16, Capability.FLOAT16,
                Capability.CUDA);
    }

    /** Null when JCuda's cuBLAS binding loads here, else why not (probed once per JVM). */
    static synchronized String cublasProblem() {
        if (!cublasProbed) {
            cublasProbed = true;
            cublasProblem = JCudaNatives.extract(JCudaNatives.CUBLAS);
            if (cublasProblem == null) {
                try {
                    jcuda.jcublas.JCublas2.setExceptionsEnabled(true);
                } catch (Throwable t) { // UnsatisfiedLinkError when libcublas.so.12 is missing
                    cublasProblem = JCudaNatives.reason(t);
                }
            }
        }
        return cublasProblem;
    }

    @Override
    public Availability probe() {
        String err = CudaDriver.init();
        if (err != null) {
            return Availability.unavailable(err);
        }
        List<Device> devices = new ArrayList<>();
        StringBuilder gpus = new StringBuilder();
        for (CudaDriver.Gpu g : CudaDriver.gpus()) {
            devices.add(Device.cuda(g.ordinal()));
            if (g.major() < 8) {
                return Availability.unavailable("GPU " + g.ordinal() + " (" + g.name() + ", " + g.arch()
                        + ") is older than compute capability 8.0, which the kernels need");
            }
            gpus.append(gpus.length() == 0 ? "" : ", ").append(g.name()).append(" (").append(g.arch())
                    .append(String.format(Locale.ROOT, ", %.0f GiB)", g.memoryBytes() / 1073741824.0));
        }
        String cublas = cublasProblem();
        String gemm = cublas == null ? "cuBLAS (JCublas2 12.6)" : "own tensor-core kernels (cuBLAS unavailable: "
                + cublas + ")";
        String kernels = Kernels.shippedFatbin() ? "sm_80/sm_90 machine code + PTX built with nvcc"
                + (Kernels.shippedSm90a() ? " (and sm_90a for tile=wgmma)" : "")
                : Kernels.shippedPtx() ? "PTX built with nvcc" : "NVRTC at open (no PTX in the jar)";
        return Availability.available(gpus + "; CUDA driver " + CudaDriver.driverVersion() + "; GEMM: " + gemm
                + "; kernels: " + kernels, devices);
    }

    static String option(BackendOptions o, String key, String def) {
        String v = o.extra().get(key);
        if (v == null) {
            v = System.getProperty("visiontower.jcuda." + key);
        }
        return v == null ? def : v.trim().toLowerCase(Locale.ROOT);
    }

    /** The options of the module documentation; {@code visiontower.jcuda.<key>} system properties set them too. */
    @Override
    public List<OptionSpec> options() {
        return List.of(
                OptionSpec.choice("gemm", "auto", "matrix products: cuBLAS if it loads, else own kernels", "auto",
                        "cublas", "own"),
                OptionSpec.bool("tf32", false, "float32 products on TF32 tensor cores"),
                OptionSpec.choice("kernels", "auto", "kernel source: shipped machine code, PTX or NVRTC", "auto",
                        "ptx", "nvrtc"),
                OptionSpec.bool("pipeline", true, "cp.async-pipelined tensor-core kernels where the layout allows"),
                OptionSpec.choice("tile", "mma", "kernels of pipelined 16-bit products", "mma", "wgmma", "narrow",
                        "wide"),
                OptionSpec.choice("block", "fused", "16-bit transformer blocks as a few fused kernels, or composed of "
                        + "operations", "fused", "ops"),
                OptionSpec.choice("attention", "fused", "16-bit attention kernel", "fused", "flash2", "unfused"),
                OptionSpec.choice("norm", "block", "LayerNorm/RMSNorm: a thread block or a warp per row", "block",
                        "warp"));
    }

    @Override
    public Backend open(BackendOptions options) {
        Availability a = probe();
        if (!a.available()) {
            throw new BackendUnavailableException("backend 'jcuda' is not available: " + a.reason());
        }
        if (options.device().kind() != Device.Kind.CUDA || !a.devices().contains(options.device())) {
            throw new BackendUnavailableException("backend 'jcuda' runs on CUDA devices only; asked for "
                    + options.device() + ", devices here: " + a.devices());
        }
        String gemm = option(options, "gemm", "auto");
        String kernels = option(options, "kernels", "auto");
        String tf32 = option(options, "tf32", "false");
        String pipeline = option(options, "pipeline", "true");
        String attention = option(options, "attention", "fused");
        String tile = option(options, "tile", "mma");
        String block = option(options, "block", "fused");
        String norm = option(options, "norm", "block");
        if (!List.of("auto", "cublas", "own").contains(gemm)) {
            throw new InvalidInputException("jcuda: option gemm must be auto, cublas or own, got '" + gemm + "'");
        }
        if (!List.of("auto", "ptx", "nvrtc").contains(kernels)) {
            throw new InvalidInputException("jcuda: option kernels must be auto, ptx or nvrtc, got '" + kernels + "'");
        }
        if (!List.of("true", "false").contains(tf32)) {
            throw new InvalidInputException("jcuda: option tf32 must be true or false, got '" + tf32 + "'");
        }
        if (!List.of("narrow", "wide", "mma", "wgmma").contains(tile)) {
            throw new InvalidInputException("jcuda: option tile must be mma, wgmma, narrow or wide, got '" + tile + "'");
        }
        if (!List.of("fused", "ops").contains(block)) {
            throw new InvalidInputException("jcuda: option block must be fused or ops, got '" + block + "'");
        }
        if (!List.of("fused", "flash2", "unfused").contains(attention)) {
            throw new InvalidInputException("jcuda: option attention must be fused, flash2 or unfused, got '" + attention
                    + "'");
        }
        if (!List.of("block", "warp").contains(norm)) {
            throw new InvalidInputException("jcuda: option norm must be block or warp, got '" + norm + "'");
        }
        if (!List.of("true", "false").contains(pipeline)) {
            throw new InvalidInputException("jcuda: option pipeline must be true or false, got '" + pipeline + "'");
        }
        CudaDriver.Gpu gpu = CudaDriver.gpus().get(options.device().index());
        return new CudaBackend(options, gpu, gemm, tf32.equals("true"), kernels, pipeline.equals("true"),
                attention, tile, block.equals("fused"), norm.equals("warp"));
    }
}
