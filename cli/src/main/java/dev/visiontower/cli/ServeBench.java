package dev.visiontower.cli;

import dev.visiontower.api.Backend;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.image.ImageDecoding;
import dev.visiontower.api.image.ImageLoadOptions;
import dev.visiontower.api.image.ImagePreprocessor;
import dev.visiontower.api.nn.ForwardOptions;
import dev.visiontower.api.nn.VisionModel;
import dev.visiontower.server.EmbeddingServer;
import dev.visiontower.server.Encoder;
import dev.visiontower.server.ServerConfig;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URL;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * {@code bench --serve-clients N}: the HTTP server in the same process, on the same loaded model, driven by N
 * concurrent clients each sending one 224 px PNG per request (throughput), then by one client alone (latency).
 */
final class ServeBench {
    private ServeBench() {
    }

    /** A PNG of seeded noise, {@code size x size}. */
    static byte[] png(int size) throws IOException {
        java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(size, size,
                java.awt.image.BufferedImage.TYPE_3BYTE_BGR);
        Random rnd = new Random(size);
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                img.setRGB(x, y, rnd.nextInt(1 << 24));
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        javax.imageio.ImageIO.write(img, "png", out);
        return out.toByteArray();
    }

    static Map<String, Object> run(Backend backend, VisionModel model, ImagePreprocessor pre, int clients,
                                   int maxBatch, int requestsPerClient) throws Exception {
        // the server must not close the model the benchmark still uses
        Encoder encoder = Encoder.visionOnly(new Unclosed(model), pre, backend, "bench");
        ServerConfig cfg = new ServerConfig("127.0.0.1", 0, maxBatch, 5, Math.max(256, 4 * clients), 20L << 20, null,
                ServerConfig.defaults().decodeThreads(), Math.max(64, clients));
        String body = "{\"input\": [\"data:image/png;base64," + Base64.getEncoder().encodeToString(png(224)) + "\"]}";
        // HTTP/1.1 as curl and most clients speak it (no h2c upgrade attempt on a new connection)
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .executor(Executors.newFixedThreadPool(4)).build();
        Map<String, Object> r = new LinkedHashMap<>();
        try (EmbeddingServer server = EmbeddingServer.start(encoder, cfg)) {
            HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port()
                    + "/v1/embeddings")).POST(HttpRequest.BodyPublishers.ofString(body)).build();
            ExecutorService pool = Executors.newFixedThreadPool(clients);
            try {
                // warm-up: every client once, untimed
                drive(pool, client, request, clients, 1);
                long t0 = System.nanoTime();
                drive(pool, client, request, clients, requestsPerClient);
                double secs = (System.nanoTime() - t0) / 1e9;
                r.put("clients", clients);
                r.put("requests", clients * requestsPerClient);
                r.put("images_per_second", clients * requestsPerClient / secs);
            } finally {
                pool.shutdown();
            }
            // One client alone, interleaved with forward-only passes on the same pixels: pair i is one pass of
            // the forward (upload, forward, download, as at batch 1 in bench), timed on the server's own model
            // thread (the same thread pool as the server's passes), then one HTTP request; drift of this shared
            // machine between two blocks of a before/after measurement cannot enter the difference.
            URL url = URI.create("http://127.0.0.1:" + server.port() + "/v1/embeddings").toURL();
            byte[] bodyBytes = body.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            HostTensor pixels = pre.apply(ImageDecoding.decode(png(224), "bench.png", ImageLoadOptions.HUGGING_FACE));
            int n = Math.max(41, requestsPerClient);
            double[] req = new double[n];
            double[] fwd = new double[n];
            double[] diff = new double[n];
            for (int i = -2; i < n; i++) {
                double forward = server.onModelThread(() -> {
                    long t = System.nanoTime();
                    try (TensorScope s = backend.newScope()) {
                        model.forward(backend.fromHost(pixels), ForwardOptions.DEFAULT).embedding().toHost();
                    }
                    return (System.nanoTime() - t) / 1e6;
                });
                long t1 = System.nanoTime();
                postBlocking(url, bodyBytes);
                long t2 = System.nanoTime();
                if (i >= 0) {
                    fwd[i] = forward;
                    req[i] = (t2 - t1) / 1e6;
                    diff[i] = req[i] - fwd[i];
                }
            }
            Arrays.sort(req);
            Arrays.sort(fwd);
            Arrays.sort(diff);
            r.put("single_request_p50_ms", BenchMeasure.percentile(req, 0.5));
            r.put("paired_forward_p50_ms", BenchMeasure.percentile(fwd, 0.5));
            r.put("single_request_overhead_p50_ms", BenchMeasure.percentile(diff, 0.5));
        }
        return r;
    }

    /** Adds the forward-only figures the server run compares with: the rate at its batch, the latency at 1. */
    static void relate(Map<String, Object> serve, List<Map<String, Object>> results) {
        if (serve.isEmpty()) {
            return;
        }
        for (Map<String, Object> r : results) {
            if (!r.get("backend").equals(serve.get("backend")) || !r.get("dtype").equals(serve.get("dtype"))) {
                continue;
            }
            if (r.get("batch").equals(serve.get("max_batch"))) {
                serve.put("fraction_of_forward_at_max_batch", (Double) serve.get("images_per_second")
                        / (Double) r.get("images_per_second"));
            }
            if (r.get("batch").equals(1)) {
                @SuppressWarnings("unchecked")
                Map<String, Double> lat = (Map<String, Double>) r.get("latency_ms");
                serve.put("forward_p50_ms_at_batch_1", lat.get("p50"));
            }
        }
    }

    static void print(java.io.PrintWriter out, Map<String, Object> serve) {
        if (serve.isEmpty()) {
            return;
        }
        out.printf(java.util.Locale.ROOT, "serve (%s %s, HTTP in process, max batch %s): %s clients x one 224 px PNG: "
                + "%.2f images/s%s; one client alone: p50 %.1f ms%s%n", serve.get("backend"), serve.get("dtype"),
                serve.get("max_batch"), serve.get("clients"), (Double) serve.get("images_per_second"),
                serve.containsKey("fraction_of_forward_at_max_batch") ? String.format(java.util.Locale.ROOT,
                        " (%.0f%% of forward only at that batch)", 100 * (Double) serve.get(
                                "fraction_of_forward_at_max_batch")) : "",
                (Double) serve.get("single_request_p50_ms"), String.format(java.util.Locale.ROOT,
                        " (forward only, interleaved with it: p50 %.1f ms; paired difference p50 %+.1f ms)",
                        (Double) serve.get("paired_forward_p50_ms"),
                        (Double) serve.get("single_request_overhead_p50_ms")));
    }

    private static void drive(ExecutorService pool, HttpClient client, HttpRequest request, int clients, int each)
            throws Exception {
        List<Future<?>> done = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            done.add(pool.submit(() -> {
                for (int k = 0; k < each; k++) {
                    check(client.send(request, HttpResponse.BodyHandlers.ofString()));
                }
                return null;
            }));
        }
        for (Future<?> f : done) {
            f.get();
        }
    }

    /**
     * One request the way a synchronous client sends it (HttpURLConnection: written and read on the calling thread,
     * the connection kept alive between calls), for the single-client latency.
     */
    private static void postBlocking(URL url, byte[] body) throws IOException {
        HttpURLConnection c = (HttpURLConnection) url.openConnection();
        c.setRequestMethod("POST");
        c.setDoOutput(true);
        c.setFixedLengthStreamingMode(body.length);
        c.setRequestProperty("Content-Type", "application/json");
        try (OutputStream o = c.getOutputStream()) {
            o.write(body);
        }
        int status = c.getResponseCode();
        try (InputStream in = status == 200 ? c.getInputStream() : c.getErrorStream()) {
            byte[] answer = in == null ? new byte[0] : in.readAllBytes();
            if (status != 200) {
                throw new IllegalStateException("the server answered " + status + ": "
                        + new String(answer, java.nio.charset.StandardCharsets.UTF_8));
            }
        }
    }

    private static void check(HttpResponse<String> r) {
        if (r.statusCode() != 200) {
            throw new IllegalStateException("the server answered " + r.statusCode() + ": " + r.body());
        }
    }

    /** The benchmark's model, which the server may use but not close. */
    private record Unclosed(VisionModel model) implements VisionModel {
        @Override
        public dev.visiontower.api.nn.VisionOutput forward(dev.visiontower.api.Tensor pixels,
                                                          dev.visiontower.api.nn.ForwardOptions options) {
            return model.forward(pixels, options);
        }

        @Override
        public int imageSize() {
            return model.imageSize();
        }

        @Override
        public Backend backend() {
            return model.backend();
        }

        @Override
        public void close() {
            // owned by the benchmark
        }
    }
}
