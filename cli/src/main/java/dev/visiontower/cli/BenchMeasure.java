package dev.visiontower.cli;

import dev.visiontower.api.Backend;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.nn.ForwardOptions;
import dev.visiontower.api.nn.VisionModel;
import dev.visiontower.api.nn.VisionOutput;
import dev.visiontower.api.nn.VitConfig;
import dev.visiontower.api.image.ImageLoadOptions;
import dev.visiontower.api.image.ImagePreprocessor;
import dev.visiontower.api.image.PreprocessingPipeline;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** The measurements of {@code bench}: timed passes, the GEMM reference rate, FLOP counts, peak memory. */
final class BenchMeasure {
    private BenchMeasure() {
    }

    /** Multiply-adds of one image through the tower, counted as 2 FLOPs each (matrix products only). */
    static double flopsPerImage(VitConfig c) {
        double n = (double) c.gridSize() * c.gridSize();
        double t = n + c.prefixTokens();
        double d = c.width();
        double i = c.mlpWidth();
        double patch = 2 * n * d * c.channels() * c.patchSize() * c.patchSize();
        double block = 2 * t * d * 3 * d + 2 * 2 * t * t * d + 2 * t * d * d + 2 * 2 * t * d * i;
        double head = c.pooling() == dev.visiontower.api.nn.Pooling.MAP ? 2 * (4 * d * d + 2 * t * d + 2 * d * i) : 0;
        return patch + c.depth() * block + head + 2 * d * c.projectionDim();
    }

    /**
     * {@code warmup} untimed and {@code iters} timed passes at {@code batch}: images/s, GFLOP/s (when the
     * architecture is known), fraction of the device's peak, latency percentiles, peak RSS and the profile.
     */
    static Map<String, Object> run(Backend b, VisionModel model, VitConfig cfg, int size, int batch, int warmup,
                                   int iters, OpProfile prof) throws IOException {
        Random rnd = new Random(batch);
        float[] px = new float[batch * 3 * size * size];
        for (int i = 0; i < px.length; i++) {
            px[i] = (float) rnd.nextGaussian();
        }
        HostTensor pixels = HostTensor.ofFloats(px, batch, 3, size, size);
        double[] ms = new double[iters];
        // The pixels are uploaded once: a pass is the forward and the download of the embeddings (which waits for
        // the device), so device backends are timed on their compute, not on the host-to-device copy.
        try (TensorScope outer = b.newScope()) {
            Tensor x = b.fromHost(pixels);
            for (int i = 0; i < warmup + iters; i++) {
                if (prof != null && i == warmup) {
                    prof.reset();
                }
                long t0 = System.nanoTime();
                try (TensorScope s = b.newScope()) {
                    VisionOutput out = model.forward(x, ForwardOptions.DEFAULT);
                    out.embedding().toHost();
                }
                if (i >= warmup) {
                    ms[i - warmup] = (System.nanoTime() - t0) / 1e6;
                }
            }
        }
        double total = Arrays.stream(ms).sum();
        double[] sorted = ms.clone();
        Arrays.sort(sorted);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("backend", b.name());
        r.put("dtype", b.dtype().toString());
        r.put("batch", batch);
        double ips = batch * iters / (total / 1000);
        r.put("images_per_second", ips);
        r.put("gflops", cfg == null ? null : flopsPerImage(cfg) * ips / 1e9);
        java.util.OptionalDouble peak = b.peakTflops();
        r.put("device_peak_tflops", peak.isPresent() ? peak.getAsDouble() : null);
        r.put("fraction_of_peak", cfg == null || peak.isEmpty() ? null
                : flopsPerImage(cfg) * ips / 1e12 / peak.getAsDouble());
        Map<String, Double> lat = new LinkedHashMap<>();
        lat.put("p50", percentile(sorted, 0.50));
        lat.put("p90", percentile(sorted, 0.90));
        lat.put("p99", percentile(sorted, 0.99));
        r.put("latency_ms", lat);
        r.put("peak_rss_mb", peakRssMb());
        if (prof != null) {
            r.put("profile", prof.rows(iters, total / iters));
        }
        return r;
    }

