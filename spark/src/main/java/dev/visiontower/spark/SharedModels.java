package dev.visiontower.spark;

import dev.visiontower.api.Backend;
import dev.visiontower.api.Backends;
import dev.visiontower.api.DType;
import dev.visiontower.api.Device;
import dev.visiontower.api.DualEncoder;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.spi.BackendOptions;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The models of this JVM (a driver or an executor): each spec is loaded once, shared by every task that runs here
 * (a forward pass at a time, under the model's lock), and closed when the JVM exits. Also the JVM's image-decoding
 * pool, shared by the tasks in the same way.
 */
final class SharedModels {
    private static final Map<ModelSpec, LoadedModel> MODELS = new ConcurrentHashMap<>();
    private static volatile ExecutorService decodePool;

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(SharedModels::closeAll, "visiontower-models-close"));
    }

    private SharedModels() {
    }

    /**
     * The loaded model for {@code spec}, loading it (both towers' weights are read when first used) if this JVM has
     * not yet. A wrong path, an unreadable checkpoint or a missing backend throws the message the CLI prints.
     */
    static LoadedModel get(ModelSpec spec) {
        LoadedModel m = MODELS.get(spec);
        if (m != null) {
            return m;
        }
        synchronized (SharedModels.class) {
            m = MODELS.get(spec);
            if (m == null) {
                long t0 = System.nanoTime();
                m = load(spec);
                MODELS.put(spec, m);
                // one line per model and JVM, in the driver's or the executor's log
                System.err.printf(java.util.Locale.ROOT, "visiontower: loaded %s (%s) on %s in %.1f s%n",
                        spec.modelPath(), m.model().describe(), m.model().backend().name(),
                        (System.nanoTime() - t0) / 1e9);
            }
            return m;
        }
    }

    private static LoadedModel load(ModelSpec spec) {
        if (spec.modelPath() == null || spec.modelPath().isBlank()) {
            throw new InvalidInputException("modelPath is not set (the checkpoint directory: config.json + "
                    + "safetensors)");
        }
        Path dir = Paths.get(spec.modelPath());
        if (!Files.isDirectory(dir)) {
            throw new InvalidInputException(dir + ": no such model directory");
        }
        Backend backend = Backends.open(spec.backend(), new BackendOptions(Device.parse(spec.device()),
                DType.parse(spec.dtype()), 0, Map.of()));
        try {
            DualEncoder model = DualEncoder.open(dir, backend);
            try {
                model.vision(); // reads and checks the vision tower's weights now, not in the first task
                return new LoadedModel(model, backend);
            } catch (RuntimeException | Error e) {
                model.close();
                throw e;
            }
        } catch (RuntimeException | Error e) {
            backend.close();
            throw e;
        }
    }

    /** The JVM's decode pool: daemon threads, as many as {@code threads} asked for by the first caller. */
    static ExecutorService decodePool(int threads) {
        ExecutorService p = decodePool;
        if (p == null) {
            synchronized (SharedModels.class) {
                p = decodePool;
                if (p == null) {
                    AtomicInteger n = new AtomicInteger();
                    p = Executors.newFixedThreadPool(Math.max(1, threads), r -> {
                        Thread t = new Thread(r, "visiontower-decode-" + n.incrementAndGet());
                        t.setDaemon(true);
                        return t;
                    });
                    decodePool = p;
                }
            }
        }
        return p;
    }

    /** Closes every model of this JVM (at exit; also for tests). Closing twice is harmless. */
    static synchronized void closeAll() {
        for (LoadedModel m : MODELS.values()) {
            m.close();
        }
        MODELS.clear();
    }
}
