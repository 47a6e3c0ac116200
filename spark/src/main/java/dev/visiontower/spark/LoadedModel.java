package dev.visiontower.spark;

import dev.visiontower.api.Backend;
import dev.visiontower.api.CheckpointException;
import dev.visiontower.api.DualEncoder;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.image.ImagePreprocessor;
import dev.visiontower.api.nn.ForwardOptions;
import dev.visiontower.api.nn.VisionOutput;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One model in one JVM with its backend. Tasks call it from several threads; the backend runs one pass at a time
 * (a backend already spreads a pass over the cores), and what is not the model (decoding, reading files) runs
 * outside the lock.
 */
final class LoadedModel implements AutoCloseable {
    /** Image embeddings (as {@code embed} writes them) and, when labels were given, the probabilities per label. */
    record ImageResult(float[][] embeddings, float[][] probabilities) {
    }

    private final DualEncoder model;
    private final Backend backend;
    private final ImagePreprocessor preprocessor;
    private final ReentrantLock lock = new ReentrantLock();
    private final Map<List<String>, HostTensor> promptEmbeddings = new ConcurrentHashMap<>();
    private boolean closed;

    LoadedModel(DualEncoder model, Backend backend) {
        this.model = model;
        this.backend = backend;
        this.preprocessor = model.preprocessor();
    }

    ImagePreprocessor preprocessor() {
        return preprocessor;
    }

    DualEncoder model() {
        return model;
    }

    /** {@code requested} rows per pass, or the backend's preferred count when it is 0. */
    int batch(int requested) {
        return requested > 0 ? requested : backend.preferredBatchSize();
    }

    /**
     * Embeddings of preprocessed images {@code [B, 3, H, W]}: the projected embedding where the model has one, else
     * the pooled output (what {@code embed} writes), optionally normalised; with {@code prompts}, the zero-shot
     * probabilities over them too (as {@link DualEncoder#classify}).
     */
    ImageResult images(HostTensor pixels, boolean normalize, List<String> prompts) {
        HostTensor text = prompts == null ? null : promptEmbeddings(prompts);
        lock.lock();
        try (TensorScope s = backend.newScope()) {
            requireOpen();
            VisionOutput out = model.vision().forward(backend.fromHost(pixels), ForwardOptions.DEFAULT);
            HostTensor raw = finite(out.embedding().toHost(), "image embedding");
            float[][] probs = null;
            if (text != null) {
                Tensor img = backend.ops().l2Normalize(out.embedding(), -1, 1e-12);
                probs = rows(finite(model.probabilities(model.logitsPerImage(img, backend.fromHost(text))).toHost(),
                        "zero-shot probabilities"));
            }
            return new ImageResult(rows(normalize ? raw.l2NormalizeRows() : raw), probs);
        } finally {
            lock.unlock();
        }
    }

    /** Text embeddings as {@code embed-text} writes them, optionally normalised. */
    float[][] texts(List<String> texts, boolean normalize) {
        lock.lock();
        try (TensorScope s = backend.newScope()) {
            requireOpen();
            HostTensor e = finite(model.textOutputs(model.tokenizer().encode(texts)).embedding().toHost(),
                    "text embedding");
            return rows(normalize ? e.l2NormalizeRows() : e);
        } finally {
            lock.unlock();
        }
    }

    /** The normalised text embeddings of zero-shot prompts, computed once per JVM and prompt list. */
    private HostTensor promptEmbeddings(List<String> prompts) {
        HostTensor t = promptEmbeddings.get(prompts);
        if (t != null) {
            return t;
        }
        lock.lock();
        try (TensorScope s = backend.newScope()) {
            requireOpen();
            return promptEmbeddings.computeIfAbsent(List.copyOf(prompts), p -> model.textEmbeddings(p).toHost());
        } finally {
            lock.unlock();
        }
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("the model " + model.dir() + " was closed (the JVM is exiting)");
        }
    }

    private HostTensor finite(HostTensor t, String what) {
        for (float v : t.floats()) {
            if (!Float.isFinite(v)) {
                throw new CheckpointException(model.dir() + ": the model computed a non-finite " + what + " (NaN or "
                        + "infinity): its weights or config values are out of the range float32 arithmetic holds");
            }
        }
        return t;
    }

    private static float[][] rows(HostTensor t) {
        int n = (int) t.dim(0);
        int d = (int) (t.numel() / Math.max(1, n));
        float[] all = t.floats();
        float[][] out = new float[n][];
        for (int i = 0; i < n; i++) {
            out[i] = java.util.Arrays.copyOfRange(all, i * d, (i + 1) * d);
        }
        return out;
    }

    /** Waits (up to a minute) for a pass in progress, then frees the model and its backend. Idempotent. */
    @Override
    public void close() {
        boolean locked = false;
        try {
            locked = lock.tryLock(1, TimeUnit.MINUTES);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            if (!closed) {
                closed = true;
                model.close();
                backend.close();
            }
        } finally {
            if (locked) {
                lock.unlock();
            }
        }
    }
}