    /**
     * The whole pipeline over image files, as {@code embed} runs it: decoding and preprocessing on {@code threads}
     * worker threads ahead of the forward pass, upload, forward, download of the embeddings. One untimed batch, then
     * {@code iters} timed batches; the files are taken in order and reused when there are fewer. Images/s.
     */
    static double pipelineRate(Backend b, VisionModel model, ImagePreprocessor pre, List<Path> files, int batch,
                               int iters, int threads, ImageLoadOptions load) {
        List<Path> order = new java.util.ArrayList<>();
        for (int i = 0; i < batch * (iters + 1); i++) {
            order.add(files.get(i % files.size()));
        }
        long t0 = 0;
        int timed = 0;
        try (PreprocessingPipeline pipeline = new PreprocessingPipeline(order, pre, load, threads, batch)) {
            for (int k = 0; pipeline.hasNext(); k++) {
                List<HostTensor> parts = new java.util.ArrayList<>();
                for (PreprocessingPipeline.Item item : pipeline.next()) {
                    if (!item.ok()) {
                        throw item.error();
                    }
                    parts.add(item.pixels());
                }
                try (TensorScope s = b.newScope()) {
                    model.forward(b.fromHost(HostTensor.concat0(parts)), ForwardOptions.DEFAULT).embedding().toHost();
                }
                if (k == 0) {
                    t0 = System.nanoTime();
                } else {
                    timed += parts.size();
                }
            }
        }
        return timed / ((System.nanoTime() - t0) / 1e9);
    }

    /** The model's own preprocessing, or CLIP's at the model's size for a preset ({@code model} null). */
    static ImagePreprocessor preprocessor(Path model, int size) {
        if (model == null) {
            return dev.visiontower.api.image.ImageTransform.clip(size);
        }
        try (dev.visiontower.api.checkpoint.Checkpoint ckpt = dev.visiontower.api.checkpoint.Checkpoint.open(model)) {
            return dev.visiontower.api.Models.detect(ckpt).definition().preprocessor();
        }
    }

    static double percentile(double[] sorted, double p) {
        double pos = p * (sorted.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(lo + 1, sorted.length - 1);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
    }

    /** Resets the kernel's peak-RSS mark of this process (Linux 4.0+), so each run reports its own peak. */
    static void resetPeakRss() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
        } catch (IOException | RuntimeException e) {
            // not Linux, or not allowed: the peak then covers the whole process
        }
    }

    static long peakRssMb() throws IOException {
        Path status = Path.of("/proc/self/status");
        if (!Files.isReadable(status)) {
            return -1;
        }
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("VmHWM:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
            }
        }
        return -1;
    }

    /**
     * {@code [m, k] x [n, k]^T} products (a linear layer without bias) in the backend's compute precision: the best
     * of 10 timed products after 3 warm-ups, in GFLOP/s (the highest rate the engine reaches; allocation and
     * page-fault noise only ever slow a product down).
     */
    static double gemmRate(Backend b, int m, int k, int n) {
        Random r = new Random(1);
        float[] a = new float[m * k];
        float[] w = new float[k * n];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) r.nextGaussian();
        }
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) r.nextGaussian();
        }
        final int warm = 3;
        double[] ms = new double[10];
        try (TensorScope s = b.newScope()) {
            Tensor x = b.fromHost(HostTensor.ofFloats(a, m, k));
            // a weight [n, k] through linear: the model's own layout and code path
            Tensor y = b.parameter("gemm_weight", HostTensor.ofFloats(w, n, k));
            try {
                for (int i = 0; i < warm + ms.length; i++) {
                    long t0 = System.nanoTime();
                    try (TensorScope inner = b.newScope()) {
                        b.ops().narrow(b.ops().linear(x, y, null), 0, 0, 1).toHost();
                    }
                    if (i >= warm) {
                        ms[i - warm] = (System.nanoTime() - t0) / 1e6;
                    }
                }
            } finally {
                y.close();
            }
        }
        if (Boolean.getBoolean("visiontower.bench.debug")) {
            System.err.println("gemm ms " + Arrays.toString(ms));
        }
        Arrays.sort(ms);
        return 2.0 * m * k * n / (ms[0] / 1000) / 1e9;
    }
}
