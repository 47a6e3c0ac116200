package dev.visiontower.cli;

import dev.visiontower.api.Backend;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.Models;
import dev.visiontower.api.Ops;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.checkpoint.Checkpoint;
import dev.visiontower.api.image.ImagePreprocessor;
import dev.visiontower.api.nn.ContrastiveHead;
import dev.visiontower.api.nn.ForwardOptions;
import dev.visiontower.api.nn.TextModel;
import dev.visiontower.api.nn.TextOutput;
import dev.visiontower.api.nn.VisionModel;
import dev.visiontower.api.nn.VisionOutput;
import dev.visiontower.api.spi.LoadOptions;
import dev.visiontower.api.spi.ModelFamilyProvider;
import dev.visiontower.api.spi.PreprocessOptions;
import dev.visiontower.api.text.Encoding;
import dev.visiontower.api.text.Tokenizer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A model directory opened for the commands: family detected, towers loaded on first use, released together. */
final class DualEncoder implements AutoCloseable {
    final Path dir;
    final Checkpoint checkpoint;
    final ModelFamilyProvider family;
    final String format;
    final Backend backend;
    private VisionModel vision;
    private TextModel text;
    private ContrastiveHead head;

    DualEncoder(Path dir, Backend backend) {
        this.dir = dir;
        this.backend = backend;
        this.checkpoint = Checkpoint.open(dir);
        try {
            Models.Match m = Models.detect(checkpoint);
            this.family = m.family();
            this.format = m.format();
        } catch (RuntimeException e) {
            checkpoint.close();
            throw e;
        }
    }

    String describe() {
        return dir + " (" + format + ") on " + backend.name() + "/" + backend.device() + " " + backend.dtype();
    }

    VisionModel vision() {
        if (vision == null) {
            vision = family.loadVision(checkpoint, backend, LoadOptions.STRICT);
        }
        return vision;
    }

    TextModel text() {
        if (text == null) {
            text = family.loadText(checkpoint, backend, LoadOptions.STRICT).orElseThrow(() ->
                    new InvalidInputException(dir + ": this checkpoint has no text tower (" + format + ")"));
        }
        return text;
    }

    ContrastiveHead head() {
        if (head == null) {
            head = family.loadHead(checkpoint, backend).orElseThrow(() ->
                    new InvalidInputException(dir + ": this checkpoint has no logit scale (not a dual encoder)"));
        }
        return head;
    }

    Tokenizer tokenizer() {
        return family.tokenizer(checkpoint).orElseThrow(() -> new InvalidInputException(dir
                + ": no tokenizer for this checkpoint (CLIP: vocab.json + merges.txt, tokenizer.json or the bundled "
                + "merges; SigLIP: spiece.model); pass --input-ids instead"));
    }

    ImagePreprocessor preprocessor(int tiles) {
        return family.imagePreprocessor(checkpoint, new PreprocessOptions(tiles));
    }

    /** Pixels of image files, preprocessed. */
    HostTensor pixels(List<Path> images, int tiles) {
        return Inputs.preprocess(images, preprocessor(tiles));
    }

    /** Normalised image embeddings {@code [B, E]} in the current scope. */
    Tensor imageEmbeddings(HostTensor pixels, boolean interpolate) {
        try (TensorScope s = backend.newScope()) {
            VisionOutput out = vision().forward(backend.fromHost(pixels), new ForwardOptions(interpolate, false));
            return s.keep(backend.ops().l2Normalize(out.embedding(), -1, 1e-12));
        }
    }

    /** Text outputs for an encoding, in the current scope. */
    TextOutput textOutputs(Encoding enc) {
        long[] values = enc.inputIds().longs();
        int vocab = text().vocabSize();
        for (long v : values) {
            if (v < 0 || v >= vocab) {
                throw new InvalidInputException("token id " + v + " is outside the text tower's vocabulary of " + vocab
                        + " (" + dir + "): the ids do not come from this model's tokenizer");
            }
        }
        Tensor ids = backend.fromHost(enc.inputIds());
        Tensor mask = enc.attentionMask() == null ? null : backend.fromHost(enc.attentionMask());
        return text().forward(ids, mask, false);
    }

    /** Normalised text embeddings {@code [B, E]} in the current scope. */
    Tensor textEmbeddings(Encoding enc) {
        try (TensorScope s = backend.newScope()) {
            return s.keep(backend.ops().l2Normalize(textOutputs(enc).embedding(), -1, 1e-12));
        }
    }

    static List<String> fill(String template, List<String> labels) {
        List<String> out = new ArrayList<>();
        for (String l : labels) {
            out.add(template.contains("{}") ? template.replace("{}", l) : template + " " + l);
        }
        return out;
    }

    Ops ops() {
        return backend.ops();
    }

    @Override
    public void close() {
        if (vision != null) {
            vision.close();
        }
        if (text != null) {
            text.close();
        }
        if (head != null) {
            head.close();
        }
        checkpoint.close();
    }
}
