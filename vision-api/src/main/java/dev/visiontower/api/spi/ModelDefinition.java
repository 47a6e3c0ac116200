package dev.visiontower.api.spi;

import dev.visiontower.api.Backend;
import dev.visiontower.api.CheckpointException;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.checkpoint.Checkpoint;
import dev.visiontower.api.checkpoint.WeightMapping;
import dev.visiontower.api.image.ImagePreprocessor;
import dev.visiontower.api.nn.ContrastiveHead;
import dev.visiontower.api.nn.TextConfig;
import dev.visiontower.api.nn.TextModel;
import dev.visiontower.api.nn.TextTransformer;
import dev.visiontower.api.nn.VisionModel;
import dev.visiontower.api.nn.VisionTransformer;
import dev.visiontower.api.nn.VitConfig;
import dev.visiontower.api.text.Tokenizer;
import dev.visiontower.api.train.TrainableDualEncoder;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * What a model family recognised in one checkpoint, declared rather than coded: the vision tower's architecture and
 * weight mapping, optionally the text tower's, the contrastive head (which checkpoint scalars it reads and how it
 * turns embeddings into logits, probabilities and the family's loss), the tokenizer and the image preprocessing.
 * {@link ModelFamilyProvider#recognize} returns one; everything else (loading for inference or training, writing
 * trained weights back, the {@link dev.visiontower.api.DualEncoder}) is done here once for every family.
 *
 * <p>A definition is bound to the checkpoint it was made from: load with that checkpoint.
 */
public final class ModelDefinition {

    /** Builds the head from its learned scalars ({@code 0}-dimensional parameters on the backend, by canonical name). */
    @FunctionalInterface
    public interface HeadFactory {
        ContrastiveHead create(Backend backend, Map<String, Tensor> parameters);
    }

    /**
     * The contrastive head: canonical scalar names (e.g. {@code logit_scale}) to checkpoint tensor names, and how to
     * build the head from them.
     */
    public record Head(Map<String, String> sources, HeadFactory factory) {
        public Head {
            sources = Map.copyOf(new LinkedHashMap<>(sources));
            Objects.requireNonNull(factory, "factory");
        }
    }

    /**
     * Wraps the loaded vision tower into the model the family exposes (e.g. InternVL's projector on top of
     * InternViT). It owns {@code tower} from then on: close it if wrapping fails.
     */
    @FunctionalInterface
    public interface VisionAssembler {
        VisionModel assemble(VisionTransformer tower, Checkpoint checkpoint, Backend backend, LoadOptions options);
    }

    /** The family's image preprocessing for some options. */
    @FunctionalInterface
    public interface Preprocessing {
        ImagePreprocessor create(PreprocessOptions options);
    }

    private final String family;
    private final String format;
    private final VitConfig vision;
    private final WeightMapping visionMapping;
    private final VisionAssembler assembler;
    private final TextConfig text;
    private final WeightMapping textMapping;
    private final Head head;
    private final Supplier<Optional<Tokenizer>> tokenizer;
    private final Preprocessing preprocessing;
    private final List<String> files;

    private ModelDefinition(Builder b) {
        this.family = b.family;
        this.format = b.format;
        this.vision = b.vision;
        this.visionMapping = b.visionMapping;
        this.assembler = b.assembler;
        this.text = b.text;
        this.textMapping = b.textMapping;
        this.head = b.head;
        this.tokenizer = b.tokenizer;
        this.preprocessing = b.preprocessing;
        this.files = List.copyOf(b.files);
    }

    /**
     * @param family the family's {@link ModelFamilyProvider#name()}
     * @param format what was recognised, for people (e.g. "Hugging Face CLIPModel")
     */
    public static Builder builder(String family, String format) {
        return new Builder(family, format);
    }

    public String family() {
        return family;
    }

    public String format() {
        return format;
    }

    public VitConfig visionConfig() {
        return vision;
    }

    public WeightMapping visionMapping() {
        return visionMapping;
    }

    /** The text tower's architecture, or empty for a vision-only checkpoint. */
    public Optional<TextConfig> textConfig() {
        return Optional.ofNullable(text);
    }

