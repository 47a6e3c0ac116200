package dev.visiontower.cli;

import dev.visiontower.api.Backend;
import dev.visiontower.api.DualEncoder;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.image.ImageTransform;
import dev.visiontower.api.nn.RandomWeights;
import dev.visiontower.api.nn.VisionTransformer;
import dev.visiontower.api.nn.VitConfig;
import dev.visiontower.api.nn.VitPresets;
import dev.visiontower.server.EmbeddingServer;
import dev.visiontower.server.Encoder;
import dev.visiontower.server.ServerConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** {@code visiontower serve}: the HTTP embedding and zero-shot server. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serve embeddings (POST /v1/embeddings, OpenAI-style; images as data URIs) and zero-shot "
                + "classification (POST /v1/classify) over HTTP, batching concurrent requests; also /v1/models, "
                + "/health, /ready and /metrics (Prometheus). SIGTERM or Ctrl-C drains in-flight requests, then exits 0.")
final class ServeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Option(names = "--preset", paramLabel = "NAME",
            description = "Serve a preset's vision tower with random weights (images only; for benchmarking).")
    String preset;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to bind (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "Port (default: ${DEFAULT-VALUE}; 0: any free).")
    int port;

    @Option(names = "--max-batch", defaultValue = "32", description = "Most items per forward pass (default: ${DEFAULT-VALUE}).")
    int maxBatch;

    @Option(names = "--max-wait-ms", defaultValue = "5",
            description = "How long a batch waits to fill after its first item (default: ${DEFAULT-VALUE}).")
    int maxWaitMs;

    @Option(names = "--max-queue", defaultValue = "256",
            description = "Items waiting for the model before 429 (default: ${DEFAULT-VALUE}).")
    int maxQueue;

    @Option(names = "--max-body-mb", defaultValue = "20", description = "Largest request body (default: ${DEFAULT-VALUE}).")
    int maxBodyMb;

    @Option(names = "--api-key-file", paramLabel = "FILE",
            description = "Require 'Authorization: Bearer KEY' with the key in this file (first line).")
    Path apiKeyFile;

    @Option(names = "--gallery", paramLabel = "DIR",
            description = "Image files the search page at / embeds when it opens (searched recursively).")
    Path gallery;

    @Option(names = "--decode-threads", paramLabel = "N",
            description = "Threads decoding and preprocessing images (default: half the processors).")
    Integer decodeThreads;

    @Override
    public Integer call() throws IOException, InterruptedException {
        if (maxBodyMb < 1) {
            throw new InvalidInputException("--max-body-mb must be >= 1, got " + maxBodyMb);
        }
        String key = null;
        if (apiKeyFile != null) {
            if (!Files.isRegularFile(apiKeyFile)) {
                throw new InvalidInputException(apiKeyFile + ": no such API key file");
            }
            key = Files.readString(apiKeyFile, StandardCharsets.UTF_8).lines().findFirst().orElse("").strip();
            if (key.isEmpty()) {
                throw new InvalidInputException(apiKeyFile + ": the API key file is empty");
            }
        }
        ServerConfig config;
        try {
            config = new ServerConfig(host, port, maxBatch, maxWaitMs, maxQueue, (long) maxBodyMb << 20, key,
                    decodeThreads != null ? decodeThreads : ServerConfig.defaults().decodeThreads(), 64);
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException(e.getMessage());
        }
        var err = spec.commandLine().getErr();
        Backend backend = common.openBackend();
        Encoder encoder;
        if (preset != null) {
            VitConfig cfg = VitPresets.byName(preset);
            encoder = Encoder.visionOnly(VisionTransformer.load(cfg, RandomWeights.of(cfg, 0), backend),
                    ImageTransform.clip(cfg.imageSize()), backend, preset);
        } else {
            Path dir = common.modelDir();
            DualEncoder model = DualEncoder.open(dir, backend);
            err.println("model " + model.describe());
            encoder = Encoder.of(model, dir.getFileName().toString());
        }
        EmbeddingServer server;
        try {
            server = EmbeddingServer.start(encoder, config, gallery);
        } catch (IOException | RuntimeException e) {
            encoder.close();
            if (e instanceof InvalidInputException i) {
                throw i;
            }
            throw new InvalidInputException("cannot listen on " + host + ":" + port + ": " + e.getMessage(), e);
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runnable drain = () -> {
            err.println("stopping: draining in-flight requests");
            err.flush();
            server.stop(10);
            backend.close();
            stopped.countDown();
        };
        for (String signal : new String[] {"TERM", "INT"}) {
            sun.misc.Signal.handle(new sun.misc.Signal(signal), s -> new Thread(() -> {
                drain.run();
                System.exit(0);
            }, "visiontower-stop").start());
        }
        err.println("serving " + encoder.name() + " on http://" + host + ":" + server.port() + " (search page at /; max batch "
                + maxBatch + ", max wait " + maxWaitMs + " ms" + (key != null ? ", API key required" : "") + ")");
        err.flush();
        stopped.await();
        return 0;
    }
}
