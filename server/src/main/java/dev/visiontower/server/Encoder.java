package dev.visiontower.server;

import dev.visiontower.api.Backend;
import dev.visiontower.api.DualEncoder;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.image.ImagePreprocessor;
import dev.visiontower.api.nn.ForwardOptions;
import dev.visiontower.api.nn.VisionModel;
import dev.visiontower.api.nn.VisionOutput;
import dev.visiontower.api.text.Tokenizer;

import java.util.List;

/**
 * What the server runs: a dual encoder from a checkpoint (images, texts, zero-shot), or a vision tower alone (a
 * preset with random weights, for benchmarking). The embeddings are those {@code embed} and {@code embed-text}
 * write: the projected embedding where the model has a projection, else the pooled output, not normalised.
 */
public final class Encoder implements AutoCloseable {
    private final String name;
    private final Backend backend;
    private final DualEncoder dual;
    private final VisionModel vision;
    private final ImagePreprocessor preprocessor;

    private Encoder(String name, Backend backend, DualEncoder dual, VisionModel vision, ImagePreprocessor pre) {
        this.name = name;
        this.backend = backend;
        this.dual = dual;
        this.vision = vision;
        this.preprocessor = pre;
    }

    /** A checkpoint's dual encoder (or vision-only model), named {@code name} in responses. */
    public static Encoder of(DualEncoder model, String name) {
        return new Encoder(name, model.backend(), model, model.vision(), model.preprocessor());
    }

    /** A vision tower alone with its preprocessing (no texts, no zero-shot). */
    public static Encoder visionOnly(VisionModel model, ImagePreprocessor pre, Backend backend, String name) {
        return new Encoder(name, backend, null, model, pre);
    }

    public String name() {
        return name;
    }

    ImagePreprocessor preprocessor() {
        return preprocessor;
    }

    boolean hasText() {
        return dual != null && dual.hasText();
    }

    Tokenizer tokenizer() {
        return dual.tokenizer();
    }

    String probability() {
        return dual.head().probability().name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Embeddings of a batch of preprocessed images {@code [B, 3, H, W]}: {@code [B, E]}. */
    HostTensor images(HostTensor pixels) {
        try (TensorScope s = backend.newScope()) {
            VisionOutput out = vision.forward(backend.fromHost(pixels), ForwardOptions.DEFAULT);
            return (out.imageEmbeds() != null ? out.imageEmbeds() : out.poolerOutput()).toHost();
        }
    }

    /** Embeddings of texts: {@code [B, E]}. */
    HostTensor texts(List<String> texts) {
        try (TensorScope s = backend.newScope()) {
            return dual.textOutputs(dual.tokenize(texts)).embedding().toHost();
        }
    }

    List<List<DualEncoder.Label>> classify(HostTensor pixels, List<String> labels, String template, int top) {
        return dual.classify(pixels, labels, template, top);
    }

    @Override
    public void close() {
        if (dual != null) {
            dual.close();
        } else {
            vision.close();
        }
    }
}