    public Optional<WeightMapping> textMapping() {
        return Optional.ofNullable(textMapping);
    }

    /** The contrastive head, or empty when the checkpoint has none (not a dual encoder). */
    public Optional<Head> head() {
        return Optional.ofNullable(head);
    }

    /** Whether the checkpoint is a complete dual encoder: both towers and the head. */
    public boolean isDualEncoder() {
        return text != null && head != null;
    }

    /** The tokenizer of the text tower, or empty when there is none (read when first asked). */
    public Optional<Tokenizer> tokenizer() {
        return text == null ? Optional.empty() : tokenizer.get();
    }

    /**
     * Files of the checkpoint directory besides the weights that belong to the model and are copied when trained
     * weights are written (beyond the usual Hugging Face and open_clip ones, {@code CheckpointWriter.SIDE_FILES}).
     */
    public List<String> files() {
        return files;
    }

    /** The preprocessing the checkpoint expects. */
    public ImagePreprocessor preprocessor() {
        return preprocessing.create(PreprocessOptions.DEFAULT);
    }

    /** The preprocessing with options (tiling for the families that have it). */
    public ImagePreprocessor preprocessor(PreprocessOptions options) {
        return preprocessing.create(options);
    }

    /** Loads the image encoder of {@code checkpoint} on {@code backend}. */
    public VisionModel loadVision(Checkpoint checkpoint, Backend backend, LoadOptions options) {
        VisionTransformer tower = loadVisionTower(checkpoint, backend, options.strict());
        return assembler == null ? tower : assembler.assemble(tower, checkpoint, backend, options);
    }

    private VisionTransformer loadVisionTower(Checkpoint checkpoint, Backend backend, boolean strict) {
        return VisionTransformer.load(vision, visionMapping.bind(checkpoint, VisionTransformer.parameterShapes(vision),
                strict, checkpoint.dir().toString()), backend);
    }

    /** Loads the text encoder, or empty for a vision-only checkpoint. */
    public Optional<TextModel> loadText(Checkpoint checkpoint, Backend backend, LoadOptions options) {
        if (text == null) {
            return Optional.empty();
        }
        return Optional.of(loadTextTower(checkpoint, backend, options.strict()));
    }

    private TextTransformer loadTextTower(Checkpoint checkpoint, Backend backend, boolean strict) {
        return TextTransformer.load(text, textMapping.bind(checkpoint, TextTransformer.parameterShapes(text), strict,
                checkpoint.dir().toString()), backend);
    }

