package dev.visiontower.api;

import dev.visiontower.api.checkpoint.Checkpoint;
import dev.visiontower.api.image.ImagePreprocessor;
import dev.visiontower.api.image.RgbImage;
import dev.visiontower.api.nn.ContrastiveHead;
import dev.visiontower.api.nn.ForwardOptions;
import dev.visiontower.api.nn.TextModel;
import dev.visiontower.api.nn.TextOutput;
import dev.visiontower.api.nn.VisionModel;
import dev.visiontower.api.nn.VisionOutput;
import dev.visiontower.api.spi.LoadOptions;
import dev.visiontower.api.spi.ModelDefinition;
import dev.visiontower.api.spi.PreprocessOptions;
import dev.visiontower.api.text.Encoding;
import dev.visiontower.api.text.Tokenizer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * A model directory opened for use: its family detected, the image encoder, text encoder and contrastive head loaded
 * on first use, all released by {@link #close()}. Embeddings, logits, zero-shot classification and the family's loss
 * are the same for every family (CLIP: softmax over the labels; SigLIP: independent sigmoids).
 *
 * <pre>{@code
 * try (Backend backend = Backends.open(null, Device.CPU);
 *      DualEncoder model = DualEncoder.open(Path.of("clip-vit-base-patch32"), backend)) {
 *     List<List<DualEncoder.Label>> top = model.classify(model.preprocess(images), List.of("cat", "dog"),
 *             "a photo of a {}.", 1);
 * }
 * }</pre>
 *
 * <p>Tensors returned by methods that return {@link Tensor} belong to the caller's current
 * {@linkplain Backend#newScope() scope}. Loading on first use is synchronised; whether forward passes may run
 * concurrently is the backend's property.
 */
public final class DualEncoder implements AutoCloseable {
    /** A label and its probability for one image. */
    public record Label(String label, float probability) {
    }

    private final Path dir;
    private final Checkpoint checkpoint;
    private final ModelDefinition definition;
    private final Backend backend;
    private VisionModel vision;
    private TextModel text;
    private ContrastiveHead head;
    private Tokenizer tokenizer;

    private DualEncoder(Path dir, Checkpoint checkpoint, ModelDefinition definition, Backend backend) {
        this.dir = dir;
        this.checkpoint = checkpoint;
        this.definition = definition;
        this.backend = backend;
    }

    /** Opens the checkpoint in {@code dir} and detects its family; towers load when first used. */
    public static DualEncoder open(Path dir, Backend backend) {
        Checkpoint c = Checkpoint.open(dir);
        try {
            return new DualEncoder(dir, c, Models.detect(c).definition(), backend);
        } catch (RuntimeException e) {
            c.close();
            throw e;
        }
    }

    public Path dir() {
        return dir;
    }

    public Backend backend() {
        return backend;
    }

    /** What the family found in the checkpoint. */
    public ModelDefinition definition() {
        return definition;
    }

    /** The open checkpoint (closed with this object). */
    public Checkpoint checkpoint() {
        return checkpoint;
    }

    public String family() {
        return definition.family();
    }

    public String format() {
        return definition.format();
    }

    /** One line for people: directory, format, backend, device and dtype. */
    public String describe() {
        return dir + " (" + format() + ") on " + backend.name() + "/" + backend.device() + " " + backend.dtype();
    }

    /** Whether the checkpoint has a text tower. */
    public boolean hasText() {
        return definition.textConfig().isPresent();
    }

    /** The image encoder (loaded strictly on first use). */
    public synchronized VisionModel vision() {
        if (vision == null) {
            vision = definition.loadVision(checkpoint, backend, LoadOptions.STRICT);
        }
        return vision;
    }

    /** The text encoder; fails clearly for a vision-only checkpoint. */
    public synchronized TextModel text() {
        if (text == null) {
            text = definition.loadText(checkpoint, backend, LoadOptions.STRICT).orElseThrow(() ->
                    new InvalidInputException(dir + ": this checkpoint has no text tower (" + format() + ")"));
        }
        return text;
    }

    /** The contrastive head; fails clearly when the checkpoint has no logit scale. */
    public synchronized ContrastiveHead head() {
        if (head == null) {
            head = definition.loadHead(checkpoint, backend).orElseThrow(() ->
                    new InvalidInputException(dir + ": this checkpoint has no logit scale (not a dual encoder)"));
        }
        return head;
    }

    /** The text tower's tokenizer; fails clearly when the checkpoint has none. */
    public synchronized Tokenizer tokenizer() {
        if (tokenizer == null) {
            if (!hasText()) {
                throw new InvalidInputException(dir + ": this checkpoint has no text tower (" + format() + ")");
            }
            tokenizer = definition.tokenizer().orElseThrow(() -> new InvalidInputException(dir
                    + ": no tokenizer files for this checkpoint (CLIP: vocab.json + merges.txt or tokenizer.json; "
                    + "SigLIP: spiece.model or tokenizer.json); pass token ids instead"));
        }
        return tokenizer;
    }

    /** The preprocessing the checkpoint expects. */
    public ImagePreprocessor preprocessor() {
        return definition.preprocessor();
    }

    /** The preprocessing with options (tiling for InternVL-style models). */
    public ImagePreprocessor preprocessor(PreprocessOptions options) {
        return definition.preprocessor(options);
    }

    /** Preprocesses decoded images into one {@code [B, 3, H, W]} batch (one row per image). */
    public HostTensor preprocess(List<RgbImage> images) {
        ImagePreprocessor pre = preprocessor();
        List<HostTensor> parts = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            HostTensor t = pre.apply(images.get(i));
            if (!parts.isEmpty() && !Arrays.equals(Arrays.copyOfRange(parts.get(0).shape(), 1, 4),
                    Arrays.copyOfRange(t.shape(), 1, 4))) {
                throw new InvalidInputException("image " + i + " preprocessed to " + Shapes.format(t.shape())
                        + " but earlier images gave " + Shapes.format(parts.get(0).shape()));
            }
            parts.add(t);
        }
        return HostTensor.concat0(parts);
    }

    /** L2-normalised image embeddings {@code [B, E]}. */
    public Tensor imageEmbeddings(HostTensor pixels) {
        return imageEmbeddings(pixels, false);
    }

    /**
     * L2-normalised image embeddings {@code [B, E]}.
     *
     * @param interpolate resample the position embedding to the input's grid (inputs of another size)
     */
    public Tensor imageEmbeddings(HostTensor pixels, boolean interpolate) {
        try (TensorScope s = backend.newScope()) {
            VisionOutput out = vision().forward(backend.fromHost(pixels), new ForwardOptions(interpolate, false));
            return s.keep(backend.ops().l2Normalize(out.embedding(), -1, 1e-12));
        }
    }

    /** Tokenizes with the checkpoint's tokenizer. */
    public Encoding tokenize(List<String> texts) {
        return tokenizer().encode(texts);
    }

    /** The text tower's outputs for token ids, which are checked against its vocabulary first. */
    public TextOutput textOutputs(Encoding encoding) {
        long[] values = encoding.inputIds().longs();
        int vocab = text().vocabSize();
        for (long v : values) {
            if (v < 0 || v >= vocab) {
                throw new InvalidInputException("token id " + v + " is outside the text tower's vocabulary of "
                        + vocab + " (" + dir + "): the ids do not come from this model's tokenizer");
            }
        }
        Tensor ids = backend.fromHost(encoding.inputIds());
        Tensor mask = encoding.attentionMask() == null ? null : backend.fromHost(encoding.attentionMask());
        return text().forward(ids, mask, false);
    }

    /** L2-normalised text embeddings {@code [B, E]} of token ids. */
    public Tensor textEmbeddings(Encoding encoding) {
        try (TensorScope s = backend.newScope()) {
            return s.keep(backend.ops().l2Normalize(textOutputs(encoding).embedding(), -1, 1e-12));
        }
    }

    /** L2-normalised text embeddings {@code [B, E]} of texts. */
    public Tensor textEmbeddings(List<String> texts) {
        return textEmbeddings(tokenize(texts));
    }

    /** {@code logits_per_image [Bi, Bt]} of normalised embeddings, with the family's scale (and bias). */
    public Tensor logitsPerImage(Tensor imageEmbeds, Tensor textEmbeds) {
        return head().logitsPerImage(imageEmbeds, textEmbeds);
    }

    /** Probabilities from logits per image: softmax over the texts or independent sigmoids, as the family does. */
    public Tensor probabilities(Tensor logitsPerImage) {
        Ops ops = backend.ops();
        return head().probability() == ContrastiveHead.Probability.SOFTMAX ? ops.softmax(logitsPerImage, -1)
                : ops.exp(ops.logSigmoid(logitsPerImage));
    }

    /** The family's contrastive loss with image {@code i} paired with text {@code i} (0-dimensional). */
    public Tensor loss(Tensor imageEmbeds, Tensor textEmbeds) {
        return head().loss(imageEmbeds, textEmbeds);
    }

    /**
     * Zero-shot classification: the {@code top} most probable labels per image, best first, with {@code template}
     * filled with each label ({@link #prompts}).
     */
    public List<List<Label>> classify(HostTensor pixels, List<String> labels, String template, int top) {
        if (labels.isEmpty()) {
            throw new InvalidInputException("no labels to classify with");
        }
        if (top < 1) {
            throw new InvalidInputException("top must be >= 1, got " + top);
        }
        float[] probs;
        try (TensorScope s = backend.newScope()) {
            Tensor txt = textEmbeddings(prompts(template, labels));
            Tensor img = imageEmbeddings(pixels);
            probs = probabilities(logitsPerImage(img, txt)).toHost().floats();
        }
        int n = labels.size();
        int images = probs.length / n;
        List<List<Label>> out = new ArrayList<>();
        for (int i = 0; i < images; i++) {
            final int row = i;
            Integer[] order = new Integer[n];
            for (int j = 0; j < n; j++) {
                order[j] = j;
            }
            Arrays.sort(order, Comparator.comparingDouble((Integer j) -> -probs[row * n + j]));
            List<Label> best = new ArrayList<>();
            for (int k = 0; k < Math.min(top, n); k++) {
                best.add(new Label(labels.get(order[k]), probs[row * n + order[k]]));
            }
            out.add(best);
        }
        return out;
    }

    /** The prompts for labels: {@code template} with {@code {}} replaced by each label, or the label appended. */
    public static List<String> prompts(String template, List<String> labels) {
        List<String> out = new ArrayList<>();
        for (String l : labels) {
            out.add(template.contains("{}") ? template.replace("{}", l) : template + " " + l);
        }
        return out;
    }

    @Override
    public synchronized void close() {
        if (vision != null) {
            vision.close();
            vision = null;
        }
        if (text != null) {
            text.close();
            text = null;
        }
        if (head != null) {
            head.close();
            head = null;
        }
        checkpoint.close();
    }
}