    /** Loads the contrastive head (its learned scalars), or empty when the checkpoint has none. */
    public Optional<ContrastiveHead> loadHead(Checkpoint checkpoint, Backend backend) {
        if (head == null) {
            return Optional.empty();
        }
        Map<String, Tensor> params = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, String> e : head.sources().entrySet()) {
                HostTensor value = checkpoint.read(e.getValue());
                if (value.numel() != 1) {
                    throw new CheckpointException(checkpoint.dir() + ": " + e.getValue() + " must hold one value (the "
                            + e.getKey() + " of the head), has shape " + java.util.Arrays.toString(value.shape()));
                }
                params.put(e.getKey(), backend.parameter(e.getKey(), value.reshape()));
            }
            return Optional.of(head.factory().create(backend, Map.copyOf(params)));
        } catch (RuntimeException e) {
            params.values().forEach(Tensor::close);
            throw e;
        }
    }

    /**
     * Loads both towers and the head for training: every weight listed as trainable, writable back under the
     * checkpoint's names. The checkpoint must be a dual encoder and is read strictly.
     */
    public TrainableDualEncoder loadForTraining(Checkpoint checkpoint, Backend backend) {
        if (!isDualEncoder()) {
            throw new InvalidInputException(checkpoint.dir() + ": the " + family + " family cannot train this "
                    + "checkpoint (" + format + "): training needs both towers and the logit scale");
        }
        VisionTransformer v = loadVisionTower(checkpoint, backend, true);
        TextTransformer t = null;
        try {
            t = loadTextTower(checkpoint, backend, true);
            ContrastiveHead h = loadHead(checkpoint, backend).orElseThrow();
            return new TrainableDualEncoder(v, visionMapping, t, textMapping, h, head.sources(), checkpoint);
        } catch (RuntimeException e) {
            v.close();
            if (t != null) {
                t.close();
            }
            throw e;
        }
    }

    /** Builds a {@link ModelDefinition}. */
    public static final class Builder {
        private final String family;
        private final String format;
        private VitConfig vision;
        private WeightMapping visionMapping;
        private VisionAssembler assembler;
        private TextConfig text;
        private WeightMapping textMapping;
        private Head head;
        private Supplier<Optional<Tokenizer>> tokenizer = Optional::empty;
        private Preprocessing preprocessing;
        private final List<String> files = new java.util.ArrayList<>();

        private Builder(String family, String format) {
            this.family = Objects.requireNonNull(family, "family");
            this.format = Objects.requireNonNull(format, "format");
        }

        /** The vision tower on the shared container (required). */
        public Builder vision(VitConfig config, WeightMapping mapping) {
            this.vision = Objects.requireNonNull(config, "config");
            this.visionMapping = Objects.requireNonNull(mapping, "mapping");
            return this;
        }

        /** What wraps the vision tower (optional; default: the tower itself). */
        public Builder visionAssembler(VisionAssembler assembler) {
            this.assembler = assembler;
            return this;
        }

        /** The text tower (optional). */
        public Builder text(TextConfig config, WeightMapping mapping) {
            this.text = Objects.requireNonNull(config, "config");
            this.textMapping = Objects.requireNonNull(mapping, "mapping");
            return this;
        }

        /** The contrastive head (optional; a dual encoder needs it). */
        public Builder head(Map<String, String> sources, HeadFactory factory) {
            this.head = new Head(sources, factory);
            return this;
        }

        /** Where the tokenizer comes from; called when first needed (optional). */
        public Builder tokenizer(Supplier<Optional<Tokenizer>> tokenizer) {
            this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
            return this;
        }

        /** Files of the model besides its weights and the usual Hugging Face ones (e.g. its own tokenizer file). */
        public Builder files(String... names) {
            files.addAll(List.of(names));
            return this;
        }

        /** The image preprocessing, which may depend on options (tiling). */
        public Builder preprocessing(Preprocessing preprocessing) {
            this.preprocessing = Objects.requireNonNull(preprocessing, "preprocessing");
            return this;
        }

        /**
         * One preprocessing for every options, made when first asked (reading a preprocessing config then, not when
         * the checkpoint is recognised); asking for tiles is refused with a message naming the family.
         */
        public Builder preprocessor(Supplier<ImagePreprocessor> preprocessor) {
            Objects.requireNonNull(preprocessor, "preprocessor");
            ImagePreprocessor[] made = new ImagePreprocessor[1];
            this.preprocessing = o -> {
                if (o.tiles() > 1) {
                    throw new InvalidInputException("the " + family + " family has no dynamic tiling (--tiles is for "
                            + "InternVL-style models)");
                }
                synchronized (made) {
                    if (made[0] == null) {
                        made[0] = preprocessor.get();
                    }
                    return made[0];
                }
            };
            return this;
        }

        public ModelDefinition build() {
            if (vision == null || preprocessing == null) {
                throw new IllegalStateException("a model definition needs the vision tower and the preprocessing");
            }
            if (head != null && text == null) {
                throw new IllegalStateException("a contrastive head needs a text tower");
            }
            // each tower, loaded strictly, expects the tensors the other parts of the model read
            java.util.Set<String> headNames = head == null ? java.util.Set.of() : java.util.Set.copyOf(head.sources().values());
            visionMapping.ignoreNames(headNames);
            if (textMapping != null) {
                visionMapping.ignoreNames(sources(textMapping));
                textMapping.ignoreNames(sources(visionMapping)).ignoreNames(headNames);
            }
            return new ModelDefinition(this);
        }

        private static java.util.Set<String> sources(WeightMapping m) {
            java.util.Set<String> out = new java.util.HashSet<>();
            m.rules().values().forEach(r -> out.add(r.source()));
            return out;
        }
    }
}
